// Where a container's cgroup lives in each mounted hierarchy (pure). The default is /<parent>/<id> with parent
// "shim"; linux.cgroupsPath overrides it: absolute paths are taken from each hierarchy's root, relative ones
// from the shim's own cgroup there, as runc's cgroupfs driver does.

import { posix } from 'node:path';
import { RuntimeError } from '../errors.js';
import type { CgroupHierarchy, PlannedCgroupDir } from '../plan/container-plan.js';

export const DEFAULT_CGROUP_PARENT = 'shim';

export interface CgroupPathRequest {
  containerId: string;
  /** linux.cgroupsPath, when the config gives one. */
  cgroupsPath?: string | undefined;
  /** Parent of the default path (SHIM_CGROUP_PARENT); "shim" when empty. */
  parent?: string | undefined;
  hierarchies: readonly CgroupHierarchy[];
}

export function planCgroupDirs(request: CgroupPathRequest): PlannedCgroupDir[] {
  const v1 = request.hierarchies.filter((hierarchy) => hierarchy.version === 1);
  if (v1.length === 0) {
    throw new RuntimeError('unsupported', 'cgroup v2 without v1 hierarchies is not supported yet', {
      stage: 'cgroup',
      hint: 'this issue implements the cgroup v1 manager only',
    });
  }
  const requested = request.cgroupsPath ?? defaultCgroupPath(request.parent, request.containerId);
  if (/:/.test(requested)) {
    throw new RuntimeError('unsupported', `config.json: linux.cgroupsPath ${requested} (systemd slice:prefix:name form) is not supported yet`);
  }
  if (requested.split('/').includes('..')) {
    throw new RuntimeError('invalid-config', `config.json: linux.cgroupsPath ${requested} must not contain ..`);
  }
  // A hybrid host's cgroup2 mount holds no controllers, but runc places the container there too so that
  // anything tracking processes by their cgroup2 path (systemd, the leak check) finds it.
  return request.hierarchies.map((hierarchy) => {
    const cgroupPath = posix.isAbsolute(requested)
      ? posix.normalize(requested)
      : posix.join(hierarchy.ownCgroup, requested);
    return {
      controllers: hierarchy.controllers,
      version: hierarchy.version,
      mountPoint: hierarchy.mountPoint,
      cgroupPath,
      dir: hostDirOf(hierarchy, cgroupPath),
    };
  });
}

export function defaultCgroupPath(parent: string | undefined, containerId: string): string {
  const cleanParent = (parent ?? '').replace(/^\/+|\/+$/g, '') || DEFAULT_CGROUP_PARENT;
  return `/${cleanParent}/${containerId}`;
}

/** The host directory of `cgroupPath`, given where (and from which root) the hierarchy is mounted. */
function hostDirOf(hierarchy: CgroupHierarchy, cgroupPath: string): string {
  const relative = posix.relative(hierarchy.root, cgroupPath);
  if (relative.startsWith('..')) {
    throw new RuntimeError('unsupported', `cgroup ${cgroupPath} is outside the part of the hierarchy mounted at ${hierarchy.mountPoint}`, {
      stage: 'cgroup',
    });
  }
  return posix.join(hierarchy.mountPoint, relative);
}
