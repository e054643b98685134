// Resource limits, pure: OCI values -> v1 and v2 file writes (runc's conversions), docker's flags, systemd
// paths. Then the v2 backend's writes against a directory tree made to look like a cgroup2 hierarchy (this
// CI host's cgroup2 mount has no memory/cpu/pids controllers to prove them on a real kernel).

import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CgroupV2Manager } from '../../src/cgroups/cgroup-v2-manager.js';
import { createCgroupManager } from '../../src/cgroups/cgroup-manager.js';
import { CgroupV1Manager } from '../../src/cgroups/cgroup-v1-manager.js';
import { expandSlice, systemdPathToCgroupfs } from '../../src/cgroups/cgroup-paths.js';
import {
  blkioWeightToIoWeight,
  formatBytes,
  parseMemorySize,
  planResources,
  sharesToWeight,
  v1ResourceWrites,
  v2ResourceWrites,
} from '../../src/cgroups/resources.js';
import { readResourceFlags } from '../../src/cli/run.js';
import { readUpdateResources } from '../../src/cli/update.js';
import type { PlannedCgroup } from '../../src/plan/container-plan.js';
import type { Logger } from '../../src/log.js';

const MiB = 1024 * 1024;

describe('conversions', () => {
  it('shares -> weight as runc: weight = 1 + ((shares - 2) * 9999) / 262142', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(512)).toBe(20);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(sharesToWeight(0)).toBe(0);
  });

  it('blkio weight -> io weight as runc', () => {
    expect(blkioWeightToIoWeight(10)).toBe(1);
    expect(blkioWeightToIoWeight(500)).toBe(4950);
    expect(blkioWeightToIoWeight(1000)).toBe(10000);
  });

  it('reads docker sizes and prints them back', () => {
    expect(parseMemorySize('32m', '--memory')).toBe(32 * MiB);
    expect(parseMemorySize('1g', '--memory')).toBe(1024 * MiB);
    expect(parseMemorySize('512k', '--memory')).toBe(512 * 1024);
    expect(parseMemorySize('1048576', '--memory')).toBe(MiB);
    expect(() => parseMemorySize('lots', '--memory')).toThrow(/not a size/);
    expect(formatBytes(32 * MiB)).toBe('32 MiB');
    expect(formatBytes(1536 * MiB)).toBe('1.5 GiB');
  });
});

describe('planResources', () => {
  it('refuses what the kernel would refuse, by field', () => {
    expect(() => planResources({ cpu: { shares: 1 } })).toThrow(/cpu.shares 1 is outside 2..262144/);
    expect(() => planResources({ cpu: { period: 10 } })).toThrow(/cpu.period 10/);
    expect(() => planResources({ cpu: { cpus: 'all' } })).toThrow(/cpu.cpus "all"/);
    expect(() => planResources({ memory: { limit: 64 * MiB, swap: 32 * MiB } })).toThrow(/cannot be below memory.limit/);
    expect(() => planResources({ pids: { limit: -2 } })).toThrow(/pids.limit -2/);
    expect(() => planResources({ memory: { disableOOMKiller: true } })).toThrow(/not supported yet/);
    expect(() => planResources({ blockIO: { weight: 5 } })).toThrow(/blockIO.weight 5/);
  });
});

describe('v1 writes', () => {
  it('writes the period before the quota and memory before memory+swap', () => {
    const writes = v1ResourceWrites(
      planResources({
        memory: { limit: 32 * MiB, swap: 64 * MiB, reservation: 16 * MiB },
        cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
        pids: { limit: 20 },
        blockIO: { weight: 300 },
      }),
    );
    expect(writes.map((w) => `${w.controller}/${w.file}=${w.value}`)).toEqual([
      `memory/memory.limit_in_bytes=${32 * MiB}`,
      `memory/memory.memsw.limit_in_bytes=${64 * MiB}`,
      `memory/memory.soft_limit_in_bytes=${16 * MiB}`,
      'cpu/cpu.shares=512',
      'cpu/cpu.cfs_period_us=100000',
      'cpu/cpu.cfs_quota_us=50000',
      'cpuset/cpuset.cpus=0',
      'cpuset/cpuset.mems=0',
      'pids/pids.max=20',
      'blkio/blkio.weight=300',
    ]);
  });

  it('lifting the memory limit lifts memory+swap too; -1 pids is max; 0 means leave it', () => {
    expect(v1ResourceWrites({ memory: { limit: -1 }, pids: { limit: -1 } }).map((w) => `${w.file}=${w.value}`)).toEqual([
      'memory.limit_in_bytes=-1',
      'memory.memsw.limit_in_bytes=-1',
      'pids.max=max',
    ]);
    expect(v1ResourceWrites({ pids: { limit: 0 }, cpu: { shares: 0, quota: 0 } })).toEqual([]);
  });
});

describe('v2 writes', () => {
  it("converts to fs2's files: weight, \"quota period\", swap alone", () => {
    const writes = v2ResourceWrites(
      planResources({
        memory: { limit: 32 * MiB, swap: 48 * MiB, reservation: 16 * MiB },
        cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0-1' },
        pids: { limit: 20 },
        blockIO: { weight: 500 },
      }),
    );
    expect(writes.map((w) => `${w.controller}/${w.file}=${w.value}`)).toEqual([
      `memory/memory.swap.max=${16 * MiB}`,
      `memory/memory.max=${32 * MiB}`,
      `memory/memory.low=${16 * MiB}`,
      'cpu/cpu.weight=39',
      'cpu/cpu.max=50000 100000',
      'cpuset/cpuset.cpus=0-1',
      'pids/pids.max=20',
      'io/io.weight=default 4950',
    ]);
  });

  it('no quota is "max"; unlimited memory is "max" with swap "max"', () => {
    expect(v2ResourceWrites({ cpu: { quota: -1, period: 100000 } })).toEqual([{ controller: 'cpu', file: 'cpu.max', value: 'max 100000' }]);
    expect(v2ResourceWrites({ memory: { limit: -1 } }).map((w) => `${w.file}=${w.value}`)).toEqual(['memory.swap.max=max', 'memory.max=max']);
    expect(() => v2ResourceWrites({ memory: { swap: 64 * MiB } })).toThrow(/without a memory limit/);
  });
});

describe('flags', () => {
  it('run --memory --cpus --pids-limit, as docker', () => {
    expect(readResourceFlags({ memory: '32m', cpus: '0.5', pidsLimit: '20' })).toEqual({
      memory: { limit: 32 * MiB, swap: 32 * MiB },
      cpu: { quota: 50000, period: 100000 },
      pids: { limit: 20 },
    });
    expect(readResourceFlags({})).toBeUndefined();
    expect(() => readResourceFlags({ cpus: 'half' })).toThrow(/--cpus half/);
    expect(() => readResourceFlags({ memory: '1m' })).toThrow(/minimum is 6m/);
  });

  it('update: runc flags over a -r file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shim-unit-update-'));
    try {
      const file = join(dir, 'r.json');
      await writeFile(file, JSON.stringify({ memory: { limit: 1000000 }, pids: { limit: 5 } }));
      expect(await readUpdateResources({ id: 'c', resources: file, pidsLimit: '9', cpuQuota: '20000', cpuPeriod: '100000' })).toEqual({
        memory: { limit: 1000000 },
        cpu: { quota: 20000, period: 100000 },
        pids: { limit: 9 },
      });
      await writeFile(file, JSON.stringify({ devices: [{ allow: true }] }));
      await expect(readUpdateResources({ id: 'c', resources: file })).rejects.toThrow(/devices cannot be updated/);
      await expect(readUpdateResources({ id: 'c' })).rejects.toThrow(/nothing to change/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('systemd cgroupsPath', () => {
  it('expands slices and names the scope as systemd does', () => {
    expect(expandSlice('system.slice')).toBe('/system.slice');
    expect(expandSlice('a-b-c.slice')).toBe('/a.slice/a-b.slice/a-b-c.slice');
    expect(expandSlice('-.slice')).toBe('/');
    expect(systemdPathToCgroupfs('system.slice:docker:abc')).toBe('/system.slice/docker-abc.scope');
    expect(systemdPathToCgroupfs(':shim:abc')).toBe('/system.slice/shim-abc.scope');
    expect(() => systemdPathToCgroupfs('system.slice:abc')).toThrow(/slice:prefix:name/);
    expect(() => expandSlice('a--b.slice')).toThrow(/not a valid slice/);
  });
});

const quiet: Logger = { debugEnabled: false, debug() {}, warn() {} };

describe('the v2 backend on a directory tree', () => {
  let base: string;
  let plan: PlannedCgroup;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'shim-unit-cg2-'));
    await writeFile(join(base, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
    await writeFile(join(base, 'cgroup.subtree_control'), '');
    await mkdir(join(base, 'shim-p'));
    await writeFile(join(base, 'shim-p/cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
    await writeFile(join(base, 'shim-p/cgroup.subtree_control'), 'cpu\n');
    plan = {
      dirs: [{ controllers: [], version: 2, mountPoint: base, cgroupPath: '/shim-p/c1', dir: join(base, 'shim-p/c1') }],
      deviceRules: [],
      removableParentDirs: [],
      resources: planResources({ memory: { limit: 32 * MiB }, cpu: { shares: 1024, quota: 50000, period: 100000 }, pids: { limit: 20 } }),
    };
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const read = (path: string) => readFile(join(base, path), 'utf8');

  it('is the backend chosen for a plan with only a cgroup2 dir; v1 when any v1 dir is there', () => {
    expect(createCgroupManager(plan, quiet)).toBeInstanceOf(CgroupV2Manager);
    const hybrid = { ...plan, dirs: [...plan.dirs, { controllers: ['memory'], version: 1 as const, mountPoint: '/m', cgroupPath: '/c', dir: '/m/c' }] };
    expect(createCgroupManager(hybrid, quiet)).toBeInstanceOf(CgroupV1Manager);
  });

  it('creates the cgroup, enables only the controllers the limits need on the way down, writes the limits', async () => {
    await new CgroupV2Manager(plan, quiet).apply();
    expect(await read('cgroup.subtree_control')).toBe('+memory +cpu +pids');
    // cpu was already enabled one level down: not written again.
    expect(await read('shim-p/cgroup.subtree_control')).toBe('+memory +pids');
    expect(await read('shim-p/c1/memory.max')).toBe(String(32 * MiB));
    expect(await read('shim-p/c1/cpu.weight')).toBe('39');
    expect(await read('shim-p/c1/cpu.max')).toBe('50000 100000');
    expect(await read('shim-p/c1/pids.max')).toBe('20');
  });

  it('refuses a limit whose controller the hierarchy does not offer, by name', async () => {
    await writeFile(join(base, 'cgroup.controllers'), 'hugetlb\n');
    await expect(new CgroupV2Manager(plan, quiet).apply()).rejects.toThrow(/cgroup v2: the memory, cpu, pids controller is not available/);
  });

  it('freezes through cgroup.freeze and reads frozen from cgroup.events; stats in runc units', async () => {
    const manager = new CgroupV2Manager({ ...plan, resources: undefined }, quiet);
    await manager.apply();
    const dir = join(base, 'shim-p/c1');
    // The kernel sets "frozen 1" once every task has stopped; here the test plays the kernel.
    await writeFile(join(dir, 'cgroup.events'), 'populated 1\nfrozen 1\n');
    await manager.freeze();
    expect(await read('shim-p/c1/cgroup.freeze')).toBe('1');
    expect(await manager.isFrozen()).toBe(true);
    await writeFile(join(dir, 'cgroup.events'), 'populated 1\nfrozen 0\n');
    await manager.thaw();
    expect(await read('shim-p/c1/cgroup.freeze')).toBe('0');
    await writeFile(join(dir, 'cpu.stat'), 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 2\nthrottled_usec 30\n');
    await writeFile(join(dir, 'memory.current'), '4096\n');
    await writeFile(join(dir, 'memory.max'), 'max\n');
    await writeFile(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    await writeFile(join(dir, 'pids.current'), '2\n');
    await writeFile(join(dir, 'pids.max'), '20\n');
    const stats = await manager.stats();
    expect(stats.cpu).toEqual({ usage: { total: 1_500_000, user: 1_000_000, kernel: 500_000 }, throttling: { periods: 4, throttled_periods: 2, throttled_time: 30_000 } });
    expect(stats.memory.usage).toEqual({ usage: 4096, max: 0, limit: 0, failcnt: 3 });
    expect(stats.pids).toEqual({ current: 2, limit: 20 });
    expect(await manager.oomKillCount()).toBe(1);
    expect(await manager.memoryLimit()).toBeUndefined();
  });
});
