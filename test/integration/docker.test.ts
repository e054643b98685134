// docker's verbs and run flags for a person at a terminal, against real containers through the real CLI.
// The terminal tests drive `run -it`, `exec -it` and `attach` through tmux (a real pty, as a person's): type,
// read the screen, resize, detach with the detach keys, attach again. Every test ends with nothing left.

import { execa } from 'execa';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeRoots, settledLeaks, shim, shimBin, waitFor, type Roots } from '../support/shim.js';

let roots: Roots;

beforeEach(async () => {
  roots = await makeRoots();
});

afterEach(async () => {
  try {
    for (const id of await readdir(roots.root).catch(() => [] as string[])) {
      if (id.startsWith('.')) continue;
      const result = await shim(roots, ['rm', '-f', '-v', id]);
      if (result.exitCode !== 0) console.error(`cleanup: ${result.stderr}`);
    }
    expect(await settledLeaks(roots)).toEqual([]);
  } finally {
    await roots.dispose();
  }
});

async function ok(args: string[]): Promise<string> {
  const result = await shim(roots, args);
  expect(result, `shim ${args.join(' ')}: ${result.stderr}`).toMatchObject({ exitCode: 0 });
  return result.stdout;
}

describe('lifecycle', () => {
  it('stop of a TERM-ignoring PID 1 takes about the timeout, then it exited 137', async () => {
    await ok(['run', '-d', '--name', 's1', 'busybox', 'sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done']);
    const started = Date.now();
    expect(await ok(['stop', '-t', '2', 's1'])).toBe('s1\n');
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(8000);
    expect(await ok(['wait', 's1'])).toBe('137\n');
    expect(await ok(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 's1'])).toBe('exited 137\n');
  });

  it('start brings a stopped container back on its own layer; restart; rm -f of a running one', async () => {
    await ok(['run', '-d', '--name', 'b1', 'busybox', 'sh', '-c', 'echo $$ >> /runs; sleep 100']);
    await ok(['stop', '-t', '1', 'b1']);
    await ok(['start', 'b1']);
    await waitFor('the screen or the state', async () => (await shim(roots, ['exec', 'b1', 'cat', '/runs'])).stdout.trim().split('\n').length === 2);
    await ok(['restart', '-t', '1', 'b1']);
    await waitFor('the screen or the state', async () => (await shim(roots, ['exec', 'b1', 'cat', '/runs'])).stdout.trim().split('\n').length === 3);
    expect(await ok(['ps', '-q'])).toBe('b1\n');
    await ok(['rm', '-f', 'b1']);
    expect(await ok(['ps', '-a', '-q'])).toBe('');
  });

  it('--restart on-failure:2 restarts exactly twice', async () => {
    await ok(['run', '-d', '--name', 'r1', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo run >> /count; exit 3']);
    expect(await ok(['wait', 'r1'])).toBe('3\n');
    await ok(['cp', 'r1:/count', join(roots.base, 'count')]);
    expect(await readFile(join(roots.base, 'count'), 'utf8')).toBe('run\nrun\nrun\n');
    expect(await ok(['inspect', '--format', '{{.RestartCount}}', 'r1'])).toBe('2\n');
  });

  it('names the nearest container when one is missing', async () => {
    await ok(['run', '-d', '--name', 'web2', 'busybox', 'sleep', '100']);
    const result = await shim(roots, ['stop', 'web1']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('no such container: web1 (did you mean web2?)');
  });
});

describe('cp', () => {
  it('copies both ways, and a symlink in the container to /etc stays inside it', async () => {
    const source = join(roots.base, 'site');
    await mkdir(join(source, 'sub'), { recursive: true });
    await writeFile(join(source, 'sub/index.html'), 'hello\n');
    await ok(['run', '-d', '--name', 'c1', 'busybox', 'sh', '-c', 'ln -s /etc /escape; sleep 100']);
    await waitFor('the screen or the state', async () => (await shim(roots, ['exec', 'c1', 'ls', '/escape'])).exitCode === 0);
    await ok(['cp', source, 'c1:/srv']);
    expect(await ok(['exec', 'c1', 'cat', '/srv/sub/index.html'])).toBe('hello\n');
    // Into /escape/...: the container's own /etc, never the host's.
    await ok(['cp', join(source, 'sub/index.html'), 'c1:/escape/shim-cp-test']);
    expect(await ok(['exec', 'c1', 'cat', '/etc/shim-cp-test'])).toBe('hello\n');
    await expect(readFile('/etc/shim-cp-test')).rejects.toThrow();
    // Out through the symlink: the container's hostname file, not the host's.
    await ok(['cp', 'c1:/escape/hostname', join(roots.base, 'hostname')]);
    expect(await readFile(join(roots.base, 'hostname'), 'utf8')).toBe('c1\n');
    await ok(['cp', 'c1:/srv', join(roots.base, 'back')]);
    expect(await readFile(join(roots.base, 'back/sub/index.html'), 'utf8')).toBe('hello\n');
  });
});

describe('run flags', () => {
  it('--user by name, --cap-add NET_ADMIN in CapEff, --read-only with --tmpfs /tmp', async () => {
    expect(await ok(['run', '--rm', '-u', 'nobody', 'busybox', 'id'])).toBe('uid=65534(nobody) gid=65534(nogroup)\n');
    const capEff = (await ok(['run', '--rm', '--cap-add', 'NET_ADMIN', 'busybox', 'grep', 'CapEff', '/proc/self/status'])).split(/\s+/)[1]!;
    expect((BigInt(`0x${capEff}`) >> 12n) & 1n).toBe(1n);
    const plain = (await ok(['run', '--rm', 'busybox', 'grep', 'CapEff', '/proc/self/status'])).split(/\s+/)[1]!;
    expect((BigInt(`0x${plain}`) >> 12n) & 1n).toBe(0n);
    const readOnly = await shim(roots, ['run', '--rm', '--read-only', '--tmpfs', '/tmp', 'busybox', 'sh', '-c', 'touch /tmp/ok && echo tmp; touch /x']);
    expect(readOnly.stdout).toBe('tmp\n');
    expect(readOnly.stderr).toContain('Read-only file system');
  });

  it('--privileged: every capability this process holds, no seccomp filter, the host\'s devices', async () => {
    const status = await ok(['run', '--rm', '--privileged', 'busybox', 'sh', '-c', 'grep -E "^(CapEff|Seccomp):" /proc/self/status; ls /dev/loop-control']);
    const hostBounding = /^CapBnd:\s*([0-9a-f]+)$/m.exec(await readFile('/proc/self/status', 'utf8'))![1]!;
    expect(status).toMatch(new RegExp(`^CapEff:\\s+${hostBounding}\nSeccomp:\\s+0\n`));
    expect(status).toContain('/dev/loop-control');
    const confined = await ok(['run', '--rm', 'busybox', 'grep', 'Seccomp:', '/proc/self/status']);
    expect(confined).toMatch(/Seccomp:\s+2/);
  });

  it('--init reaps zombies: an orphan that ends is gone, not <defunct>', async () => {
    // PID 1 becomes `sleep`, which never waits: the orphaned `sleep 0.2` stays a zombie unless init reaps it.
    const script = '(sleep 0.2 &); exec sleep 100';
    const processes = async (id: string) => {
      await sleep(800);
      return ok(['exec', id, 'ps', '-o', 'pid,stat,comm']);
    };
    await ok(['run', '-d', '--name', 'z1', 'busybox', 'sh', '-c', script]);
    expect(await processes('z1')).toMatch(/ Z /);
    await ok(['run', '-d', '--init', '--name', 'z2', 'busybox', 'sh', '-c', script]);
    const withInit = await processes('z2');
    expect(withInit).toMatch(/^\s*1 \S+\s+init$/m);
    expect(withInit).not.toMatch(/ Z /);
    // init hands SIGTERM on to the program (a bare PID 1 sleep would ignore it).
    const started = Date.now();
    await ok(['stop', '-t', '10', 'z2']);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await ok(['wait', 'z2'])).toBe('143\n');
  });

  it('refuses --platform of another machine and a bad --restart, saying what works', async () => {
    const platform = await shim(roots, ['run', '--platform', 'linux/s390x', 'busybox', 'true']);
    expect(platform.exitCode).toBe(2);
    expect(platform.stderr).toContain('this machine only');
    const restart = await shim(roots, ['run', '-d', '--restart', 'sometimes', 'busybox', 'true']);
    expect(restart.stderr).toContain('expected no, on-failure[:N], always or unless-stopped');
  });
});

describe('terminal, through tmux', () => {
  const server = `shim-test-${process.pid}`;
  const tmux = (...args: string[]) => execa('tmux', ['-L', server, ...args], { reject: false });
  const screen = async () => String((await tmux('capture-pane', '-p')).stdout);
  const command = (args: string) =>
    `env SHIM_CGROUP_PARENT=${roots.cgroupParent} SHIM_TEST_TAG=${roots.base} SHIM_NETWORK=none ${shimBin} --root ${roots.root} --data-root ${roots.dataRoot} ${args}`;

  afterEach(async () => {
    await tmux('kill-server');
  });

  it('run -it: type, read, resize, detach with ctrl-p ctrl-q, attach again; exec -it', async () => {
    await tmux('new-session', '-d', '-x', '100', '-y', '30', command('run -it --name t1 busybox sh'));
    await waitFor('the screen or the state', async () => (await screen()).includes('/ #'));
    await tmux('send-keys', 'echo he""llo; stty size', 'Enter');
    await waitFor('the screen or the state', async () => /^hello$/m.test(await screen()) && (await screen()).includes('30 100'));
    await tmux('resize-window', '-x', '80', '-y', '20');
    await tmux('send-keys', 'clear; stty size', 'Enter');
    await waitFor('the screen or the state', async () => (await screen()).includes('20 80'));
    await tmux('send-keys', 'C-p', 'C-q');
    await waitFor('the screen or the state', async () => (await tmux('has-session')).exitCode !== 0);
    expect(await ok(['ps', '-q'])).toBe('t1\n');

    await tmux('new-session', '-d', '-x', '90', '-y', '25', command('attach t1'));
    await sleep(300);
    await tmux('send-keys', 'echo again; stty size', 'Enter');
    await waitFor('the screen or the state', async () => /^again$/m.test(await screen()) && (await screen()).includes('25 90'));
    await tmux('send-keys', 'C-p', 'C-q');
    await waitFor('the screen or the state', async () => (await tmux('has-session')).exitCode !== 0);

    await tmux('new-session', '-d', '-x', '70', '-y', '20', command('exec -it t1 sh'));
    await waitFor('the screen or the state', async () => (await screen()).includes('#'));
    await tmux('send-keys', 'echo in-exec; stty size; exit', 'Enter');
    await waitFor('the screen or the state', async () => (await tmux('has-session')).exitCode !== 0);

    await tmux('new-session', '-d', command('attach t1'));
    await sleep(300);
    await tmux('send-keys', 'exit 7', 'Enter');
    await waitFor('the screen or the state', async () => (await tmux('has-session')).exitCode !== 0);
    expect(await ok(['wait', 't1'])).toBe('7\n');
  });
});
