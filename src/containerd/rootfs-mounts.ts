// containerd hands a runtime the container's rootfs as mounts (runtime v2 CreateTaskRequest.rootfs): an
// overlay of the snapshot's layers, or, for a one-layer or native snapshot, a directory to bind. runc's shim
// mounts them on <bundle>/rootfs on the host. shim plans them instead: the helper mounts them inside the
// container's own mount namespace, exactly as it mounts a docker-style run's layers, so nothing is mounted on
// the host and nothing can be left there.

import { RuntimeError } from '../errors.js';
import type { BundleRunRequest } from '../container/run-container.js';

export interface RootfsMount {
  type: string;
  source: string;
  options: string[];
}

export function planRootfsMounts(mounts: readonly RootfsMount[], mountPoint: string): BundleRunRequest['rootfs'] {
  if (mounts.length === 0) return undefined;
  if (mounts.length > 1) {
    throw new RuntimeError('unsupported', `rootfs: ${mounts.length} mounts given; shim takes one (an overlay or a bind)`);
  }
  const mount = mounts[0]!;
  if (mount.type === 'bind' || mount.type === 'rbind') return { directory: mount.source };
  if (mount.type !== 'overlay') throw new RuntimeError('unsupported', `rootfs: a ${mount.type} mount is not supported (overlay or bind)`);
  const option = (name: string) => mount.options.find((entry) => entry.startsWith(`${name}=`))?.slice(name.length + 1);
  const lower = option('lowerdir');
  const upper = option('upperdir');
  const work = option('workdir');
  if (!lower) throw new RuntimeError('invalid-config', 'rootfs: the overlay mount has no lowerdir');
  if (!upper || !work) {
    throw new RuntimeError('unsupported', 'rootfs: a read-only overlay (no upperdir) is not supported', { hint: 'run without --read-only snapshots' });
  }
  // lowerdir is topmost first, as the plan takes it.
  return { overlay: { mountPoint, upperDir: upper, workDir: work, lowerDirs: lower.split(':') } };
}
