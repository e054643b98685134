// `shim run` against real containers, through the real CLI (dist/shim, built by `make build`). Each test has
// its own roots and cgroup parent, and must leave nothing behind.

import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { killPid, makeBundle, makeRoots, settledLeaks, shim, startShimInBackground, waitFor, type BackgroundShim, type Roots } from '../support/shim.js';

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

/** docker's default capability set as /proc/PID/status shows it. */
const DOCKER_CAPS_HEX = '00000000a80425fb';

const running: BackgroundShim[] = [];

function startShim(args: string[]): BackgroundShim {
  const handle = startShimInBackground(roots, args);
  running.push(handle);
  return handle;
}

// A test that fails while its container runs must not leave it running: the init is killed, the CLI then
// cleans up as after any container's end, and the leak check still runs.
async function stopRunning(): Promise<void> {
  for (const shimRun of running.splice(0)) {
    const states = await readdir(roots.root).catch(() => [] as string[]);
    for (const id of states) {
      const pid = await readInitPid(id);
      if (pid) killPid(pid);
    }
    await shimRun.result;
  }
}

async function readInitPid(id: string): Promise<number | undefined> {
  const text = await readFile(join(roots.root, id, 'state.json'), 'utf8').catch(() => undefined);
  if (!text) return undefined;
  const state = JSON.parse(text);
  return state.status === 'running' && state.pid > 0 ? state.pid : undefined;
}

function mountPoints(mountinfo: string): string[] {
  return mountinfo
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4]!);
}

describe('shim run busybox', () => {
  it('runs the command as PID 1 and passes its output through', async () => {
    const result = await shim(roots, ['run', '--rm', 'busybox', 'sh', '-c', 'echo pid $$; echo to stderr >&2']);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'pid 1\n', stderr: 'to stderr\n' });
  });

  it('passes stdin through', async () => {
    const result = await shim(roots, ['run', '--rm', 'busybox', 'sh', '-c', 'read line; echo "got $line"'], { input: 'hello\n' });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'got hello\n' });
  });

  it("lets ps see only the container's processes", async () => {
    // "; true" keeps sh from exec'ing ps as its last command: two processes, sh as 1 and ps.
    const result = await shim(roots, ['run', '--rm', 'busybox', 'sh', '-c', 'ps -o pid,comm; true']);
    expect(result.exitCode).toBe(0);
    const rows = result.stdout.trim().split('\n').slice(1).map((line) => line.trim().split(/\s+/));
    expect(rows.map(([pid]) => pid)).toEqual(['1', expect.stringMatching(/^\d+$/)]);
    expect(rows.map(([, comm]) => comm)).toEqual(['sh', 'ps']);
  });

  it("gives the container its own hostname: --hostname, --name's, or the id's first 12 characters", async () => {
    expect((await shim(roots, ['run', '--rm', '--name', 'web1', 'busybox', 'hostname'])).stdout).toBe('web1\n');
    expect((await shim(roots, ['run', '--rm', '--hostname', 'box', 'busybox', 'sh', '-c', 'hostname; echo $HOSTNAME'])).stdout).toBe('box\nbox\n');
    const generated = await shim(roots, ['run', '--rm', 'busybox', 'hostname']);
    expect(generated.stdout).toMatch(/^[0-9a-f]{12}\n$/);
  });

  it("holds none of the host's mounts", async () => {
    const result = await shim(roots, ['run', '--rm', 'busybox', 'cat', '/proc/self/mountinfo']);
    expect(result.exitCode).toBe(0);
    const inside = mountPoints(result.stdout);
    const root = result.stdout.split('\n').find((line) => line.split(' ')[4] === '/')!;
    expect(root.split(' - ')[1]).toMatch(/^overlay /);
    const expected = new Set(['/', '/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
    const isOwn = (point: string) =>
      expected.has(point) || point.startsWith('/sys/fs/cgroup/') || point.startsWith('/proc/') || point.startsWith('/sys/');
    expect(inside.filter((point) => !isOwn(point))).toEqual([]);
    // Every /proc and /sys submount is a mask or a read-only remount the plan asked for.
    const planned = ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
      '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys',
      '/proc/sysrq-trigger'];
    const extra = inside.filter((point) => (point.startsWith('/proc/') || point.startsWith('/sys/')) && !point.startsWith('/sys/fs/cgroup'));
    expect(extra.filter((point) => !planned.includes(point))).toEqual([]);
    // And the host's own mount points, beyond those names, are nowhere inside.
    const host = mountPoints(await readFile('/proc/self/mountinfo', 'utf8')).filter((point) => !isOwn(point));
    expect(host.length).toBeGreaterThan(0);
    expect(inside.filter((point) => host.includes(point) && point !== '/')).toEqual([]);
  });

  it('has only lo in its network namespace, and lo is up', async () => {
    const result = await shim(roots, ['run', '--rm', 'busybox', 'sh', '-c', 'ls /sys/class/net; cat /sys/class/net/lo/flags']);
    expect(result.exitCode).toBe(0);
    const [names, flags] = result.stdout.trim().split('\n');
    expect(names).toBe('lo');
    // IFF_UP is bit 0 of the interface flags.
    expect(Number.parseInt(flags!, 16) & 1).toBe(1);
  });

  it('masks /proc/kcore', async (context) => {
    if (!existsSync('/proc/kcore')) context.skip('this kernel has no /proc/kcore (CONFIG_PROC_KCORE off): nothing to mask');
    const result = await shim(roots, ['run', '--rm', 'busybox', 'sh', '-c', 'wc -c < /proc/kcore']);
    expect(result).toMatchObject({ exitCode: 0, stdout: '0\n' });
  });

  it("masks the other masked files the host has: they read empty", async () => {
    const files = ['/proc/keys', '/proc/timer_list', '/proc/latency_stats', '/proc/sched_debug'].filter((path) => existsSync(path));
    expect(files.length).toBeGreaterThan(0);
    const result = await shim(roots, ['run', '--rm', 'busybox', 'sh', '-c', files.map((f) => `wc -c < ${f}`).join('; ')]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual(files.map(() => '0'));
  });

  it('makes /proc/sys read-only', async () => {
    const result = await shim(roots, ['run', '--rm', 'busybox', 'sh', '-c', 'echo 1 > /proc/sys/kernel/ns_last_pid']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/Read-only file system/);
  });

  it("gives the process docker's capability set", async () => {
    const result = await shim(roots, ['run', '--rm', 'busybox', 'grep', '-E', '^Cap(Bnd|Eff|Prm|Inh|Amb)', '/proc/self/status']);
    expect(result.exitCode).toBe(0);
    expect(Object.fromEntries(result.stdout.trim().split('\n').map((line) => line.split(/:\s+/)))).toEqual({
      CapInh: '0000000000000000',
      CapPrm: DOCKER_CAPS_HEX,
      CapEff: DOCKER_CAPS_HEX,
      CapBnd: DOCKER_CAPS_HEX,
      CapAmb: '0000000000000000',
    });
  });

  it('sets the environment and the working directory', async () => {
    const result = await shim(roots, ['run', '--rm', '-e', 'GREETING=hi there', '-w', '/tmp', 'busybox', 'sh', '-c', 'echo "$GREETING"; pwd; echo $PATH']);
    expect(result.stdout).toBe('hi there\n/tmp\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
  });

  it('creates a working directory the image lacks, as docker -w does', async () => {
    const result = await shim(roots, ['run', '--rm', '-w', '/made/by/shim', 'busybox', 'sh', '-c', 'pwd; stat -c %a .']);
    expect(result).toMatchObject({ exitCode: 0, stdout: '/made/by/shim\n755\n', stderr: '' });
  });

  it("exits with the container's exit code", async () => {
    expect((await shim(roots, ['run', '--rm', 'busybox', 'sh', '-c', 'exit 7'])).exitCode).toBe(7);
  });

  it('exits 127 with one clear line when the program does not exist', async () => {
    const result = await shim(roots, ['run', '--rm', '--name', 'nope', 'busybox', 'no-such-program']);
    expect(result.exitCode).toBe(127);
    // runc's words: podman and containerd pass this line on.
    expect(result.stderr).toBe('shim: run nope: exec: "no-such-program": executable file not found in $PATH (ENOENT)\n');
  });

  it('exits 126 when the program cannot be executed', async () => {
    const result = await shim(roots, ['run', '--rm', 'busybox', '/etc/passwd']);
    expect(result.exitCode).toBe(126);
    expect(result.stderr).toMatch(/permission denied \(EACCES\)/);
  });

  it('exits 137 when the init is killed with SIGKILL', async () => {
    const victim = startShim(['run', '--rm', '--name', 'victim', 'busybox', 'sleep', '60']);
    const pid = await waitFor('the init pid in state.json', () => readInitPid('victim'));
    killPid(pid);
    expect((await victim.result).exitCode).toBe(137);
  });

  it('forwards SIGTERM sent to shim to the container, whose trap runs', async () => {
    const container = startShim(['run', '--rm', '--name', 'trap', 'busybox', 'sh', '-c', 'trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.05; done']);
    // The trap is set once "ready" is out.
    await waitFor('ready', () => (container.output().includes('ready') ? true : undefined));
    container.kill('SIGTERM');
    const result = await container.result;
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('ready\ngot TERM\n');
  });

  it('forwards SIGINT, SIGUSR1 and SIGHUP too', async () => {
    const script = 'trap "echo int" INT; trap "echo usr1" USR1; trap "echo hup; exit 0" HUP; echo ready; while :; do sleep 0.05; done';
    const container = startShim(['run', '--rm', '--name', 'sigs', 'busybox', 'sh', '-c', script]);
    await waitFor('ready', () => (container.output().includes('ready') ? true : undefined));
    container.kill('SIGINT');
    await waitFor('int', () => (container.output().includes('int') ? true : undefined));
    container.kill('SIGUSR1');
    await waitFor('usr1', () => (container.output().includes('usr1') ? true : undefined));
    container.kill('SIGHUP');
    const result = await container.result;
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('ready\nint\nusr1\nhup\n');
  });

  it('binds a host directory with -v: writable, the write shows on the host, and the host never sees the mount', async () => {
    const volume = join(roots.base, 'volume');
    await mkdir(volume);
    const container = startShim(['run', '--rm', '-v', `${volume}:/data`, 'busybox', 'sh', '-c',
      'echo written > /data/out && touch /data/ready && while [ ! -e /data/go ]; do sleep 0.05; done']);
    await waitFor('the container to write', () => (existsSync(join(volume, 'ready')) ? true : undefined));
    // While it runs: neither the volume nor the overlay rootfs is mounted in the host's mount namespace.
    const hostMounts = mountPoints(await readFile('/proc/self/mountinfo', 'utf8'));
    expect(hostMounts.filter((point) => point.startsWith(roots.base))).toEqual([]);
    await writeFile(join(volume, 'go'), '');
    const result = await container.result;
    expect(result.exitCode).toBe(0);
    expect(await readFile(join(volume, 'out'), 'utf8')).toBe('written\n');
  });

  it('makes a :ro volume read-only', async () => {
    const volume = join(roots.base, 'volume');
    await mkdir(volume);
    await writeFile(join(volume, 'existing'), 'data\n');
    const result = await shim(roots, ['run', '--rm', '-v', `${volume}:/data:ro`, 'busybox', 'sh', '-c', 'cat /data/existing; echo x > /data/new']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('data\n');
    expect(result.stderr).toMatch(/Read-only file system/);
    expect(existsSync(join(volume, 'new'))).toBe(false);
  });

  it('refuses a volume whose host path is missing, before creating anything', async () => {
    const result = await shim(roots, ['run', '--rm', '-v', '/nonexistent/shim-test:/data', 'busybox', 'true']);
    expect(result.exitCode).toBe(125);
    expect(result.stderr).toMatch(/^shim: run [0-9a-f]{12}: volume \/nonexistent\/shim-test: no such file or directory \(ENOENT\) \(create it first\)\n$/);
  });

  it('keeps a stopped container without --rm, with its exit code', async () => {
    const result = await shim(roots, ['run', '--name', 'kept', 'busybox', 'sh', '-c', 'echo data > /file; exit 5']);
    expect(result.exitCode).toBe(5);
    const state = JSON.parse(await readFile(join(roots.root, 'kept', 'state.json'), 'utf8'));
    expect(state).toMatchObject({ id: 'kept', status: 'stopped', exitCode: 5, pid: 0, image: 'busybox' });
    expect(state.pidStartTime).toMatch(/^\d+$/);
    // Its writable layer is kept too, like docker's; the cgroup is gone.
    expect(await readFile(join(roots.dataRoot, 'containers', 'kept', 'upper', 'file'), 'utf8')).toBe('data\n');
    const again = await shim(roots, ['run', '--name', 'kept', 'busybox', 'true']);
    expect(again.exitCode).toBe(125);
    expect(again.stderr).toBe(`shim: run kept: container kept already exists (its state is in ${join(roots.root, 'kept')})\n`);
    // delete removes the state and the writable layer.
    expect((await shim(roots, ['delete', 'kept'])).exitCode).toBe(0);
  });

  it('with --debug, prints each helper stage with its time', async () => {
    const result = await shim(roots, ['run', '--rm', 'busybox', 'true'], { globalArgs: ['--debug'] });
    expect(result.exitCode).toBe(0);
    for (const stage of ['clone', 'cgroup', 'rootfs', 'mounts', 'pivot_root', 'capabilities', 'exec']) {
      expect(result.stderr).toMatch(new RegExp(`^shim: debug: helper: ${stage} \\+\\d+\\.\\d+ms$`, 'm'));
    }
  });

  it('refuses an unknown image and bad flags', async () => {
    const image = await shim(roots, ['run', '--rm', 'nosuchimage', 'true']);
    expect(image.exitCode).toBe(125);
    expect(image.stderr).toBe('shim: run: image nosuchimage not found (import it with shim image import, or give a rootfs directory)\n');
    const usage = await shim(roots, ['run', '--bogus', 'busybox']);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toMatch(/^shim: run: unknown argument: bogus/);
    const badId = await shim(roots, ['run', '--rm', '--name', '../x', 'busybox', 'true']);
    expect(badId.exitCode).toBe(2);
  });

  it('runs containers side by side, the first run of each making the image at the same time', async () => {
    const results = await Promise.all(
      ['one', 'two', 'three'].map((name) => shim(roots, ['run', '--rm', '--name', name, 'busybox', 'sh', '-c', 'hostname; ps -o pid > /tmp/ps; wc -l < /tmp/ps'])),
    );
    // Each sees its own three lines: the header, sh and ps. (Not `ps | wc -l`: ps may scan /proc before sh has
    // forked wc, so that count was 3 or 4 by timing.)
    expect(results.map((r) => [r.exitCode, r.stdout])).toEqual([
      [0, 'one\n3\n'],
      [0, 'two\n3\n'],
      [0, 'three\n3\n'],
    ]);
    // One image with one layer, and no half-built copy left by the runs that lost the race.
    expect((await shim(roots, ['image', 'ls', '-q'])).stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(await readdir(join(roots.dataRoot, 'images/layers/sha256'))).toHaveLength(1);
    expect(await readdir(join(roots.dataRoot, 'images/tmp'))).toEqual([]);
  });

  it('runs a rootfs directory given as a path', async () => {
    const bundle = await makeBundle(join(roots.base, 'bundle'));
    const result = await shim(roots, ['run', '--rm', join(bundle, 'rootfs'), 'sh', '-c', 'echo from a directory; touch /new-file']);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'from a directory\n' });
    // The directory is only the overlay's lower layer: the container's writes do not reach it.
    expect(existsSync(join(bundle, 'rootfs', 'new-file'))).toBe(false);
  });
});

describe('shim run --dry-run', () => {
  it('prints the plan as text and creates nothing', async () => {
    const result = await shim(roots, ['run', '--dry-run', '--name', 'web1', '-v', '/srv:/srv:ro', 'busybox', 'sh', '-c', 'echo hi']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('container web1');
    expect(result.stdout).toMatch(/namespaces\n {2}pid +new\n {2}net +new\n/);
    expect(result.stdout).toMatch(/ 1\. \/proc {2}proc {2}proc {2}\[nosuid,nodev,noexec\]/);
    expect(result.stdout).toMatch(/\/srv {2}bind {2}\/srv {2}\[ro,bind,rec\] {2}propagation=rprivate/);
    expect(result.stdout).toContain(`/sys/fs/cgroup/memory/${roots.cgroupParent}/web1`);
    expect(result.stdout).toContain("args    sh -c 'echo hi'");
    expect(await readdir(roots.root)).toEqual([]);
    expect(existsSync(join(roots.dataRoot, 'images'))).toBe(false);
  });

  it('prints the plan as JSON', async () => {
    const result = await shim(roots, ['run', '--dry-run', '--format', 'json', '--name', 'web1', 'busybox']);
    expect(result.exitCode).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.containerId).toBe('web1');
    expect(plan.namespaces.map((ns: { type: string }) => ns.type)).toEqual(expect.arrayContaining(['pid', 'net', 'ipc', 'uts', 'mount']));
    expect(plan.mounts[0]).toMatchObject({ target: '/proc', fstype: 'proc', flagNames: ['nosuid', 'nodev', 'noexec'] });
    expect(plan.devices.map((d: { path: string }) => d.path)).toContain('/dev/null');
    expect(plan.process).toMatchObject({ args: ['sh'], cwd: '/', newSession: true });
  });
});

describe('shim run --bundle', () => {
  it('runs a runc spec bundle with terminal off and args changed', async () => {
    const bundle = await makeBundle(join(roots.base, 'bundle'), (config) => {
      config.process.args = ['sh', '-c', 'echo hello from $(hostname) as $$; cat /proc/self/cgroup; cat /sys/fs/cgroup/devices/devices.list; touch /x'];
    });
    const result = await shim(roots, ['run', '--bundle', bundle, 'b1']);
    // root.readonly is true in runc spec's config: the touch fails, and sh exits 1.
    expect(result.exitCode).toBe(1);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe('hello from runc as 1');
    // No cgroup namespace in runc spec's config: the host's view of the container's cgroup shows.
    expect(lines).toContain(`5:devices:/${roots.cgroupParent}/b1`);
    // The devices controller: everything denied but runc's allow list.
    expect(lines).toContain('c 1:3 rwm');
    expect(lines).toContain('c 136:* rwm');
    expect(lines).not.toContain('a *:* rwm');
    expect(result.stderr).toContain('Read-only file system');
    expect(result.stderr).toContain('shim: warning: config.json: process.capabilities.ambient');
    // runc run removes the container when it ends (without --keep).
    expect(await readdir(roots.root)).toEqual([]);
  });

  it('accepts -b and --no-pivot', async () => {
    const bundle = await makeBundle(join(roots.base, 'bundle'), (config) => {
      config.process.args = ['sh', '-c', 'exit 4'];
    });
    expect((await shim(roots, ['run', '-b', bundle, '--no-pivot', 'b2'])).exitCode).toBe(4);
  });

  it('refuses an unsupported field by name, and leaves nothing behind', async () => {
    const bundle = await makeBundle(join(roots.base, 'bundle'), (config) => {
      // runc 1.1 dropped kernel memory limits; shim refuses the field by name.
      config.linux.resources.memory = { limit: 1048576, kernel: 1048576 };
    });
    const result = await shim(roots, ['run', '--bundle', bundle, 'b3']);
    expect(result.exitCode).toBe(125);
    expect(result.stderr).toBe('shim: run b3: config.json: linux.resources.memory.kernel is not supported yet\n');
  });

  it('refuses the resource limits it does not implement by name, only when some are set', async () => {
    const limited = await makeBundle(join(roots.base, 'limited'), (config) => {
      config.linux.resources.hugepageLimits = [{ pageSize: '2MB', limit: 2 * 1024 * 1024 }];
    });
    // This host has no hugetlb controller: runc's words for a limit it cannot set (src/plan/other-fields.ts).
    expect((await shim(roots, ['run', '--bundle', limited, 'b4'])).stderr).toBe(
      'shim: run b4: config.json: linux.resources.hugepageLimits: cannot set hugetlb limit: container could not join or create cgroup (this host has no hugetlb hierarchy mounted)\n',
    );
    const empty = await makeBundle(join(roots.base, 'empty'), (config) => {
      config.linux.resources.memory = {};
      config.process.args = ['true'];
    });
    expect((await shim(roots, ['run', '--bundle', empty, 'b5'])).exitCode).toBe(0);
  });

  it('undoes everything when the helper fails halfway through setup', async () => {
    const bundle = await makeBundle(join(roots.base, 'bundle'), (config) => {
      config.mounts.push({ destination: '/data', type: 'bind', source: join(roots.base, 'missing'), options: ['rbind'] });
    });
    const result = await shim(roots, ['run', '--bundle', bundle, 'b6']);
    expect(result.exitCode).toBe(125);
    expect(result.stderr).toMatch(/^shim: run b6: .*\/missing.*: no such file or directory \(ENOENT\)$/m);
  });

  it('prints a bundle\'s plan with --dry-run: the cgroup mount as binds of the container\'s cgroup', async () => {
    const bundle = await makeBundle(join(roots.base, 'bundle'));
    const result = await shim(roots, ['run', '--dry-run', '--bundle', bundle, 'b8']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`  ${bundle}/rootfs\n  read-only, propagation rslave`);
    expect(result.stdout).toContain(`/sys/fs/cgroup/memory  bind  /sys/fs/cgroup/memory/${roots.cgroupParent}/b8  [ro,nosuid,nodev,noexec,bind,rec,relatime]`);
    expect(result.stdout).toMatch(/^warning: process\.capabilities\.ambient/m);
    expect(await readdir(roots.root)).toEqual([]);
  });

  it('refuses a bundle without config.json', async () => {
    await mkdir(join(roots.base, 'empty'));
    const result = await shim(roots, ['run', '--bundle', join(roots.base, 'empty'), 'b7']);
    expect(result.exitCode).toBe(125);
    expect(result.stderr).toBe(`shim: run b7: read bundle config ${join(roots.base, 'empty', 'config.json')}: no such file or directory (ENOENT)\n`);
  });
});
