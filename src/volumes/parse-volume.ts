// -v HOST:CTR[:OPTIONS] for bind volumes. Named volumes (a name instead of an absolute HOST path) come with
// the volume store later; they are refused by name now rather than mistaken for a relative path.

import { posix } from 'node:path';
import { RuntimeError } from '../errors.js';
import type { VolumeBind } from '../plan/docker-config.js';

const PROPAGATIONS = new Set(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared']);

export function parseVolumeSpec(spec: string): VolumeBind {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) {
    throw new RuntimeError('usage', `-v ${spec}: expected HOST:CONTAINER[:ro]`);
  }
  const [source, destination, optionText = ''] = parts as [string, string, string?];
  if (!posix.isAbsolute(source)) {
    throw new RuntimeError('unsupported', `-v ${spec}: named volumes are not supported yet`, {
      hint: 'give an absolute host path',
    });
  }
  if (!posix.isAbsolute(destination)) throw new RuntimeError('usage', `-v ${spec}: the container path must be absolute`);
  let readonly = false;
  let propagation: string | undefined;
  for (const option of optionText.split(',').filter(Boolean)) {
    if (option === 'ro') readonly = true;
    else if (option === 'rw') readonly = false;
    else if (PROPAGATIONS.has(option)) propagation = option;
    else throw new RuntimeError('unsupported', `-v ${spec}: volume option ${option} is not supported`);
  }
  return { source: posix.normalize(source), destination: posix.normalize(destination), readonly, propagation };
}
