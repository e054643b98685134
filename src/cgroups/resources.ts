// Resource limits (pure): linux.resources (or docker's / runc update's flags) -> the values to set, and the
// file writes that set them on a v1 or a v2 hierarchy. The conversions between the two follow runc's
// libcontainer/cgroups (fs for v1, fs2 for v2), so a config means the same thing on either kind of host.

import { RuntimeError } from '../errors.js';
import type { OciResources } from '../plan/oci-config.js';

/** OCI units: bytes, microseconds, cgroup v1 shares; -1 means "no limit". Absent: leave as it is. */
export interface PlannedResources {
  memory?: { limit?: number | undefined; reservation?: number | undefined; swap?: number | undefined } | undefined;
  cpu?:
    | { shares?: number | undefined; quota?: number | undefined; period?: number | undefined; cpus?: string | undefined; mems?: string | undefined }
    | undefined;
  pids?: { limit: number } | undefined;
  /** blkio.weight, 10..1000. */
  blkioWeight?: number | undefined;
  /** linux.resources.unified (pure cgroup v2 only, src/plan/other-fields.ts): file -> value, written last. */
  unified?: Record<string, string> | undefined;
  /** linux.resources.hugepageLimits: page size ("2MB") -> bytes (src/plan/other-fields.ts decides where). */
  hugepageLimits?: { pageSize: string; limit: number }[] | undefined;
  /** linux.resources.network: net_cls.classid and net_prio.ifpriomap lines (cgroup v1 only). */
  netClassId?: number | undefined;
  netPriorities?: { name: string; priority: number }[] | undefined;
  /** linux.resources.rdma: device -> "hca_handle=N hca_object=N" (rdma.max, v1 and v2 alike). */
  rdma?: Record<string, string> | undefined;
}

/** One write: `value` into `file` of the hierarchy holding `controller`. */
export interface CgroupFileWrite {
  controller: 'memory' | 'cpu' | 'cpuset' | 'pids' | 'blkio' | 'io' | 'hugetlb' | 'net_cls' | 'net_prio' | 'rdma';
  file: string;
  value: string;
}

export const DEFAULT_CPU_PERIOD_US = 100_000;

/** Validates linux.resources' limits (devices are device-rules.ts's). `where` names the source in messages. */
export function planResources(resources: OciResources | undefined, where = 'config.json: linux.resources'): PlannedResources {
  const planned: PlannedResources = {};
  if (!resources) return planned;
  const { memory, cpu, pids, blockIO } = resources;
  if (memory) {
    for (const key of ['limit', 'reservation', 'swap'] as const) checkLimit(memory[key], `${where}.memory.${key}`);
    if (memory.swappiness !== undefined || memory.disableOOMKiller) {
      throw new RuntimeError('unsupported', `${where}.memory: swappiness and disableOOMKiller are not supported yet`);
    }
    if (memory.limit !== undefined && memory.limit > 0 && memory.swap !== undefined && memory.swap > 0 && memory.swap < memory.limit) {
      throw new RuntimeError('invalid-config', `${where}.memory.swap (${memory.swap}) is memory + swap: it cannot be below memory.limit (${memory.limit})`);
    }
    planned.memory = { limit: memory.limit, reservation: memory.reservation, swap: memory.swap };
  }
  if (cpu) {
    if (cpu.shares !== undefined && cpu.shares !== 0 && (cpu.shares < 2 || cpu.shares > 262144)) {
      throw new RuntimeError('invalid-config', `${where}.cpu.shares ${cpu.shares} is outside 2..262144`);
    }
    if (cpu.period !== undefined && cpu.period !== 0 && (cpu.period < 1000 || cpu.period > 1_000_000)) {
      throw new RuntimeError('invalid-config', `${where}.cpu.period ${cpu.period} is outside 1000..1000000 (microseconds)`);
    }
    if (cpu.quota !== undefined && cpu.quota > 0 && cpu.quota < 1000) {
      throw new RuntimeError('invalid-config', `${where}.cpu.quota ${cpu.quota} is below the kernel's minimum of 1000 microseconds`);
    }
    for (const key of ['cpus', 'mems'] as const) {
      const list = cpu[key];
      if (list !== undefined && list !== '' && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(list)) {
        throw new RuntimeError('invalid-config', `${where}.cpu.${key} "${list}" is not a list like 0-1,3`);
      }
    }
    planned.cpu = { shares: cpu.shares, quota: cpu.quota, period: cpu.period, cpus: cpu.cpus || undefined, mems: cpu.mems || undefined };
  }
  if (pids?.limit !== undefined) {
    checkLimit(pids.limit, `${where}.pids.limit`);
    planned.pids = { limit: pids.limit };
  }
  if (blockIO?.weight !== undefined && blockIO.weight !== 0) {
    if (blockIO.weight < 10 || blockIO.weight > 1000) throw new RuntimeError('invalid-config', `${where}.blockIO.weight ${blockIO.weight} is outside 10..1000`);
    planned.blkioWeight = blockIO.weight;
  }
  return planned;
}

function checkLimit(value: number | undefined, where: string): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < -1) throw new RuntimeError('invalid-config', `${where} ${value} is not a whole number >= -1`);
}

/**
 * The v1 writes, in an order the kernel accepts from a fresh cgroup: the period before the quota (a quota is
 * checked against the period), memory before memory+swap (memsw must stay >= memory). Raising an existing
 * memory limit above the current memsw needs the other order: the v1 manager handles that case itself.
 */
export function v1ResourceWrites(resources: PlannedResources): CgroupFileWrite[] {
  const writes: CgroupFileWrite[] = [];
  const memory = resources.memory;
  if (memory) {
    // runc: lifting the memory limit without a word about swap lifts memory+swap too.
    const swap = memory.limit === -1 && memory.swap === undefined ? -1 : memory.swap;
    if (memory.limit !== undefined && memory.limit !== 0) writes.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: String(memory.limit) });
    if (swap !== undefined && swap !== 0) writes.push({ controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: String(swap) });
    if (memory.reservation !== undefined && memory.reservation !== 0) {
      writes.push({ controller: 'memory', file: 'memory.soft_limit_in_bytes', value: String(memory.reservation) });
    }
  }
  const cpu = resources.cpu;
  if (cpu) {
    if (cpu.shares) writes.push({ controller: 'cpu', file: 'cpu.shares', value: String(cpu.shares) });
    if (cpu.period) writes.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(cpu.period) });
    if (cpu.quota) writes.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(cpu.quota) });
    if (cpu.cpus) writes.push({ controller: 'cpuset', file: 'cpuset.cpus', value: cpu.cpus });
    if (cpu.mems) writes.push({ controller: 'cpuset', file: 'cpuset.mems', value: cpu.mems });
  }
  if (resources.pids && resources.pids.limit !== 0) {
    writes.push({ controller: 'pids', file: 'pids.max', value: resources.pids.limit < 0 ? 'max' : String(resources.pids.limit) });
  }
  if (resources.blkioWeight) writes.push({ controller: 'blkio', file: 'blkio.weight', value: String(resources.blkioWeight) });
  // runc's fs HugetlbGroup, NetClsGroup, NetPrioGroup and RdmaGroup.
  for (const { pageSize, limit } of resources.hugepageLimits ?? []) {
    writes.push({ controller: 'hugetlb', file: `hugetlb.${pageSize}.limit_in_bytes`, value: String(limit) });
  }
  if (resources.netClassId) writes.push({ controller: 'net_cls', file: 'net_cls.classid', value: String(resources.netClassId) });
  for (const { name, priority } of resources.netPriorities ?? []) writes.push({ controller: 'net_prio', file: 'net_prio.ifpriomap', value: `${name} ${priority}` });
  writes.push(...rdmaWrites(resources));
  return writes;
}

/** The v2 writes: runc fs2's names and conversions. */
export function v2ResourceWrites(resources: PlannedResources): CgroupFileWrite[] {
  const writes: CgroupFileWrite[] = [];
  const memory = resources.memory;
  if (memory) {
    // v2's swap file is swap alone, OCI's swap is memory + swap (runc's ConvertMemorySwapToCgroupV2Value).
    const swap = memory.limit === -1 && memory.swap === undefined ? -1 : memory.swap;
    if (swap !== undefined && swap !== 0) {
      let swapOnly: string;
      if (swap === -1) swapOnly = 'max';
      else if (memory.limit === undefined || memory.limit <= 0) {
        throw new RuntimeError('invalid-config', 'memory swap limit without a memory limit cannot be set on cgroup v2');
      } else swapOnly = String(swap - memory.limit);
      writes.push({ controller: 'memory', file: 'memory.swap.max', value: swapOnly });
    }
    if (memory.limit !== undefined && memory.limit !== 0) writes.push({ controller: 'memory', file: 'memory.max', value: maxOf(memory.limit) });
    if (memory.reservation !== undefined && memory.reservation !== 0) writes.push({ controller: 'memory', file: 'memory.low', value: maxOf(memory.reservation) });
  }
  const cpu = resources.cpu;
  if (cpu) {
    if (cpu.shares) writes.push({ controller: 'cpu', file: 'cpu.weight', value: String(sharesToWeight(cpu.shares)) });
    if (cpu.quota || cpu.period) {
      // "QUOTA PERIOD"; a zero or negative quota is no limit. Without a period the kernel keeps its own.
      const quota = cpu.quota && cpu.quota > 0 ? String(cpu.quota) : 'max';
      writes.push({ controller: 'cpu', file: 'cpu.max', value: cpu.period ? `${quota} ${cpu.period}` : quota });
    }
    if (cpu.cpus) writes.push({ controller: 'cpuset', file: 'cpuset.cpus', value: cpu.cpus });
    if (cpu.mems) writes.push({ controller: 'cpuset', file: 'cpuset.mems', value: cpu.mems });
  }
  if (resources.pids && resources.pids.limit !== 0) {
    writes.push({ controller: 'pids', file: 'pids.max', value: resources.pids.limit < 0 ? 'max' : String(resources.pids.limit) });
  }
  if (resources.blkioWeight) writes.push({ controller: 'io', file: 'io.weight', value: `default ${blkioWeightToIoWeight(resources.blkioWeight)}` });
  // runc's fs2 setHugeTlb (the .rsvd.max twin is the manager's, where the kernel has it) and RdmaSet. v2 has no
  // net_cls or net_prio: runc's fs2 never looks at linux.resources.network (other-fields.ts notes it).
  for (const { pageSize, limit } of resources.hugepageLimits ?? []) {
    writes.push({ controller: 'hugetlb', file: `hugetlb.${pageSize}.max`, value: String(limit) });
  }
  writes.push(...rdmaWrites(resources));
  return writes;
}

function rdmaWrites(resources: PlannedResources): CgroupFileWrite[] {
  return Object.entries(resources.rdma ?? {}).map(([device, limits]) => ({ controller: 'rdma', file: 'rdma.max', value: `${device} ${limits}` }));
}

function maxOf(value: number): string {
  return value < 0 ? 'max' : String(value);
}

/** runc's ConvertCPUSharesToCgroupV2Value: [2, 262144] onto [1, 10000]; 0 stays "not set". */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** runc's ConvertBlkIOToIOWeightValue: [10, 1000] onto [1, 10000]. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/** docker's sizes: 32m, 1g, 512k, 100b or bytes; binary units. */
export function parseMemorySize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?$/i.exec(text.trim());
  if (!match) throw new RuntimeError('usage', `${flag} ${text}: not a size (e.g. 32m, 1g)`);
  const unit = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[match[2]!.toLowerCase()]!;
  return Math.floor(Number(match[1]) * unit);
}

/** "32 MiB" for messages. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`;
  }
  return `${bytes} B`;
}
