// The lifecycle verbs against real containers through the real CLI: create/start/state/kill/delete as
// containerd and podman drive them, the subreaper hand-over, pid file and console socket, run -d with its
// background monitor, concurrency on one id, and bad input. Every test ends with nothing left behind.

import { execa } from 'execa';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostBoundBundle, killPid, makeRoots, settledLeaks, shim, shimBin, waitFor, type Roots, type ShimResult } from '../support/shim.js';

let roots: Roots;
/** A host directory bind-mounted at /host in every bundle of this file. */
let hostDir: string;

beforeEach(async () => {
  roots = await makeRoots();
  hostDir = join(roots.base, 'host');
  await mkdir(hostDir);
});

afterEach(async () => {
  try {
    // Whatever a failed test left: delete --force is itself under test, so fall back to a kill.
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

/** A runc spec bundle running `script` under sh, with the host dir bound at /host. */
const bundle = (script: string, mutate?: (config: any) => void): Promise<string> => hostBoundBundle(roots, hostDir, script, mutate);

/**
 * `shim create` with its stdout and stderr in files: the init inherits them, and a pipe it holds would
 * keep execa waiting until the container ends (as with runc: containerd hands it fifos).
 */
async function create(args: string[], options: { globalArgs?: string[]; extraFds?: number[] } = {}): Promise<ShimResult> {
  return shimToFiles(['create', ...args], options);
}

/** Any verb whose container inherits the CLI's stdio (create, run --bundle -d), with the files as stdio. */
async function shimToFiles(args: string[], options: { globalArgs?: string[]; extraFds?: number[] } = {}): Promise<ShimResult> {
  const out = join(roots.base, `create-${Math.random().toString(36).slice(2, 8)}`);
  // Real descriptors of real files: execa's {file} option would relay through a pipe of its own.
  const stdout = openSync(`${out}.out`, 'w');
  const stderr = openSync(`${out}.err`, 'w');
  try {
    const result = await execa(shimBin, ['--root', roots.root, '--data-root', roots.dataRoot, ...(options.globalArgs ?? []), ...args], {
      reject: false,
      env: roots.env,
      // Node takes descriptor numbers in stdio; execa's types do not list them.
      stdio: ['ignore', stdout, stderr, ...(options.extraFds ?? [])] as unknown as ['ignore', 'inherit', 'inherit'],
      timeout: 60_000,
    });
    return { exitCode: result.exitCode ?? -1, stdout: await readFile(`${out}.out`, 'utf8'), stderr: await readFile(`${out}.err`, 'utf8') };
  } finally {
    closeSync(stdout);
    closeSync(stderr);
  }
}

async function state(id: string): Promise<any> {
  const result = await shim(roots, ['state', id]);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

const stopped = (id: string) => async () => ((await state(id)).status === 'stopped' ? true : undefined);
const warningFree = (stderr: string) => stderr.split('\n').filter((line) => line && !line.startsWith('shim: warning:')).join('\n');

describe('create, start, state, delete', () => {
  it('creates without running the process, starts it, sees it stop, and deletes it', async () => {
    const dir = await bundle('touch /host/marker; while [ ! -e /host/go ]; do sleep 0.02; done');
    const created = await create(['--bundle', dir, 'c1']);
    expect(created.exitCode, created.stderr).toBe(0);
    const afterCreate = await state('c1');
    expect(afterCreate).toMatchObject({ id: 'c1', status: 'created', bundle: dir, rootfs: join(dir, 'rootfs'), owner: '' });
    expect(Object.keys(afterCreate)).toEqual(['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner']);
    expect(afterCreate.pid).toBeGreaterThan(0);
    // The user's process has not run: the marker is only written once it does.
    await sleep(200);
    expect(existsSync(join(hostDir, 'marker'))).toBe(false);

    expect(await shim(roots, ['start', 'c1'])).toMatchObject({ exitCode: 0, stdout: '' });
    await waitFor('the marker', () => existsSync(join(hostDir, 'marker')));
    expect(await state('c1')).toMatchObject({ status: 'running', pid: afterCreate.pid });
    expect(existsSync(join(roots.root, 'c1', 'exec.fifo'))).toBe(false);

    await writeFile(join(hostDir, 'go'), '');
    await waitFor('the container to stop', stopped('c1'));
    expect((await state('c1')).pid).toBe(0);

    const again = await shim(roots, ['start', 'c1']);
    expect(again).toMatchObject({ exitCode: 1, stderr: 'shim: start c1: cannot start a stopped container\n' });

    expect(await shim(roots, ['delete', 'c1'])).toMatchObject({ exitCode: 0, stdout: '' });
    expect(await readdir(roots.root)).toEqual([]);
    const gone = await shim(roots, ['state', 'c1']);
    expect(gone).toMatchObject({ exitCode: 1, stderr: 'shim: state c1: container c1 does not exist\n' });
  });

  it('starts a created container whose process runs as a non-root user (podman --user)', async () => {
    // The init reopens the start FIFO after taking the user: a FIFO only root may write left it dead at start.
    const dir = await bundle('id -u > /host/uid', (config) => {
      config.process.user = { uid: 65534, gid: 65534, additionalGids: [65534] };
      config.mounts.find((mount: any) => mount.destination === '/host').options = ['rbind', 'rw'];
    });
    await execa('chmod', ['0777', hostDir]);
    const created = await create(['--bundle', dir, 'nobody1']);
    expect(created.exitCode, created.stderr).toBe(0);
    expect((await state('nobody1')).status).toBe('created');
    expect(await shim(roots, ['start', 'nobody1'])).toMatchObject({ exitCode: 0, stderr: '' });
    await waitFor('the container to stop', stopped('nobody1'));
    expect(await readFile(join(hostDir, 'uid'), 'utf8')).toBe('65534\n');
    expect(await shim(roots, ['delete', 'nobody1'])).toMatchObject({ exitCode: 0 });
  });

  it('prints state in the shape and key order runc does', async () => {
    const dir = await bundle('true', (config) => {
      config.annotations = { 'org.example/key': 'value' };
    });
    expect((await create(['--bundle', dir, 'c2'])).exitCode).toBe(0);
    const result = await shim(roots, ['state', 'c2']);
    // runc prints MarshalIndent output with no newline after it.
    expect(result.stdout.endsWith('}')).toBe(true);
    expect(Object.keys(JSON.parse(result.stdout))).toEqual(['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'annotations', 'owner']);
    expect(JSON.parse(result.stdout).annotations).toEqual({ 'org.example/key': 'value' });
  });

  it('refuses to start a running container and to delete one without --force', async () => {
    const dir = await bundle('sleep 60');
    expect((await create(['--bundle', dir, 'c3'])).exitCode).toBe(0);
    expect((await shim(roots, ['start', 'c3'])).exitCode).toBe(0);
    expect(await shim(roots, ['start', 'c3'])).toMatchObject({ exitCode: 1, stderr: 'shim: start c3: cannot start a running container\n' });
    const refused = await shim(roots, ['delete', 'c3']);
    expect(refused).toMatchObject({ exitCode: 1, stderr: 'shim: delete c3: cannot delete a running container (stop it first, or use --force)\n' });
    const { pid } = await state('c3');
    expect(await shim(roots, ['delete', '--force', 'c3'])).toMatchObject({ exitCode: 0 });
    // Killed: gone, or a zombie until whoever it was re-parented to reaps it.
    await waitFor('the init to end', async () => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      return stat === '' || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') || undefined;
    });
    expect(await readdir(roots.root)).toEqual([]);
  });

  it('deletes a created container without --force, as runc does: its process never runs', async () => {
    const dir = await bundle('touch /host/marker');
    expect((await create(['--bundle', dir, 'c4'])).exitCode).toBe(0);
    const { pid } = await state('c4');
    expect((await shim(roots, ['delete', 'c4'])).exitCode).toBe(0);
    await waitFor('the init to go', () => !existsSync(`/proc/${pid}/stat`) || undefined);
    expect(existsSync(join(hostDir, 'marker'))).toBe(false);
  });
});

describe('the process model', () => {
  it("hands the init to the caller's child subreaper, which reaps its exit status", async () => {
    const source = join(roots.base, 'reaper.c');
    const binary = join(roots.base, 'reaper');
    await writeFile(source, REAPER_C);
    await execa('gcc', ['-O1', '-o', binary, source]);
    const dir = await bundle('touch /host/marker; exit 7');
    const reaper = execa(binary, [shimBin, '--root', roots.root, '--data-root', roots.dataRoot, 'create', '--bundle', dir, 'sr'], {
      env: roots.env,
      reject: false,
      buffer: false,
      stderr: 'ignore',
    });
    let output = '';
    reaper.stdout!.on('data', (chunk: Buffer) => (output += String(chunk)));
    await waitFor('create to return', () => output.includes('create exited') || undefined);
    expect(output).toBe('create exited 0\n');
    const { pid } = await state('sr');
    // The init's parent is the subreaper, not the (gone) helper.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])).toBe(reaper.pid);
    expect((await shim(roots, ['start', 'sr'])).exitCode).toBe(0);
    await reaper;
    expect(output).toBe(`create exited 0\nreaped ${pid} exit 7\n`);
    expect(await state('sr')).toMatchObject({ status: 'stopped', pid: 0 });
    expect((await shim(roots, ['delete', 'sr'])).exitCode).toBe(0);
  });

  it('passes --preserve-fds descriptors to the process at the same numbers', async () => {
    const dir = await bundle('echo through fd 3 >&3; echo and 4 >&4');
    const three = openSync(join(hostDir, 'fd3'), 'w');
    const four = openSync(join(hostDir, 'fd4'), 'w');
    try {
      const created = await create(['--bundle', dir, '--preserve-fds', '2', 'fds'], { extraFds: [three, four] });
      expect(created.exitCode, created.stderr).toBe(0);
    } finally {
      closeSync(three);
      closeSync(four);
    }
    expect((await shim(roots, ['start', 'fds'])).exitCode).toBe(0);
    await waitFor('the container to stop', stopped('fds'));
    expect(await readFile(join(hostDir, 'fd3'), 'utf8')).toBe('through fd 3\n');
    expect(await readFile(join(hostDir, 'fd4'), 'utf8')).toBe('and 4\n');
  });

  it('runs a bundle detached with run -d (create + start), returning at once', async () => {
    const dir = await bundle('echo from the init; touch /host/ran; sleep 60');
    const pidFile = join(roots.base, 'run.pid');
    const result = await shimToFiles(['run', '-d', '--bundle', dir, '--pid-file', pidFile, 'rd']);
    expect(result.exitCode, result.stderr).toBe(0);
    await waitFor('the process', () => existsSync(join(hostDir, 'ran')) || undefined);
    expect(await state('rd')).toMatchObject({ status: 'running', pid: Number(await readFile(pidFile, 'utf8')) });
    expect((await shim(roots, ['delete', '--force', 'rd'])).exitCode).toBe(0);
  });

  it('writes --pid-file before create returns', async () => {
    const dir = await bundle('true');
    const pidFile = join(roots.base, 'sub', 'init.pid');
    expect((await create(['--bundle', dir, '--pid-file', pidFile, 'pf'])).exitCode).toBe(0);
    expect(await readFile(pidFile, 'utf8')).toBe(String((await state('pf')).pid));
  });

  it("sends the pty master to --console-socket, and the container's output comes through it", async () => {
    const socketPath = join(roots.base, 'console.sock');
    const receiver = execa('python3', [join(import.meta.dirname, '../helper/console-receiver.py'), socketPath], {
      reject: false,
      buffer: false,
      env: roots.env,
    });
    let output = '';
    receiver.stdout!.on('data', (chunk: Buffer) => (output += String(chunk)));
    await waitFor('the receiver', () => output.includes('listening') || undefined);
    const dir = await bundle('tty; echo hello over the pty', (config) => {
      config.process.terminal = true;
    });
    const created = await create(['--bundle', dir, '--console-socket', socketPath, 'tty1']);
    expect(created.exitCode, created.stderr).toBe(0);
    expect((await shim(roots, ['start', 'tty1'])).exitCode).toBe(0);
    await receiver;
    expect(output.replace(/\r/g, '')).toMatch(/^listening\nname \/dev\/pts\/0\n\/dev\/pts\/0\nhello over the pty\n$/);
  });

  it('refuses a terminal without --console-socket, leaving nothing', async () => {
    const dir = await bundle('true', (config) => {
      config.process.terminal = true;
    });
    const result = await create(['--bundle', dir, 'tty2']);
    expect(result.exitCode).toBe(1);
    expect(warningFree(result.stderr)).toMatch(/^shim: create tty2: config.json asks for a terminal .*--console-socket/);
    expect(await readdir(roots.root)).toEqual([]);
  });

  it('writes errors as JSON lines to --log with --log-format json', async () => {
    const log = join(roots.base, 'shim.log');
    const result = await create(['--bundle', join(roots.base, 'nowhere'), 'lg'], { globalArgs: ['--log', log, '--log-format', 'json'] });
    expect(result.exitCode).toBe(1);
    const lines = (await readFile(log, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    const last = lines.at(-1);
    expect(Object.keys(last)).toEqual(['level', 'msg', 'time']);
    expect(last.level).toBe('error');
    expect(last.msg).toMatch(/^create lg: read bundle config .*nowhere\/config.json: no such file or directory \(ENOENT\)$/);
    expect(Number.isNaN(Date.parse(last.time))).toBe(false);
  });
});

describe('kill', () => {
  it('sends signals by name (with or without SIG) and by number; SIGTERM by default', async () => {
    const dir = await bundle('trap "echo usr1 >> /host/got" USR1; trap "echo hup >> /host/got" HUP; trap "echo term >> /host/got; exit 0" TERM; touch /host/ready; while :; do sleep 0.02; done');
    expect((await create(['--bundle', dir, 'k1'])).exitCode).toBe(0);
    expect((await shim(roots, ['start', 'k1'])).exitCode).toBe(0);
    await waitFor('the traps', () => existsSync(join(hostDir, 'ready')) || undefined);
    const got = () => readFile(join(hostDir, 'got'), 'utf8').catch(() => '');
    expect((await shim(roots, ['kill', 'k1', 'USR1'])).exitCode).toBe(0);
    await waitFor('usr1', async () => (await got()) === 'usr1\n' || undefined);
    expect((await shim(roots, ['kill', 'k1', 'SIGHUP'])).exitCode).toBe(0);
    await waitFor('hup', async () => (await got()) === 'usr1\nhup\n' || undefined);
    expect((await shim(roots, ['kill', 'k1', '10'])).exitCode).toBe(0);
    await waitFor('usr1 by number', async () => (await got()) === 'usr1\nhup\nusr1\n' || undefined);
    expect((await shim(roots, ['kill', 'k1'])).exitCode).toBe(0);
    await waitFor('the container to stop', stopped('k1'));
    expect(await got()).toBe('usr1\nhup\nusr1\nterm\n');
    expect(await shim(roots, ['kill', 'k1', 'KILL'])).toMatchObject({ exitCode: 1, stderr: 'shim: kill k1: container not running\n' });
    expect(await shim(roots, ['kill', 'k1', 'NOPE'])).toMatchObject({ exitCode: 2 });
  });

  it('kills by number 9, and --all reaches every process of the cgroup', async () => {
    // The init (pid 1 of its namespace) ignores SIGTERM without a trap; its children do not. With --all
    // the sleeps die, `wait` returns, and the init writes the file.
    const dir = await bundle('sleep 100 & sleep 100 & touch /host/ready; wait; echo waited > /host/all; sleep 100');
    expect((await create(['--bundle', dir, 'k2'])).exitCode).toBe(0);
    expect((await shim(roots, ['start', 'k2'])).exitCode).toBe(0);
    await waitFor('the children', () => existsSync(join(hostDir, 'ready')) || undefined);
    const ps = await shim(roots, ['ps', '--format', 'json', 'k2']);
    expect(JSON.parse(ps.stdout)).toHaveLength(3);
    const table = await shim(roots, ['ps', 'k2', '--', '-o', 'pid,comm']);
    expect(table.stdout.split('\n').filter(Boolean).slice(1).map((line) => line.trim().split(/\s+/)[1]).sort()).toEqual(['sh', 'sleep', 'sleep']);
    expect((await shim(roots, ['kill', '--all', 'k2', 'TERM'])).exitCode).toBe(0);
    await waitFor('the init to see its children go', () => existsSync(join(hostDir, 'all')) || undefined);
    expect((await state('k2')).status).toBe('running');
    expect((await shim(roots, ['kill', 'k2', '9'])).exitCode).toBe(0);
    await waitFor('the container to stop', stopped('k2'));
    expect((await shim(roots, ['delete', 'k2'])).exitCode).toBe(0);
  });
});

describe('run -d', () => {
  it('prints the id, logs to a file, and shows the exit status in list once it ends', async () => {
    const started = await shim(roots, ['run', '-d', '--name', 'd1', 'busybox', 'sh', '-c', 'echo to stdout; echo to stderr >&2; while [ ! -e /tmp/go ]; do sleep 0.02; done; exit 3']);
    expect(started).toMatchObject({ exitCode: 0, stdout: 'd1\n' });
    const running = await shim(roots, ['list']);
    expect(running.stdout).toMatch(/^d1 +\d+ +running +/m);
    // docker's logs: each stream to its own.
    await waitFor('the log', async () => {
      const logs = await shim(roots, ['logs', 'd1']);
      return logs.stdout === 'to stdout\n' && logs.stderr === 'to stderr\n' ? true : undefined;
    });
    // The monitor is small: a static helper holding one spec.
    const monitorPid = Number(await shim(roots, ['inspect', '--format', '{{.State.MonitorPid}}', 'd1']).then((r) => r.stdout.trim()));
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${monitorPid}/status`, 'utf8'))![1]);
    console.log(`run -d monitor: VmRSS ${rss} kB`);
    expect(rss).toBeLessThan(1024);
    // Lets it finish through its own rootfs.
    const pid = Number((await shim(roots, ['inspect', '--format', '{{.State.Pid}}', 'd1'])).stdout.trim());
    await writeFile(`/proc/${pid}/root/tmp/go`, '');
    await waitFor('the container to stop', stopped('d1'));
    const list = await shim(roots, ['list']);
    expect(list.stdout).toMatch(/^d1 +0 +exited \(3\) +/m);
    const json = JSON.parse((await shim(roots, ['list', '--format', 'json'])).stdout);
    expect(json[0]).toMatchObject({ id: 'd1', status: 'stopped', exitCode: 3 });
    // The monitor is gone, and so are the container's processes: its cgroup is empty.
    await waitFor('the monitor to exit', () => !existsSync(`/proc/${monitorPid}/stat`) || undefined);
    expect(JSON.parse((await shim(roots, ['ps', '--format', 'json', 'd1'])).stdout)).toEqual([]);
    expect(await shim(roots, ['logs', '-f', 'd1'])).toMatchObject({ stdout: 'to stdout\n', stderr: 'to stderr\n' });
    expect((await shim(roots, ['delete', 'd1'])).exitCode).toBe(0);
  });

  it('follows the log with -f until the container ends; delete --force stops a running one', async () => {
    const follow = shim(roots, ['logs', '-f', 'd2']);
    void follow;
    expect((await shim(roots, ['run', '-d', '--name', 'd2', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo line $i; sleep 0.1; done'])).exitCode).toBe(0);
    expect((await shim(roots, ['logs', '-f', 'd2'])).stdout).toBe('line 1\nline 2\nline 3\n');
    expect((await shim(roots, ['run', '-d', '--name', 'd3', 'busybox', 'sleep', '60'])).exitCode).toBe(0);
    expect((await shim(roots, ['delete', '--force', 'd3'])).exitCode).toBe(0);
    expect((await shim(roots, ['delete', 'd2'])).exitCode).toBe(0);
    await follow;
  });

  it('reports a program that cannot run, and leaves nothing', async () => {
    const result = await shim(roots, ['run', '-d', '--name', 'd4', 'busybox', 'no-such-program']);
    expect(result.exitCode).toBe(127);
    expect(result.stderr).toBe('shim: run d4: exec: "no-such-program": executable file not found in $PATH (ENOENT)\n');
    expect(await readdir(roots.root)).toEqual([]);
  });
});

describe('concurrency', () => {
  it('creates 20 containers of distinct ids in parallel', async () => {
    const dir = await bundle('true');
    const ids = Array.from({ length: 20 }, (_, index) => `p${index}`);
    const results = await Promise.all(ids.map((id) => create(['--bundle', dir, id])));
    expect(results.map((result) => [result.exitCode, warningFree(result.stderr)])).toEqual(ids.map(() => [0, '']));
    const listed = (await shim(roots, ['list', '-q'])).stdout.trim().split('\n').sort();
    expect(listed).toEqual([...ids].sort());
    const deleted = await Promise.all(ids.map((id) => shim(roots, ['delete', id])));
    expect(deleted.map((result) => result.exitCode)).toEqual(ids.map(() => 0));
  });

  it('lets exactly one of 10 parallel creates of one id win', async () => {
    const dir = await bundle('true');
    const results = await Promise.all(Array.from({ length: 10 }, () => create(['--bundle', dir, 'same'])));
    const winners = results.filter((result) => result.exitCode === 0);
    expect(winners).toHaveLength(1);
    for (const loser of results.filter((result) => result.exitCode !== 0)) {
      expect(warningFree(loser.stderr)).toBe(`shim: create same: container same already exists (its state is in ${join(roots.root, 'same')})`);
    }
    expect((await state('same')).status).toBe('created');
  });
});

describe('bad input: one clear line, nothing left', () => {
  const cases: [string, () => Promise<string[]>, RegExp][] = [
    ['a missing bundle', async () => ['--bundle', join(roots.base, 'none'), 'x1'], /^shim: create x1: read bundle config .*\/none\/config.json: no such file or directory \(ENOENT\)$/],
    ['bad JSON', async () => {
      const dir = await bundle('true');
      await writeFile(join(dir, 'config.json'), '{"ociVersion": ');
      return ['--bundle', dir, 'x2'];
    }, /^shim: create x2: config.json: not valid JSON \(.*\) .*config.json$/],
    ['an unknown ociVersion', async () => ['--bundle', await bundle('true', (c) => (c.ociVersion = '2.0.0')), 'x3'],
      /^shim: create x3: config.json: ociVersion 2.0.0 is not supported \(1.0.x to 1.3.x are\)$/],
    ['a missing rootfs', async () => ['--bundle', await bundle('true', (c) => (c.root.path = 'nothere')), 'x4'],
      /^shim: create x4: rootfs .*\/nothere: no such file or directory \(ENOENT\) \(config.json root.path names it, relative to the bundle\)$/],
    ['an unsupported field', async () => ['--bundle', await bundle('true', (c) => (c.linux.resources.memory = { limit: 1048576, kernel: 1048576 })), 'x5'],
      /^shim: create x5: config.json: linux.resources.memory.kernel is not supported yet$/],
    ['an invalid id', async () => ['--bundle', await bundle('true'), '../x6'], /^shim: create: container id "..\/x6" is not valid/],
    ['a helper failure halfway', async () => ['--bundle', await bundle('true', (c) => c.mounts.push({ destination: '/m', type: 'bind', source: '/nonexistent-shim', options: ['rbind'] })), 'x7'],
      /^shim: create x7: .*nonexistent-shim.*: no such file or directory \(ENOENT\)$/],
  ];
  for (const [what, args, expected] of cases) {
    it(`refuses ${what}`, async () => {
      const result = await create(await args());
      expect(result.exitCode).not.toBe(0);
      const lines = warningFree(result.stderr).split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(expected);
      expect(await readdir(roots.root).catch(() => [])).toEqual([]);
    });
  }

  it('refuses an unknown container for every verb', async () => {
    for (const verb of [['start'], ['state'], ['kill'], ['delete'], ['ps'], ['inspect'], ['logs']]) {
      const result = await shim(roots, [...verb, 'ghost']);
      expect(result, verb[0]).toMatchObject({ exitCode: 1, stderr: `shim: ${verb[0]} ghost: container ghost does not exist\n` });
    }
    // As runc: delete --force of a container that is not there succeeds silently (podman's clean-up after a
    // failed create sends it, and logs an error on a failure).
    expect(await shim(roots, ['delete', '--force', 'ghost'])).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
  });

  it('deletes with --force a container whose state is half written', async () => {
    await mkdir(join(roots.root, 'half'), { recursive: true });
    await writeFile(join(roots.root, 'half', 'state.json'), '{"ociVersion": "1.2.0", "id": "ha');
    const state = await shim(roots, ['state', 'half']);
    expect(state.exitCode).toBe(1);
    expect(state.stderr).toMatch(/^shim: state half: read state: not valid JSON .*\(shim delete --force half removes it\)\n$/);
    expect((await shim(roots, ['delete', 'half'])).exitCode).toBe(1);
    expect((await shim(roots, ['delete', '--force', 'half'])).exitCode).toBe(0);
    expect(await readdir(roots.root)).toEqual([]);
  });

  it('deletes with --force a container whose init died unexpectedly', async () => {
    const dir = await bundle('sleep 60');
    expect((await create(['--bundle', dir, 'died'])).exitCode).toBe(0);
    killPid((await state('died')).pid);
    await waitFor('the container to stop', stopped('died'));
    expect((await shim(roots, ['delete', '--force', 'died'])).exitCode).toBe(0);
  });
});

describe('spec, features, inspect', () => {
  it('writes the config.json runc spec writes, plain and rootless', async () => {
    for (const rootless of [false, true]) {
      const ours = join(roots.base, `ours-${rootless}`);
      const runcs = join(roots.base, `runc-${rootless}`);
      await mkdir(ours);
      await mkdir(runcs);
      expect((await shim(roots, ['spec', '--bundle', ours, ...(rootless ? ['--rootless'] : [])])).exitCode).toBe(0);
      await execa('runc', ['spec', '--bundle', runcs, ...(rootless ? ['--rootless'] : [])]);
      const mine = JSON.parse(await readFile(join(ours, 'config.json'), 'utf8'));
      const theirs = JSON.parse(await readFile(join(runcs, 'config.json'), 'utf8'));
      expect({ ...mine, ociVersion: undefined }).toEqual({ ...theirs, ociVersion: undefined });
    }
    const again = await shim(roots, ['spec', '--bundle', join(roots.base, 'ours-false')]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/config.json exists: remove it first/);
  });

  it('prints a features document that says what shim does not do', async () => {
    const features = JSON.parse((await shim(roots, ['features'])).stdout);
    expect(features).toMatchObject({ ociVersionMin: '1.0.0', hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'], linux: { cgroup: { v1: true, v2: true, systemd: false }, seccomp: { enabled: true } } });
    expect(features.linux.seccomp.operators).toContain('SCMP_CMP_MASKED_EQ');
    expect(features.linux.seccomp.archs).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM', 'SCMP_ARCH_X32', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64']);
    expect(features.linux.seccomp.actions).toContain('SCMP_ACT_KILL_PROCESS');
    // v2 has no device files; its eBPF device control is not implemented, and the document says so.
    expect(features.annotations['io.github.shim.cgroup.v2.devices']).toBe('not enforced');
    expect(features.linux.namespaces).toContain('user');
    expect(features.linux.mountExtensions.idmap.enabled).toBe(true);
    expect(features.mountOptions).toContain('rbind');
    expect(features.linux.capabilities).toContain('CAP_SYS_ADMIN');
  });

  it('inspects a created container: namespaces with their links, mounts, cgroups, and one field by template', async () => {
    const dir = await bundle('true');
    expect((await create(['--bundle', dir, 'i1'])).exitCode).toBe(0);
    const { pid } = await state('i1');
    const document = JSON.parse((await shim(roots, ['inspect', 'i1'])).stdout);
    expect(document.State).toMatchObject({ Status: 'created', Pid: pid });
    const net = document.Namespaces.find((ns: { type: string }) => ns.type === 'net');
    expect(net).toMatchObject({ path: `/proc/${pid}/ns/net`, link: expect.stringMatching(/^net:\[\d+\]$/) });
    // docker's Mounts (the binds) and shim's planned mounts beside them.
    expect(document.Mounts.map((mount: { Destination: string }) => mount.Destination)).toContain('/host');
    expect(document.PlannedMounts.map((mount: { target: string }) => mount.target)).toContain('/host');
    expect(document.Cgroups.Dirs).toContain(`/sys/fs/cgroup/memory/${roots.cgroupParent}/i1`);
    expect(document.OciConfig.process.args).toEqual(['sh', '-c', 'true']);
    expect(document).toMatchObject({ Path: 'sh', Args: ['-c', 'true'], Config: { Cmd: ['sh', '-c', 'true'] } });
    expect(await shim(roots, ['inspect', '--format', 'pid={{.State.Pid}} {{json .State.Running}}', 'i1'])).toMatchObject({ stdout: `pid=${pid} false\n` });
    expect(await shim(roots, ['inspect', '--format', '{{.State.Nope}}', 'i1'])).toMatchObject({ exitCode: 2, stderr: 'shim: inspect i1: --format: .State.Nope: there is no field Nope\n' });
  });
});

describe('cgroup parent', () => {
  it('removes the default parent with its last container, and keeps one a config names', async () => {
    const dir = await bundle('true');
    const memoryParent = `/sys/fs/cgroup/memory/${roots.cgroupParent}`;
    expect((await create(['--bundle', dir, 'g1'])).exitCode).toBe(0);
    expect((await create(['--bundle', dir, 'g2'])).exitCode).toBe(0);
    expect((await shim(roots, ['delete', 'g1'])).exitCode).toBe(0);
    expect(existsSync(memoryParent)).toBe(true);
    expect((await shim(roots, ['delete', 'g2'])).exitCode).toBe(0);
    expect(existsSync(memoryParent)).toBe(false);
    const named = await bundle('true', (config) => {
      config.linux.cgroupsPath = `/${roots.cgroupParent}/named/g3`;
    });
    expect((await create(['--bundle', named, 'g3'])).exitCode).toBe(0);
    expect((await shim(roots, ['delete', 'g3'])).exitCode).toBe(0);
    expect(existsSync(`${memoryParent}/named`)).toBe(true);
    await execa('sh', ['-c', `for d in /sys/fs/cgroup/*/${roots.cgroupParent}/named; do rmdir $d; done`], { reject: false });
  });
});

describe('cgroup parent race', () => {
  it('creates succeed while deletes of other containers remove the shared parent', async () => {
    const dir = await bundle('true');
    // Each round: one container is deleted (emptying the parent, which goes) while the next is created.
    expect((await create(['--bundle', dir, 'r0'])).exitCode).toBe(0);
    for (let round = 1; round <= 6; round++) {
      const [deleted, created] = await Promise.all([shim(roots, ['delete', `r${round - 1}`]), create(['--bundle', dir, `r${round}`])]);
      expect([deleted.exitCode, created.exitCode], `${deleted.stderr}${created.stderr}`).toEqual([0, 0]);
    }
    expect((await shim(roots, ['delete', 'r6'])).exitCode).toBe(0);
    expect(existsSync(`/sys/fs/cgroup/memory/${roots.cgroupParent}`)).toBe(false);
  });

  it('accepts runc global flags an orchestrator passes: --systemd-cgroup, --log with text lines', async () => {
    const log = join(roots.base, 'text.log');
    const result = await shim(roots, ['start', 'nobody'], { globalArgs: ['--systemd-cgroup', '--log', log] });
    expect(result.exitCode).toBe(1);
    expect(await readFile(log, 'utf8')).toMatch(/^time="[^"]+" level=error msg="start nobody: container nobody does not exist"\n$/);
  });
});

// A child subreaper, as conmon and containerd-shim are: runs the command given (shim create ...), reports
// its exit, then reaps every orphan re-parented to it and reports each one.
const REAPER_C = String.raw`
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int status;
	pid_t pid;

	if (argc < 2 || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return 2;
	pid = fork();
	if (pid == 0) {
		execv(argv[1], argv + 1);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	printf("create exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	fflush(stdout);
	while ((pid = waitpid(-1, &status, 0)) > 0) {
		printf("reaped %d %s %d\n", (int)pid, WIFEXITED(status) ? "exit" : "signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		fflush(stdout);
	}
	return 0;
}
`;
