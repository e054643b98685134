// ACTION_LIVE_DEVICE and ACTION_LIVE_MOUNT straight to the helper, against a stand-in container: a process in
// a mount namespace of its own, chrooted into a directory of this test (so its /proc/PID/root is that
// directory). The spec checks, exact modes and owners, a planted symlink, and the undo of a half-way failure.

import { spawn, type ChildProcess } from 'node:child_process';
import { lstat, mkdir, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeRoots, waitFor, type Roots } from '../support/shim.js';
import { errorFrame, runHelper, specFrame, v1 } from './run-helper.js';

const S_IFCHR = 0o020000;
let roots: Roots;
let root: string;
let target: ChildProcess | undefined;

beforeEach(async () => {
  roots = await makeRoots();
  root = join(roots.base, 'root');
  for (const dir of ['bin', 'dev', 'mnt']) await mkdir(join(root, dir), { recursive: true });
});

afterEach(async () => {
  if (target && target.exitCode === null) {
    const exited = new Promise((done) => target!.once('exit', done));
    target.kill('SIGKILL');
    await exited;
  }
  target = undefined;
  await roots.dispose();
});

/** A process in its own mount namespace whose root is `root`; resolves to its pid. */
async function startTarget(): Promise<number> {
  await writeFile(join(root, 'bin/busybox'), await readFile('/bin/busybox'), { mode: 0o755 });
  target = spawn('unshare', ['-m', '--propagation', 'private', 'chroot', root, '/bin/busybox', 'sleep', '60'], { stdio: 'ignore' });
  const pid = target.pid!;
  await waitFor('the target to chroot', async () => (await readlink(`/proc/${pid}/root`).catch(() => '')) === root);
  return pid;
}

const liveDevice = (targetPid: number, liveDeviceSpec: object) =>
  runHelper(specFrame({ action: v1.Action.ACTION_LIVE_DEVICE, containerId: 't', targetPid, liveDevice: liveDeviceSpec }));
const liveMount = (targetPid: number, liveMountSpec: object) =>
  runHelper(specFrame({ action: v1.Action.ACTION_LIVE_MOUNT, containerId: 't', targetPid, liveMount: liveMountSpec }));

describe('ACTION_LIVE_DEVICE', () => {
  it('refuses a spec without a target, a node that is not a device, a relative path', async () => {
    expect(errorFrame(await liveDevice(0, { node: { path: '/dev/x', mode: S_IFCHR | 0o600 } })).error?.message).toBe('spec: a live change needs target_pid');
    expect(errorFrame(await liveDevice(1, { node: { path: '/dev/x', mode: 0o600 } })).error?.message).toBe('spec: live_device.node is not a device');
    expect(errorFrame(await liveDevice(1, { node: { path: 'dev/x', mode: S_IFCHR } })).error?.message).toBe('spec: live_device.node.path must be an absolute path');
  });

  it('makes the node in the target\'s root with its exact mode and owner, and removes only that node', async () => {
    const pid = await startTarget();
    const node = { path: '/dev/xvdb', mode: S_IFCHR | 0o640, major: 1, minor: 3, uid: 7, gid: 8 };
    expect(await liveDevice(pid, { node })).toMatchObject({ exitCode: 0, frames: [] });
    const made = await lstat(join(root, 'dev/xvdb'));
    expect([made.isCharacterDevice(), made.mode & 0o7777, made.rdev, made.uid, made.gid]).toEqual([true, 0o640, 259, 7, 8]);
    const wrong = await liveDevice(pid, { node: { ...node, minor: 5 }, remove: true });
    expect(errorFrame(wrong).error).toMatchObject({ stage: v1.Stage.STAGE_LIVE_DEVICE, errnoValue: 17 });
    expect(await liveDevice(pid, { node, remove: true })).toMatchObject({ exitCode: 0, frames: [] });
    expect(await readdir(join(root, 'dev'))).toEqual([]);
  });

  it('never replaces a planted symlink, and undoes the node when the program cannot be attached', async () => {
    const pid = await startTarget();
    const outside = join(roots.base, 'outside');
    await mkdir(outside);
    await symlink(outside, join(root, 'dev/link'));
    const planted = await liveDevice(pid, { node: { path: '/dev/link', mode: S_IFCHR | 0o600, major: 1, minor: 3 } });
    expect(errorFrame(planted).error).toMatchObject({ errnoValue: 17, message: 'path exists in the container' });
    const through = await liveDevice(pid, { node: { path: '/dev/link/xvdb', mode: S_IFCHR | 0o600, major: 1, minor: 3 } });
    // RESOLVE_IN_ROOT reads the link's absolute target inside the root, where it does not exist.
    expect(errorFrame(through).error).toMatchObject({ errnoValue: 2 });
    expect(await readdir(outside)).toEqual([]);

    const halfway = await liveDevice(pid, {
      node: { path: '/dev/xvdb', mode: S_IFCHR | 0o600, major: 1, minor: 3 },
      program: Buffer.alloc(16),
      programCgroup: join(roots.base, 'no-such-cgroup'),
    });
    expect(errorFrame(halfway).error).toMatchObject({ stage: v1.Stage.STAGE_DEVICE_PROGRAM, errnoValue: 2, message: 'open cgroup' });
    expect(await readdir(join(root, 'dev'))).toEqual(['link']);
  });
});

describe('ACTION_LIVE_MOUNT', () => {
  it('moves a clone of a host directory into the target\'s namespace, read-only if asked, and takes it out again', async () => {
    const pid = await startTarget();
    const source = join(roots.base, 'source');
    await mkdir(source);
    await writeFile(join(source, 'f'), 'x');
    expect(await liveMount(pid, { source, target: '/mnt/data', readonly: true, createTarget: true })).toMatchObject({ exitCode: 0, frames: [] });
    const mountinfo = await readFile(`/proc/${pid}/mountinfo`, 'utf8');
    // Its mountinfo shows paths as seen from its root.
    const line = mountinfo.split('\n').find((entry) => entry.split(' ')[4] === '/mnt/data');
    expect(line).toMatch(/ ro[ ,]/);
    // Only in the target's namespace: the host has no mount there.
    expect((await readFile('/proc/self/mountinfo', 'utf8')).includes(`${root}/mnt/data`)).toBe(false);

    const symlinked = await liveMount(pid, { source, target: '/mnt/link', createTarget: true });
    expect(symlinked.exitCode).toBe(0);
    await symlink('/etc', join(root, 'mnt/planted'));
    expect(errorFrame(await liveMount(pid, { source, target: '/mnt/planted' })).error).toMatchObject({ stage: v1.Stage.STAGE_LIVE_MOUNT, errnoValue: 40 });

    expect(await liveMount(pid, { target: '/mnt/data', remove: true })).toMatchObject({ exitCode: 0, frames: [] });
    expect(await liveMount(pid, { target: '/mnt/link', remove: true })).toMatchObject({ exitCode: 0, frames: [] });
    expect((await readFile(`/proc/${pid}/mountinfo`, 'utf8')).includes(' /mnt/')).toBe(false);
    const notMounted = await liveMount(pid, { target: '/mnt/data', remove: true });
    expect(errorFrame(notMounted).error).toMatchObject({ errnoValue: 22, message: 'unmount: not a mount point' });
  });
});
