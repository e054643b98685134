// -v as docker takes it:
//   -v /ctr/path                          an anonymous volume (a fresh directory in the volume store)
//   -v NAME:/ctr/path[:OPTIONS]           a named volume, created on first use
//   -v /host/path:/ctr/path[:OPTIONS]     a bind mount of a host directory
// OPTIONS: ro or rw, and one propagation (private, rprivate, slave, rslave, shared, rshared, unbindable,
// runbindable), comma-separated.

import { posix } from 'node:path';
import { RuntimeError } from '../errors.js';

const PROPAGATIONS = new Set(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable']);
/** Options docker takes that shim does not implement: SELinux relabelling, volume copy-up, macOS consistency. */
const DOCKER_OPTIONS_NOT_IMPLEMENTED = new Set(['z', 'Z', 'nocopy', 'consistent', 'cached', 'delegated']);
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
  // docker's words for a mode it would not take either ("invalid mode: ro,rw"): a usage error, where an option
  // docker knows and shim lacks (z, nocopy) is 'unsupported'.
  const invalidMode = () => new RuntimeError('usage', `-v ${spec}: invalid mode: ${optionText}`);
  let modes = 0;
  for (const option of optionText.split(',').filter(Boolean)) {
    if (option === 'ro' || option === 'rw') {
      if (modes++ > 0) throw invalidMode();
      readonly = option === 'ro';
    } else if (PROPAGATIONS.has(option)) {
      if (propagation !== undefined) throw invalidMode();
      propagation = option;
    } else if (DOCKER_OPTIONS_NOT_IMPLEMENTED.has(option)) {
      throw new RuntimeError('unsupported', `-v ${spec}: volume option ${option} is not supported`);
    } else {
      throw invalidMode();
    }
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
