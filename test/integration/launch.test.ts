// `create` through the helper's launch mode (dist/shim -> `shim-helper --launch`, helper-c/launch.c,
// src/helper/launched-helper.ts): the helper is started beside Node instead of by it. Real containers through
// the real CLI; every case is also run with SHIM_NO_LAUNCH=1 (Node spawning the helper, as before) and must
// come out the same.
//
// How a test knows Node did not fork: a preload (NODE_OPTIONS) replaces node:child_process's functions with
// ones that throw, so any spawn by Node fails the command.

import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shimToFiles } from '../support/files-stdio.js';
import { hostBoundBundle, makeRoots, settledLeaks, shim, shimBin, waitFor, type Roots } from '../support/shim.js';

let roots: Roots;
let hostDir: string;
let poison: { NODE_OPTIONS: string };

const PLAIN = { SHIM_NO_LAUNCH: '1' };

beforeEach(async () => {
  roots = await makeRoots();
  hostDir = join(roots.base, 'host');
  await mkdir(hostDir);
  const poisonFile = join(roots.base, 'no-spawn.cjs');
  await writeFile(
    poisonFile,
    `const cp = require('node:child_process');
for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork'])
  cp[name] = () => { throw new Error('launch test: node called child_process.' + name); };
`,
  );
  poison = { NODE_OPTIONS: `--require=${poisonFile}` };
});

afterEach(async () => {
  try {
    for (const id of ['l1', 'l2', 'l3']) {
      if (existsSync(join(roots.root, id))) await shim(roots, ['delete', '--force', id]);
    }
    expect(await settledLeaks(roots)).toEqual([]);
  } finally {
    await roots.dispose();
  }
});

const bundle = (script: string, mutate?: (config: any) => void): Promise<string> => hostBoundBundle(roots, hostDir, script, mutate);

/** Helper processes started for this test (they carry its roots' SHIM_TEST_TAG in their environment). */
async function helpersOfThisTest(): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const [cmdline, environ] = await Promise.all([
      readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => ''),
      readFile(`/proc/${entry}/environ`, 'utf8').catch(() => ''),
    ]);
    if (cmdline.split('\0')[0]?.endsWith('shim-helper') && environ.split('\0').includes(`SHIM_TEST_TAG=${roots.env.SHIM_TEST_TAG}`)) {
      found.push(Number(entry));
    }
  }
  return found;
}

async function stateOf(id: string): Promise<{ status: string; pid: number }> {
  const result = await shim(roots, ['state', id]);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

/**
 * create, start, wait for the end: what the container wrote to /host/out. ignoring: signals the caller of
 * create ignores (a shell's `trap ''` before it execs dist/shim), which neither way may hand on to the container.
 */
async function runThrough(id: string, dir: string, env: Record<string, string>, ignoring = ''): Promise<string> {
  const created = ignoring
    ? await execa('sh', ['-c', `trap '' ${ignoring}; exec "$0" "$@"`, shimBin, '--root', roots.root, 'create', '--bundle', dir, id], {
        reject: false,
        env: { ...roots.env, ...env },
        stdio: 'ignore',
        timeout: 60_000,
      })
    : await shimToFiles(roots, ['create', '--bundle', dir, id], { env });
  expect(created.exitCode, String(created.stderr)).toBe(0);
  expect((await stateOf(id)).status).toBe('created');
  expect((await shim(roots, ['start', id])).exitCode).toBe(0);
  await waitFor(`${id} stopped`, async () => (await stateOf(id)).status === 'stopped');
  expect((await shim(roots, ['delete', id])).exitCode).toBe(0);
  return readFile(join(hostDir, 'out'), 'utf8');
}

describe('create through the helper launch', () => {
  it('starts the helper beside Node: create works with every spawn of Node poisoned, and only so', async () => {
    const dir = await bundle('echo ran > /host/out');
    // The poison works: Node spawning the helper itself fails.
    const plain = await shimToFiles(roots, ['create', '--bundle', dir, 'l1'], { env: { ...poison, ...PLAIN } });
    expect(plain.exitCode).not.toBe(0);
    expect(plain.stderr).toContain('create l1');
    expect(existsSync(join(roots.root, 'l1'))).toBe(false);

    expect(await runThrough('l1', dir, poison)).toBe('ran\n');
  });

  it('hands the container nothing of the launch or of its caller: the same descriptors, environment and signals as a spawned helper', async () => {
    const dir = await bundle('ls /proc/self/fd > /host/out; env | sort >> /host/out; grep -E "^Sig(Ign|Blk)" /proc/self/status >> /host/out');
    const launched = await runThrough('l1', dir, {}, 'TERM PIPE');
    const spawned = await runThrough('l2', dir, PLAIN, 'TERM PIPE');
    expect(launched).toBe(spawned);
    expect(launched).not.toContain('SHIM_HELPER_LAUNCHED');
    // Neither TERM (15) nor PIPE (13) ignored, though the caller ignored both.
    const ignored = BigInt(`0x${/SigIgn:\t([0-9a-f]+)/.exec(launched)![1]}`);
    expect(ignored & ((1n << 14n) | (1n << 12n))).toBe(0n);
  });

  it('says what Node says when create fails before the helper is needed, and leaves no helper waiting', async () => {
    const missing = join(roots.base, 'no-such-bundle');
    const launched = await shimToFiles(roots, ['create', '--bundle', missing, 'l1']);
    const spawned = await shimToFiles(roots, ['create', '--bundle', missing, 'l1'], { env: PLAIN });
    expect(launched.exitCode).not.toBe(0);
    expect(launched.exitCode).toBe(spawned.exitCode);
    expect(launched.stderr).toBe(spawned.stderr);
    expect(launched.stderr).toMatch(/^shim: create l1: .*no-such-bundle.*\n$/);

    const usage = await shimToFiles(roots, ['create']);
    expect(usage.exitCode).toBe((await shimToFiles(roots, ['create'], { env: PLAIN })).exitCode);
    expect(usage.exitCode).not.toBe(0);
  });

  it('a container whose helper Node must start its own way (a hook Node runs) still works, under the launch', async () => {
    const hook = join(roots.base, 'hook.sh');
    await writeFile(hook, `#!/bin/sh\necho hook >> ${join(hostDir, 'hook')}\n`, { mode: 0o755 });
    const dir = await bundle('echo ran > /host/out', (config) => {
      config.hooks = { createRuntime: [{ path: hook }] };
    });
    expect(await runThrough('l1', dir, {})).toBe('ran\n');
    expect(await readFile(join(hostDir, 'hook'), 'utf8')).toBe('hook\n');
  });

  it('runs a runc-style exec beside a running container the same way: Node spawns nothing, and a TERM sent to the launcher reaches the process', async () => {
    const dir = await bundle('sleep 30');
    const created = await shimToFiles(roots, ['create', '--bundle', dir, 'l1']);
    expect(created.exitCode, created.stderr).toBe(0);
    expect((await shim(roots, ['start', 'l1'])).exitCode).toBe(0);
    const processFile = join(roots.base, 'process.json');
    const exec = async (args: string[], env: Record<string, string>) => {
      await writeFile(processFile, JSON.stringify({ cwd: '/', args, env: ['PATH=/bin'], user: { uid: 0, gid: 0 } }));
      return shimToFiles(roots, ['exec', '--process', processFile, 'l1'], { env });
    };
    const plain = await exec(['sh', '-c', 'echo from exec > /host/exec'], { ...poison, ...PLAIN });
    expect(plain.exitCode).not.toBe(0);
    const launched = await exec(['sh', '-c', 'echo from exec > /host/exec; exit 3'], poison);
    expect(launched.exitCode, launched.stderr).toBe(3);
    expect(await readFile(join(hostDir, 'exec'), 'utf8')).toBe('from exec\n');

    // exec without -i: no stdin for the process, though the caller has one (here a pipe); the launched
    // helper opens /dev/null itself (Spec.stdin_null), as Node's spawn gave it /dev/null.
    for (const env of [poison, PLAIN]) {
      const result = await shim(roots, ['exec', 'l1', 'sh', '-c', 'readlink /proc/self/fd/0'], { env, input: 'from the caller' });
      expect(result).toMatchObject({ exitCode: 0, stdout: '/dev/null\n' });
    }

    // The caller knows only the launcher's pid (dist/shim execs it): its TERM goes on to Node, which forwards
    // it to the process, as without the launch.
    for (const env of [{}, PLAIN]) {
      await writeFile(processFile, JSON.stringify({ cwd: '/', args: ['sh', '-c', 'trap "exit 7" TERM; touch /host/ready; sleep 20 & wait'], env: ['PATH=/bin'], user: { uid: 0, gid: 0 } }));
      await rm(join(hostDir, 'ready'), { force: true });
      const running = execa(shimBin, ['--root', roots.root, 'exec', '--process', processFile, 'l1'], { reject: false, env: { ...roots.env, ...env }, stdio: 'ignore', timeout: 30_000 });
      await waitFor('the exec to run', async () => existsSync(join(hostDir, 'ready')));
      running.kill('SIGTERM');
      expect((await running).exitCode).toBe(7);
    }
    expect((await shim(roots, ['kill', 'l1', 'KILL'])).exitCode).toBe(0);
  });

  it('dies of the signal Node dies of, and the helper it started ends with it', async () => {
    const killer = join(roots.base, 'die.cjs');
    await writeFile(killer, `process.kill(process.pid, 'SIGTERM');\n`);
    const dir = await bundle('true');
    const result = await execa(shimBin, ['--root', roots.root, 'create', '--bundle', dir, 'l1'], {
      reject: false,
      env: { ...roots.env, NODE_OPTIONS: `--require=${killer}` },
      stdio: 'ignore',
      timeout: 30_000,
    });
    expect(result.signal).toBe('SIGTERM');
    expect(existsSync(join(roots.root, 'l1'))).toBe(false);
    // The launch waits for its helper before it exits: none of this test's is left.
    expect(await helpersOfThisTest()).toEqual([]);
  });
});
