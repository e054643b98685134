// Resource limits, pause/resume, update and stats on real cgroups through the real CLI (cgroup v1 on this
// host), and the v2 backend against the host's real cgroup2 hierarchy as far as it goes without controllers.
// Every test ends with nothing left behind.

import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CgroupV2Manager } from '../../src/cgroups/cgroup-v2-manager.js';
import type { Logger } from '../../src/log.js';
import { killPid, makeBundle, makeRoots, settledLeaks, shim, type Roots } from '../support/shim.js';

let roots: Roots;

beforeEach(async () => {
  roots = await makeRoots();
});

afterEach(async () => {
  try {
    for (const id of await readdir(roots.root).catch(() => [] as string[])) {
      if (id.startsWith('.')) continue;
      const result = await shim(roots, ['delete', '--force', id]);
      if (result.exitCode !== 0) console.error(`cleanup: ${result.stderr}`);
    }
    expect(await settledLeaks(roots)).toEqual([]);
  } finally {
    await roots.dispose();
  }
});

/** The container's directory in one v1 hierarchy. */
const v1Dir = (controller: string, id: string) => join('/sys/fs/cgroup', controller, roots.cgroupParent, id);

async function runDetached(id: string, flags: string[], script: string): Promise<void> {
  const result = await shim(roots, ['run', '-d', '--name', id, ...flags, 'busybox', 'sh', '-c', script]);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
}

async function statusOf(id: string): Promise<string> {
  const result = await shim(roots, ['state', id]);
  expect(result.exitCode).toBe(0);
  return JSON.parse(result.stdout).status;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

describe('limits at run', () => {
  it('--pids-limit 20: a fork loop hits the limit, the host is unharmed, the container still exits', async () => {
    const script = 'cat /sys/fs/cgroup/pids/pids.max; i=0; while [ $i -lt 100 ]; do sleep 30 & i=$((i+1)); done; echo all-forked';
    const started = Date.now();
    const result = await shim(roots, ['run', '--rm', '--pids-limit', '20', 'busybox', 'sh', '-c', script]);
    expect(result.stdout).toBe('20\n');
    expect(result.stderr).toMatch(/can't fork: Resource temporarily unavailable/);
    expect(result.exitCode).not.toBe(0);
    // The sleeps went with the pid namespace when the init gave up: nothing waited for 30s.
    expect(Date.now() - started).toBeLessThan(25_000);
    expect((await execa('sh', ['-c', 'echo host-forks'])).stdout).toBe('host-forks');
  });

  it('--memory 32m: a process holding 64 MiB is OOM-killed and shim says so', async () => {
    // busybox tail keeps the last "line" of /dev/zero, which never ends: anonymous memory, growing.
    const result = await shim(roots, ['run', '--rm', '--memory', '32m', 'busybox', 'tail', '/dev/zero']);
    expect(result.exitCode).toBe(137);
    expect(result.stderr).toMatch(/^shim: run [0-9a-f]{64}: init was OOM-killed \(memory limit 32 MiB\)$/m);
  });

  it('run -d --memory 32m: a detached container killed by the OOM killer says so in inspect', async () => {
    await runDetached('oom', ['--memory', '32m'], 'tail /dev/zero');
    await waitFor(async () => (await statusOf('oom')) === 'stopped');
    const inspect = await shim(roots, ['inspect', 'oom']);
    expect(JSON.parse(inspect.stdout).State).toMatchObject({ Status: 'exited', ExitCode: 137, OOMKilled: true });
    // A SIGKILL that is not the OOM killer's is not reported as one.
    await runDetached('killed', ['--memory', '32m'], 'sleep 1000');
    expect((await shim(roots, ['kill', 'killed', 'KILL'])).exitCode).toBe(0);
    await waitFor(async () => (await statusOf('killed')) === 'stopped');
    expect(JSON.parse((await shim(roots, ['inspect', 'killed'])).stdout).State).toMatchObject({ ExitCode: 137, OOMKilled: false });
    for (const id of ['oom', 'killed']) expect((await shim(roots, ['delete', id])).exitCode).toBe(0);
  });

  it('--cpus 0.5: the quota is 50000us per 100000us and a busy loop stays under about half a core', async () => {
    await runDetached('busy', ['--cpus', '0.5'], 'while :; do :; done');
    const cpu = v1Dir('cpu', 'busy');
    expect((await readFile(join(cpu, 'cpu.cfs_quota_us'), 'utf8')).trim()).toBe('50000');
    expect((await readFile(join(cpu, 'cpu.cfs_period_us'), 'utf8')).trim()).toBe('100000');
    const usage = async () => Number(await readFile(join(v1Dir('cpuacct', 'busy'), 'cpuacct.usage'), 'utf8'));
    const before = await usage();
    const startedAt = process.hrtime.bigint();
    await sleep(1000);
    const used = (await usage()) - before;
    const elapsed = Number(process.hrtime.bigint() - startedAt);
    // An upper bound only: the machine is loaded by other work, so the loop may get less, never much more.
    expect(used).toBeGreaterThan(0);
    expect(used / elapsed).toBeLessThan(0.5 * 1.25);
    expect((await shim(roots, ['delete', '--force', 'busy'])).exitCode).toBe(0);
  });

  it('a bundle: linux.resources limits are what the container sees in its cgroups', async () => {
    const dir = await makeBundle(join(roots.base, 'bundle'), (config) => {
      config.process.args = ['sh', '-c', 'cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes cpu/cpu.shares cpu/cpu.cfs_quota_us cpuset/cpuset.cpus pids/pids.max'];
      config.linux.resources = {
        ...config.linux.resources,
        memory: { limit: 50 * 1024 * 1024, reservation: 10 * 1024 * 1024 },
        cpu: { shares: 512, quota: 30000, period: 100000, cpus: '0' },
        pids: { limit: 30 },
      };
    });
    const result = await shim(roots, ['run', '--bundle', dir, 'limited']);
    expect(result.stderr).not.toMatch(/error|not supported/);
    expect(result.stdout.split('\n')).toEqual([String(50 * 1024 * 1024), '512', '30000', '0', '30', '']);
    expect(result.exitCode).toBe(0);
  });

  it('run -d: the limits land in the v1 files; delete leaves no directory in any hierarchy', async () => {
    await runDetached('lim', ['--memory', '64m', '--pids-limit', '30'], 'sleep 1000');
    expect(Number(await readFile(join(v1Dir('memory', 'lim'), 'memory.limit_in_bytes'), 'utf8'))).toBe(64 * 1024 * 1024);
    expect(Number(await readFile(join(v1Dir('memory', 'lim'), 'memory.memsw.limit_in_bytes'), 'utf8'))).toBe(64 * 1024 * 1024);
    const hierarchies = (await readdir('/sys/fs/cgroup')).filter((name) => existsSync(join('/sys/fs/cgroup', name, roots.cgroupParent, 'lim')));
    expect(hierarchies).toEqual(expect.arrayContaining(['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'pids', 'unified']));
    expect((await shim(roots, ['delete', '--force', 'lim'])).exitCode).toBe(0);
    for (const name of await readdir('/sys/fs/cgroup')) expect(existsSync(join('/sys/fs/cgroup', name, roots.cgroupParent, 'lim'))).toBe(false);
  });
});

describe('pause, resume, update, stats', () => {
  it('pause freezes (the counter stops, state says paused, exec is refused), resume continues', async () => {
    const out = join(roots.base, 'out');
    await mkdir(out);
    await runDetached('count', ['-v', `${out}:/out`], 'i=0; while :; do i=$((i+1)); echo $i > /out/n; sleep 0.02; done');
    const counter = async () => Number((await readFile(join(out, 'n'), 'utf8').catch(() => '0')).trim() || 0);
    await waitFor(async () => (await counter()) > 2);

    expect((await shim(roots, ['pause', 'count'])).exitCode).toBe(0);
    expect(await statusOf('count')).toBe('paused');
    expect((await shim(roots, ['list'])).stdout).toMatch(/^count\s+\d+\s+paused\s/m);
    expect((await readFile(join(v1Dir('freezer', 'count'), 'freezer.state'), 'utf8')).trim()).toBe('FROZEN');
    const frozenAt = await counter();
    await sleep(500);
    expect(await counter()).toBe(frozenAt);
    const exec = await shim(roots, ['exec', 'count', 'true']);
    expect(exec.exitCode).not.toBe(0);
    expect(exec.stderr).toMatch(/cannot exec in a paused container/);
    expect((await shim(roots, ['pause', 'count'])).stderr).toMatch(/cannot pause a paused container/);

    expect((await shim(roots, ['resume', 'count'])).exitCode).toBe(0);
    expect(await statusOf('count')).toBe('running');
    await waitFor(async () => (await counter()) > frozenAt + 2);
    expect((await shim(roots, ['resume', 'count'])).stderr).toMatch(/cannot resume a running container/);
  });

  it('delete --force takes a paused container too, at once', async () => {
    await runDetached('frozen', [], 'sleep 1000');
    expect((await shim(roots, ['pause', 'frozen'])).exitCode).toBe(0);
    expect((await shim(roots, ['delete', 'frozen'])).stderr).toMatch(/cannot delete a paused container/);
    const started = Date.now();
    const deleted = await shim(roots, ['delete', '--force', 'frozen']);
    expect(deleted.stderr).toBe('');
    expect(deleted.exitCode).toBe(0);
    // A frozen init acts on SIGKILL only once thawed: delete thaws right after the signal instead of waiting.
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('update --pids-limit on a running container takes effect', async () => {
    await runDetached('upd', [], 'sleep 1000');
    expect((await readFile(join(v1Dir('pids', 'upd'), 'pids.max'), 'utf8')).trim()).toBe('max');
    const update = await shim(roots, ['update', '--pids-limit', '3', 'upd']);
    expect(update.stderr).toBe('');
    expect(update.exitCode).toBe(0);
    expect((await readFile(join(v1Dir('pids', 'upd'), 'pids.max'), 'utf8')).trim()).toBe('3');
    // sleep (the init) + sh + one sleep is the limit: the second background sleep cannot be forked.
    // The sleep that was forked keeps running: its output goes nowhere, so exec's pipes close with sh.
    const exec = await shim(roots, ['exec', 'upd', 'sh', '-c', 'sleep 30 >/dev/null 2>&1 & sleep 30 >/dev/null 2>&1 & echo forked']);
    expect(exec.stderr).toMatch(/can't fork/);
    const stats = JSON.parse((await shim(roots, ['stats', 'upd'])).stdout);
    expect(stats.pids.limit).toBe(3);
    const more = await shim(roots, ['update', '--memory', '48m', '--cpu-quota', '20000', '--cpu-period', '100000', '--cpu-shares', '512', 'upd']);
    expect(more.exitCode).toBe(0);
    expect(Number(await readFile(join(v1Dir('memory', 'upd'), 'memory.limit_in_bytes'), 'utf8'))).toBe(48 * 1024 * 1024);
    expect((await readFile(join(v1Dir('cpu', 'upd'), 'cpu.cfs_quota_us'), 'utf8')).trim()).toBe('20000');
    expect((await readFile(join(v1Dir('cpu', 'upd'), 'cpu.shares'), 'utf8')).trim()).toBe('512');
    expect((await shim(roots, ['update', 'upd'])).stderr).toMatch(/nothing to change/);
  });

  it('update --memory of a run --memory container moves memory+swap with it (no swap before, none after)', async () => {
    const memory = () => v1Dir('memory', 'mem');
    const read = async (file: string) => Number(await readFile(join(memory(), file), 'utf8'));
    await runDetached('mem', ['--memory', '32m'], 'sleep 1000');
    for (const size of [64, 16]) {
      const update = await shim(roots, ['update', '--memory', `${size}m`, 'mem']);
      expect(update.stderr).toBe('');
      expect(await read('memory.limit_in_bytes')).toBe(size * 1024 * 1024);
      expect(await read('memory.memsw.limit_in_bytes')).toBe(size * 1024 * 1024);
    }
    const both = await shim(roots, ['update', '--memory', '40m', '--memory-swap', '80m', 'mem']);
    expect(both.stderr).toBe('');
    expect(await read('memory.memsw.limit_in_bytes')).toBe(80 * 1024 * 1024);
    // -r - reads the resources from stdin.
    const fromStdin = await shim(roots, ['update', '-r', '-', 'mem'], { input: JSON.stringify({ pids: { limit: 12 } }) });
    expect(fromStdin.stderr).toBe('');
    expect((await readFile(join(v1Dir('pids', 'mem'), 'pids.max'), 'utf8')).trim()).toBe('12');
  });

  it('stats and events --stats print usage as JSON, runc-style', async () => {
    await runDetached('st', ['--pids-limit', '10'], 'sleep 1000');
    const stats = JSON.parse((await shim(roots, ['stats', 'st'])).stdout);
    expect(stats.id).toBe('st');
    expect(stats.memory.usage).toBeGreaterThan(0);
    expect(stats.cpu.usage_ns).toBeGreaterThan(0);
    expect(stats.pids).toEqual({ current: 1, limit: 10 });
    const events = await shim(roots, ['events', '--stats', 'st']);
    expect(events.exitCode).toBe(0);
    const event = JSON.parse(events.stdout);
    expect(event).toMatchObject({ type: 'stats', id: 'st', data: { pids: { current: 1, limit: 10 } } });
    expect(event.data.cpu.usage.total).toBeGreaterThan(0);
    expect(event.data.memory.usage.usage).toBeGreaterThan(0);
    expect((await shim(roots, ['events', 'st'])).stderr).toMatch(/events without --stats .*not supported yet/);
  });
});

describe('the v2 backend on the real cgroup2 hierarchy of this hybrid host', () => {
  const unified = '/sys/fs/cgroup/unified';
  const quiet: Logger = { debugEnabled: false, debug() {}, warn() {} };

  it('creates, places, freezes, thaws, reads cpu usage and destroys; refuses a controller v2 does not have here', async (context) => {
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    if (!mounts.split('\n').some((line) => line.split(' ')[4] === unified && / - cgroup2 /.test(line))) {
      context.skip(`no cgroup2 mounted at ${unified}`);
    }
    const dir = join(unified, roots.cgroupParent, 'v2');
    const manager = new CgroupV2Manager(
      { dirs: [{ controllers: [], version: 2, mountPoint: unified, cgroupPath: `/${roots.cgroupParent}/v2`, dir }], deviceRules: [], removableParentDirs: [] },
      quiet,
    );
    await manager.apply();
    const child = execa('sh', ['-c', 'while :; do :; done'], { env: roots.env, reject: false });
    try {
      await import('node:fs/promises').then(({ writeFile }) => writeFile(manager.procsFiles()[0]!, String(child.pid)));
      expect((await readFile(`/proc/${child.pid}/cgroup`, 'utf8')).split('\n')).toContain(`0::/${roots.cgroupParent}/v2`);
      await manager.freeze();
      expect(await manager.isFrozen()).toBe(true);
      const frozenUsage = (await manager.stats()).cpu.usage.total;
      await sleep(300);
      expect((await manager.stats()).cpu.usage.total).toBe(frozenUsage);
      await manager.thaw();
      expect(await manager.isFrozen()).toBe(false);
      await waitFor(async () => (await manager.stats()).cpu.usage.total > frozenUsage);
      await expect(manager.setResources({ pids: { limit: 10 } })).rejects.toThrow(/cgroup v2: the pids controller is not available/);
      await manager.destroy();
      expect(existsSync(dir)).toBe(false);
      await child;
    } finally {
      if (child.pid) killPid(child.pid);
    }
  });
});
