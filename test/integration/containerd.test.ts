// The runtime v2 server (containerd-shim-shim-v2) under a real containerd 1.6: a private containerd (its own
// root, state, socket and config in this test's temp dir; no CRI, nothing on TCP; stopped by pid), the
// built-in busybox image exported by shim and imported with `ctr image import`, and every container run with
// `ctr run --runtime <abs path to dist/containerd-shim-shim-v2>`. The containerd namespace is this test's
// cgroup parent name, so ctr's cgroupsPath (/<namespace>/<id>) lands where the leak check looks.

import { execa, type ResultPromise } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killPid, makeRoots, repoRoot, settledLeaks, shim, shimBin, waitFor, type Roots } from '../support/shim.js';
import { containerd as api } from '../../src/containerd/generated/containerd.js';
import { joiningDirOf, serverRecordOf } from '../../src/containerd/shim-paths.js';
import { TtrpcClient } from '../../src/containerd/ttrpc.js';

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
    // containerd's log (its stderr), where the shims' own log lines are copied to.
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: { file: join(roots.base, 'containerd.log'), append: true },
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

/** Who answered containerd's `start` of this container, by the launcher's trace: 'launcher' or 'node'. */
function startAnsweredBy(id: string): string[] {
  const lines = existsSync(join(roots.base, 'trace')) ? readFileSync(join(roots.base, 'trace'), 'utf8').split('\n') : [];
  return lines.map((line) => line.split(' ')).filter((fields) => fields[2] === 'start' && fields[3] === id).map((fields) => fields[4]!);
}

/** The pid a server's record names (beside its socket), as the launcher reads it. */
function recordedServer(address: string): number {
  const record = serverRecordOf(socket, namespace, address.replace('unix://', ''));
  return Number(readFileSync(record!, 'utf8').split(' ')[0]);
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
    // containerd finds io.containerd.runc.v2 as containerd-shim-runc-v2 on its PATH: here that is this
    // server, so that `ctr run --runc-binary/--runc-systemd-cgroup` send it runc's Options (ctr sends them to
    // no runtime of another name).
    await mkdir(join(roots.base, 'bin'));
    await symlink(shimV2, join(roots.base, 'bin/containerd-shim-runc-v2'));
    // A short linger: the tests wait for servers to leave.
    // The launcher's trace says which starts the launcher answered and which went to Node; a short join grace:
    // a server waits that long for the Create of a start it never saw come.
    containerdEnv = { ...roots.env, SHIM_CONTAINERD_ROOT: shimRoot, SHIM_CONTAINERD_LINGER_MS: '2000', SHIM_CONTAINERD_JOIN_GRACE_MS: '5000', SHIM_CONTAINERD_TRACE: join(roots.base, 'trace'), PATH: `${join(roots.base, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}` };
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
    // This host's controllers are v1: the v1 Metrics, with the kernel's own figures.
    const json = await ctr(['task', 'metrics', '--format', 'json', 'd1']);
    const v1 = JSON.parse(json.stdout) as { memory: Record<string, unknown> & { usage: { usage: number } }; cpu: { usage: { total: number; per_cpu: number[] } }; pids: { current: number }; blkio?: unknown };
    expect(v1.memory.usage.usage).toBeGreaterThan(0);
    expect(Number(v1.memory.total_rss ?? 0) + Number(v1.memory.total_cache ?? 0)).toBeGreaterThan(0);
    expect(v1.cpu.usage.total).toBeGreaterThan(0);
    expect(v1.cpu.usage.per_cpu.length).toBeGreaterThan(0);
    expect(v1.pids.current).toBeGreaterThanOrEqual(2);

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

  it("serves two containers from one server process, which leaves after the last; the second start is the launcher's", async () => {
    expect((await run(['-d'], 'g1', ['sleep', '100'])).exitCode).toBe(0);
    expect((await run(['-d'], 'g2', ['sleep', '100'])).exitCode).toBe(0);
    const bundles = join(roots.base, 'containerd-state/io.containerd.runtime.v2.task', namespace);
    const addresses = ['g1', 'g2'].map((id) => readFileSync(join(bundles, id, 'address'), 'utf8'));
    expect(addresses[0]).toBe(addresses[1]);
    const serving = await servers();
    expect(serving.length).toBe(1);
    // g1's server was running when containerd started g2: the launcher answered without Node, and the record
    // it trusted names the one server.
    expect(startAnsweredBy('g2')).toEqual(['launcher']);
    expect(recordedServer(addresses[0]!)).toBe(serving[0]);
    // A container started that way runs as any other: output, exit status, exec, on the same server.
    const third = await run(['--rm'], 'g3', ['sh', '-c', 'echo from g3; exit 4']);
    expect(third.stdout).toBe('from g3');
    expect(third.exitCode).toBe(4);
    expect(startAnsweredBy('g3')).toEqual(['launcher']);
    const exec = await ctr(['task', 'exec', '--fifo-dir', join(roots.base, 'fifo'), '--exec-id', 'e1', 'g2', 'sh', '-c', 'echo in g2']);
    expect(exec.stdout).toBe('in g2');
    expect(await servers()).toEqual(serving);
    await removeTask('g1');
    expect(await servers()).toEqual(serving);
    expect((await ctr(['task', 'ls'])).stdout).toMatch(/g2\s+\d+\s+RUNNING/);
    await removeTask('g2');
    await waitFor('the server to leave', async () => (await servers()).length === 0, 15_000);
    expect(existsSync(addresses[0]!.replace('unix://', ''))).toBe(false);
  });

  it("leaves after the last container even when a start the launcher answered never got its Create", async () => {
    expect((await run(['-d'], 'n1', ['sleep', '100'])).exitCode).toBe(0);
    const bundles = join(roots.base, 'containerd-state/io.containerd.runtime.v2.task', namespace);
    const address = readFileSync(join(bundles, 'n1', 'address'), 'utf8');
    const [server] = await servers();
    // containerd's own call for a container it then never creates (as when containerd dies right after
    // `start`): the same arguments and environment, in a bundle of its own.
    const bundle = join(roots.base, 'ghost-bundle');
    await mkdir(bundle);
    await writeFile(join(bundle, 'config.json'), readFileSync(join(bundles, 'n1', 'config.json')));
    const started = await execa(shimV2, ['-namespace', namespace, '-address', socket, '-publish-binary', '/usr/bin/containerd', '-id', 'ghost1', 'start'], { cwd: bundle, env: containerdEnv, reject: false, stdin: 'ignore' });
    expect(started.stdout).toBe(address);
    expect(readFileSync(join(bundle, 'address'), 'utf8')).toBe(address);
    expect(startAnsweredBy('ghost1')).toEqual(['launcher']);
    expect(existsSync(join(joiningDirOf(address.replace('unix://', '')), 'ghost1'))).toBe(true);
    await removeTask('n1');
    // After the linger (2 s) it stays for ghost1's Create until the join grace (5 s) is over, then leaves.
    await waitFor('the server to leave', async () => !(await servers()).includes(server!), 20_000);
    expect(existsSync(address.replace('unix://', ''))).toBe(false);
    expect(existsSync(joiningDirOf(address.replace('unix://', '')))).toBe(false);
    expect(existsSync(serverRecordOf(socket, namespace, address.replace('unix://', ''))!)).toBe(false);
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
    // Its record beside the socket is stale now: the launcher hands the next start to Node, which starts a
    // new server on the same socket, and the container after that is the launcher's again.
    const next = await run(['--rm'], 's2', ['sh', '-c', 'echo after; exit 2']);
    expect(next.stdout).toBe('after');
    expect(next.exitCode).toBe(2);
    expect(startAnsweredBy('s2')).toEqual(['node']);
    const [successor] = await servers();
    expect(successor).toBeGreaterThan(0);
    expect(successor).not.toBe(server);
    expect((await run(['--rm'], 's3', ['true'])).exitCode).toBe(0);
    expect(startAnsweredBy('s3')).toEqual(['launcher']);
    expect(await servers()).toEqual([successor]);
  });

  it('sends TaskOOM as an OOM kill happens, and the init killed by it exits 137', async () => {
    const events = execa('ctr', ['--address', socket, '--namespace', namespace, 'events'], { reject: false, env: { SHIM_TEST_TAG: roots.base }, stdin: 'ignore' });
    let seen = '';
    events.stdout?.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    try {
      // Subscribed once a first container's events come through.
      expect((await run(['--rm'], 'ev0', ['true'])).exitCode).toBe(0);
      await waitFor('ctr events to subscribe', async () => /\/tasks\/exit.*"ev0"/.test(seen));
      const limit = String(32 * 1024 * 1024);
      // The init lives on after dd, its child, is OOM-killed: TaskOOM comes while the task runs.
      const live = await run(['--rm', '--memory-limit', limit], 'oom1', ['sh', '-c', 'dd if=/dev/zero of=/dev/null bs=64M count=1; echo dd $?; sleep 1; exit 3']);
      expect(live.stdout).toContain('dd 137');
      expect(live.exitCode).toBe(3);
      // The init itself killed: 137, and TaskOOM before its TaskExit.
      const init = await run(['--rm', '--memory-limit', limit], 'oom2', ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1']);
      expect(init.exitCode).toBe(137);
      await waitFor('the events', async () => /\/tasks\/delete.*"oom2"/.test(seen));
      const lines = seen.split('\n');
      const index = (topic: string, id: string) => lines.findIndex((line) => line.includes(topic) && line.includes(`"${id}"`));
      for (const id of ['oom1', 'oom2']) {
        expect(index('/tasks/oom', id), `${id}: ${seen}`).toBeGreaterThanOrEqual(0);
        expect(index('/tasks/oom', id)).toBeLessThan(index('/tasks/exit', id));
      }
      // oom1's was sent while its init still ran (it slept a second after dd's death), not at its exit.
      const timeOf = (line: string) => Date.parse(line.split(' ').slice(0, 2).join('T') + 'Z');
      expect(timeOf(lines[index('/tasks/exit', 'oom1')]!) - timeOf(lines[index('/tasks/oom', 'oom1')]!)).toBeGreaterThan(500);
      expect(lines.filter((line) => line.includes('/tasks/oom')).length).toBe(2);
    } finally {
      events.kill('SIGTERM');
      await events;
    }
  });

  it('Update sets the cgroup limits, as containerd sends it over ttrpc', async () => {
    expect((await run(['-d', '--memory-limit', String(64 * 1024 * 1024)], 'u1', ['sleep', '100'])).exitCode).toBe(0);
    const pid = Number(/u1\s+(\d+)/.exec((await ctr(['task', 'ls'])).stdout)?.[1]);
    const cgroupOf = (controller: string) => {
      const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((entry) => entry.split(':')[1]?.split(',').includes(controller));
      // Mounted under the controller's name (a joint cpu,cpuacct mount has a cpu link beside it).
      return join('/sys/fs/cgroup', controller, line!.split(':')[2]!);
    };
    expect(readFileSync(join(cgroupOf('memory'), 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(64 * 1024 * 1024));
    // ctr 1.6 has no `task update`: the request containerd's Tasks.Update forwards, to the same server.
    const bundles = join(roots.base, 'containerd-state/io.containerd.runtime.v2.task', namespace);
    const address = readFileSync(join(bundles, 'u1', 'address'), 'utf8').replace('unix://', '');
    const client = await TtrpcClient.connect(address);
    try {
      const resources = { memory: { limit: 48 * 1024 * 1024 }, cpu: { quota: 50_000, period: 100_000 }, pids: { limit: 42 } };
      const request = api.task.v2.UpdateTaskRequest.encode({
        id: 'u1',
        resources: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources', value: Buffer.from(JSON.stringify(resources)) },
      }).finish();
      await client.call('containerd.task.v2.Task', 'Update', request);
      expect(readFileSync(join(cgroupOf('memory'), 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(48 * 1024 * 1024));
      expect(readFileSync(join(cgroupOf('cpu'), 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('50000');
      expect(readFileSync(join(cgroupOf('cpu'), 'cpu.cfs_period_us'), 'utf8').trim()).toBe('100000');
      expect(readFileSync(join(cgroupOf('pids'), 'pids.max'), 'utf8').trim()).toBe('42');
      // A resource that cannot change is refused whole, with the library's reason.
      const bad = api.task.v2.UpdateTaskRequest.encode({ id: 'u1', resources: { type_url: 'x', value: Buffer.from('{"devices":[{"allow":true}]}') } }).finish();
      await expect(client.call('containerd.task.v2.Task', 'Update', bad)).rejects.toThrow(/devices cannot be updated/);
    } finally {
      client.close();
    }
    await removeTask('u1');
  });

  it("takes runc's options: systemd_cgroup honoured, binary_name ignored with a line in containerd's log", async () => {
    const runcRun = (flags: string[], id: string, command: string[]) =>
      ctr(['run', '--fifo-dir', join(roots.base, 'fifo'), '--runtime', 'io.containerd.runc.v2', ...flags, 'busybox:latest', id, ...command]);
    // --runc-binary makes ctr send runc's Options (BinaryName): the container runs on this server anyway.
    const result = await runcRun(['--rm', '--runc-binary', '/nonexistent/runc'], 'o1', ['sh', '-c', 'echo via options; exit 6']);
    expect(result.stdout).toBe('via options');
    expect(result.exitCode).toBe(6);
    const log = readFileSync(join(roots.base, 'containerd.log'), 'utf8');
    expect(log).toMatch(/level=warning msg="runc options: binary_name \/nonexistent\/runc ignored: this runtime runs no runc binary" id=o1 namespace=/);
    // SystemdCgroup: the slice:prefix:name form ctr then gives is mapped onto a plain path, as `shim --systemd-cgroup`.
    try {
      const systemd = await runcRun(['--rm', '--runc-systemd-cgroup', '--cgroup', `${namespace}.slice:t:o2`], 'o2', ['true']);
      expect(systemd.stdout + systemd.stderr).toBe('');
      expect(systemd.exitCode).toBe(0);
      const withoutOption = await run(['--rm', '--cgroup', `${namespace}.slice:t:o3`], 'o3', ['true']);
      expect(withoutOption.exitCode).not.toBe(0);
      await ctr(['container', 'delete', 'o3']);
    } finally {
      // systemd's nesting put the scope under /shim.slice/shim-test.slice/NAMESPACE.slice: the scope went with
      // the container, the slices are this test's to remove (a slice another run still uses is not empty).
      await removeSliceChain(namespace);
    }
  });
});

/** rmdir, deepest first, of "a-b-c.slice"'s chain /a.slice/a-b.slice/a-b-c.slice in every hierarchy. */
async function removeSliceChain(name: string): Promise<void> {
  const parts = name.split('-');
  const chain = parts.map((_, index) => `${parts.slice(0, index + 1).join('-')}.slice`);
  for (const hierarchy of await readdir('/sys/fs/cgroup')) {
    for (let depth = chain.length; depth > 0; depth--) {
      await rmdir(join('/sys/fs/cgroup', hierarchy, ...chain.slice(0, depth))).catch(() => {});
    }
  }
}
