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
  /** --systemd-cgroup: a slice:prefix:name cgroupsPath is taken (and mapped onto cgroupfs). */
  systemdCgroup?: boolean | undefined;
}

export function planCgroupDirs(request: CgroupPathRequest): PlannedCgroupDir[] {
  // A hybrid host's cgroup2 mount holds no controllers, but runc places the container there too so that
  // anything tracking processes by their cgroup2 path (systemd, the leak check) finds it. On a pure v2 host
  // the one cgroup2 hierarchy is all there is.
  const hasV1 = request.hierarchies.some((hierarchy) => hierarchy.version === 1);
  const hierarchies = hasV1 ? request.hierarchies : request.hierarchies.filter((hierarchy) => hierarchy.version === 2);
  if (hierarchies.length === 0) throw new RuntimeError('unsupported', 'no cgroup hierarchy is mounted', { stage: 'cgroup' });
  let requested = request.cgroupsPath ?? defaultCgroupPath(request.parent, request.containerId);
  if (/:/.test(requested)) {
    if (!request.systemdCgroup) {
      throw new RuntimeError('invalid-config', `config.json: linux.cgroupsPath ${requested} is systemd's slice:prefix:name form`, {
        hint: 'pass --systemd-cgroup, or give a path',
      });
    }
    requested = systemdPathToCgroupfs(requested);
  }
  if (requested.split('/').includes('..')) {
    throw new RuntimeError('invalid-config', `config.json: linux.cgroupsPath ${requested} must not contain ..`);
  }
  return hierarchies.map((hierarchy) => {
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

/**
 * systemd's "slice:prefix:name" as the path systemd itself would give the unit: the slice expanded the way
 * systemd nests slices (a-b.slice lives in a.slice), then "prefix-name.scope". shim does not ask systemd to
 * make the unit (no D-Bus); it makes that directory through cgroupfs, which is what runc's systemd driver
 * ends up with on disk when systemd is not running.
 */
export function systemdPathToCgroupfs(path: string): string {
  const parts = path.split(':');
  if (parts.length !== 3 || !parts[2]) {
    throw new RuntimeError('invalid-config', `linux.cgroupsPath ${path}: the systemd form is slice:prefix:name`);
  }
  const [slice, prefix, name] = parts as [string, string, string];
  const unit = name.endsWith('.slice') ? name : prefix ? `${prefix}-${name}.scope` : `${name}.scope`;
  return posix.join(expandSlice(slice || 'system.slice'), unit);
}

/** systemd's slice nesting: "a-b-c.slice" -> /a.slice/a-b.slice/a-b-c.slice; "-.slice" is the root. */
export function expandSlice(slice: string): string {
  if (!slice.endsWith('.slice') || slice.includes('/')) {
    throw new RuntimeError('invalid-config', `linux.cgroupsPath: ${slice} is not a slice name`);
  }
  if (slice === '-.slice') return '/';
  const stem = slice.slice(0, -'.slice'.length);
  if (stem.startsWith('-') || stem.endsWith('-') || stem.includes('--')) {
    throw new RuntimeError('invalid-config', `linux.cgroupsPath: ${slice} is not a valid slice name`);
  }
  const words = stem.split('-');
  return '/' + words.map((_, index) => `${words.slice(0, index + 1).join('-')}.slice`).join('/');
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
