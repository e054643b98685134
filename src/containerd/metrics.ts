// Task Stats as containerd reads them: the library's cgroup stats (the same readContainerMetrics that `shim
// stats` uses) in containerd/cgroups' Metrics types, as an Any. A container whose cgroup is v1 (v1 and hybrid
// hosts) gets io.containerd.cgroups.v1.Metrics; one on a pure cgroup2 host gets io.containerd.cgroups.v2.Metrics,
// as containerd's runc shim chooses by the host's mode.

import type { BlkioEntry, CgroupStats } from '../cgroups/cgroup-manager.js';
import { google, io } from './generated/containerd.js';

export function metricsAny(version: 1 | 2, stats: CgroupStats): google.protobuf.Any {
  if (version === 2) {
    return google.protobuf.Any.create({ type_url: 'io.containerd.cgroups.v2.Metrics', value: io.containerd.cgroups.v2.Metrics.encode(v2Metrics(stats)).finish() });
  }
  return google.protobuf.Any.create({ type_url: 'io.containerd.cgroups.v1.Metrics', value: io.containerd.cgroups.v1.Metrics.encode(v1Metrics(stats)).finish() });
}

/** memory.stat's keys ("total_rss", "pgpgin") as the Metrics' camelCase field names protobufjs takes. */
function fromKernelKeys(stats: Record<string, number> | undefined, renames: Record<string, string> = {}): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const [key, value] of Object.entries(stats ?? {})) {
    const name = renames[key] ?? key;
    fields[name.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase())] = value;
  }
  return fields;
}

// v1's memory.stat spells page-ins "pgpgin"; the Metrics field is pg_pg_in (as containerd/cgroups maps it).
const V1_MEMORY_RENAMES: Record<string, string> = {
  pgpgin: 'pg_pg_in',
  pgpgout: 'pg_pg_out',
  pgfault: 'pg_fault',
  pgmajfault: 'pg_maj_fault',
  total_pgpgin: 'total_pg_pg_in',
  total_pgpgout: 'total_pg_pg_out',
  total_pgfault: 'total_pg_fault',
  total_pgmajfault: 'total_pg_maj_fault',
  hierarchical_memsw_limit: 'hierarchical_swap_limit',
};

function blkioEntries(entries: BlkioEntry[] | undefined): io.containerd.cgroups.v1.IBlkIOEntry[] {
  return (entries ?? []).map((entry) => ({ major: entry.major, minor: entry.minor, op: entry.op, value: entry.value }));
}

export function v1Metrics(stats: CgroupStats): io.containerd.cgroups.v1.IMetrics {
  return {
    pids: { current: stats.pids.current, limit: stats.pids.limit },
    cpu: {
      usage: { total: stats.cpu.usage.total, kernel: stats.cpu.usage.kernel, user: stats.cpu.usage.user, perCpu: stats.cpu.usage.percpu ?? [] },
      throttling: { periods: stats.cpu.throttling.periods, throttledPeriods: stats.cpu.throttling.throttled_periods, throttledTime: stats.cpu.throttling.throttled_time },
    },
    memory: {
      ...fromKernelKeys(stats.memory.stats, V1_MEMORY_RENAMES),
      usage: { limit: stats.memory.usage.limit, usage: stats.memory.usage.usage, max: stats.memory.usage.max, failcnt: stats.memory.usage.failcnt },
      swap: stats.memory.swap ? { usage: stats.memory.swap.usage, limit: stats.memory.swap.limit } : undefined,
    },
    blkio: stats.blkio
      ? { ioServiceBytesRecursive: blkioEntries(stats.blkio.io_service_bytes_recursive), ioServicedRecursive: blkioEntries(stats.blkio.io_serviced_recursive) }
      : undefined,
    memoryOomControl: stats.memory.oom_kill !== undefined ? { oomKill: stats.memory.oom_kill } : undefined,
  };
}

export function v2Metrics(stats: CgroupStats): io.containerd.cgroups.v2.IMetrics {
  // v2 counts CPU in microseconds; the library's stats carry runc's nanoseconds.
  const usec = (ns: number) => Math.floor(ns / 1000);
  const devices = new Map<string, io.containerd.cgroups.v2.IIOEntry>();
  const device = (entry: BlkioEntry) => {
    const key = `${entry.major}:${entry.minor}`;
    let found = devices.get(key);
    if (!found) devices.set(key, (found = { major: entry.major, minor: entry.minor, rbytes: 0, wbytes: 0, rios: 0, wios: 0 }));
    return found;
  };
  for (const entry of stats.blkio?.io_service_bytes_recursive ?? []) device(entry)[entry.op === 'Read' ? 'rbytes' : 'wbytes'] = entry.value;
  for (const entry of stats.blkio?.io_serviced_recursive ?? []) device(entry)[entry.op === 'Read' ? 'rios' : 'wios'] = entry.value;
  const events = stats.memory.events;
  return {
    pids: { current: stats.pids.current, limit: stats.pids.limit },
    cpu: {
      usageUsec: usec(stats.cpu.usage.total),
      userUsec: usec(stats.cpu.usage.user),
      systemUsec: usec(stats.cpu.usage.kernel),
      nrPeriods: stats.cpu.throttling.periods,
      nrThrottled: stats.cpu.throttling.throttled_periods,
      throttledUsec: usec(stats.cpu.throttling.throttled_time),
    },
    memory: {
      ...fromKernelKeys(stats.memory.stats),
      usage: stats.memory.usage.usage,
      usageLimit: stats.memory.usage.limit,
      swapUsage: stats.memory.swap?.usage ?? 0,
      swapLimit: stats.memory.swap?.limit ?? 0,
    },
    io: stats.blkio ? { usage: [...devices.values()] } : undefined,
    memoryEvents: events ? { low: events.low ?? 0, high: events.high ?? 0, max: events.max ?? 0, oom: events.oom ?? 0, oomKill: events.oom_kill ?? 0 } : undefined,
  };
}
