/* eslint-disable @typescript-eslint/no-explicit-any -- decoded messages, normalised for comparing */
// What the runtime v2 server hands containerd and takes from it, without a containerd: the cgroups v1/v2
// Metrics built from the library's stats (src/containerd/metrics.ts; the cgroup files' parsers beside them),
// and runc's Options decoded into what Create honours (src/containerd/runtime-options.ts). The end-to-end
// checks (ctr task metrics, ctr run --runc-*) are in test/integration/containerd.test.ts; a pure cgroup2
// host, whose v2 Metrics containerd would get, is not available here, hence these.

import { describe, expect, it } from 'vitest';
import type { CgroupStats } from '../../src/cgroups/cgroup-manager.js';
import { parseBlkioLines, parseIoStat } from '../../src/cgroups/cgroup-files.js';
import { containerd, io, runtimeoptions } from '../../src/containerd/generated/containerd.js';
import { metricsAny } from '../../src/containerd/metrics.js';
import { createOptionsOf } from '../../src/containerd/runtime-options.js';

const stats: CgroupStats = {
  cpu: { usage: { total: 5_000_000, kernel: 2_000_000, user: 3_000_000, percpu: [4_000_000, 1_000_000] }, throttling: { periods: 10, throttled_periods: 3, throttled_time: 7_000 } },
  memory: {
    usage: { usage: 1_048_576, max: 2_097_152, limit: 33_554_432, failcnt: 1 },
    swap: { usage: 0, limit: 33_554_432 },
    oom_kill: 2,
    stats: { anon: 4096, file: 8192, pgfault: 77, total_rss: 4096, pgpgin: 5, hierarchical_memsw_limit: 9 },
    events: { low: 0, high: 0, max: 4, oom: 2, oom_kill: 2 },
  },
  pids: { current: 3, limit: 42 },
  blkio: {
    io_service_bytes_recursive: [
      { major: 8, minor: 0, op: 'Read', value: 1024 },
      { major: 8, minor: 0, op: 'Write', value: 2048 },
    ],
    io_serviced_recursive: [{ major: 8, minor: 0, op: 'Read', value: 3 }],
  },
};

/** Decoded uint64s come back as Long objects: plain numbers, for comparing. */
function plain(value: unknown): any {
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    if ('low' in value && 'high' in value && 'unsigned' in value) return (value as unknown as { toNumber(): number }).toNumber();
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner)]));
  }
  return value;
}

describe('Stats as containerd Metrics', () => {
  it('v1: the Any of io.containerd.cgroups.v1.Metrics with memory.stat under the proto names, blkio and oom_kill', () => {
    const any = metricsAny(1, stats);
    expect(any.type_url).toBe('io.containerd.cgroups.v1.Metrics');
    const metrics = plain(io.containerd.cgroups.v1.Metrics.decode(any.value));
    expect(metrics.pids).toMatchObject({ current: 3, limit: 42 });
    expect(metrics.cpu?.usage).toMatchObject({ total: 5_000_000, kernel: 2_000_000, user: 3_000_000, perCpu: [4_000_000, 1_000_000] });
    expect(metrics.memory).toMatchObject({ totalRss: 4096, pgPgIn: 5, hierarchicalSwapLimit: 9 });
    expect(metrics.memory?.usage).toMatchObject({ usage: 1_048_576, max: 2_097_152, limit: 33_554_432, failcnt: 1 });
    expect(metrics.blkio?.ioServiceBytesRecursive).toHaveLength(2);
    expect(metrics.blkio?.ioServiceBytesRecursive?.[1]).toMatchObject({ major: 8, minor: 0, op: 'Write', value: 2048 });
    expect(metrics.memoryOomControl?.oomKill).toBe(2);
  });

  it('v2: io.containerd.cgroups.v2.Metrics in microseconds, memory.stat, io per device and memory.events', () => {
    const any = metricsAny(2, stats);
    expect(any.type_url).toBe('io.containerd.cgroups.v2.Metrics');
    const metrics = plain(io.containerd.cgroups.v2.Metrics.decode(any.value));
    expect(metrics.cpu).toMatchObject({ usageUsec: 5000, userUsec: 3000, systemUsec: 2000, nrPeriods: 10, nrThrottled: 3, throttledUsec: 7 });
    expect(metrics.memory).toMatchObject({ anon: 4096, file: 8192, pgfault: 77, usage: 1_048_576, usageLimit: 33_554_432, swapLimit: 33_554_432 });
    expect(metrics.io?.usage).toEqual([expect.objectContaining({ major: 8, minor: 0, rbytes: 1024, wbytes: 2048, rios: 3, wios: 0 })]);
    expect(metrics.memoryEvents).toMatchObject({ max: 4, oom: 2, oomKill: 2 });
  });

  it("parses v1's blkio lines (without the Total line) and v2's io.stat", () => {
    expect(parseBlkioLines('8:0 Read 10\n8:0 Write 20\n8:0 Sync 30\nTotal 60')).toEqual([
      { major: 8, minor: 0, op: 'Read', value: 10 },
      { major: 8, minor: 0, op: 'Write', value: 20 },
      { major: 8, minor: 0, op: 'Sync', value: 30 },
    ]);
    expect(parseBlkioLines(undefined)).toEqual([]);
    const parsed = parseIoStat('259:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0');
    expect(parsed.bytes).toEqual([
      { major: 259, minor: 0, op: 'Read', value: 4096 },
      { major: 259, minor: 0, op: 'Write', value: 8192 },
    ]);
    expect(parsed.ios.map((entry) => entry.value)).toEqual([1, 2]);
  });
});

describe("Create's runtime options", () => {
  const runc = (fields: containerd.runc.v1.IOptions, typeUrl = 'containerd.runc.v1.Options') => ({ type_url: typeUrl, value: containerd.runc.v1.Options.encode(fields).finish() });

  it('none: the defaults', () => {
    expect(createOptionsOf(undefined)).toEqual({ noPivot: false, systemdCgroup: false, notes: [] });
  });

  it("runc's: no_pivot_root, systemd_cgroup and io_uid/io_gid are taken; binary_name, root, shim_cgroup and criu are said to be ignored", () => {
    const options = createOptionsOf(runc({ noPivotRoot: true, systemdCgroup: true, ioUid: 1000, ioGid: 100, binaryName: 'crun', root: '/run/x', shimCgroup: '/pod', criuPath: '/criu', noNewKeyring: true }));
    expect(options).toMatchObject({ noPivot: true, systemdCgroup: true, ioOwner: { uid: 1000, gid: 100 } });
    expect(options.notes).toHaveLength(4);
    expect(options.notes.join('\n')).toMatch(/binary_name crun ignored[^\n]*\n.*root \/run\/x ignored[^\n]*\n.*shim_cgroup \/pod ignored[^\n]*\n.*criu paths ignored/);
    // A full type URL is the same type.
    expect(createOptionsOf(runc({ noPivotRoot: true }, 'type.googleapis.com/containerd.runc.v1.Options')).noPivot).toBe(true);
  });

  it('runtimeoptions.v1: a config file is said to be ignored; another type is refused', () => {
    const generic = { type_url: 'runtimeoptions.v1.Options', value: runtimeoptions.v1.Options.encode({ configPath: '/etc/x.toml' }).finish() };
    expect(createOptionsOf(generic).notes).toEqual([expect.stringContaining('config_path /etc/x.toml ignored')]);
    expect(() => createOptionsOf({ type_url: 'example.Other', value: new Uint8Array() })).toThrow(/example.Other are not runc's/);
  });
});
