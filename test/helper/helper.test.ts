// The helper tier: crafted spec bytes to the real dist/shim-helper, one test per error path and per
// behaviour the shim relies on (frames, their order, exit codes), each followed by a leak check.

import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rmdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBusyboxRootfs, makeRoots, settledLeaks, type Roots, killPid } from '../support/shim.js';
import { alive, errorFrame, frame, kinds, runHelper, specFrame, v1, type HelperRun } from './run-helper.js';
import type { shim } from '../../src/spec/generated/shim.js';

const MS_RDONLY = 0x1;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;
const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const S_IFCHR = 0o020000;

const NS = v1.NamespaceType;
const { STAGE_READ_SPEC, STAGE_ROOTFS, STAGE_MOUNTS, STAGE_EXEC, STAGE_TERMINAL } = v1.Stage;
const ENOENT = 2;
const ENOTDIR = 20;
const ENODEV = 19;

let roots: Roots;
let rootfs: string;
let pids: number[];

beforeEach(async () => {
  roots = await makeRoots();
  rootfs = await makeBusyboxRootfs(join(roots.base, 'rootfs'));
  pids = [];
});

afterEach(async () => {
  try {
    // Nothing the test started may remain: the container's processes (by pid) and its mounts.
    for (const pid of pids) expect(alive(pid), `process ${pid} is still there`).toBe(false);
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    expect(mountinfo.split('\n').filter((line) => line.includes(roots.base))).toEqual([]);
    expect(await settledLeaks(roots)).toEqual([]);
  } finally {
    // Even after a failed check: kill what is left (by pid, only ours), then remove the roots.
    for (const pid of pids) if (alive(pid)) killPid(pid);
    await roots.dispose();
  }
});

/** A container spec as the shim would plan it for a busybox rootfs. */
function containerSpec(args: string[], extra: shim.v1.ISpec = {}): shim.v1.ISpec {
  return {
    action: v1.Action.ACTION_RUN_CONTAINER,
    containerId: 'helper-test',
    namespaces: [{ type: NS.NAMESPACE_TYPE_MOUNT }, { type: NS.NAMESPACE_TYPE_PID }, { type: NS.NAMESPACE_TYPE_UTS },
      { type: NS.NAMESPACE_TYPE_IPC }],
    rootfs: { path: rootfs },
    mounts: [{ source: 'proc', target: '/proc', fstype: 'proc', flags: MS_NOSUID | MS_NODEV | MS_NOEXEC }],
    process: { args, env: ['PATH=/bin:/usr/bin', 'HOME=/root'], cwd: '/', newSession: true },
    ...extra,
  };
}

/** Runs a spec, remembering every pid the helper reports so afterEach can check it is gone. */
async function run(spec: shim.v1.ISpec | Buffer, options: Parameters<typeof runHelper>[1] = {}): Promise<HelperRun> {
  const result = await runHelper(Buffer.isBuffer(spec) ? spec : specFrame(spec), {
    ...options,
    onFrame: (status) => {
      if (status.pid > 0 && !pids.includes(status.pid)) pids.push(status.pid);
      options.onFrame?.(status);
    },
  });
  expect(result.trailing).toBe(0);
  return result;
}

describe('reading the spec', () => {
  it('reports a truncated frame and exits cleanly', async () => {
    const result = await run(Buffer.concat([Buffer.from([100, 0, 0, 0]), Buffer.alloc(10)]));
    expect(kinds(result)).toEqual(['STATUS_KIND_ERROR']);
    const error = errorFrame(result).error!;
    expect(error.stage).toBe(STAGE_READ_SPEC);
    expect(error.message).toBe('truncated frame (got 10 of 100 bytes)');
    expect(result.exitCode).toBe(125);
    expect(result.signal).toBeNull();
  });

  it('reports a truncated length prefix', async () => {
    const result = await run(Buffer.from([1, 2]));
    expect(errorFrame(result).error!.message).toBe('truncated frame (got 2 of 4 bytes)');
    expect(result.exitCode).toBe(125);
  });

  it('refuses a frame over 16 MiB without reading it', async () => {
    const header = Buffer.alloc(4);
    header.writeUInt32LE(16 * 1024 * 1024 + 1, 0);
    const result = await run(header);
    expect(errorFrame(result).error!.message).toMatch(/over the 16777216-byte limit/);
  });

  it('reports garbage bytes as a decode error', async () => {
    const result = await run(frame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])));
    const error = errorFrame(result).error!;
    expect(error.stage).toBe(STAGE_READ_SPEC);
    expect(error.message).toMatch(/^spec: decode shim\.v1\.Spec: /);
    expect(result.exitCode).toBe(125);
  });

  it('refuses an unknown field in the spec', async () => {
    const body = v1.Spec.encode(containerSpec(['true'])).uint32((99 << 3) | 0).uint32(1).finish();
    const result = await run(frame(body));
    expect(errorFrame(result).error!.message).toBe('spec: unknown field 99 in shim.v1.Spec');
    expect(result.exitCode).toBe(125);
  });

  it('refuses an unknown field inside a submessage', async () => {
    const process = v1.Process.encode({ args: ['true'] }).uint32((77 << 3) | 2).string('x').finish();
    const body = v1.Spec.encode({ action: v1.Action.ACTION_RUN_CONTAINER }).uint32((40 << 3) | 2).bytes(process).finish();
    const result = await run(frame(body));
    expect(errorFrame(result).error!.message).toBe('spec: unknown field 77 in shim.v1.Process');
  });

  it('refuses a spec with no action', async () => {
    const result = await run({ containerId: 'x' });
    expect(errorFrame(result).error!.message).toBe('spec: action is not set');
  });

  it('refuses a run without a rootfs or a program', async () => {
    expect(errorFrame(await run(containerSpec(['true'], { rootfs: {} }))).error!.message).toBe('spec: run needs rootfs.path');
    expect(errorFrame(await run(containerSpec([]))).error!.message).toBe('spec: process.args must name a program');
  });

  it('refuses relative paths', async () => {
    const result = await run(containerSpec(['true'], { mounts: [{ source: 'tmpfs', target: 'tmp', fstype: 'tmpfs' }] }));
    const error = errorFrame(result).error!;
    expect(error.message).toBe('spec: mount target must be an absolute path');
    expect(error.path).toBe('tmp');
  });

  it('refuses a relayed terminal the monitor would not stay to relay', async () => {
    const spec = containerSpec(['true'], { monitor: v1.Monitor.MONITOR_DETACH });
    spec.process!.terminal = true;
    const error = errorFrame(await run(spec)).error!;
    expect(error.stage).toBe(STAGE_TERMINAL);
    expect(error.message).toBe(
      'spec: a terminal without console_socket is relayed by the monitor: it needs MONITOR_WAIT, or MONITOR_BACKGROUND with attach_socket',
    );
  });
});

describe('setup failures', () => {
  it('reports a missing rootfs with its path', async () => {
    const missing = join(roots.base, 'no-such-rootfs');
    const result = await run(containerSpec(['true'], { rootfs: { path: missing } }));
    expect(kinds(result)).toEqual(['STATUS_KIND_ERROR']);
    const error = errorFrame(result).error!;
    expect(error.stage).toBe(STAGE_ROOTFS);
    expect(error.errnoValue).toBe(ENOENT);
    expect(error.path).toBe(missing);
    expect(result.exitCode).toBe(125);
  });

  it('reports a mount of an unknown filesystem type with its target', async () => {
    const spec = containerSpec(['true']);
    spec.mounts!.push({ source: 'x', target: '/mnt/data', fstype: 'no-such-fs' });
    const error = errorFrame(await run(spec)).error!;
    expect(error.stage).toBe(STAGE_MOUNTS);
    expect(error.errnoValue).toBe(ENODEV);
    expect(error.path).toBe('/mnt/data');
    expect(error.message).toBe('mount no-such-fs');
  });

  it('reports a mount target that runs through a file', async () => {
    const spec = containerSpec(['true']);
    spec.mounts!.push({ source: 'tmpfs', target: '/bin/busybox/sub', fstype: 'tmpfs' });
    const error = errorFrame(await run(spec)).error!;
    expect(error.stage).toBe(STAGE_MOUNTS);
    expect(error.errnoValue).toBe(ENOTDIR);
    expect(error.path).toBe('/bin/busybox/sub');
  });

  it('keeps a mount target that is a symlink out of the rootfs inside it', async () => {
    const outside = join(roots.base, 'outside');
    await mkdir(outside);
    await symlink(`/../../../..${outside}`, join(rootfs, 'escape'));
    const spec = containerSpec(['sh', '-c', `grep -q " ${outside} " /proc/self/mountinfo`]);
    spec.mounts!.push({ source: 'tmpfs', target: '/escape', fstype: 'tmpfs' });
    const result = await run(spec);
    expect(kinds(result)).toEqual(['STATUS_KIND_READY', 'STATUS_KIND_STARTED', 'STATUS_KIND_EXITED']);
    expect(result.exitCode).toBe(0);
    // The link was followed inside the rootfs: the directory was made there, not used on the host.
    expect(existsSync(join(rootfs, outside))).toBe(true);
  });
});

describe('running a container', () => {
  it('runs busybox true: READY, STARTED, EXITED 0', async () => {
    const result = await run(containerSpec(['/bin/busybox', 'true']));
    expect(kinds(result)).toEqual(['STATUS_KIND_READY', 'STATUS_KIND_STARTED', 'STATUS_KIND_EXITED']);
    const [ready, started, exited] = result.frames;
    expect(ready!.pid).toBeGreaterThan(0);
    expect(started!.pid).toBe(ready!.pid);
    expect(exited!.exitCode).toBe(0);
    expect(exited!.termSignal).toBe(0);
    expect(result.exitCode).toBe(0);
    // The start time comes with the pid, read before the helper could reap the process (which was gone by
    // the time we could look): it is the same on both frames and no earlier than this test process's own.
    const ownStartTime = Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[19]);
    expect(Number(ready!.pidStartTime)).toBeGreaterThanOrEqual(ownStartTime);
    expect(Number(started!.pidStartTime)).toBe(Number(ready!.pidStartTime));
  });

  it('passes the exit code through', async () => {
    const result = await run(containerSpec(['sh', '-c', 'exit 7']));
    expect(result.frames.at(-1)!.exitCode).toBe(7);
    expect(result.exitCode).toBe(7);
  });

  it('reports a missing program as an EXEC error and exits 127', async () => {
    const result = await run(containerSpec(['no-such-program']));
    expect(kinds(result)).toEqual(['STATUS_KIND_READY', 'STATUS_KIND_ERROR']);
    const error = errorFrame(result).error!;
    expect(error.stage).toBe(STAGE_EXEC);
    expect(error.errnoValue).toBe(ENOENT);
    expect(error.path).toBe('no-such-program');
    expect(result.exitCode).toBe(127);
  });

  it('reports a program that cannot be executed and exits 126', async () => {
    await writeFile(join(rootfs, 'not-executable'), 'hello\n', { mode: 0o644 });
    const result = await run(containerSpec(['/not-executable']));
    expect(errorFrame(result).error!.stage).toBe(STAGE_EXEC);
    expect(result.exitCode).toBe(126);
  });

  it('reports a process killed by SIGKILL', async () => {
    const result = await run(containerSpec(['sleep', '60']), {
      onFrame: (status) => {
        if (status.kind === v1.StatusKind.STATUS_KIND_STARTED) killPid(status.pid);
      },
    });
    const exited = result.frames.at(-1)!;
    expect(v1.StatusKind[exited.kind]).toBe('STATUS_KIND_EXITED');
    expect(exited.termSignal).toBe(9);
    expect(exited.exitCode).toBe(0);
    expect(result.exitCode).toBe(137);
  });

  it('is pid 1 in its pid namespace with the hostname it was given', async () => {
    const result = await run(containerSpec(['sh', '-c', 'echo $$ $(hostname)'], { hostname: 'box1' }));
    expect(result.stdout).toBe('1 box1\n');
  });

  it('sends STAGE frames with rising timings only with debug', async () => {
    const quiet = await run(containerSpec(['true']));
    expect(quiet.frames.some((f) => f.kind === v1.StatusKind.STATUS_KIND_STAGE)).toBe(false);

    const result = await run(containerSpec(['true'], { debug: true }));
    const stages = result.frames.filter((f) => f.kind === v1.StatusKind.STATUS_KIND_STAGE);
    const names = stages.map((f) => v1.Stage[f.stage]);
    expect(names).toEqual(expect.arrayContaining(['STAGE_CLONE', 'STAGE_ROOTFS', 'STAGE_MOUNTS', 'STAGE_PIVOT_ROOT',
      'STAGE_EXEC']));
    expect(names.indexOf('STAGE_ROOTFS')).toBeLessThan(names.indexOf('STAGE_PIVOT_ROOT'));
    const times = result.frames.map((f) => f.elapsedNs);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(kinds(result)).toEqual(['STATUS_KIND_READY', 'STATUS_KIND_STARTED', 'STATUS_KIND_EXITED']);
  });

  it('builds the container view: devices, symlinks, masks, read-only paths and root', async () => {
    await writeFile(join(rootfs, 'etc/secret'), 'secret\n');
    const script = [
      'echo hi > /dev/null',
      'stat -c "%t:%T %a" /dev/null',
      'readlink /dev/fd',
      'cat /etc/secret',
      'ls /proc/acpi | wc -l',
      'touch /proc/sys/kernel/x 2>/dev/null || echo sys-ro',
      'touch /etc/new 2>/dev/null || echo root-ro',
      'echo ok > /tmp/w && cat /tmp/w',
    ].join('; ');
    const spec = containerSpec(['sh', '-c', script], {
      mounts: [
        { source: 'proc', target: '/proc', fstype: 'proc', flags: MS_NOSUID | MS_NODEV | MS_NOEXEC },
        { source: 'tmpfs', target: '/dev', fstype: 'tmpfs', flags: MS_NOSUID, data: 'mode=755' },
        { source: 'tmpfs', target: '/tmp', fstype: 'tmpfs', flags: MS_NOSUID | MS_NODEV },
      ],
      devices: [{ path: '/dev/null', mode: S_IFCHR | 0o666, major: 1, minor: 3 }],
      symlinks: [{ target: '/proc/self/fd', path: '/dev/fd' }],
      maskedPaths: ['/etc/secret', '/proc/acpi', '/proc/no-such-path'],
      readonlyPaths: ['/proc/sys', '/proc/no-such-path'],
      rootfs: { path: rootfs, readonly: true },
    });
    const result = await run(spec);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('1:3 666\n/proc/self/fd\n0\nsys-ro\nroot-ro\nok\n');
    expect(result.exitCode).toBe(0);
  });

  it('gives the process a pty from its devpts and sends the master to the console socket', async () => {
    const socketPath = join(roots.base, 'console.sock');
    const receiver = execa('python3', [join(import.meta.dirname, 'console-receiver.py'), socketPath], { reject: false, stripFinalNewline: false });
    await new Promise<void>((ready) => {
      receiver.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('listening')) ready();
      });
    });
    const spec = containerSpec(['sh', '-c', 'tty; test -t 0 && test -t 1 && echo tty-stdio'], { consoleSocket: socketPath });
    spec.mounts!.push(
      { source: 'tmpfs', target: '/dev', fstype: 'tmpfs', flags: MS_NOSUID, data: 'mode=755' },
      { source: 'devpts', target: '/dev/pts', fstype: 'devpts', flags: MS_NOSUID | MS_NOEXEC, data: 'newinstance,ptmxmode=0666,mode=0620' },
    );
    spec.symlinks = [{ target: 'pts/ptmx', path: '/dev/ptmx' }];
    spec.process!.terminal = true;
    const result = await run(spec);
    const received = await receiver;
    expect(result.stdout).toBe('');
    expect(kinds(result)).toEqual(['STATUS_KIND_READY', 'STATUS_KIND_STARTED', 'STATUS_KIND_EXITED']);
    expect(received.stdout).toBe('listening\nname /dev/pts/0\n/dev/pts/0\r\ntty-stdio\r\n');
  });

  it('relays a pty between its own stdio and the process without a console socket', async () => {
    const spec = containerSpec(['sh', '-c', 'tty; read line; echo got:$line; exit 3']);
    spec.mounts!.push(
      { source: 'tmpfs', target: '/dev', fstype: 'tmpfs', flags: MS_NOSUID, data: 'mode=755' },
      { source: 'devpts', target: '/dev/pts', fstype: 'devpts', flags: MS_NOSUID | MS_NOEXEC, data: 'newinstance,ptmxmode=0666,mode=0620' },
    );
    spec.symlinks = [{ target: 'pts/ptmx', path: '/dev/ptmx' }];
    spec.process!.terminal = true;
    const result = await run(spec, { input: 'hello\n' });
    // The pty turns every \n into \r\n on the way out, and echoes the input line whenever it arrives (before
    // or after the first line: the relay passes stdin on as soon as it has it).
    expect(result.stdout.split('\r\n').sort()).toEqual(['', '/dev/pts/0', 'got:hello', 'hello']);
    expect(result.stdout.endsWith('got:hello\r\n')).toBe(true);
    expect(kinds(result)).toEqual(['STATUS_KIND_READY', 'STATUS_KIND_STARTED', 'STATUS_KIND_EXITED']);
    expect(result.exitCode).toBe(3);
  });

  it('binds a host directory read-only', async () => {
    const shared = join(roots.base, 'shared');
    await mkdir(shared);
    await writeFile(join(shared, 'file'), 'from host\n');
    const spec = containerSpec(['sh', '-c', 'cat /data/file; touch /data/x 2>/dev/null || echo ro']);
    spec.mounts!.push({ source: shared, target: '/data', flags: MS_BIND | MS_REC | MS_RDONLY });
    const result = await run(spec);
    expect(result.stdout).toBe('from host\nro\n');
  });

  it('mounts an overlay rootfs from layers', async () => {
    const layers = join(roots.base, 'layers');
    const [upper, work, top, target] = ['upper', 'work', 'top', 'merged'].map((name) => join(layers, name));
    for (const dir of [upper!, work!, join(top!, 'etc'), target!]) await mkdir(dir, { recursive: true });
    await writeFile(join(top!, 'etc/layer'), 'top layer\n');
    const spec = containerSpec(['sh', '-c', 'cat /etc/layer; echo new > /written']);
    spec.rootfs = { path: target, lowerDirs: [top!, rootfs], upperDir: upper, workDir: work };
    const result = await run(spec);
    expect(result.stdout).toBe('top layer\n');
    expect(await readFile(join(upper!, 'written'), 'utf8')).toBe('new\n');
  });

  it('maps users in a new user namespace and switches user', async () => {
    // The init is its namespace's root (host uid 100000) from its first step: the rootfs is 100000's and the
    // directories above it searchable, as podman and containerd make theirs.
    await chmod(roots.base, 0o711);
    await execa('chown', ['-R', '100000:100000', rootfs]);
    const spec = containerSpec(['sh', '-c', 'id -u; cat /proc/self/uid_map | tr -s " "'], {
      namespaces: [{ type: NS.NAMESPACE_TYPE_USER }, { type: NS.NAMESPACE_TYPE_MOUNT }, { type: NS.NAMESPACE_TYPE_PID }],
      uidMappings: [{ containerId: 0, hostId: 100000, size: 65536 }],
      gidMappings: [{ containerId: 0, hostId: 100000, size: 65536 }],
    });
    spec.process!.uid = 1000;
    spec.process!.gid = 1000;
    const result = await run(spec);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('1000\n 0 100000 65536\n');
  });

  it('binds host devices and read-only host directories inside a user namespace', async () => {
    const shared = join(roots.base, 'shared');
    await mkdir(shared);
    await writeFile(join(shared, 'file'), 'shared\n');
    const spec = containerSpec(['sh', '-c', 'echo x > /dev/null && echo null-ok; cat /data/file; touch /data/y 2>/dev/null || echo ro'], {
      namespaces: [{ type: NS.NAMESPACE_TYPE_USER }, { type: NS.NAMESPACE_TYPE_MOUNT }, { type: NS.NAMESPACE_TYPE_PID }],
      uidMappings: [{ containerId: 0, hostId: 0, size: 65536 }],
      gidMappings: [{ containerId: 0, hostId: 0, size: 65536 }],
      devices: [{ path: '/dev/null', bindFromHost: true }],
    });
    spec.mounts!.push(
      { source: 'tmpfs', target: '/dev', fstype: 'tmpfs', flags: MS_NOSUID },
      // /proc/sys of the host's proc carries locked flags (nosuid, nodev, noexec) inside a user namespace.
      { source: '/proc/sys', target: '/hostsys', flags: MS_BIND | MS_REC | MS_RDONLY },
      { source: shared, target: '/data', flags: MS_BIND | MS_RDONLY },
    );
    const result = await run(spec);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('null-ok\nshared\nro\n');
  });

  it('refuses a hostname without a uts namespace', async () => {
    const spec = containerSpec(['true'], { hostname: 'x', namespaces: [{ type: NS.NAMESPACE_TYPE_MOUNT }] });
    expect(errorFrame(await run(spec)).error!.message).toBe('spec: hostname and domainname need a uts namespace');
  });

  it('sets capabilities and no_new_privs', async () => {
    const spec = containerSpec(['sh', '-c', 'grep -E "^(CapEff|CapBnd|CapAmb|NoNewPrivs)" /proc/self/status | tr -s "\\t" " "']);
    const chown = 1 << 0;
    const netBind = 1 << 10;
    spec.process!.capabilities = {
      bounding: chown | netBind, effective: chown | netBind, permitted: chown | netBind, inheritable: netBind, ambient: netBind,
    };
    spec.process!.noNewPrivileges = true;
    spec.process!.uid = 1000;
    const result = await run(spec);
    expect(result.stdout).toBe(
      'CapEff: 0000000000000400\nCapBnd: 0000000000000401\nCapAmb: 0000000000000400\nNoNewPrivs: 1\n');
  });

  // The cgroup v1 pids hierarchy, as on this project's machines; a cgroup v2-only host has none.
  it.skipIf(!existsSync('/sys/fs/cgroup/pids/cgroup.procs'))('places the process in its cgroup before it runs (cgroup v1 pids)', async () => {
    const cgroup = join('/sys/fs/cgroup/pids', roots.cgroupParent, 'c1');
    await mkdir(cgroup, { recursive: true });
    try {
      const spec = containerSpec(['sh', '-c', 'grep pids /proc/self/cgroup']);
      spec.cgroupProcs = [join(cgroup, 'cgroup.procs')];
      const result = await run(spec);
      expect(result.stdout).toMatch(new RegExp(`^\\d+:pids:/${roots.cgroupParent}/c1\n$`));
    } finally {
      await rmdir(cgroup);
    }
  });

  it('waits on the start fifo before exec', async () => {
    const fifo = join(roots.base, 'exec.fifo');
    await execa('mkfifo', [fifo]);
    let startedBeforeOpen = false;
    let opened: Promise<string> | undefined;
    const result = await run(containerSpec(['true'], { finish: v1.Finish.FINISH_WAIT_FOR_START, startFifo: fifo }), {
      onFrame: (status) => {
        if (status.kind === v1.StatusKind.STATUS_KIND_STARTED && !opened) startedBeforeOpen = true;
        if (status.kind === v1.StatusKind.STATUS_KIND_READY) {
          // Like `shim start`: a moment later, open the fifo for reading and read the one byte.
          opened = new Promise((done) => setTimeout(() => done(readFile(fifo, 'utf8')), 200));
        }
      },
    });
    expect(startedBeforeOpen).toBe(false);
    expect(await opened).toBe('0');
    expect(kinds(result)).toEqual(['STATUS_KIND_READY', 'STATUS_KIND_STARTED', 'STATUS_KIND_EXITED']);
  });

  it('detaches after READY with MONITOR_DETACH', async () => {
    // The detached process keeps the helper's stdout and stderr: give it none, so we see the helper end.
    const result = await run(containerSpec(['sleep', '60'], { monitor: v1.Monitor.MONITOR_DETACH }), { stdio: 'ignore' });
    expect(kinds(result)).toEqual(['STATUS_KIND_READY']);
    expect(result.exitCode).toBe(0);
    const pid = result.frames[0]!.pid;
    expect(alive(pid)).toBe(true);
    killPid(pid);
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((done) => setTimeout(done, 20));
  });
});

describe('MONITOR_BACKGROUND', () => {
  it('daemonizes, logs stdout and stderr to a file, and writes the exit status atomically', async () => {
    const log = join(roots.base, 'container.log');
    const exitFile = join(roots.base, 'exit.json');
    const spec = containerSpec(['sh', '-c', 'echo out; echo err >&2; sleep 0.3; exit 5'], {
      monitor: v1.Monitor.MONITOR_BACKGROUND, logPath: log, exitStatusPath: exitFile,
    });
    // The first process exits at once; the frames still come, from the daemon, until STARTED.
    const result = await run(spec);
    expect(result.exitCode).toBe(0);
    expect(kinds(result)).toEqual(['STATUS_KIND_READY', 'STATUS_KIND_STARTED']);
    expect(result.stdout).toBe('');
    for (let i = 0; i < 250 && !existsSync(exitFile); i++) await new Promise((done) => setTimeout(done, 20));
    const status = JSON.parse(await readFile(exitFile, 'utf8'));
    expect(status).toMatchObject({ exitCode: 5, termSignal: 0, coreDumped: false });
    expect(Math.abs(status.finishedSec - Date.now() / 1000)).toBeLessThan(30);
    expect(await readFile(log, 'utf8')).toBe('out\nerr\n');
  });

  it('refuses a relative log path, and MONITOR_BACKGROUND for exec', async () => {
    const relative = await run(containerSpec(['true'], { monitor: v1.Monitor.MONITOR_BACKGROUND, logPath: 'log', exitStatusPath: '/x' }));
    expect(errorFrame(relative).error!.message).toBe('spec: log_path must be an absolute path');
    const exec = await run({ ...containerSpec(['true']), action: v1.Action.ACTION_EXEC, targetPid: 1, monitor: v1.Monitor.MONITOR_BACKGROUND });
    expect(errorFrame(exec).error!.message).toBe('spec: MONITOR_BACKGROUND is for run only');
  });
});

describe('namespaces and process attributes', () => {
  it('joins namespaces by path and brings loopback up in a new network namespace', async () => {
    let init = 0;
    const first = run(containerSpec(['sleep', '60'], {
      hostname: 'joined',
      namespaces: [...containerSpec([]).namespaces!, { type: NS.NAMESPACE_TYPE_NET }],
      loopbackUp: true,
    }), {
      onFrame: (status) => {
        if (status.kind === v1.StatusKind.STATUS_KIND_STARTED) init = status.pid;
      },
    });
    for (let i = 0; i < 200 && init === 0; i++) await new Promise((done) => setTimeout(done, 20));
    try {
      const spec = containerSpec(['sh', '-c', 'hostname; echo $$; ip link show lo | grep -c "UP"'], {
        namespaces: [{ type: NS.NAMESPACE_TYPE_MOUNT }, { type: NS.NAMESPACE_TYPE_PID, path: `/proc/${init}/ns/pid` },
          { type: NS.NAMESPACE_TYPE_UTS, path: `/proc/${init}/ns/uts` }, { type: NS.NAMESPACE_TYPE_NET, path: `/proc/${init}/ns/net` }],
      });
      const result = await run(spec);
      expect(result.stderr).toBe('');
      const [hostname, pid, up] = result.stdout.trim().split('\n');
      expect(hostname).toBe('joined');
      expect(Number(pid)).toBeGreaterThan(1);
      expect(up).toBe('1');
    } finally {
      killPid(init);
      await first;
    }
  });

  it('reports a namespace path that does not exist', async () => {
    const error = errorFrame(await run(containerSpec(['true'], {
      namespaces: [{ type: NS.NAMESPACE_TYPE_MOUNT }, { type: NS.NAMESPACE_TYPE_NET, path: '/proc/999999999/ns/net' }],
    }))).error!;
    expect(error.stage).toBe(v1.Stage.STAGE_OPEN_NAMESPACES);
    expect(error.errnoValue).toBe(ENOENT);
    expect(error.path).toBe('/proc/999999999/ns/net');
  });

  it('creates a time namespace', async () => {
    const { stdout: host } = await execa('readlink', ['/proc/self/ns/time']);
    const result = await run(containerSpec(['readlink', '/proc/self/ns/time'], {
      namespaces: [...containerSpec([]).namespaces!, { type: NS.NAMESPACE_TYPE_TIME }],
    }));
    expect(result.stdout).toMatch(/^time:\[\d+\]\n$/);
    expect(result.stdout.trim()).not.toBe(host);
  });

  it('writes sysctls, rlimits, oom_score_adj and umask', async () => {
    const spec = containerSpec(['sh', '-c', 'cat /proc/sys/net/ipv4/ip_forward; ulimit -n; cat /proc/self/oom_score_adj; umask'], {
      namespaces: [...containerSpec([]).namespaces!, { type: NS.NAMESPACE_TYPE_NET }],
      sysctls: [{ key: 'net.ipv4.ip_forward', value: '1' }],
    });
    Object.assign(spec.process!, {
      rlimits: [{ resource: 7 /* RLIMIT_NOFILE */, soft: 123, hard: 456 }],
      hasOomScoreAdj: true, oomScoreAdj: 500, hasUmask: true, umask: 0o027,
    });
    const result = await run(spec);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('1\n123\n500\n0027\n');
  });

  it('passes preserved descriptors and closes the rest', async () => {
    const spec = containerSpec(['sh', '-c', 'for fd in 3 4 5; do test -e /proc/self/fd/$fd && echo $fd; done; true']);
    spec.process!.preserveFds = 1;
    const result = await run(spec, { preserve: 1 });
    expect(result.stdout).toBe('3\n');
  });

  it('runs without pivot_root', async () => {
    const result = await run(containerSpec(['sh', '-c', 'ls /bin/busybox'], { rootfs: { path: rootfs, noPivot: true } }));
    expect(result.stdout).toBe('/bin/busybox\n');
  });

  it('mounts an overlay whose options do not fit in a page', async () => {
    const layers: string[] = [];
    for (let i = 0; i < 40; i++) {
      const layer = join(roots.base, 'layers', `layer-${String(i).padStart(2, '0')}-${'x'.repeat(100)}`);
      await mkdir(layer, { recursive: true });
      layers.push(layer);
    }
    await writeFile(join(layers[0]!, 'top'), 'top of 41\n');
    const merged = join(roots.base, 'merged');
    await mkdir(merged);
    const spec = containerSpec(['cat', '/top']);
    spec.rootfs = { path: merged, lowerDirs: [...layers, rootfs] };
    const result = await run(spec);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('top of 41\n');
  });

  it('reports a missing overlay layer', async () => {
    const merged = join(roots.base, 'merged');
    await mkdir(merged);
    const spec = containerSpec(['true']);
    spec.rootfs = { path: merged, lowerDirs: [join(roots.base, 'no-layer'), rootfs] };
    const error = errorFrame(await run(spec)).error!;
    expect(error.stage).toBe(STAGE_ROOTFS);
    expect(error.message).toMatch(/^mount overlay/);
  });
});

describe('exec in a running container', () => {
  it('joins the init\'s namespaces and root', async () => {
    let init = 0;
    const container = run(containerSpec(['sleep', '60'], { hostname: 'box2' }), {
      onFrame: (status) => {
        if (status.kind === v1.StatusKind.STATUS_KIND_STARTED) init = status.pid;
      },
    });
    for (let i = 0; i < 200 && init === 0; i++) await new Promise((done) => setTimeout(done, 20));
    expect(init).toBeGreaterThan(0);
    try {
      const result = await run({
        action: v1.Action.ACTION_EXEC,
        targetPid: init,
        process: { args: ['sh', '-c', 'hostname; ls /bin/busybox; tr "\\0" " " < /proc/1/cmdline; echo'], env: ['PATH=/bin'], cwd: '/tmp' },
      });
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('box2\n/bin/busybox\nsleep 60 \n');
      expect(kinds(result)).toEqual(['STATUS_KIND_READY', 'STATUS_KIND_STARTED', 'STATUS_KIND_EXITED']);
    } finally {
      killPid(init);
      await container;
    }
  });

  it('joins a container with its own user namespace', async () => {
    // The init is its namespace's root (host uid 100000) from its first step, so its rootfs is 100000's, and
    // the directories above it must be searchable by it, as podman and containerd make theirs.
    await chmod(roots.base, 0o711);
    await execa('chown', ['-R', '100000:100000', rootfs]);
    let init = 0;
    const container = run(containerSpec(['sleep', '60'], {
      namespaces: [{ type: NS.NAMESPACE_TYPE_USER }, { type: NS.NAMESPACE_TYPE_MOUNT }, { type: NS.NAMESPACE_TYPE_PID }],
      uidMappings: [{ containerId: 0, hostId: 100000, size: 65536 }],
      gidMappings: [{ containerId: 0, hostId: 100000, size: 65536 }],
    }), {
      onFrame: (status) => {
        if (status.kind === v1.StatusKind.STATUS_KIND_STARTED) init = status.pid;
      },
    });
    for (let i = 0; i < 200 && init === 0; i++) await new Promise((done) => setTimeout(done, 20));
    try {
      const result = await run({
        action: v1.Action.ACTION_EXEC,
        targetPid: init,
        process: { args: ['sh', '-c', 'id -u; tr -s " " < /proc/self/uid_map; pwd'], env: ['PATH=/bin'], uid: 1000, cwd: '/tmp' },
      });
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('1000\n 0 100000 65536\n/tmp\n');
    } finally {
      killPid(init);
      await container;
    }
  });

  it('reports a missing target', async () => {
    const error = errorFrame(await run({ action: v1.Action.ACTION_EXEC, targetPid: 999999999, process: { args: ['true'] } })).error!;
    expect(error.stage).toBe(v1.Stage.STAGE_OPEN_NAMESPACES);
    expect(error.errnoValue).toBe(ENOENT);
  });
});
