// The plan: everything the helper will do for one container, decided in TypeScript and written as plain kernel
// values. --dry-run prints it; src/spec/ encodes it for the helper; src/cgroups/ applies its cgroup part.

import type { PlannedResources } from '../cgroups/resources.js';
import type { PlannedHooks } from '../hooks/oci-hooks.js';
import type { IdMapping, PlannedUserNamespace } from '../userns/plan-user-namespace.js';
import type { PlannedSeccomp } from '../seccomp/plan-seccomp.js';

export type NamespaceKind = 'mount' | 'pid' | 'uts' | 'ipc' | 'net' | 'cgroup' | 'user' | 'time';

export interface PlannedNamespace {
  type: NamespaceKind;
  /** Join the namespace at this host path; undefined creates a new one. */
  path?: string | undefined;
}

export interface PlannedRootfs {
  /** Host directory that becomes the container's /. With lowerDirs the overlay is mounted here. */
  path: string;
  /** Read-only layers, topmost first; empty for a plain (bind-mounted) rootfs. */
  lowerDirs: string[];
  /**
   * Mount every layer (lower dirs, and the directory holding upper and work) idmapped with the container's user
   * namespace, so files root owns on the host are root's in the container. Only with a new user namespace.
   */
  idmapLayers?: boolean | undefined;
  upperDir: string;
  workDir: string;
  readonly: boolean;
  /** MS_PRIVATE / MS_SLAVE / MS_SHARED / MS_UNBINDABLE, applied recursively before anything is mounted. */
  propagation: number;
  noPivot: boolean;
}

export interface PlannedMount {
  source: string;
  /** Absolute, inside the container. */
  target: string;
  fstype: string;
  flags: number;
  data: string;
  propagation: number;
  /** Where this mount came from, for the dry run: "config", "cgroup", "volume". */
  origin: string;
  /** An idmapped bind mount (mounts[].uidMappings/gidMappings): the maps of its id mapping. */
  idmap?: { uidMappings: IdMapping[]; gidMappings: IdMapping[]; recursive: boolean } | undefined;
  /**
   * If the kernel refuses the mount with EPERM, bind this host path (recursively, with the same flags) instead:
   * sysfs in a user namespace that does not own the network namespace (crun's fallback).
   */
  fallbackBindSource?: string | undefined;
}

export interface PlannedDevice {
  path: string;
  type: 'c' | 'b' | 'p';
  /** st_mode: the file type bits and the permission bits. */
  mode: number;
  major: number;
  minor: number;
  uid: number;
  gid: number;
  /** Bind-mount the host's node instead of mknod: a user namespace may not make device nodes. */
  bindFromHost?: boolean | undefined;
}

export interface PlannedSymlink {
  /** What the link points to. */
  target: string;
  /** The link itself, absolute inside the container. */
  path: string;
}

/** A uint64 limit; 'unlimited' is RLIM_INFINITY (2^64-1, which a JS number cannot hold exactly). */
export type RlimitValue = number | 'unlimited';

export interface PlannedRlimit {
  name: string;
  resource: number;
  soft: RlimitValue;
  hard: RlimitValue;
}

/** Capability masks: bit N is capability N. */
export interface PlannedCapabilities {
  bounding: number;
  effective: number;
  inheritable: number;
  permitted: number;
  ambient: number;
}

export interface PlannedProcess {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  umask?: number | undefined;
  capabilities: PlannedCapabilities;
  noNewPrivileges: boolean;
  rlimits: PlannedRlimit[];
  oomScoreAdj?: number | undefined;
  newSession: boolean;
  terminal: boolean;
}

/** One v1 devices-controller rule (runc's configs.Rule). */
export interface DeviceRule {
  allow: boolean;
  /** 'a' matches every device. */
  type: 'a' | 'c' | 'b';
  major: number | '*';
  minor: number | '*';
  /** Some of r, w, m. */
  access: string;
}

/** The container's cgroup in one mounted hierarchy. */
export interface PlannedCgroupDir {
  /** v1 controllers of the hierarchy ("memory", "name=systemd"); empty for the cgroup2 hierarchy. */
  controllers: string[];
  version: 1 | 2;
  /** Where the hierarchy is mounted on the host, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string;
  /** The container's cgroup as a path inside the hierarchy, e.g. /shim/web1. */
  cgroupPath: string;
  /** The host directory of that cgroup: mountPoint joined with cgroupPath. */
  dir: string;
}

export interface PlannedCgroup {
  dirs: PlannedCgroupDir[];
  deviceRules: DeviceRule[];
  /**
   * The default parent (/<SHIM_CGROUP_PARENT or shim>) in each hierarchy: removed when its last container
   * goes. Empty when linux.cgroupsPath chose the place: an orchestrator's parent is never removed.
   */
  removableParentDirs: string[];
  /** Limits from linux.resources (or run's --memory, --cpus, --pids-limit); absent in older plans. */
  resources?: PlannedResources | undefined;
  /**
   * The host uid the cgroup v2 directory and its delegate files are chowned to (src/cgroups/cgroup-files.ts):
   * set with a new user namespace, a new cgroup namespace and a read-write cgroupfs, as runc's specconv sets
   * OwnerUID, so that the container's root can manage its own subtree.
   */
  ownerUid?: number | undefined;
}

export interface ContainerPlan {
  containerId: string;
  namespaces: PlannedNamespace[];
  /** The container's own user namespace (new with its maps, or joined); undefined shares the caller's. */
  userNamespace?: PlannedUserNamespace | undefined;
  rootfs: PlannedRootfs;
  /** In the order the helper makes them. */
  mounts: PlannedMount[];
  devices: PlannedDevice[];
  symlinks: PlannedSymlink[];
  maskedPaths: string[];
  readonlyPaths: string[];
  hostname: string;
  domainname: string;
  sysctls: { key: string; value: string }[];
  loopbackUp: boolean;
  process: PlannedProcess;
  cgroup: PlannedCgroup;
  /** linux.seccomp compiled; absent when the config has none. */
  seccomp?: PlannedSeccomp | undefined;
  /** Things the plan changed from what the config asked, with the reason; shown, never dropped silently. */
  warnings: string[];
  /** config.json hooks (src/hooks/oci-hooks.ts); absent when there are none. */
  hooks?: PlannedHooks | undefined;
  /** linux.personality as personality(2) takes it (src/plan/other-fields.ts). */
  personality?: number | undefined;
  /** process.consoleSize, with a terminal. */
  consoleSize?: { height: number; width: number } | undefined;
  /** process.ioPriority as ioprio_set(2) takes it (class << 13 | priority). */
  ioPriority?: number | undefined;
  /** process.scheduler as sched_setattr(2) takes it. */
  scheduler?: PlannedScheduler | undefined;
  /** linux.memoryPolicy, linux.timeOffsets, linux.netDevices (src/plan/other-fields.ts). */
  memoryPolicy?: { mode: number; nodes: string } | undefined;
  timeOffsets?: string | undefined;
  netDevices?: { hostName: string; name: string }[] | undefined;
  /** Fields ignored and why, shown with --debug. */
  notes?: string[] | undefined;
}

/** struct sched_attr's fields (runc 1.2's ToSchedAttr). */
export interface PlannedScheduler {
  policy: number;
  flags: number;
  nice: number;
  priority: number;
  runtime: number;
  deadline: number;
  period: number;
}

/** One mounted cgroup hierarchy of the host, as the planner needs it. */
export interface CgroupHierarchy {
  version: 1 | 2;
  /** v1 controllers ("cpu", "name=systemd"); empty for cgroup2. */
  controllers: string[];
  mountPoint: string;
  /** The mount's root inside the hierarchy (mountinfo field 4), "/" unless only a subtree is mounted. */
  root: string;
  /** This process's own cgroup in the hierarchy (/proc/self/cgroup), for relative cgroupsPath. */
  ownCgroup: string;
}

/** What the planner needs to know about the host. Read by src/host/, passed in, so planning stays pure. */
export interface HostFacts {
  cgroupHierarchies: CgroupHierarchy[];
  /** The kernel has cgroup namespaces (/proc/self/ns/cgroup exists). */
  cgroupNamespaces: boolean;
  /** /proc/sys/kernel/cap_last_cap. */
  lastCapability: number;
  /** /proc/kcore exists (runc links /dev/core to it only then). */
  procKcore: boolean;
  /** SELinux, AppArmor, Intel RDT (resctrl) are there; unset means no. */
  selinux?: boolean | undefined;
  apparmor?: boolean | undefined;
  resctrl?: boolean | undefined;
  /** The kernel has time namespaces (/proc/self/timens_offsets); unset means not checked. */
  timeNamespaces?: boolean | undefined;
  /** /proc/sys/kernel/seccomp/actions_avail; undefined when unread (not checked then). */
  seccompActions?: string[] | undefined;
}
