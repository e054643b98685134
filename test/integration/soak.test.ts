// A soak, bounded in time (SHIM_SOAK_SECONDS, 60 by default; longer by hand): 8 workers at once, each
// looping create, start, exec, kill and delete (runc's verbs on a bundle, or docker's run -d / exec / kill /
// rm), while two long-lived detached containers are exec'd into again and again. Afterwards:
// - their background monitors (the long-lived processes) hold the same fds as after the first round and their
//   RSS has not grown;
// - `list` matches reality: exactly the long-lived containers, running, their pids alive in their own cgroups,
//   no other cgroup, process, state or layer dir;
// and once they are deleted too, nothing is left.
//
// Also here: parallel `image import` of one archive gives one image whose blobs verify, and a parallel
// `volume rm` of a volume in use is refused by every caller while the volume survives.

import { createHash } from 'node:crypto';
import { readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shimToFiles } from '../support/files-stdio.js';
import { makeBundle, makeRoots, settledLeaks, shim, type Roots } from '../support/shim.js';

const SOAK_SECONDS = Number(process.env.SHIM_SOAK_SECONDS ?? 60);
const WORKERS = 8;

let roots: Roots;

beforeEach(async () => {
  roots = await makeRoots();
});

afterEach(async () => {
  await roots.dispose();
});

async function ok(args: string[]): Promise<string> {
  const result = await shim(roots, args);
  if (result.exitCode !== 0) throw new Error(`shim ${args.join(' ')}: exit ${result.exitCode}: ${result.stderr}`);
  return result.stdout;
}

async function monitorOf(id: string): Promise<number> {
  const pid = JSON.parse(await ok(['state', id])).pid as number;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

interface Sample {
  fds: string[];
  rssKib: number;
}

async function sample(pid: number): Promise<Sample> {
  const fds: string[] = [];
  for (const fd of await readdir(`/proc/${pid}/fd`)) fds.push(`${fd} -> ${await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '?')}`);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return { fds: fds.sort(), rssKib: Number(/^VmRSS:\s+(\d+)/m.exec(status)![1]) };
}

/** The cgroups (v1 pids hierarchy, present on every host here) under the test's parent, and their processes. */
async function cgroupsNow(): Promise<Map<string, number[]>> {
  const found = new Map<string, number[]>();
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const pidsLine = mountinfo.split('\n').find((line) => / - cgroup2? /.test(line) && /[ ,]pids([ ,]|$)/.test(line))
    ?? mountinfo.split('\n').find((line) => / - cgroup2 /.test(line))!;
  const parent = join(pidsLine.split(' ')[4]!, roots.cgroupParent);
  for (const entry of await readdir(parent, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory()) continue;
    const procs = await readFile(join(parent, entry.name, 'cgroup.procs'), 'utf8').catch(() => '');
    found.set(entry.name, procs.split('\n').filter(Boolean).map(Number));
  }
  return found;
}

describe('soak', () => {
  it(`${WORKERS} workers create, start, exec, kill and delete for ${SOAK_SECONDS}s: no fd or RSS growth, list matches reality`, async () => {
    const bundle = await makeBundle(join(roots.base, 'bundle'), (config) => (config.process.args = ['sleep', '600']));
    const keepers = ['keep1', 'keep2'];
    for (const id of keepers) await ok(['run', '-d', '--name', id, 'busybox', 'sleep', '100000']);
    const monitors = await Promise.all(keepers.map(monitorOf));

    let rounds = 0;
    const failures: string[] = [];
    const step = async (what: string, run: () => Promise<{ exitCode: number; stderr: string }>) => {
      const result = await run();
      if (result.exitCode !== 0) failures.push(`${what}: exit ${result.exitCode}: ${result.stderr.trim()}`);
      return result;
    };
    const round = async (worker: number, n: number) => {
      const id = `w${worker}-${n}`;
      if (worker % 2 === 0) {
        await step(`create ${id}`, () => shimToFiles(roots, ['create', '--bundle', bundle, id]));
        await step(`start ${id}`, () => shim(roots, ['start', id]));
      } else {
        await step(`run -d ${id}`, () => shim(roots, ['run', '-d', '--name', id, 'busybox', 'sleep', '600']));
      }
      await step(`exec ${id}`, () => shim(roots, ['exec', id, 'true']));
      await step(`exec ${keepers[worker % 2]}`, () => shim(roots, ['exec', keepers[worker % 2]!, 'sh', '-c', 'echo $$ > /dev/null']));
      await step(`kill ${id}`, () => shim(roots, ['kill', id, 'KILL']));
      // Killed, it is stopped a moment later; delete (without --force) must then succeed.
      for (let tries = 0; tries < 200; tries++) {
        const state = await shim(roots, ['state', id]);
        if (JSON.parse(state.stdout || '{}').status === 'stopped') break;
        await new Promise((done) => setTimeout(done, 10));
      }
      await step(`delete ${id}`, () => shim(roots, ['delete', id]));
      rounds++;
    };

    // A first round for every worker before the first sample: the monitors' pages touched by an exec are in.
    await Promise.all(Array.from({ length: WORKERS }, (_, worker) => round(worker, 0)));
    const before = await Promise.all(monitors.map(sample));
    const deadline = Date.now() + SOAK_SECONDS * 1000;
    await Promise.all(Array.from({ length: WORKERS }, async (_, worker) => {
      for (let n = 1; Date.now() < deadline && failures.length === 0; n++) await round(worker, n);
    }));
    const after = await Promise.all(monitors.map(sample));
    console.log(`soak: ${rounds} rounds of create/start/exec/kill/delete in ${SOAK_SECONDS}s with ${WORKERS} workers; ` +
      `monitor fds ${before.map((s) => s.fds.length)} -> ${after.map((s) => s.fds.length)}, RSS KiB ${before.map((s) => s.rssKib)} -> ${after.map((s) => s.rssKib)}`);
    expect(failures).toEqual([]);
    expect(rounds).toBeGreaterThan(WORKERS * 2);
    for (const [index, monitor] of monitors.entries()) {
      expect({ monitor, fds: after[index]!.fds }).toEqual({ monitor, fds: before[index]!.fds });
      // Not one page more (a static helper that allocates nothing per exec).
      expect(after[index]!.rssKib).toBeLessThanOrEqual(before[index]!.rssKib);
    }

    // list matches reality: the keepers, running, each pid alive and alone in its own cgroup (its exec'd
    // processes are gone); no other cgroup, state dir or layer dir.
    const listed = JSON.parse(await ok(['list', '--format', 'json'])) as { id: string; pid: number; status: string }[];
    expect(listed.map((c) => [c.id, c.status]).sort()).toEqual(keepers.map((id) => [id, 'running']));
    const cgroups = await cgroupsNow();
    expect([...cgroups.keys()].sort()).toEqual(keepers);
    for (const container of listed) expect(cgroups.get(container.id)).toEqual([container.pid]);
    expect((await readdir(roots.root)).filter((entry) => !entry.startsWith('.')).sort()).toEqual(keepers);
    expect((await readdir(join(roots.dataRoot, 'containers'))).sort()).toEqual(keepers);

    for (const id of keepers) await ok(['delete', '--force', id]);
    expect(await settledLeaks(roots)).toEqual([]);
  }, (SOAK_SECONDS + 120) * 1000);
});

describe('parallel store changes', () => {
  it('4 imports of one archive at once give one image whose blobs verify', async () => {
    await ok(['run', '--name', 'maker', 'busybox', 'sh', '-c', 'head -c 2000000 /dev/urandom > /big']);
    await ok(['commit', 'maker', 'made:1']);
    await ok(['rm', 'maker']);
    const archive = join(roots.base, 'made.tar');
    await ok(['image', 'export', 'made:1', archive]);
    await ok(['image', 'rm', 'made:1']);
    const results = await Promise.all(Array.from({ length: 4 }, () => shim(roots, ['image', 'import', archive, 'same:1'])));
    for (const result of results) expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect(new Set(results.map((result) => result.stdout)).size).toBe(1);
    const listed = (await ok(['image', 'ls'])).split('\n').filter((line) => line.startsWith('same '));
    expect(listed).toHaveLength(1);
    // Every blob's name is its sha256; nothing is left in tmp/; the image runs with its layer whole.
    const blobs = join(roots.dataRoot, 'images/blobs/sha256');
    for (const name of await readdir(blobs)) {
      expect(createHash('sha256').update(await readFile(join(blobs, name))).digest('hex')).toBe(name);
    }
    expect(await readdir(join(roots.dataRoot, 'images/tmp'))).toEqual([]);
    const layers = await readdir(join(roots.dataRoot, 'images/layers/sha256'));
    expect(layers).toHaveLength(2);
    expect(await ok(['run', '--rm', 'same:1', 'sh', '-c', 'wc -c < /big'])).toBe('2000000\n');
  }, 120_000);

  it('4 volume rm at once of a volume in use are all refused, and the volume survives', async () => {
    await ok(['volume', 'create', 'kept']);
    await ok(['run', '-d', '--name', 'user', '-v', 'kept:/data', 'busybox', 'sleep', '600']);
    await ok(['exec', 'user', 'sh', '-c', 'echo precious > /data/file']);
    const results = await Promise.all(Array.from({ length: 4 }, () => shim(roots, ['volume', 'rm', 'kept'])));
    for (const result of results) {
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/remove volume kept: it is in use by container user/);
    }
    expect(await ok(['exec', 'user', 'cat', '/data/file'])).toBe('precious\n');
    expect(await ok(['volume', 'ls', '-q'])).toBe('kept\n');
    await ok(['delete', '--force', 'user']);
    // Free now: removed once, by one of two callers at once.
    const removed = await Promise.all([shim(roots, ['volume', 'rm', 'kept']), shim(roots, ['volume', 'rm', 'kept'])]);
    expect(removed.map((result) => result.exitCode).sort()).toEqual([0, 1]);
    expect(await ok(['volume', 'ls', '-q'])).toBe('');
    await writeFile(join(roots.base, 'done'), '');
    expect(await settledLeaks(roots)).toEqual([]);
  }, 120_000);
});
