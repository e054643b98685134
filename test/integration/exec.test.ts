// `shim exec` against real running containers, through the real CLI; the two CVE-class tests also drive the
// helper directly, to hold an exec'd helper inside the container or hand it a host descriptor. Each test
// has its own roots and cgroup parent, and must leave nothing behind.

import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants as fsConstants, openSync, readFileSync } from 'node:fs';
import { copyFile, open, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareExec } from '../../src/container/exec-container.js';
import { silentLogger } from '../../src/log.js';
import type { ExecRequest } from '../../src/plan/plan-exec.js';
import { encodeExecSpec } from '../../src/spec/encode-spec.js';
import { shim as pbShim } from '../../src/spec/generated/shim.js';
import { helperBin, makeRoots, settledLeaks, shim, shimBin, type Roots, killPid, startShimInBackground, waitFor, type BackgroundShim } from '../support/shim.js';

const v1 = pbShim.v1;
let roots: Roots;

beforeEach(async () => {
  roots = await makeRoots();
});

afterEach(async () => {
  try {
    await stopRunning();
    expect(await settledLeaks(roots)).toEqual([]);
  } finally {
    await roots.dispose();
  }
});

const running: BackgroundShim[] = [];
const initPids: number[] = [];

function startShim(args: string[], extra: { stdio?: (number | 'ignore' | 'pipe')[] } = {}): BackgroundShim {
  const handle = startShimInBackground(roots, args, extra);
  running.push(handle);
  return handle;
}

// Killing a container's init ends its foreground `run`, which then removes its cgroup and with it
// everything exec put there.
async function stopRunning(): Promise<void> {
  for (const pid of initPids.splice(0)) {
    try {
      killPid(pid);
    } catch {
      // Already gone.
    }
  }
  await Promise.all(running.splice(0).map((handle) => handle.result));
}

/** `shim run --name NAME busybox sleep 1000` in the background; resolves to the init's host pid once running. */
async function startContainer(name: string): Promise<number> {
  startShim(['run', '--rm', '--name', name, 'busybox', 'sleep', '1000']);
  const pid = await waitFor(`${name} to run`, async () => {
    const text = await readFile(join(roots.root, name, 'state.json'), 'utf8').catch(() => undefined);
    const state = text ? JSON.parse(text) : undefined;
    return state?.status === 'running' && state.pid > 0 ? (state.pid as number) : undefined;
  });
  initPids.push(pid);
  return pid;
}

const NAMESPACES = ['mnt', 'pid', 'net', 'uts', 'ipc', 'cgroup'];

async function namespacesOf(pid: number): Promise<string[]> {
  return Promise.all(NAMESPACES.map((ns) => readlink(`/proc/${pid}/ns/${ns}`)));
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('shim exec', () => {
  it("joins every namespace of the container's init", async () => {
    const init = await startContainer('c1');
    const result = await shim(roots, ['exec', 'c1', 'sh', '-c', `for n in ${NAMESPACES.join(' ')}; do readlink /proc/self/ns/$n; done`]);
    expect(result).toMatchObject({ exitCode: 0, stderr: '' });
    expect(result.stdout.trim().split('\n')).toEqual(await namespacesOf(init));
  });

  it("runs in the init's cgroup and root, with its environment, capabilities and no_new_privs", async () => {
    await startContainer('c1');
    const script = [
      'cat /proc/self/cgroup | sort | md5sum; cat /proc/1/cgroup | sort | md5sum',
      'grep -E "^(Cap(Bnd|Eff|Prm|Inh|Amb)|NoNewPrivs)" /proc/self/status | md5sum; grep -E "^(Cap(Bnd|Eff|Prm|Inh|Amb)|NoNewPrivs)" /proc/1/status | md5sum',
      'echo $PATH; echo $HOSTNAME',
      'ls /bin/busybox; readlink /proc/self/root',
    ].join('; ');
    const result = await shim(roots, ['exec', 'c1', 'sh', '-c', script]);
    expect(result.exitCode).toBe(0);
    const [cgroupSelf, cgroupInit, capsSelf, capsInit, path, hostname, busybox, root] = result.stdout.trim().split('\n');
    expect(cgroupSelf).toBe(cgroupInit);
    expect(capsSelf).toBe(capsInit);
    expect(path).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(hostname).toBe('c1');
    expect(busybox).toBe('/bin/busybox');
    expect(root).toBe('/');
  });

  it('takes -e, -w and -u', async () => {
    await startContainer('c1');
    const result = await shim(roots, ['exec', '-e', 'GREETING=hi there', '-e', 'PATH=/bin', '-w', '/tmp', '-u', '1000:1001', 'c1',
      'sh', '-c', 'echo "$GREETING"; echo $PATH; pwd; id -u; id -g']);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'hi there\n/bin\n/tmp\n1000\n1001\n' });
  });

  it('gives the process our stdin with -i, /dev/null without', async () => {
    await startContainer('c1');
    expect(await shim(roots, ['exec', '-i', 'c1', 'sh', '-c', 'read line; echo "got $line"'], { input: 'hello\n' })).toMatchObject({
      exitCode: 0,
      stdout: 'got hello\n',
    });
    expect(await shim(roots, ['exec', 'c1', 'sh', '-c', 'readlink /proc/self/fd/0; cat'], { input: 'not for you\n' })).toMatchObject({
      exitCode: 0,
      stdout: '/dev/null\n',
    });
  });

  it("passes the process's exit code through: 0, 7, 127 for a missing program, 137 for SIGKILL", async () => {
    await startContainer('c1');
    expect((await shim(roots, ['exec', 'c1', 'true'])).exitCode).toBe(0);
    expect((await shim(roots, ['exec', 'c1', 'sh', '-c', 'exit 7'])).exitCode).toBe(7);
    const missing = await shim(roots, ['exec', 'c1', 'no-such-program']);
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toMatch(/^shim: exec c1: exec no-such-program: no such file or directory \(ENOENT\)\n$/);
    expect((await shim(roots, ['exec', 'c1', 'sh', '-c', 'kill -9 $$'])).exitCode).toBe(137);
  });

  it('forwards SIGTERM to the exec\'d process', async () => {
    await startContainer('c1');
    const execd = startShim(['exec', 'c1', 'sh', '-c', 'trap "echo got TERM; exit 9" TERM; echo ready; while :; do sleep 0.05; done']);
    await waitFor('ready', () => (execd.output().includes('ready') ? true : undefined));
    execd.kill('SIGTERM');
    expect(await execd.result).toMatchObject({ exitCode: 9, stdout: 'ready\ngot TERM\n' });
  });

  it('refuses a stopped container, and one that does not exist', async () => {
    const done = await shim(roots, ['run', '--name', 'gone', 'busybox', 'true']);
    expect(done.exitCode).toBe(0);
    const result = await shim(roots, ['exec', 'gone', 'true']);
    expect(result.exitCode).toBe(125);
    expect(result.stderr).toMatch(/^shim: exec gone: cannot exec in a stopped container/);
    await execa('rm', ['-rf', join(roots.root, 'gone'), join(roots.dataRoot, 'containers', 'gone')]);
    const missing = await shim(roots, ['exec', 'nobody', 'true']);
    expect(missing.exitCode).toBe(125);
    expect(missing.stderr).toMatch(/^shim: exec nobody: container nobody does not exist/);
  });

  it('refuses a container whose recorded init is no longer that process', async () => {
    await startContainer('c1');
    const statePath = join(roots.root, 'c1', 'state.json');
    const state = JSON.parse(await readFile(statePath, 'utf8'));
    await writeFile(statePath, JSON.stringify({ ...state, pidStartTime: '1' }));
    const result = await shim(roots, ['exec', 'c1', 'true']);
    await writeFile(statePath, JSON.stringify(state));
    expect(result.exitCode).toBe(125);
    expect(result.stderr).toMatch(/cannot exec in a stopped container/);
  });

  it('gives -it a real terminal: a shell typed into through tmux', async () => {
    await startContainer('c1');
    const server = `shim-exec-${process.pid}-${Date.now()}`;
    const tmux = (...args: string[]) => execa('tmux', ['-L', server, ...args], { reject: false, env: { ...process.env, ...roots.env } });
    const command = [shimBin, '--root', roots.root, '--data-root', roots.dataRoot, 'exec', '-it', 'c1', 'sh'].join(' ');
    try {
      await tmux('new-session', '-d', '-x', '100', '-y', '30', `${command}; echo shim-exit=$?; sleep 30`);
      const screen = async () => String((await tmux('capture-pane', '-p')).stdout);
      await waitFor('the prompt', async () => ((await screen()).includes('/ #') ? true : undefined));
      await tmux('send-keys', 'tty; echo hello-$((6*7)); stty size', 'Enter');
      await waitFor('the output', async () => ((await screen()).includes('30 100') ? true : undefined));
      expect(await screen()).toMatch(/\/dev\/pts\/\d+\nhello-42\n30 100\n/);
      // A resize reaches the container's terminal through the shim's SIGWINCH forwarding.
      await tmux('resize-window', '-x', '80', '-y', '20');
      await sleep(200);
      await tmux('send-keys', 'stty size; exit 3', 'Enter');
      await waitFor('the exit', async () => ((await screen()).includes('shim-exit=') ? true : undefined));
      expect(await screen()).toMatch(/20 80\n(.*\n)*shim-exit=3/);
    } finally {
      await tmux('kill-server');
    }
  });

  it('--detach --pid-file: returns at once, the pid file names a process in the container, and ps lists it', async () => {
    const init = await startContainer('c1');
    const pidFile = join(roots.base, 'exec.pid');
    const result = await shimDetached(['exec', '--detach', '--pid-file', pidFile, 'c1', 'sleep', '500']);
    expect(result).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    expect(await namespacesOf(pid)).toEqual(await namespacesOf(init));
    expect(await readlink(`/proc/${pid}/root`)).toBe(await readlink(`/proc/${init}/root`));
    const ps = await shim(roots, ['ps', 'c1', '--format', 'json']);
    expect(JSON.parse(ps.stdout)).toEqual(expect.arrayContaining([init, pid]));
    // The lifecycle branch's ps is runc's: the host's ps output, filtered to the container's pids.
    const table = await shim(roots, ['ps', 'c1', '--', '-o', 'pid,args']);
    expect(table.stdout).toMatch(new RegExp(`^\\s*PID COMMAND\\n(.*\\n)*\\s*${pid} sleep 500\\n`));
  });

  it('--tty --detach --console-socket: the pty master goes to the socket, as runc sends it', async () => {
    await startContainer('c1');
    const socketPath = join(roots.base, 'console.sock');
    const receiverScript = join(import.meta.dirname, '../helper/console-receiver.py');
    const receiver = execa('python3', [receiverScript, socketPath], { reject: false, env: roots.env, stripFinalNewline: false });
    let received = '';
    receiver.stdout!.on('data', (chunk: Buffer) => (received += String(chunk)));
    await waitFor('the receiver', () => (received.includes('listening') ? true : undefined));
    const pidFile = join(roots.base, 'tty.pid');
    const result = await shimDetached(['exec', '--tty', '--detach', '--console-socket', socketPath, '--pid-file', pidFile, 'c1',
      'sh', '-c', 'tty; test -t 0 && test -t 1 && echo tty-stdio']);
    expect(result).toMatchObject({ exitCode: 0, stderr: '' });
    expect(Number(await readFile(pidFile, 'utf8'))).toBeGreaterThan(0);
    await receiver;
    expect(received).toMatch(/name \/dev\/pts\/\d+\n/);
    expect(received).toMatch(/\/dev\/pts\/\d+\r\ntty-stdio\r\n/);
  });

  it('runs an OCI process file (runc exec --process), detached with a pid file', async () => {
    const init = await startContainer('c1');
    const processFile = join(roots.base, 'process.json');
    await writeFile(processFile, JSON.stringify({
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['sh', '-c', 'echo "$ONLY" > /tmp/from-process-file; pwd >> /tmp/from-process-file; sleep 500'],
      env: ['PATH=/bin', 'ONLY=from the file'],
      cwd: '/tmp',
      capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
      noNewPrivileges: true,
    }));
    const pidFile = join(roots.base, 'p.pid');
    const result = await shimDetached(['exec', '--process', processFile, '--detach', '--pid-file', pidFile, 'c1']);
    expect(result).toMatchObject({ exitCode: 0, stderr: '' });
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(await namespacesOf(pid)).toEqual(await namespacesOf(init));
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    expect(status).toMatch(/CapEff:\s+0000000000000020/);
    expect(status).toMatch(/NoNewPrivs:\s+1/);
    const written = await waitFor('the file', async () => {
      const out = await shim(roots, ['exec', 'c1', 'cat', '/tmp/from-process-file']);
      return out.stdout.includes('/tmp') ? out.stdout : undefined;
    });
    expect(written).toBe('from the file\n/tmp\n');
    const refused = await shim(roots, ['exec', '--process', processFile, '--env', 'A=b', 'c1']);
    expect(refused).toMatchObject({ exitCode: 2 });
    expect(refused.stderr).toMatch(/--env cannot be used with --process/);
    // --tty beside a file that says terminal: false is a contradiction; conmon sends it only with terminal: true.
    const contradiction = await shim(roots, ['exec', '--process', processFile, '--tty', 'c1']);
    expect(contradiction).toMatchObject({ exitCode: 2 });
    expect(contradiction.stderr).toMatch(/--tty cannot be used with a --process file whose terminal is false/);
  });
});

describe('shim exec: CVE classes', () => {
  // CVE-2019-5736 / CVE-2016-9962 class. The helper's child sits in the container's pid namespace with the
  // container's uid and capabilities between READY and execve(); with a start FIFO it can be held there. A
  // dumpable helper could then be opened through /proc/PID/exe (and, once it exits, rewritten through the
  // kept descriptor, were it not running from a sealed copy: see the next test) or read and written through
  // /proc/PID/mem by any process of the container. The helper here is a copy in the test's roots, so a broken
  // build can only damage the copy.
  it('a helper inside the container is non-dumpable: its exe and mem cannot be opened, the binary stays intact', async () => {
    await startContainer('c1');
    const helperCopy = join(roots.base, 'shim-helper');
    await copyFile(helperBin, helperCopy);
    const before = sha256(helperCopy);
    const fifo = join(roots.base, 'start.fifo');
    await execa('mkfifo', [fifo]);
    const plan = await prepareExec(execRequest(['true']), { root: roots.root, helperPath: helperCopy, debug: false, log: silentLogger, cwd: '/' });
    const spec = v1.Spec.decode(encodeExecSpec(plan, { debug: false }));
    spec.finish = v1.Finish.FINISH_WAIT_FOR_START;
    spec.startFifo = fifo;
    const helper = spawnHelper(helperCopy, v1.Spec.encode(spec).finish(), []);
    const ready = await helper.waitFor((frame) => frame.kind === v1.StatusKind.STATUS_KIND_READY);
    // Its pid as the container sees it: the last NSpid entry.
    const nsPid = (await readFile(`/proc/${ready.pid}/status`, 'utf8')).match(/^NSpid:.*\s(\d+)$/m)![1];

    const script = [
      `p=${nsPid}`,
      'echo "comm=$(cat /proc/$p/comm)"',
      'for d in /proc/[0-9]*; do [ "$(cat $d/comm 2>/dev/null)" = "shim:[0:PARENT]" ] && echo "monitor-visible=${d#/proc/}"; done',
      'if (exec 3>>/proc/$p/exe) 2>/dev/null; then echo exe-write=open; else echo exe-write=denied; fi',
      'if (exec 3</proc/$p/exe) 2>/dev/null; then echo exe-read=open; exec 5</proc/$p/exe; else echo exe-read=denied; fi',
      'if (exec 3</proc/$p/mem) 2>/dev/null; then echo mem=open; else echo mem=denied; fi',
      'echo probed',
      'while [ ! -e /tmp/go ]; do sleep 0.05; done',
      // The CVE's second half: after the helper has exited, reopen the kept descriptor for writing.
      'if [ -e /proc/self/fd/5 ] && (echo pwned >> /proc/self/fd/5) 2>/dev/null; then echo overwrite=done; else echo overwrite=failed; fi',
    ].join('\n');
    const attacker = startShim(['exec', 'c1', 'sh', '-c', script]);
    await waitFor('the probes', () => (attacker.output().includes('probed') ? true : undefined));
    // Let the held helper go on: it execs `true` and both its processes end, so the binary is no longer busy.
    const reader = await open(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    await waitFor('the helper to exit', () => helper.exitCode());
    await reader.close();
    expect((await shim(roots, ['exec', 'c1', 'touch', '/tmp/go'])).exitCode).toBe(0);
    const { stdout } = await attacker.result;

    expect(stdout).toMatch(/^comm=shim:\[1:EXEC\]$/m);
    expect(stdout).not.toMatch(/monitor-visible/);
    expect(stdout).toMatch(/^exe-write=denied$/m);
    expect(stdout).toMatch(/^exe-read=denied$/m);
    expect(stdout).toMatch(/^mem=denied$/m);
    expect(stdout).toMatch(/^overwrite=failed$/m);
    expect(sha256(helperCopy)).toBe(before);
  });

  // CVE-2019-5736 proper: the container has the helper execute a `#!/proc/self/exe` script, which runs the
  // helper's own binary inside the container, dumpable again after execve(). Here the script is named "4" and
  // found through PATH=: in /tmp, so the re-run helper gets argv "3 4" and blocks reading a spec from a
  // preserved FIFO: no race. A detached attacker then opens its /proc/PID/exe, kills it, and once nothing runs
  // the binary any more writes through the kept descriptor. The helper runs from a sealed memfd copy of itself,
  // so what it holds is that copy, and the write fails; the helper file on the host (a copy in the test's
  // roots, named by SHIM_HELPER) stays as it was.
  it('a `#!/proc/self/exe` program reaches only a sealed copy of the helper, never the binary on the host', async () => {
    await startContainer('c1');
    const helperCopy = join(roots.base, 'shim-helper');
    await copyFile(helperBin, helperCopy);
    const before = sha256(helperCopy);
    const withCopy = { SHIM_HELPER: helperCopy };
    expect((await shim(roots, ['exec', 'c1', 'sh', '-c', 'printf "#!/proc/self/exe 3\\n" > /tmp/4; chmod +x /tmp/4'])).exitCode).toBe(0);

    const fifo = join(roots.base, 'never.fifo');
    await execa('mkfifo', [fifo]);
    // Read and write ends in one: reads block for ever, and the descriptor is open for the helper's fcntl.
    const blocking = openSync(fifo, fsConstants.O_RDWR);
    const victim = execa(shimBin, ['--root', roots.root, '--data-root', roots.dataRoot, 'exec', '--preserve-fds', '2', '-e', 'PATH=:', '-w', '/tmp', 'c1', '4'], {
      reject: false,
      env: { ...roots.env, ...withCopy },
      stdio: ['ignore', 'pipe', 'pipe', blocking, blocking] as never,
    });
    closeSync(blocking);

    const attack = [
      'p=""',
      'while [ -z "$p" ]; do for d in /proc/[0-9]*; do tr "\\0" " " < $d/cmdline 2>/dev/null | grep -q "^/proc/self/exe 3 4" && p=${d#/proc/}; done; done',
      'if exec 5</proc/$p/exe; then echo "held=$(readlink /proc/self/fd/5)"; fi',
      'kill -9 $p; while [ -e /proc/$p ]; do sleep 0.05; done; sleep 0.5',
      'if (echo pwned >> /proc/self/fd/5) 2>/dev/null; then echo overwrite=done; else echo overwrite=failed; fi',
      'echo finished',
    ].join('\n');
    const started = await shimDetached(['exec', '-d', 'c1', 'sh', '-c', `(${attack}) > /tmp/attack.log 2>&1`], withCopy);
    expect(started.exitCode).toBe(0);
    const log = await waitFor('the attack to finish', async () => {
      const out = await shim(roots, ['exec', 'c1', 'cat', '/tmp/attack.log']);
      return out.stdout.includes('finished') ? out.stdout : undefined;
    });
    expect((await victim).exitCode).toBe(137);

    expect(log).toMatch(/^held=\/memfd:shim-helper \(deleted\)$/m);
    expect(log).toMatch(/^overwrite=failed$/m);
    expect(sha256(helperCopy)).toBe(before);
  });

  // CVE-2024-21626 class: a host directory's descriptor open in the helper when it changes to the process's
  // working directory. The helper gets one deliberately (fd 5, outside the preserved range) and the cwd
  // /proc/self/fd/5; then the same through --preserve-fds, where the descriptor reaches the process by design.
  it('a leaked host directory descriptor neither reaches the process nor serves as its working directory', async () => {
    await startContainer('c1');
    await writeFile(join(roots.base, 'host-marker'), '');
    const hostDir = openSync(roots.base, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    try {
      const context = { root: roots.root, helperPath: helperBin, debug: false, log: silentLogger, cwd: '/' };
      const listing = await prepareExec(execRequest(['ls', '-l', '/proc/self/fd']), context);
      const listed = spawnHelper(helperBin, encodeExecSpec(listing, { debug: false }), [hostDir]);
      expect(await listed.exitCode()).toBe(0);
      // ls's own directory descriptor is 3; nothing of the helper's or the host's is left.
      expect(fdNumbers(listed.stdout())).toEqual(['0', '1', '2', '3']);

      // `ls` in the working directory would list the host directory, marker included, had it got there.
      const escape = await prepareExec({ ...execRequest(['ls']), cwd: '/proc/self/fd/5' }, context);
      const escaped = spawnHelper(helperBin, encodeExecSpec(escape, { debug: false }), [hostDir]);
      await escaped.exitCode();
      expect(escaped.stdout()).not.toMatch(/host-marker/);
      expect(await escaped.exitCode()).toBe(125);
      const error = escaped.frames().find((frame) => frame.kind === v1.StatusKind.STATUS_KIND_ERROR);
      expect(error?.error?.stage).not.toBe(v1.Stage.STAGE_EXEC);
    } finally {
      closeSync(hostDir);
    }
  });

  it('--preserve-fds passes a descriptor on, but a cwd through it cannot leave the root', async () => {
    await startContainer('c1');
    await writeFile(join(roots.base, 'host-marker'), '');
    const hostDir = openSync(roots.base, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    try {
      const stdio: (number | 'ignore' | 'pipe')[] = ['ignore', 'pipe', 'pipe', hostDir];
      const listed = startShim(['exec', '--preserve-fds', '1', 'c1', 'ls', '/proc/self/fd'], { stdio });
      const listing = await listed.result;
      expect(listing.exitCode).toBe(0);
      // 3 is the preserved descriptor, 4 is ls's own.
      expect(listing.stdout.trim().split('\n')).toEqual(['0', '1', '2', '3', '4']);
      const escaped = await startShim(['exec', '--preserve-fds', '1', '-w', '/proc/self/fd/3', 'c1', 'ls'], { stdio }).result;
      expect(escaped.stdout).not.toMatch(/host-marker/);
      expect(escaped.exitCode).toBe(125);
      expect(escaped.stderr).toMatch(/^shim: exec c1: working directory \/proc\/self\/fd\/3 is outside the container's root\n$/);
    } finally {
      closeSync(hostDir);
    }
  });
});

/**
 * The CLI with stdout and stderr going to files: a detached process keeps what it inherits, so pipes would
 * only reach EOF when it ends.
 */
async function shimDetached(args: string[], env: Record<string, string> = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const out = join(roots.base, `out-${Date.now()}`);
  const err = join(roots.base, `err-${Date.now()}`);
  const outFd = openSync(out, 'w');
  const errFd = openSync(err, 'w');
  try {
    const child = spawn(shimBin, ['--root', roots.root, '--data-root', roots.dataRoot, ...args], {
      env: { ...process.env, ...roots.env, ...env },
      stdio: ['ignore', outFd, errFd],
    });
    // 'exit', not 'close': the detached process holds the files, not pipes, and nothing waits on them.
    const exitCode = await new Promise<number>((done) => child.on('exit', (code) => done(code ?? -1)));
    return { exitCode, stdout: await readFile(out, 'utf8'), stderr: await readFile(err, 'utf8') };
  } finally {
    closeSync(outFd);
    closeSync(errFd);
  }
}

function execRequest(args: string[]): ExecRequest {
  return { containerId: 'c1', args, env: [], addCapabilities: [], noNewPrivileges: false, tty: false, detach: false, preserveFds: 0 };
}

function fdNumbers(lsOutput: string): string[] {
  return lsOutput
    .split('\n')
    // A descriptor that is gone by the time ls reads its link (ls's own) shows no target.
    .map((line) => (line.startsWith("l") ? / (\d+)(?: -> .*)?$/.exec(line)?.[1] : undefined))
    .filter((fd): fd is string => fd !== undefined);
}

interface SpawnedHelper {
  waitFor(match: (frame: pbShim.v1.Status) => boolean): Promise<pbShim.v1.Status>;
  frames(): pbShim.v1.Status[];
  stdout(): string;
  /** Resolves once the helper has exited (undefined while it runs, for waitFor). */
  exitCode(): Promise<number | undefined> | number | undefined;
}

/** The helper with its spec on fd 3, status on fd 4, and `extra` descriptors of ours from fd 5 on. */
function spawnHelper(path: string, spec: Uint8Array, extra: number[]): SpawnedHelper {
  const child = spawn(path, ['3', '4'], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', ...extra],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...roots.env },
  });
  const frames: pbShim.v1.Status[] = [];
  let pending = Buffer.alloc(0);
  let stdout = '';
  let exit: number | undefined;
  const exited = new Promise<number>((done) => child.on('close', (code, signal) => done((exit = code ?? 128 + (signal ? 9 : 0)))));
  child.stdout!.on('data', (chunk: Buffer) => (stdout += String(chunk)));
  child.stderr!.resume();
  (child.stdio[4] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32LE(0)) {
      const length = pending.readUInt32LE(0);
      frames.push(v1.Status.decode(pending.subarray(4, 4 + length)));
      pending = pending.subarray(4 + length);
    }
  });
  const header = Buffer.alloc(4);
  header.writeUInt32LE(spec.length);
  (child.stdio[3] as NodeJS.WritableStream).end(Buffer.concat([header, Buffer.from(spec)]));
  return {
    waitFor: (match) => waitFor('a status frame', () => frames.find(match)),
    frames: () => frames,
    stdout: () => stdout,
    exitCode: () => (exit !== undefined ? exit : exited.then(() => exit)),
  };
}
