// A config mount of type "cgroup" is not one mount on a cgroup v1 host: as runc does, it becomes a tmpfs at
// the destination and, inside it, one entry per v1 hierarchy showing only the container's own cgroup.

import { posix } from 'node:path';
import * as k from './kernel-constants.js';
import type { MountOptions } from './mount-options.js';
import type { PlannedCgroupDir, PlannedMount, PlannedSymlink } from './container-plan.js';

export interface CgroupMountRequest {
  destination: string;
  options: MountOptions;
  dirs: readonly PlannedCgroupDir[];
  /** The container gets a cgroup namespace: each hierarchy can be mounted fresh and shows its cgroup as /. */
  cgroupNamespace: boolean;
}

export function planCgroupMounts(request: CgroupMountRequest): { mounts: PlannedMount[]; symlinks: PlannedSymlink[] } {
  const { destination, options } = request;
  const mounts: PlannedMount[] = [
    {
      source: 'tmpfs',
      target: destination,
      fstype: 'tmpfs',
      // Left writable, as runc does: the hierarchies inside carry the config's flags (normally ro).
      flags: k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC,
      data: 'mode=755',
      propagation: options.propagation,
      origin: 'cgroup',
    },
  ];
  const symlinks: PlannedSymlink[] = [];
  for (const dir of request.dirs) {
    // The cgroup2 mount of a hybrid host holds no controllers; runc does not show it in the container.
    if (dir.version !== 1) continue;
    const name = posix.basename(dir.mountPoint);
    const target = posix.join(destination, name);
    if (request.cgroupNamespace) {
      const named = dir.controllers.find((controller) => controller.startsWith('name='));
      mounts.push({
        source: named ? named.slice('name='.length) : 'cgroup',
        target,
        fstype: 'cgroup',
        flags: k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC | (options.flags & k.MS_RDONLY),
        data: dir.controllers.join(','),
        propagation: 0,
        origin: 'cgroup',
      });
    } else {
      mounts.push({
        source: dir.dir,
        target,
        fstype: 'bind',
        flags: k.MS_BIND | k.MS_REC | (options.flags & ~(k.MS_BIND | k.MS_REC)),
        data: '',
        propagation: options.propagation,
        origin: 'cgroup',
      });
    }
    // Co-mounted controllers ("cpu,cpuacct") are also reachable under each controller's own name.
    if (name.includes(',')) {
      for (const controller of name.split(',')) {
        symlinks.push({ target: name, path: posix.join(destination, controller) });
      }
    }
  }
  return { mounts, symlinks };
}
