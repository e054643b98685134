// The cgroup manager interface. This issue brings the v1 backend (create, place via cgroup.procs, device
// rules, destroy); a later one adds v2, resource limits, pause/resume and stats behind the same interface.

import type { Logger } from '../log.js';
import type { PlannedCgroup } from '../plan/container-plan.js';
import { CgroupV1Manager } from './cgroup-v1-manager.js';

export interface CgroupManager {
  /** Creates the container's cgroup in every hierarchy and applies its device rules. */
  apply(): Promise<void>;
  /** The cgroup.procs files the helper writes the init's pid to before it runs any code of its own. */
  procsFiles(): string[];
  /**
   * Kills whatever still runs in the cgroup and removes it. Safe to call after a partial apply and more
   * than once: missing directories are not an error.
   */
  destroy(): Promise<void>;
}

export function createCgroupManager(plan: PlannedCgroup, log: Logger): CgroupManager {
  return new CgroupV1Manager(plan, log);
}
