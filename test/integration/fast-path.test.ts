// dist/shim's fast path (src/cli/shim-launcher.c, src/state/fast-path-record.ts): `start`, `kill`, `delete` and
// `state` of a plain runc-style container answered without Node, and every other case handed to Node, which then does
// and says what it always did. Real containers through the real CLI.
//
// How a test knows whether Node ran: NODE_OPTIONS naming a module that does not exist makes every Node start
// fail at once ("Cannot find module"), and nothing else reads it. A call that succeeds under it ran no Node;
// one that fails under it went to Node.

import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shimToFiles } from '../support/files-stdio.js';
import { hostBoundBundle, makeRoots, settledLeaks, shim, shimBin, waitFor, type Roots, type ShimResult } from '../support/shim.js';

const NO_NODE = { NODE_OPTIONS: '--require=/nonexistent/shim-fast-path-test-poison.cjs' };

let roots: Roots;
let hostDir: string;

beforeEach(async () => {
  roots = await makeRoots();
  hostDir = join(roots.base, 'host');
  await mkdir(hostDir);
});

afterEach(async () => {
  try {
    for (const id of ['fp1', 'fp2', 'fp3', 'fp4', 'fp5']) {
      if (existsSync(join(roots.root, id))) await shim(roots, ['delete', '--force', id]);
    }
    expect(await settledLeaks(roots)).toEqual([]);
  } finally {
    await roots.dispose();
  }
});

const bundle = (script: string, mutate?: (config: any) => void): Promise<string> => hostBoundBundle(roots, hostDir, script, mutate);

/** `shim create`: stdout and stderr in files, as the init inherits them. */
const create = (dir: string, id: string): Promise<ShimResult> => shimToFiles(roots, ['create', '--bundle', dir, id]);

async function stateOf(id: string): Promise<{ status: string; pid: number }> {
  const result = await shim(roots, ['state', id]);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

async function stopped(id: string): Promise<void> {
  await waitFor(`${id} stopped`, async () => (await stateOf(id)).status === 'stopped');
}

/** Ended: no such process, or a zombie its reaper has not collected yet. */
async function ended(pid: number): Promise<boolean> {
  return readFile(`/proc/${pid}/stat`, 'utf8').then((stat) => / [ZX] /.test(stat.slice(stat.lastIndexOf(')'))), () => true);
}

const record = (id: string) => readFile(join(roots.root, id, 'fast-path'), 'utf8');

describe('the fast path', () => {
  it('starts and deletes a plain runc container without starting Node, leaving nothing', async () => {
    // The poison works: a verb that needs Node fails under it.
    expect((await shim(roots, ['list'], { env: NO_NODE })).exitCode).not.toBe(0);

    const dir = await bundle('echo ran > /host/out; sleep 0.2');
    expect((await create(dir, 'fp1')).exitCode).toBe(0);
    const state = JSON.parse(await readFile(join(roots.root, 'fp1', 'state.json'), 'utf8'));
    const lines = (await record('fp1')).split('\noci-state\n')[0]!.split('\n');
    expect(lines).toEqual([
      'version 1',
      `init ${state.pid} ${state.pidStartTime}`,
      `fifo ${join(roots.root, 'fp1', 'exec.fifo')}`,
      `cgroups ${state.cgroupDirs.join(' ')}`,
      `parents ${(state.cgroupParentDirs ?? []).join(' ')}`,
      ...(state.freezeStateFile ? [`freeze ${state.freezeStateFile}`] : []),
    ]);
    expect(state.cgroupDirs.length).toBeGreaterThan(0);

    const started = await shim(roots, ['start', 'fp1'], { env: NO_NODE });
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stderr).toBe('');
    await waitFor('the process ran', () => existsSync(join(hostDir, 'out')));
    expect(existsSync(join(roots.root, 'fp1', 'exec.fifo'))).toBe(false);
    await stopped('fp1');

    const deleted = await shim(roots, ['delete', 'fp1'], { env: NO_NODE });
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect(deleted.stderr).toBe('');
    expect(existsSync(join(roots.root, 'fp1'))).toBe(false);
    expect(existsSync(join(roots.root, '.fp1.lock'))).toBe(false);
    for (const cgroup of state.cgroupDirs) expect(existsSync(cgroup), cgroup).toBe(false);
  });

  it('deletes a container whose init was reaped (its /proc entry gone) without a word on stderr', async () => {
    // Under podman, conmon reaps the init at once; here the test runner is the subreaper and leaves a zombie,
    // so the record is pointed at a pid no process can have, as a reaped init's is.
    const dir = await bundle('true');
    expect((await create(dir, 'fp2')).exitCode).toBe(0);
    expect((await shim(roots, ['start', 'fp2'], { env: NO_NODE })).exitCode).toBe(0);
    await stopped('fp2');
    const path = join(roots.root, 'fp2', 'fast-path');
    await writeFile(path, (await readFile(path, 'utf8')).replace(/^init \d+ /m, 'init 4194305 '));
    expect((await shim(roots, ['kill', 'fp2', 'KILL'], { env: NO_NODE })).exitCode).not.toBe(0);
    const deleted = await shim(roots, ['delete', 'fp2'], { env: NO_NODE });
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect(deleted.stderr).toBe('');
    expect(existsSync(join(roots.root, 'fp2'))).toBe(false);
  });

  it('takes podman\'s and containerd\'s command lines: global options, --force, --opt=value', async () => {
    const dir = await bundle('true');
    expect((await create(dir, 'fp2')).exitCode).toBe(0);
    const log = join(roots.base, 'log.json');
    const started = await shim(roots, ['--log', log, '--log-format=json', '--systemd-cgroup', 'start', 'fp2'], { env: NO_NODE });
    expect(started.exitCode, started.stderr).toBe(0);
    await stopped('fp2');
    const deleted = await shim(roots, ['--log', log, '--log-format', 'json', 'delete', '--force', 'fp2'], { env: NO_NODE });
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect(existsSync(join(roots.root, 'fp2'))).toBe(false);
  });

  it("finds Node's side and the helper beside its own file however it is run: a symlink elsewhere, a bare name on PATH", async () => {
    // podman's `runc` symlink, and a caller that runs it by name: argv[0] then says nothing of where the file is.
    const bin = join(roots.base, 'bin');
    await mkdir(bin);
    await symlink(shimBin, join(bin, 'runc'));
    const onPath = { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
    const byName = (args: string[], env: Record<string, string> = {}) =>
      execa('runc', ['--root', roots.root, '--data-root', roots.dataRoot, ...args], { reject: false, env: { ...roots.env, ...onPath, ...env }, cwd: roots.base });
    const dir = await bundle('echo ran > /host/out');
    // create goes to Node through the helper's launch, both found beside dist/shim.
    const created = await shimToFiles(roots, ['create', '--bundle', dir, 'fp4'], { bin: 'runc', env: onPath });
    expect(created.exitCode, created.stderr).toBe(0);
    const byNode = await byName(['state', 'fp4'], { SHIM_NO_FAST_PATH: '1' });
    expect(byNode.exitCode, byNode.stderr).toBe(0);
    expect(JSON.parse(byNode.stdout).status).toBe('created');
    const started = await byName(['start', 'fp4'], NO_NODE);
    expect(started.exitCode, started.stderr).toBe(0);
    await waitFor('the process ran', () => existsSync(join(hostDir, 'out')));
    await stopped('fp4');
    const viaSymlink = await execa(join(bin, 'runc'), ['--root', roots.root, 'delete', 'fp4'], { reject: false, env: { ...roots.env, ...NO_NODE } });
    expect(viaSymlink.exitCode, viaSymlink.stderr).toBe(0);
    expect(existsSync(join(roots.root, 'fp4'))).toBe(false);
  });

  it('leaves to Node, in its words, what the record does not cover', async () => {
    const dir = await bundle('sleep 30');
    expect((await create(dir, 'fp3')).exitCode).toBe(0);
    expect((await shim(roots, ['start', 'fp3'], { env: NO_NODE })).exitCode).toBe(0);
    // Started already: no FIFO, so Node.
    expect((await shim(roots, ['start', 'fp3'], { env: NO_NODE })).exitCode).not.toBe(0);
    const again = await shim(roots, ['start', 'fp3']);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toBe('shim: start fp3: cannot start a running container\n');
    // A live init: Node refuses without --force and kills with it.
    expect((await shim(roots, ['delete', 'fp3'], { env: NO_NODE })).exitCode).not.toBe(0);
    const refused = await shim(roots, ['delete', 'fp3']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('cannot delete a running container');
    const { pid } = await stateOf('fp3');
    expect((await shim(roots, ['delete', '--force', 'fp3'])).exitCode).toBe(0);
    expect(await ended(pid)).toBe(true);
    // Gone: Node's answers for a missing container.
    expect((await shim(roots, ['delete', 'fp3'])).stderr).toBe('shim: delete fp3: container fp3 does not exist\n');
    expect((await shim(roots, ['delete', '--force', 'fp3'])).exitCode).toBe(0);
    // An option the fast path does not know, and an id that is not a plain name, go to Node untouched.
    expect((await shim(roots, ['--debug', 'delete', 'fp3'], { env: NO_NODE })).exitCode).not.toBe(0);
    expect((await shim(roots, ['start', '-x'], { env: NO_NODE })).exitCode).not.toBe(0);
  });

  it('kill signals the recorded init without Node; --all, other names and a stopped container go to Node', async () => {
    const dir = await bundle('trap "echo term > /host/term; exit 3" TERM; echo ready > /host/ready; while :; do sleep 0.1; done');
    expect((await create(dir, 'fp3')).exitCode).toBe(0);
    expect((await shim(roots, ['start', 'fp3'], { env: NO_NODE })).exitCode).toBe(0);
    await waitFor('the trap set', () => existsSync(join(hostDir, 'ready')));
    expect((await shim(roots, ['kill', 'fp3', '--all', 'TERM'], { env: NO_NODE })).exitCode).not.toBe(0);
    expect((await shim(roots, ['kill', 'fp3', 'sigterm'], { env: NO_NODE })).exitCode).not.toBe(0);
    const killed = await shim(roots, ['kill', 'fp3', 'TERM'], { env: NO_NODE });
    expect(killed.exitCode, killed.stderr).toBe(0);
    await waitFor('the trap ran', () => existsSync(join(hostDir, 'term')));
    await stopped('fp3');
    expect((await shim(roots, ['kill', 'fp3', '9'], { env: NO_NODE })).exitCode).not.toBe(0);
    const late = await shim(roots, ['kill', 'fp3', '9']);
    expect(late.exitCode).toBe(1);
    expect(late.stderr).toBe('shim: kill fp3: container not running\n');
    expect((await shim(roots, ['delete', 'fp3'], { env: NO_NODE })).exitCode).toBe(0);
  });

  it("state prints Node's output byte for byte without Node: created, running, paused, stopped", async () => {
    const dir = await bundle('echo ready > /host/ready; while [ ! -e /host/go ]; do sleep 0.05; done', (config) => {
      config.annotations = { 'org.example.note': 'with "quotes", \\ and: @PID@', 'io.podman.annotations.autoremove': 'FALSE' };
    });
    expect((await create(dir, 'fp5')).exitCode).toBe(0);
    const bothWays = async (status: string, shellAnswers: boolean) => {
      const byShell = await shim(roots, ['state', 'fp5'], { env: shellAnswers ? NO_NODE : {} });
      const byNode = await shim(roots, ['state', 'fp5'], { env: { SHIM_NO_FAST_PATH: '1' } });
      expect(byNode.exitCode, byNode.stderr).toBe(0);
      expect(byShell).toEqual(byNode);
      expect(JSON.parse(byNode.stdout).status).toBe(status);
      return JSON.parse(byNode.stdout);
    };
    const created = await bothWays('created', true);
    expect(created.annotations['org.example.note']).toBe('with "quotes", \\ and: @PID@');
    expect(created.pid).toBeGreaterThan(0);

    expect((await shim(roots, ['start', 'fp5'], { env: NO_NODE })).exitCode).toBe(0);
    await waitFor('the container to run', () => existsSync(join(hostDir, 'ready')));
    expect((await bothWays('running', true)).pid).toBe(created.pid);

    // pause goes through Node, which may rewrite the state (and with it the record): whoever answers, the
    // same answer.
    expect((await shim(roots, ['pause', 'fp5'])).exitCode).toBe(0);
    await bothWays('paused', false);
    expect((await shim(roots, ['resume', 'fp5'])).exitCode).toBe(0);
    await bothWays('running', false);

    await writeFile(join(hostDir, 'go'), '');
    await stopped('fp5');
    expect((await bothWays('stopped', true)).pid).toBe(0);
    expect((await shim(roots, ['delete', 'fp5'], { env: NO_NODE })).exitCode).toBe(0);
    // No container: Node's error, in Node's words.
    expect((await shim(roots, ['state', 'fp5'], { env: NO_NODE })).exitCode).not.toBe(0);
  });

  it('a process left in the cgroup after its init ended: the rmdir fails, and Node kills it and removes all', async () => {
    // No pid namespace: the background sleep outlives the init, in the container's cgroups.
    const dir = await bundle('sleep 60 & echo $! > /host/pid', (config) => {
      config.linux.namespaces = config.linux.namespaces.filter((ns: { type: string }) => ns.type !== 'pid');
    });
    expect((await create(dir, 'fp4')).exitCode).toBe(0);
    expect((await shim(roots, ['start', 'fp4'], { env: NO_NODE })).exitCode).toBe(0);
    const straggler = Number(await waitFor('the pid file', async () => (await readFile(join(hostDir, 'pid'), 'utf8').catch(() => '')).trim() || undefined));
    await stopped('fp4');
    expect(await ended(straggler)).toBe(false);
    // The fast path's rmdir fails (EBUSY): Node takes over.
    expect((await shim(roots, ['delete', 'fp4'], { env: NO_NODE })).exitCode).not.toBe(0);
    expect(existsSync(join(roots.root, 'fp4'))).toBe(true);
    const deleted = await shim(roots, ['delete', 'fp4']);
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    await waitFor('the straggler killed', () => ended(straggler));
  });

  it('a lock another shim holds sends the call to Node, which waits for it or breaks a stale one', async () => {
    const dir = await bundle('true');
    expect((await create(dir, 'fp5')).exitCode).toBe(0);
    // A lock whose owner is gone (a pid that cannot be a process's, since pid_max is below it).
    await writeFile(join(roots.root, '.fp5.lock'), '4194305 1');
    expect((await shim(roots, ['start', 'fp5'], { env: NO_NODE })).exitCode).not.toBe(0);
    const started = await shim(roots, ['start', 'fp5']);
    expect(started.exitCode, started.stderr).toBe(0);
    await stopped('fp5');
    expect((await shim(roots, ['delete', 'fp5'], { env: NO_NODE })).exitCode).toBe(0);
  });

  it('writes no record for a container whose start or delete needs more: hooks, a docker-style run', async () => {
    const hook = join(roots.base, 'hook.sh');
    await writeFile(hook, '#!/bin/sh\ncat > /dev/null\n', { mode: 0o755 });
    for (const [id, kind] of [['fp1', 'poststart'], ['fp2', 'startContainer'], ['fp3', 'poststop']] as const) {
      const dir = await bundle('true', (config) => {
        config.hooks = { [kind]: [{ path: kind === 'startContainer' ? '/bin/true' : hook }] };
      });
      expect((await create(dir, id)).exitCode).toBe(0);
      expect(existsSync(join(roots.root, id, 'state.json'))).toBe(true);
      expect(existsSync(join(roots.root, id, 'fast-path')), kind).toBe(false);
      expect((await shim(roots, ['delete', '--force', id])).exitCode).toBe(0);
    }
    const detached = await shim(roots, ['run', '-d', '--name', 'fp4', 'busybox', 'sleep', '30']);
    expect(detached.exitCode, detached.stderr).toBe(0);
    expect(existsSync(join(roots.root, 'fp4', 'fast-path'))).toBe(false);
    expect((await shim(roots, ['rm', '-f', 'fp4'])).exitCode).toBe(0);
  });
});
