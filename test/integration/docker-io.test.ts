// docker's logs with times (--since, --until, -t, --tail, -f, stderr apart), attach's stdin to a `run -d -i`
// container, the restart back-off and unless-stopped, -u's supplementary groups, and many short `run -it`
// programs under tmux, each of whose output must arrive. Real containers through the real CLI; waits are on
// conditions with generous deadlines, and nothing here measures time.

import { execa } from 'execa';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeOciArchive } from '../support/oci.js';
import { makeBusyboxRootfs, makeRoots, settledLeaks, shim, shimBin, waitFor, type Roots } from '../support/shim.js';

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

async function ok(args: string[], input?: string): Promise<string> {
  const result = await shim(roots, args, input === undefined ? {} : { input });
  expect(result, `shim ${args.join(' ')}: ${result.stderr}`).toMatchObject({ exitCode: 0 });
  return result.stdout;
}

const RFC3339_NANO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;

describe('logs with times', () => {
  it('-t, --since, --until, --tail; stderr apart; a line written in two pieces is one line', async () => {
    // `sleep` between the lines so that their times differ; "in " and "pieces" reach the log as two records.
    await ok(['run', '-d', '--name', 'l1', 'busybox', 'sh', '-c', 'echo one; sleep 0.3; echo oops >&2; printf "in "; sleep 0.3; echo pieces; sleep 1.2; echo two']);
    expect(await ok(['wait', 'l1'])).toBe('0\n');
    const plain = await shim(roots, ['logs', 'l1']);
    expect(plain).toMatchObject({ exitCode: 0, stdout: 'one\nin pieces\ntwo\n', stderr: 'oops\n' });

    const timed = await shim(roots, ['logs', '-t', 'l1']);
    const lines = timed.stdout.trimEnd().split('\n').map((line) => {
      const space = line.indexOf(' ');
      return { time: line.slice(0, space), text: line.slice(space + 1) };
    });
    expect(lines.map((line) => line.text)).toEqual(['one', 'in pieces', 'two']);
    for (const { time } of lines) expect(time).toMatch(RFC3339_NANO);
    expect(timed.stderr).toMatch(/^\S+Z oops\n$/);
    const [one, , two] = lines;
    expect(Date.parse(two!.time)).toBeGreaterThan(Date.parse(one!.time));

    // docker's three forms of a time: RFC 3339, Unix seconds, and a duration back from now.
    expect(await ok(['logs', '--since', two!.time, 'l1'])).toBe('two\n');
    expect(await ok(['logs', '--until', one!.time, 'l1'])).toBe('one\n');
    const twoUnix = `${Math.floor(Date.parse(two!.time) / 1000)}`;
    expect(await ok(['logs', '--since', twoUnix, 'l1'])).toContain('two\n');
    expect(await ok(['logs', '--since', '1h', 'l1'])).toBe('one\nin pieces\ntwo\n');
    expect(await ok(['logs', '--until', '1h', 'l1'])).toBe('');
    expect(await ok(['logs', '--tail', '1', 'l1'])).toBe('two\n');
    expect(await ok(['logs', '--tail', '2', '-t', 'l1'])).toMatch(/^\S+Z in pieces\n\S+Z two\n$/);

    const bad = await shim(roots, ['logs', '--since', 'yesterday', 'l1']);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain('--since yesterday: expected a time');
  });

  it('-f follows a running container to its end; a terminal\'s log keeps its carriage returns', async () => {
    await ok(['run', '-d', '--name', 'f1', 'busybox', 'sh', '-c', 'echo first; sleep 1; echo last']);
    expect(await ok(['logs', '-f', 'f1'])).toBe('first\nlast\n');
    await ok(['run', '-d', '-t', '--name', 'f2', 'busybox', 'sh', '-c', 'echo on-a-tty']);
    expect(await ok(['wait', 'f2'])).toBe('0\n');
    expect(await ok(['logs', 'f2'])).toBe('on-a-tty\r\n');
    expect(await ok(['logs', '-t', 'f2'])).toMatch(/^\S+Z on-a-tty\r\n$/);
  });

  it('a log from before the times is still printed; -t on it is refused with why', async () => {
    await ok(['run', '-d', '--name', 'o1', 'busybox', 'echo', 'new']);
    expect(await ok(['wait', 'o1'])).toBe('0\n');
    // What an older shim left: no logRecords in the state, the bytes as the process wrote them.
    const statePath = join(roots.root, 'o1', 'state.json');
    const state = JSON.parse(await readFile(statePath, 'utf8'));
    delete state.docker.logRecords;
    await writeFile(statePath, JSON.stringify(state));
    await writeFile(state.logPath, 'old one\nold two\n');
    expect(await ok(['logs', 'o1'])).toBe('old one\nold two\n');
    expect(await ok(['logs', '--tail', '1', 'o1'])).toBe('old two\n');
    const refused = await shim(roots, ['logs', '-t', 'o1']);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('keeps no time per line (an older shim made it)');
  });
});

describe('attach with stdin', () => {
  it('attach to a run -d -i container sends what it reads to the container\'s stdin', async () => {
    await ok(['run', '-d', '-i', '--name', 'i1', 'busybox', 'sh', '-c', 'read line; echo "got:$line"; echo "to stderr" >&2; exit 4']);
    const attached = await shim(roots, ['attach', 'i1'], { input: 'hello\n' });
    expect(attached).toMatchObject({ exitCode: 4, stdout: 'got:hello\n', stderr: 'to stderr\n' });
    // Without -i the container's stdin is empty: read ends at once.
    await ok(['run', '-d', '--name', 'i2', 'busybox', 'sh', '-c', 'read line; echo "read:$?"']);
    expect(await ok(['wait', 'i2'])).toBe('0\n');
    expect(await ok(['logs', 'i2'])).toBe('read:1\n');
  });
});

describe('restart policies', () => {
  it('on-failure: the delay doubles from 100 ms at each restart (the monitor records it)', async () => {
    await ok(['run', '-d', '--name', 'b1', '--restart', 'on-failure:3', 'busybox', 'sh', '-c', 'exit 1']);
    expect(await ok(['wait', 'b1'])).toBe('1\n');
    expect(await ok(['inspect', '--format', '{{.RestartCount}}', 'b1'])).toBe('3\n');
    const pidFile = JSON.parse(await readFile(join(roots.root, 'b1', 'pid.json'), 'utf8'));
    expect(pidFile).toMatchObject({ restarts: 3, delayMs: 400 });
    // What a loaded machine made once: the init ended and was reaped before run -d read its parent, so the
    // state has no monitor pid. The monitor's own word in pid.json stands in, and the count is still right.
    const statePath = join(roots.root, 'b1', 'state.json');
    const state = JSON.parse(await readFile(statePath, 'utf8'));
    delete state.monitorPid;
    delete state.monitorStartTime;
    await writeFile(statePath, JSON.stringify(state));
    expect(await ok(['inspect', '--format', '{{.RestartCount}} {{.State.MonitorPid}}', 'b1'])).toBe(`3 ${pidFile.monitorPid}\n`);
  });

  it('on-failure: after a run of 10 s the delay is back at 100 ms', async () => {
    // Runs 1 and 2 fail at once (delays 100, 200); run 3 lasts over 10 s, so the third delay is 100, not 400.
    const script = 'n=$(cat /n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /n; [ $n -eq 3 ] && sleep 10.5; exit 1';
    await ok(['run', '-d', '--name', 'b2', '--restart', 'on-failure:3', 'busybox', 'sh', '-c', script]);
    expect(await ok(['wait', 'b2'])).toBe('1\n');
    const pidFile = JSON.parse(await readFile(join(roots.root, 'b2', 'pid.json'), 'utf8'));
    expect(pidFile).toMatchObject({ restarts: 3, delayMs: 100 });
  }, 60_000);

  it('unless-stopped restarts after a clean exit too, and not once stopped', async () => {
    await ok(['run', '-d', '--name', 'u1', '--restart', 'unless-stopped', 'busybox', 'sh', '-c', 'echo run >> /count; sleep 0.2']);
    await waitFor('two restarts', async () => Number(await ok(['inspect', '--format', '{{.RestartCount}}', 'u1'])) >= 2 || undefined, 30_000);
    await ok(['stop', '-t', '5', 'u1']);
    expect(await ok(['inspect', '--format', '{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}', 'u1'])).toBe('exited unless-stopped\n');
    const count = await ok(['inspect', '--format', '{{.RestartCount}}', 'u1']);
    // Stopped stays stopped: the monitor is gone and nothing starts it again.
    await waitFor('the monitor to end', async () => (await shim(roots, ['ps', '-q'])).stdout === '' || undefined);
    expect(await ok(['inspect', '--format', '{{.State.Status}} {{.RestartCount}}', 'u1'])).toBe(`exited ${count}`);
  });
});

describe('-u and groups', () => {
  it('a user named by name gets the groups the image lists it in, and --group-add more', async () => {
    const base = join(roots.base, 'layer');
    await makeBusyboxRootfs(base);
    await mkdir(join(base, 'etc'), { recursive: true });
    await writeFile(join(base, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n');
    await writeFile(join(base, 'etc/group'), 'root:x:0:\napp:x:1000:\nwheel:x:10:other,app\naudio:x:29:app\nvideo:x:44:\n');
    const archive = await makeOciArchive(roots.base, [{ dir: base }], { Cmd: ['sh'] });
    await ok(['image', 'import', archive, 'groups:1']);
    const ids = async (args: string[]) => (await ok(['run', '--rm', ...args, 'groups:1', 'id', '-G'])).trim().split(' ').map(Number).sort((a, b) => a - b);
    expect(await ids(['-u', 'app'])).toEqual([10, 29, 1000]);
    expect(await ids(['-u', 'app', '--group-add', 'video', '--group-add', '99'])).toEqual([10, 29, 44, 99, 1000]);
    // With a group given, runc's rule: that group and no others. (The primary group is not a supplementary
    // one: runc's, and so docker's, `id` shows groups= without it.)
    expect(await ids(['-u', 'app:video'])).toEqual([44]);
    expect(await ok(['run', '--rm', '-u', 'app', 'groups:1', 'id'])).toBe('uid=1000(app) gid=1000(app) groups=10(wheel),29(audio)\n');
  });
});

describe('run -it of short programs under tmux', () => {
  const server = `shim-docker-io-${process.pid}`;
  const tmux = (...args: string[]) => execa('tmux', ['-L', server, ...args], { reject: false });

  afterEach(async () => {
    await tmux('kill-server');
  });

  it('every one of many runs shows its output', async () => {
    const runs = 15;
    const shimCommand = `env SHIM_CGROUP_PARENT=${roots.cgroupParent} SHIM_TEST_TAG=${roots.base} SHIM_NETWORK=none ${shimBin} --root ${roots.root} --data-root ${roots.dataRoot}`;
    const script = `for i in $(seq 1 ${runs}); do ${shimCommand} run -it --rm busybox echo out-$i; echo "rc-$i=$?"; done; echo all-done; sleep 600`;
    // Tall and wide enough for every line, an error's too: the screen is all that is read.
    await tmux('new-session', '-d', '-x', '200', '-y', `${4 * runs}`, 'sh', '-c', script);
    const screen = async () => String((await tmux('capture-pane', '-p')).stdout);
    const text = await waitFor('all the runs', async () => {
      const shown = await screen();
      return shown.includes('all-done') ? shown : undefined;
    }, 180_000);
    for (let i = 1; i <= runs; i++) {
      expect(text, `run ${i} in:\n${text}`).toMatch(new RegExp(`^out-${i}\\r?$`, 'm'));
      expect(text, `run ${i} in:\n${text}`).toMatch(new RegExp(`^rc-${i}=0$`, 'm'));
    }
  }, 240_000);
});

describe('run -it under a long state root', () => {
  it('reaches its attach socket past sun_path\'s 107 bytes (bound and connected through the directory\'s fd)', async () => {
    // CI's temp roots with a five-digit pid made <root>/<64-character id>/attach.sock 108 bytes: ENAMETOOLONG.
    const longRoot = join(roots.root, 'x'.repeat(60));
    await mkdir(longRoot, { recursive: true });
    const command = `env SHIM_CGROUP_PARENT=${roots.cgroupParent} SHIM_TEST_TAG=${roots.base} SHIM_NETWORK=none ${shimBin} --root ${longRoot} --data-root ${roots.dataRoot} run -it --rm busybox echo long-root-ok`;
    expect(Buffer.byteLength(`${longRoot}/${'f'.repeat(64)}/attach.sock`)).toBeGreaterThan(107);
    // script(1) gives the run a terminal of its own.
    const result = await execa('script', ['-qec', command, '/dev/null'], { reject: false, timeout: 60_000 });
    expect({ exitCode: result.exitCode, out: result.stdout.replace(/\r/g, '').trim() }).toEqual({ exitCode: 0, out: 'long-root-ok' });
  }, 90_000);
});
