// The facts about this host the planner needs, read once per run (the planner itself never touches the host).
// Read synchronously: five reads of /proc, each a few microseconds, cost less than the threadpool round trips
// of their asynchronous forms, and run and exec want the cgroup hierarchies at once (attach-warmup.ts).

import { existsSync, readFileSync } from 'node:fs';
import { planCgroupHierarchies } from '../cgroups/hierarchies.js';
import type { HostFacts } from '../plan/container-plan.js';

export function readHostFactsSync(): HostFacts {
  const cgroupHierarchies = planCgroupHierarchies(readFileSync('/proc/self/mountinfo', 'utf8'), readFileSync('/proc/self/cgroup', 'utf8'));
  let lastCapability: number;
  try {
    lastCapability = Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10);
  } catch {
    // Kernels older than 3.2 lack the file; CAP_BLOCK_SUSPEND (36) is what they could know at most.
    lastCapability = 36;
  }
  return {
    cgroupHierarchies,
    cgroupNamespaces: existsSync('/proc/self/ns/cgroup'),
    lastCapability,
    procKcore: existsSync('/proc/kcore'),
    // As runc and crun tell: selinuxfs mounted; AppArmor's module parameter; resctrl mounted.
    selinux: existsSync('/sys/fs/selinux/enforce'),
    apparmor: readFlag('/sys/module/apparmor/parameters/enabled'),
    resctrl: existsSync('/sys/fs/resctrl/schemata'),
    timeNamespaces: existsSync('/proc/self/timens_offsets'),
    seccompActions: readSeccompActions(),
  };
}

function readFlag(path: string): boolean {
  // Absent on most hosts (no AppArmor): existsSync says so without the cost of an ENOENT error (~0.2 ms).
  if (!existsSync(path)) return false;
  try {
    return readFileSync(path, 'utf8').trim() === 'Y';
  } catch {
    return false;
  }
}

/** The seccomp actions this kernel has (4.14+); an empty list when it has no seccomp filters at all. */
function readSeccompActions(): string[] {
  try {
    return readFileSync('/proc/sys/kernel/seccomp/actions_avail', 'utf8').trim().split(/\s+/);
  } catch {
    return [];
  }
}

export async function readHostFacts(): Promise<HostFacts> {
  return readHostFactsSync();
}
