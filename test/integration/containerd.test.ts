// The runtime v2 server (containerd-shim-shim-v2) under a real containerd 1.6: a private containerd (its own
// root, state, socket and config in this test's temp dir; no CRI, nothing on TCP; stopped by pid), the
// built-in busybox image exported by shim and imported with `ctr image import`, and every container run with
// `ctr run --runtime <abs path to dist/containerd-shim-shim-v2>`. The containerd namespace is this test's
// cgroup parent name, so ctr's cgroupsPath (/<namespace>/<id>) lands where the leak check looks.

import { execa, type ResultPromise } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killPid, makeRoots, repoRoot, settledLeaks, shim, shimBin, waitFor, type Roots } from '../support/shim.js';

const shimV2 = join(repoRoot, 'dist/containerd-shim-shim-v2');
const haveContainerd = existsSync('/usr/bin/containerd') && existsSync('/usr/bin/ctr');

let roots: Roots;
let namespace: string;
let socket: string;
let shimRoot: string;
let containerd: ResultPromise | undefined;
let containerdEnv: Record<string, string>;

async function startContainerd(): Promise<void> {
  containerd = execa('containerd', ['--config', join(roots.base, 'containerd.toml')], {
    env: containerdEnv,
    reject: false,
    stdio: ['ignore', 'ignore', 'ignore'],
    detached: true,
  });
  await waitFor('containerd to serve', async () => (await ctr(['version'], { timeoutMs: 5_000 })).exitCode === 0, 20_000);
}

async function stopContainerd(): Promise<void> {
  if (!containerd?.pid) return;
  killPid(containerd.pid, 'SIGTERM');
  await containerd;
  containerd = undefined;
}

interface CtrResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function ctr(args: string[], options: { timeoutMs?: number; input?: string } = {}): Promise<CtrResult> {
  const result = await execa('ctr', ['--address', socket, '--namespace', namespace, ...args], {
    reject: false,
    timeout: options.timeoutMs ?? 40_000,
    env: { SHIM_TEST_TAG: roots.base },
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** `ctr run` through this shim (IO FIFOs in the test's own directory, never /run/containerd). */
function run(flags: string[], id: string, command: string[], input?: string): Promise<CtrResult> {
  return ctr(['run', '--fifo-dir', join(roots.base, 'fifo'), '--runtime', shimV2, ...flags, 'busybox:latest', id, ...command], { input });
}

/** Pids of the servers (processes running the launcher with -socket) that this test's containerd started. */
async function servers(): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(shimV2) && cmdline.includes('\0-socket\0') && cmdline.includes(`\0${namespace}\0`)) found.push(Number(entry));
  }
  return found;
}

async function removeTask(id: string): Promise<void> {
  await ctr(['task', 'kill', '-s', 'KILL', id]);
  await waitFor(`${id} to stop`, async () => !(await ctr(['task', 'ls'])).stdout.includes(`${id} `) || (await ctr(['task', 'ls'])).stdout.match(new RegExp(`${id}\\s+\\d+\\s+STOPPED`)));
  await ctr(['task', 'delete', id]);
  await ctr(['container', 'delete', id]);
}

async function containersLeft(): Promise<string[]> {
  return readdir(join(shimRoot, namespace)).catch(() => []);
}

describe.skipIf(!haveContainerd)('containerd runtime v2 server', () => {
  beforeAll(async () => {
    roots = await makeRoots();
    namespace = roots.cgroupParent;
    socket = join(roots.base, 'c.sock');
    shimRoot = join(roots.base, 'shim-containerd');
    await mkdir(join(roots.base, 'fifo'));
    await writeFile(
      join(roots.base, 'containerd.toml'),
      [
        'version = 2',
        `root = "${roots.base}/containerd-root"`,
        `state = "${roots.base}/containerd-state"`,
        // No CRI (it would listen and start pods), nothing on TCP.
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        '[grpc]',
        `  address = "${socket}"`,
        '[debug]',
        '  address = ""',
        '[metrics]',
        '  address = ""',
        '',
      ].join('\n'),
    );
    containerdEnv = { ...roots.env, SHIM_CONTAINERD_ROOT: shimRoot, PATH: process.env.PATH ?? '/usr/bin:/bin' };
    await startContainerd();
    // The image: shim's built-in busybox, exported as an OCI archive and imported into containerd.
    expect((await shim(roots, ['run', '--rm', 'busybox', 'true'])).exitCode).toBe(0);
    const archive = join(roots.base, 'busybox.tar');
    expect((await shim(roots, ['image', 'export', 'busybox', archive])).exitCode).toBe(0);
    const imported = await ctr(['image', 'import', '--base-name', 'docker.io/library/busybox', archive]);
    expect(imported.stderr).toBe('');
    expect(imported.exitCode).toBe(0);
  }, 120_000);

  afterAll(async () => {
    try {
      for (const line of (await ctr(['container', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) await removeTask(line);
      await waitFor('the servers to leave', async () => (await servers()).length === 0, 15_000).catch(() => {});
      await stopContainerd();
      expect(await containersLeft()).toEqual([]);
      expect(await settledLeaks(roots)).toEqual([]);
    } finally {
      if (containerd?.pid) killPid(containerd.pid);
      await roots.dispose();
    }
  }, 120_000);

  // What a failed test left, so that the next one starts from nothing.
  afterEach(async () => {
    for (const line of (await ctr(['container', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) await removeTask(line);
  });

  it('run --rm passes the output and the exit status through', async () => {
    // stdin is containerd's FIFO, held by the process itself: it reads to EOF.
    const result = await run(['--rm'], 'rm1', ['sh', '-c', 'cat; echo out; echo err >&2; exit 3'], 'in\n');
    expect(result.stdout).toBe('in\nout');
    expect(result.stderr).toContain('err');
    expect(result.exitCode).toBe(3);
    expect((await ctr(['container', 'ls', '-q'])).stdout).toBe('');
    expect(await containersLeft()).toEqual([]);
    // Its server leaves once its last container has (after the linger).
    await waitFor('the server to leave', async () => (await servers()).length === 0, 15_000);
  });

  it('run -d, exec, ps, pause/resume, metrics, kill to a trap, delete with the status; shim state sees it', async () => {
    const trap = 'trap "echo got TERM; exit 7" TERM; echo started; while true; do sleep 0.1; done';
    expect((await run(['-d'], 'd1', ['sh', '-c', trap])).exitCode).toBe(0);
    expect((await ctr(['task', 'ls'])).stdout).toMatch(/d1\s+\d+\s+RUNNING/);

    const exec = await ctr(['task', 'exec', '--fifo-dir', join(roots.base, 'fifo'), '--exec-id', 'e1', 'd1', 'sh', '-c', 'echo in exec; exit 4']);
    expect(exec.stdout).toBe('in exec');
    expect(exec.exitCode).toBe(4);
    const missing = await ctr(['task', 'exec', '--fifo-dir', join(roots.base, 'fifo'), '--exec-id', 'e2', 'd1', '/nonexistent']);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toContain('no such file or directory');
    const detached = await ctr(['task', 'exec', '-d', '--fifo-dir', join(roots.base, 'fifo'), '--exec-id', 'e3', 'd1', 'sleep', '30']);
    expect(detached.exitCode).toBe(0);

    const ps = await ctr(['task', 'ps', 'd1']);
    expect(ps.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(3); // header, init, the sleep exec

    // The same container through shim's own CLI, from the server's state store.
    const state = await execa(shimBin, ['--root', join(shimRoot, namespace), 'state', 'd1'], { reject: false, env: roots.env });
    expect(state.stderr).toBe('');
    expect(JSON.parse(String(state.stdout))).toMatchObject({ id: 'd1', status: 'running' });

    expect((await ctr(['task', 'pause', 'd1'])).exitCode).toBe(0);
    expect((await ctr(['task', 'ls'])).stdout).toMatch(/d1\s+\d+\s+PAUSED/);
    expect((await ctr(['task', 'resume', 'd1'])).exitCode).toBe(0);
    expect((await ctr(['task', 'ls'])).stdout).toMatch(/d1\s+\d+\s+RUNNING/);

    const metrics = await ctr(['task', 'metrics', 'd1']);
    expect(metrics.exitCode).toBe(0);
    expect(metrics.stdout).toMatch(/pids\.current\s+[1-9]/);

    expect((await ctr(['task', 'kill', 'd1'])).exitCode).toBe(0);
    await waitFor('d1 to stop', async () => /d1\s+\d+\s+STOPPED/.test((await ctr(['task', 'ls'])).stdout));
    const deleted = await ctr(['task', 'delete', 'd1']);
    expect(deleted.exitCode).toBe(0);
    expect(deleted.stdout + deleted.stderr).toContain('7');
    expect((await ctr(['container', 'delete', 'd1'])).exitCode).toBe(0);
    expect(await containersLeft()).toEqual([]);
  });

  it('kill with SIGKILL, and run -t with a terminal that follows ResizePty', async () => {
    expect((await run(['-d'], 'k1', ['sleep', '100'])).exitCode).toBe(0);
    expect((await ctr(['task', 'kill', '-s', 'KILL', 'k1'])).exitCode).toBe(0);
    await waitFor('k1 to stop', async () => /k1\s+\d+\s+STOPPED/.test((await ctr(['task', 'ls'])).stdout));
    const deleted = await ctr(['task', 'delete', 'k1']);
    expect(deleted.stdout + deleted.stderr).toContain('137');
    await ctr(['container', 'delete', 'k1']);

    // ctr -t wants a terminal of its own: script(1) gives it one.
    // ResizePty: ctr passes its terminal's size on, and the relaying monitor sizes the container's pty.
    const command = ['stty rows 33 cols 101;', 'ctr', '--address', socket, '--namespace', namespace, 'run', '-t', '--rm', '--fifo-dir', join(roots.base, 'fifo'), '--runtime', shimV2, 'busybox:latest', 't1', 'sh', '-c', "'tty; sleep 0.3; stty size; exit 5'"].join(' ');
    const terminal = await execa('script', ['-qec', command, '/dev/null'], { reject: false, timeout: 40_000, env: { SHIM_TEST_TAG: roots.base }, stdin: 'ignore' });
    expect(String(terminal.stdout)).toContain('/dev/pts/0');
    expect(String(terminal.stdout)).toContain('33 101');
    expect(terminal.exitCode).toBe(5);
  });

  it('serves two containers from one server process, which leaves after the last', async () => {
    expect((await run(['-d'], 'g1', ['sleep', '100'])).exitCode).toBe(0);
    expect((await run(['-d'], 'g2', ['sleep', '100'])).exitCode).toBe(0);
    const bundles = join(roots.base, 'containerd-state/io.containerd.runtime.v2.task', namespace);
    const addresses = ['g1', 'g2'].map((id) => readFileSync(join(bundles, id, 'address'), 'utf8'));
    expect(addresses[0]).toBe(addresses[1]);
    const serving = await servers();
    expect(serving.length).toBe(1);
    await removeTask('g1');
    expect(await servers()).toEqual(serving);
    expect((await ctr(['task', 'ls'])).stdout).toMatch(/g2\s+\d+\s+RUNNING/);
    await removeTask('g2');
    await waitFor('the server to leave', async () => (await servers()).length === 0, 15_000);
    expect(existsSync(addresses[0]!.replace('unix://', ''))).toBe(false);
  });

  it('survives a containerd restart: tasks keep running and an exit meanwhile is not lost', async () => {
    expect((await run(['-d'], 'r1', ['sleep', '100'])).exitCode).toBe(0);
    expect((await run(['-d'], 'r2', ['sh', '-c', 'sleep 2; exit 9'])).exitCode).toBe(0);
    await stopContainerd();
    await new Promise((done) => setTimeout(done, 3_000)); // r2 ends while containerd is away
    await startContainerd();
    const tasks = await waitFor('containerd to see both tasks', async () => {
      const listed = (await ctr(['task', 'ls'])).stdout;
      return /r1\s+\d+\s+RUNNING/.test(listed) && /r2\s+\d+\s+STOPPED/.test(listed) && listed;
    });
    expect(tasks).toBeTruthy();
    const deleted = await ctr(['task', 'delete', 'r2']);
    expect(deleted.stdout + deleted.stderr).toContain('9');
    await ctr(['container', 'delete', 'r2']);
    await removeTask('r1');
    expect(await containersLeft()).toEqual([]);
  });

  it('a SIGKILLed server: containerd cleans up through `delete`, and nothing is left', async () => {
    expect((await run(['-d'], 's1', ['sleep', '100'])).exitCode).toBe(0);
    const [server] = await servers();
    expect(server).toBeGreaterThan(0);
    const init = Number(/s1\s+(\d+)/.exec((await ctr(['task', 'ls'])).stdout)?.[1]);
    expect(init).toBeGreaterThan(0);
    killPid(server!);
    // The container goes on without its server, as runc's containers outlive their shim.
    expect(existsSync(`/proc/${init}`)).toBe(true);
    // containerd sees the connection drop and runs `containerd-shim-shim-v2 delete`: the task is gone.
    await waitFor('containerd to clean up', async () => !(await ctr(['task', 'ls'])).stdout.includes('s1 '));
    await waitFor('the init to be gone', async () => !existsSync(`/proc/${init}`) || readFileSync(`/proc/${init}/stat`, 'utf8').includes(') Z'));
    expect((await ctr(['container', 'delete', 's1'])).exitCode).toBe(0);
    expect(await containersLeft()).toEqual([]);
  });
});
