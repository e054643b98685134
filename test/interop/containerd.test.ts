// containerd 1.6 (Debian's) through ctr, with dist/shim as the runc binary of its runc shim
// (containerd-shim-runc-v2): create --pid-file [--console-socket], start, state, kill [--all], pause, resume,
// delete [--force], exec --process --detach, ps, with --log FILE --log-format json as containerd passes them.
// A private containerd per file; every scenario ends with no task, shim process, cgroup, mount or state left.

import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startContainerd, type Containerd } from '../support/containerd.js';
import { missingExecutableGate, skipUnless, userNamespaceGate } from '../support/features.js';
import { shimBin, waitFor } from '../support/shim.js';

const IMAGE = 'docker.io/library/busybox:latest';
let c: Containerd;

beforeAll(async () => {
  c = await startContainerd();
  const archive = join(c.base, 'busybox.oci.tar');
  const exported = await execa(shimBin, ['--data-root', join(c.base, 'shim-data'), 'image', 'export', 'busybox', archive], { reject: false });
  if (exported.exitCode !== 0) throw new Error(`shim image export: ${exported.stderr}`);
  // The archive names the image busybox:latest; ctr tags it under its default docker.io/library prefix.
  const imported = await c.ctr(['image', 'import', '--base-name', 'docker.io/library/busybox', '--digests', archive]);
  if (imported.exitCode !== 0) throw new Error(`ctr image import: ${imported.stderr}`);
  const listed = await c.ctr(['image', 'ls', '-q']);
  if (!listed.stdout.split('\n').includes(IMAGE)) {
    const tagged = await c.ctr(['image', 'tag', listed.stdout.split('\n')[0]!, IMAGE]);
    if (tagged.exitCode !== 0) throw new Error(`ctr image tag: ${tagged.stderr}`);
  }
}, 120_000);

afterEach(async () => {
  const leaks = await waitFor('the scenario to settle', async () => {
    const found = await c.leaks();
    return found.length === 0 ? found : undefined;
  }, 10_000).catch(async () => c.leaks());
  expect(leaks).toEqual([]);
});

afterAll(async () => {
  await c?.dispose();
});

const ok = (result: { exitCode: number; stderr: string }) => expect(result.exitCode, result.stderr).toBe(0);
const run = (args: string[], options?: { input?: string }) => c.ctr(['run', ...c.runtimeFlags, ...args], options);

/** Removes a task that has stopped (or kills it first) and its container; returns `ctr task delete`'s output. */
async function removeTask(id: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const deleted = await c.ctr(['task', 'delete', '-f', id]);
  ok(await c.ctr(['container', 'rm', id]));
  return deleted;
}

async function taskStatus(id: string): Promise<string | undefined> {
  const line = (await c.ctr(['task', 'ls'])).stdout.split('\n').find((row) => row.split(/\s+/)[0] === id);
  return line?.trim().split(/\s+/)[2];
}

describe('ctr run --rm', () => {
  it('passes output and exit codes through: 0, 3, 127', async () => {
    expect(await run(['--rm', IMAGE, 'r1', 'echo', 'hello from shim'])).toMatchObject({ exitCode: 0, stdout: 'hello from shim\n' });
    expect((await run(['--rm', IMAGE, 'r2', 'sh', '-c', 'exit 3'])).exitCode).toBe(3);
    expect((await run(['--rm', IMAGE, 'r3', '/nonexistent'])).exitCode).toBe(127);
  });

  it('-t gives the process a terminal (ctr -t inside a pseudo-terminal of its own)', async () => {
    const result = await c.ctrInTerminal(['run', '--rm', '-t', ...c.runtimeFlags, IMAGE, 't1', 'sh', '-c', 'tty; test -t 0 && echo is-a-tty']);
    ok(result);
    expect(result.stdout).toMatch(/\/dev\/pts\/\d+\r\r?\nis-a-tty\r\r?\n/);
  });

  it('bind mounts read-write and read-only; --memory-limit in the host cgroup file', async () => {
    const dir = join(c.base, 'volume');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'from-host'), 'host\n');
    const rw = await run(['--rm', '--mount', `type=bind,src=${dir},dst=/data,options=rbind:rw`, IMAGE, 'b1', 'sh', '-c', 'cat /data/from-host; echo ct > /data/from-ct']);
    expect(rw).toMatchObject({ exitCode: 0, stdout: 'host\n' });
    expect(await readFile(join(dir, 'from-ct'), 'utf8')).toBe('ct\n');
    const ro = await run(['--rm', '--mount', `type=bind,src=${dir},dst=/data,options=rbind:ro`, IMAGE, 'b2', 'sh', '-c', 'echo x > /data/nope 2>/dev/null || echo refused']);
    expect(ro).toMatchObject({ exitCode: 0, stdout: 'refused\n' });

    ok(await run(['-d', '--memory-limit', String(64 * 1024 * 1024), IMAGE, 'm1', 'sleep', '1000']));
    const limit = await c.cgroupFile('m1', 'memory', 'memory.limit_in_bytes').catch(() => c.cgroupFile('m1', 'memory', 'memory.max'));
    expect(limit.trim()).toBe(String(64 * 1024 * 1024));
    ok(await c.ctr(['task', 'kill', '-s', 'KILL', 'm1']));
    await waitFor('m1 to stop', async () => (await taskStatus('m1')) === 'STOPPED' || undefined);
    await removeTask('m1');
  });
});

describe('ctr run -d: task exec, ps, pause, resume, kill, delete', () => {
  it('exec beside a running task (-t, -d, --cwd, --user), task ps lists them', async () => {
    ok(await run(['-d', IMAGE, 'd1', 'sleep', '1000']));
    expect(await c.ctr(['task', 'exec', '--exec-id', 'e1', 'd1', 'echo', 'from exec'])).toMatchObject({ exitCode: 0, stdout: 'from exec\n' });
    expect((await c.ctr(['task', 'exec', '--exec-id', 'e2', 'd1', 'sh', '-c', 'exit 4'])).exitCode).toBe(4);
    const cwdUser = await c.ctr(['task', 'exec', '--exec-id', 'e3', '--cwd', '/tmp', '--user', '65534', 'd1', 'sh', '-c', 'pwd; id -u']);
    expect(cwdUser).toMatchObject({ exitCode: 0, stdout: '/tmp\n65534\n' });
    const tty = await c.ctrInTerminal(['task', 'exec', '-t', '--exec-id', 'e4', 'd1', 'sh', '-c', 'tty; test -t 1 && echo is-a-tty']);
    expect(tty.stdout).toMatch(/\/dev\/pts\/\d+\r\r?\nis-a-tty\r\r?\n/);
    ok(await c.ctr(['task', 'exec', '-d', '--exec-id', 'e5', 'd1', 'sleep', '900']));
    const ps = await c.ctr(['task', 'ps', 'd1']);
    ok(ps);
    const pids = ps.stdout.split('\n').slice(1).filter(Boolean);
    expect(pids.length).toBe(2);
    expect(ps.stdout).toMatch(/ExecID:e5/);
    ok(await c.ctr(['task', 'kill', '-a', '-s', 'KILL', 'd1']));
    await waitFor('d1 to stop', async () => (await taskStatus('d1')) === 'STOPPED' || undefined);
    await removeTask('d1');
  });

  it('pause freezes it (freezer and shim state), resume thaws; kill TERM reaches a trap; delete reports the exit status', async () => {
    ok(await run(['-d', IMAGE, 'p1', 'sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.1; done']));
    ok(await c.ctr(['task', 'pause', 'p1']));
    expect(await taskStatus('p1')).toBe('PAUSED');
    expect((await c.cgroupFile('p1', 'freezer', 'freezer.state').catch(() => c.cgroupFile('p1', 'freezer', 'cgroup.freeze'))).trim()).toMatch(/^(FROZEN|1)$/);
    const state = await execa(shimBin, ['--root', c.shimRoot, 'state', 'p1']);
    expect(JSON.parse(String(state.stdout)).status).toBe('paused');
    ok(await c.ctr(['task', 'resume', 'p1']));
    expect(await taskStatus('p1')).toBe('RUNNING');
    ok(await c.ctr(['task', 'kill', 'p1']));
    await waitFor('p1 to stop', async () => (await taskStatus('p1')) === 'STOPPED' || undefined);
    const deleted = await c.ctr(['task', 'delete', 'p1']);
    ok(deleted);
    expect(deleted.stderr).toMatch(/exit code 7/);
    ok(await c.ctr(['container', 'rm', 'p1']));
  });
});

describe("scenarios that need another branch's feature (gated on shim features)", () => {
  it("a missing executable fails at create, with runtime's message reaching ctr", async (context) => {
    skipUnless(await missingExecutableGate(), context, 'ctr missing executable message');
    const result = await run(['--rm', IMAGE, 'x1', '/nonexistent']);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/\/nonexistent/);
    await c.ctr(['container', 'rm', 'x1']);
  });

  it('--uidmap: the task runs in a user namespace with the mapping, through shim', async (context) => {
    skipUnless(await userNamespaceGate(), context, 'ctr --uidmap');
    ok(await run(['-d', '--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536', IMAGE, 'u1', 'sleep', '1000']));
    const pid = Number((await c.ctr(['task', 'ls'])).stdout.split('\n').find((row) => row.startsWith('u1 '))!.trim().split(/\s+/)[1]);
    expect((await readFile(`/proc/${pid}/uid_map`, 'utf8')).trim().split(/\s+/)).toEqual(['0', '100000', '65536']);
    // Through shim (the `runc` on containerd's PATH), not the host's runc: shim's state names its cgroup dirs.
    expect(await readFile(join(c.defaultRuncRoot, 'u1', 'state.json'), 'utf8')).toMatch(/"cgroupDirs"/);
    ok(await c.ctr(['task', 'kill', '-s', 'KILL', 'u1']));
    await waitFor('u1 to stop', async () => (await taskStatus('u1')) === 'STOPPED' || undefined);
    await removeTask('u1');
  });
});
