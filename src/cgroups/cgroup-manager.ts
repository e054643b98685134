// The cgroup manager interface, with a v1 backend (v1 hosts, and hybrid hosts, whose controllers are all on
// v1) and a v2 backend (pure cgroup2 hosts), chosen by what the plan found mounted.

import type { Logger } from '../log.js';
import type { PlannedCgroup } from '../plan/container-plan.js';
import type { PlannedResources } from './resources.js';
import { CgroupV1Manager } from './cgroup-v1-manager.js';
import { CgroupV2Manager } from './cgroup-v2-manager.js';

export { freezeStateFile, isFrozenText } from './cgroup-files.js';

/** What `stats` and `events --stats` print, in runc's shape (libcontainer/cgroups Stats, JSON names). */
export interface CgroupStats {
  cpu: { usage: { total: number; percpu?: number[] | undefined; kernel: number; user: number }; throttling: { periods: number; throttled_periods: number; throttled_time: number } };
  memory: {
    usage: { usage: number; max: number; limit: number; failcnt: number };
    swap?: { usage: number; limit: number } | undefined;
    oom_kill?: number | undefined;
    /** memory.stat under the kernel's own keys (v1: cache, rss, total_*…; v2: anon, file…), as runc's memory.stats. */
    stats?: Record<string, number> | undefined;
    /** v2's memory.events (low, high, max, oom, oom_kill); v1 has none. */
    events?: Record<string, number> | undefined;
  };
  pids: { current: number; limit: number };
  /** Bytes and operations per device and op ("Read", "Write"…), as runc's blkio stats. */
  blkio?: { io_service_bytes_recursive: BlkioEntry[]; io_serviced_recursive: BlkioEntry[] } | undefined;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface CgroupManager {
  /** Which cgroup API limits this container: 1 on v1 and hybrid hosts, 2 on pure cgroup2. */
  readonly version: 1 | 2;
  /** Creates the container's cgroup in every hierarchy and applies its device rules and resource limits. */
  apply(): Promise<void>;
  /** The cgroup.procs files the helper writes the init's pid to before it runs any code of its own. */
  procsFiles(): string[];
  /**
   * Kills whatever still runs in the cgroup and removes it. Safe to call after a partial apply and more
   * than once: missing directories are not an error.
   */
  destroy(): Promise<void>;
  /** Sets limits on an existing cgroup (apply, `update`). */
  setResources(resources: PlannedResources): Promise<void>;
  /** Freezes every process of the cgroup and returns once the kernel says they all are. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  isFrozen(): Promise<boolean>;
  stats(): Promise<CgroupStats>;
  /** How many processes the OOM killer took from the cgroup; undefined when the kernel does not say. */
  oomKillCount(): Promise<number | undefined>;
  /** The memory limit in bytes, undefined when unlimited. */
  memoryLimit(): Promise<number | undefined>;
}

export function createCgroupManager(plan: PlannedCgroup, log: Logger): CgroupManager {
  // A hybrid host has a cgroup2 mount too, but its controllers are bound to v1: v1 is what limits there.
  return plan.dirs.some((dir) => dir.version === 1) ? new CgroupV1Manager(plan, log) : new CgroupV2Manager(plan, log);
}
