// The facts about this host the planner needs, read once per run (the planner itself never touches the host).

import { access, readFile } from 'node:fs/promises';
import { readCgroupHierarchies } from '../cgroups/hierarchies.js';
import type { HostFacts } from '../plan/container-plan.js';

export async function readHostFacts(): Promise<HostFacts> {
  const [cgroupHierarchies, cgroupNamespaces, lastCapability, procKcore] = await Promise.all([
    readCgroupHierarchies(),
    exists('/proc/self/ns/cgroup'),
    readFile('/proc/sys/kernel/cap_last_cap', 'utf8').then(
      (text) => Number.parseInt(text, 10),
      // Kernels older than 3.2 lack the file; CAP_BLOCK_SUSPEND (36) is what they could know at most.
      () => 36,
    ),
    exists('/proc/kcore'),
  ]);
  return { cgroupHierarchies, cgroupNamespaces, lastCapability, procKcore };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
