// -v as docker takes it:
//   -v /ctr/path                          an anonymous volume (a fresh directory in the volume store)
//   -v NAME:/ctr/path[:OPTIONS]           a named volume, created on first use
//   -v /host/path:/ctr/path[:OPTIONS]     a bind mount of a host directory
// OPTIONS: ro or rw, and one propagation (private, rprivate, slave, rslave, shared, rshared, unbindable,
// runbindable), comma-separated.

import { posix } from 'node:path';
import { RuntimeError } from '../errors.js';

const PROPAGATIONS = new Set(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable']);
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export interface VolumeRequest {
  /** A bind mount's absolute host path. */
  hostPath?: string | undefined;
  /** A named volume. */
  name?: string | undefined;
  /** Neither: an anonymous volume. */
  anonymous: boolean;
  destination: string;
  readonly: boolean;
  propagation?: string | undefined;
}

export function parseVolumeSpec(spec: string): VolumeRequest {
  const parts = spec.split(':');
  if (parts.some((part, index) => part === '' && index < 2) || parts.length > 3) {
    throw new RuntimeError('usage', `-v ${spec}: expected [HOST-PATH|NAME:]CONTAINER-PATH[:OPTIONS]`);
  }
  let source: string | undefined;
  let destination: string;
  let optionText = '';
  const isOptionList = (text: string) => text.split(',').every((option) => option === 'ro' || option === 'rw' || PROPAGATIONS.has(option));
  // "/ctr:ro" is an anonymous volume with options; "/a:b" is a bind with a relative target (refused below).
  if (parts.length === 1 || (parts.length === 2 && !posix.isAbsolute(parts[1]!) && isOptionList(parts[1]!))) {
    [destination, optionText = ''] = parts as [string, string?];
  } else {
    [source, destination, optionText = ''] = parts as [string, string, string?];
  }
  if (!posix.isAbsolute(destination)) throw new RuntimeError('usage', `-v ${spec}: the container path must be absolute`);
  if (source !== undefined && !posix.isAbsolute(source) && !VOLUME_NAME.test(source)) {
    throw new RuntimeError('usage', `-v ${spec}: ${source} is neither an absolute host path nor a volume name`, {
      hint: 'volume names are letters, digits, _ . and -',
    });
  }
  let readonly = false;
  let propagation: string | undefined;
  for (const option of optionText.split(',').filter(Boolean)) {
    if (option === 'ro') readonly = true;
    else if (option === 'rw') readonly = false;
    else if (PROPAGATIONS.has(option)) propagation = option;
    else throw new RuntimeError('unsupported', `-v ${spec}: volume option ${option} is not supported`);
  }
  const isHostPath = source !== undefined && posix.isAbsolute(source);
  return {
    hostPath: isHostPath ? posix.normalize(source!) : undefined,
    name: source !== undefined && !isHostPath ? source : undefined,
    anonymous: source === undefined,
    destination: posix.normalize(destination),
    readonly,
    propagation,
  };
}
