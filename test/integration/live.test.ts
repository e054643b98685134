// Live changes to running containers (issue 14, seed 004) through the real CLI: device add/rm with a real loop
// device, the v1 devices rule and the cgroup2 device program each enforcing on their own, the seed's mknod
// experiment, mount add/rm with --ro and commit, -v propagation against a shared mount this test makes, rootfs
// propagation in bundles, and symlinks a container plants to send a change out of its root. Every test detaches
// its loop devices, unmounts its host mounts and checks that nothing (mounts, cgroups, BPF programs) is left.

import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readHostDevice } from '../../src/live/parse-device.js';
import { makeBundle, makeRoots, settledLeaks, shim, waitFor, type Roots } from '../support/shim.js';

let roots: Roots;
const loops: string[] = [];
/** BPF programs a test's containers had attached: each must be gone once its container is deleted. */
const programs: number[] = [];

beforeEach(async () => {
  roots = await makeRoots();
});

afterEach(async () => {
  try {
    for (const id of await readdir(roots.root).catch(() => [] as string[])) {
      if (id.startsWith('.')) continue;
      const result = await shim(roots, ['delete', '--force', id]);
      if (result.exitCode !== 0) console.error(`cleanup: ${result.stderr}`);
    }
    // Only what this test mounted on the host itself (its shared mount, and what propagated into it).
    for (const mountPoint of (await hostMountsUnder(roots.base)).reverse()) await execa('umount', ['-l', mountPoint], { reject: false });
    for (const loop of loops.splice(0)) await execa('losetup', ['-d', loop], { reject: false });
    for (const id of programs.splice(0)) {
      await waitFor(`BPF program ${id} to be released`, async () => (await execa('bpftool', ['prog', 'show', 'id', String(id)], { reject: false })).exitCode !== 0, 5000);
    }
    expect(await settledLeaks(roots)).toEqual([]);
  } finally {
    await roots.dispose();
  }
});

async function hostMountsUnder(base: string): Promise<string[]> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  return mountinfo.split('\n').map((line) => line.split(' ')[4]).filter((point): point is string => !!point && point.startsWith(`${base}/`));
}

async function runDetached(id: string, flags: string[] = []): Promise<void> {
  const result = await shim(roots, ['run', '-d', '--name', id, ...flags, 'busybox', 'sleep', '1000']);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
}

async function inContainer(id: string, script: string, flags: string[] = []) {
  return shim(roots, ['exec', ...flags, id, 'sh', '-c', script]);
}

async function makeLoopDevice(): Promise<{ path: string; image: string; major: number; minor: number }> {
  const image = join(roots.base, 'disk.img');
  await writeFile(image, Buffer.alloc(1024 * 1024));
  const { stdout } = await execa('losetup', ['-f', '--show', image]);
  const path = stdout.trim();
  loops.push(path);
  const { major, minor } = readHostDevice(path);
  return { path, image, major, minor };
}

const cgroupDir = (hierarchy: string, id: string) => join('/sys/fs/cgroup', hierarchy, roots.cgroupParent, id);

async function attachedPrograms(id: string): Promise<{ id: number; name: string }[]> {
  const { stdout } = await execa('bpftool', ['cgroup', 'show', cgroupDir('unified', id), '-j']);
  return (JSON.parse(stdout || '[]') as { id: number; name: string; attach_type: string }[]).filter((entry) => entry.attach_type === 'cgroup_device');
}

describe('device add / rm / ls', () => {
  it('adds a loop device as /dev/xvdb: written inside, read on the host; rm takes node and access away', async () => {
    const loop = await makeLoopDevice();
    await runDetached('dev1');
    const added = await shim(roots, ['device', 'add', 'dev1', `${loop.path}:/dev/xvdb`]);
    expect(added.stderr).toBe('');
    expect(added.exitCode).toBe(0);

    const written = await inContainer('dev1', 'printf shim-live-device | dd of=/dev/xvdb bs=512 count=1 conv=sync,fsync 2>/dev/null && ls -l /dev/xvdb');
    expect(written.exitCode).toBe(0);
    expect(written.stdout).toMatch(new RegExp(`^b.* ${loop.major}, +${loop.minor} .*/dev/xvdb`));
    expect((await readFile(loop.image)).subarray(0, 16).toString()).toBe('shim-live-device');

    const listed = JSON.parse((await shim(roots, ['device', 'ls', '--format', 'json', 'dev1'])).stdout);
    expect(listed).toContainEqual({ path: '/dev/xvdb', type: 'b', major: loop.major, minor: loop.minor, access: 'rwm', origin: 'live', hostPath: loop.path });
    const inspected = JSON.parse((await shim(roots, ['inspect', '--format', '{{json .LiveDevices}}', 'dev1'])).stdout);
    expect(inspected).toHaveLength(1);
    // Both layers: the v1 rule, and a program on the container's cgroup2 directory.
    expect(await readFile(join(cgroupDir('devices', 'dev1'), 'devices.list'), 'utf8')).toContain(`b ${loop.major}:${loop.minor} rwm`);
    const attached = await attachedPrograms('dev1');
    expect(attached).toHaveLength(1);
    expect(attached[0]!.name).toBe('shim_dev1');
    programs.push(attached[0]!.id);

    const removed = await shim(roots, ['device', 'rm', 'dev1', '/dev/xvdb']);
    expect(removed.exitCode).toBe(0);
    expect((await inContainer('dev1', 'test -e /dev/xvdb')).exitCode).toBe(1);
    // A node the container makes itself (it may mknod) is no way back in.
    const again = await inContainer('dev1', `mknod /dev/again b ${loop.major} ${loop.minor} && dd if=/dev/again of=/dev/null bs=512 count=1`);
    expect(again.exitCode).not.toBe(0);
    expect(again.stderr).toContain('Operation not permitted');
    expect(await readFile(join(cgroupDir('devices', 'dev1'), 'devices.list'), 'utf8')).not.toContain(`b ${loop.major}:${loop.minor}`);
    for (const program of await attachedPrograms('dev1')) programs.push(program.id);
    expect(JSON.parse((await shim(roots, ['inspect', '--format', '{{json .LiveDevices}}', 'dev1'])).stdout)).toEqual([]);
  });

  it('enforces with the v1 rule and with the cgroup2 program, each on its own', async () => {
    const loop = await makeLoopDevice();
    await runDetached('both');
    expect((await shim(roots, ['device', 'add', 'both', `${loop.path}:/dev/xvdb`])).exitCode).toBe(0);
    expect((await shim(roots, ['device', 'rm', 'both', '/dev/xvdb'])).exitCode).toBe(0);
    const read = `dd if=/dev/probe of=/dev/null bs=512 count=1`;
    expect((await inContainer('both', `mknod /dev/probe b ${loop.major} ${loop.minor}`)).exitCode).toBe(0);
    const v1 = cgroupDir('devices', 'both');
    const rule = `b ${loop.major}:${loop.minor} rwm`;

    // The v1 rule put back by hand: the cgroup2 program still says no.
    await writeFile(join(v1, 'devices.allow'), rule);
    expect((await inContainer('both', read)).stderr).toContain('Operation not permitted');
    // The program taken off as well: allowed.
    const [program] = await attachedPrograms('both');
    expect(program).toBeDefined();
    programs.push(program!.id);
    await execa('bpftool', ['cgroup', 'detach', cgroupDir('unified', 'both'), 'device', 'id', String(program!.id)]);
    expect((await inContainer('both', read)).exitCode).toBe(0);
    // And the v1 rule alone denies again.
    await writeFile(join(v1, 'devices.deny'), rule);
    expect((await inContainer('both', read)).stderr).toContain('Operation not permitted');
  });

  it("the seed's experiment: a node made from the host in the rootfs directory is not seen; device add is", async () => {
    const loop = await makeLoopDevice();
    await runDetached('seed');
    const rootfs = (await shim(roots, ['inspect', '--format', '{{.Rootfs}}', 'seed'])).stdout.trim();
    await mkdir(join(rootfs, 'dev'), { recursive: true });
    await execa('mknod', [join(rootfs, 'dev/xvdb'), 'b', String(loop.major), String(loop.minor)]);
    expect((await inContainer('seed', 'test -b /dev/xvdb')).exitCode).toBe(1);
    expect((await shim(roots, ['device', 'add', 'seed', `${loop.path}:/dev/xvdb`])).exitCode).toBe(0);
    expect((await inContainer('seed', 'test -b /dev/xvdb')).exitCode).toBe(0);
    for (const program of await attachedPrograms('seed')) programs.push(program.id);
  });

  it('refuses a non-device, a missing, stopped or paused container, each in one line, changing nothing', async () => {
    await runDetached('ref');
    const notDevice = await shim(roots, ['device', 'add', 'ref', '/etc/passwd:/dev/xvdb']);
    expect(notDevice.exitCode).toBe(1);
    expect(notDevice.stderr).toMatch(/^shim: device ref: not a device node (?:on )?\/etc\/passwd.*\n$/);
    const missing = await shim(roots, ['device', 'add', 'nosuch', '/dev/null:/dev/xvdb']);
    expect(missing.stderr).toMatch(/^shim: device nosuch: container nosuch does not exist\n$/);
    // The path exists in the container: refused before any rule is written or program attached.
    const exists = await shim(roots, ['device', 'add', 'ref', '/dev/null:/dev/zero']);
    expect(exists.exitCode).toBe(1);
    expect(exists.stderr).toMatch(/path exists in the container (?:on )?\/dev\/zero: file exists \(EEXIST\)\n$/);
    expect(await attachedPrograms('ref')).toEqual([]);
    expect(JSON.parse((await shim(roots, ['device', 'ls', '--format', 'json', 'ref'])).stdout).filter((d: { origin: string }) => d.origin === 'live')).toEqual([]);

    expect((await shim(roots, ['pause', 'ref'])).exitCode).toBe(0);
    const paused = await shim(roots, ['mount', 'add', 'ref', roots.base, '/mnt/x']);
    expect(paused.stderr).toBe('shim: mount ref: cannot add a mount to a paused container\n');
    expect((await shim(roots, ['resume', 'ref'])).exitCode).toBe(0);

    expect((await shim(roots, ['run', '-d', '--name', 'gone', 'busybox', 'true'])).exitCode).toBe(0);
    await waitFor('gone to stop', async () => JSON.parse((await shim(roots, ['state', 'gone'])).stdout).status === 'stopped');
    const stopped = await shim(roots, ['device', 'add', 'gone', '/dev/null:/dev/xvdb']);
    expect(stopped.stderr).toBe('shim: device gone: cannot add a device to a stopped container\n');
  });
});

describe('mount add / rm / ls', () => {
  it('mounts a host directory into a running container, both ways; --ro refuses writes; rm and commit leave it out', async () => {
    const hostDir = join(roots.base, 'hostdir');
    await mkdir(hostDir);
    await writeFile(join(hostDir, 'a'), 'from the host\n');
    await runDetached('m1');
    const added = await shim(roots, ['mount', 'add', 'm1', hostDir, '/mnt/data']);
    expect(added.stderr).toBe('');
    expect(added.exitCode).toBe(0);
    expect((await inContainer('m1', 'cat /mnt/data/a')).stdout).toBe('from the host\n');
    expect((await inContainer('m1', 'echo from the container > /mnt/data/b')).exitCode).toBe(0);
    expect(await readFile(join(hostDir, 'b'), 'utf8')).toBe('from the container\n');

    expect((await shim(roots, ['mount', 'add', '--ro', 'm1', hostDir, '/mnt/ro'])).exitCode).toBe(0);
    const write = await inContainer('m1', 'touch /mnt/ro/c');
    expect(write.exitCode).not.toBe(0);
    expect(write.stderr).toContain('Read-only file system');
    expect(existsSync(join(hostDir, 'c'))).toBe(false);

    const listed = JSON.parse((await shim(roots, ['mount', 'ls', '--format', 'json', 'm1'])).stdout);
    expect(listed.filter((m: { origin: string }) => m.origin === 'live').map((m: { target: string; readonly: boolean }) => [m.target, m.readonly])).toEqual([
      ['/mnt/data', false],
      ['/mnt/ro', true],
    ]);

    // commit packs the container's own layer: the mount's content is never in it.
    expect((await shim(roots, ['commit', 'm1', 'live:1'])).exitCode).toBe(0);
    const fromImage = await shim(roots, ['run', '--rm', 'live:1', 'sh', '-c', 'ls -A /mnt/data /mnt/ro']);
    expect(fromImage.exitCode).toBe(0);
    expect(fromImage.stdout).not.toMatch(/\ba\b|\bb\b/);

    expect((await shim(roots, ['mount', 'rm', 'm1', '/mnt/data'])).exitCode).toBe(0);
    expect((await inContainer('m1', 'test -e /mnt/data/a')).exitCode).toBe(1);
    expect((await inContainer('m1', 'grep -c " /mnt/data " /proc/mounts')).stdout.trim()).toBe('0');
    const again = await shim(roots, ['mount', 'rm', 'm1', '/mnt/data']);
    expect(again.stderr).toBe('shim: mount m1: no mount was added at /mnt/data (shim mount ls m1)\n');
    expect((await shim(roots, ['image', 'rm', 'live:1'])).exitCode).toBe(0);
  });

  it('refuses a target that exists as something else, leaving nothing mounted', async () => {
    await runDetached('m2');
    const refused = await shim(roots, ['mount', 'add', 'm2', roots.base, '/etc/passwd']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/^shim: mount m2: mount target exists as a non-directory on \/etc\/passwd: not a directory \(ENOTDIR\)\n$/);
    expect((await inContainer('m2', `grep -c " ${'/etc/passwd'} " /proc/mounts`)).stdout.trim()).toBe('0');
  });
});

describe('symlinks planted by the container', () => {
  it('never reach the host: refused for a link as the last component, followed inside the root otherwise', async () => {
    const hostDir = join(roots.base, 'escape-src');
    await mkdir(hostDir);
    await runDetached('esc');
    const planted = await inContainer('esc', [
      'ln -s /../../etc /dev/xvdb',
      'mkdir -p /mnt',
      'ln -s /../../etc /mnt/target',
      'ln -s /proc/1/root /mnt/proot',
      'ln -s /../../ /escape',
    ].join(' && '));
    expect(planted.exitCode).toBe(0);
    const hostEtc = (await readdir('/etc')).sort();
    // Other sessions mount and unmount on this machine meanwhile: only /etc's mounts are compared.
    const etcMounts = async () => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((line) => /^\S+ \S+ \S+ \S+ \/etc(\/| )/.test(line));
    const hostMounts = await etcMounts();

    const device = await shim(roots, ['device', 'add', 'esc', '/dev/null:/dev/xvdb']);
    expect(device.exitCode).toBe(1);
    expect(device.stderr).toMatch(/^shim: device esc: path exists in the container (?:on )?\/dev\/xvdb: file exists \(EEXIST\)\n$/);
    const magic = await shim(roots, ['device', 'add', 'esc', '/dev/null:/mnt/proot/xvdb']);
    expect(magic.exitCode).toBe(1);
    expect(magic.stderr).toContain('(ELOOP)');

    const mount = await shim(roots, ['mount', 'add', 'esc', hostDir, '/mnt/target']);
    expect(mount.exitCode).toBe(1);
    expect(mount.stderr).toMatch(/^shim: mount esc: mount target is a symlink on \/mnt\/target: .*\(ELOOP\)\n$/);
    const viaProc = await shim(roots, ['mount', 'add', 'esc', hostDir, '/mnt/proot/etc']);
    expect(viaProc.exitCode).toBe(1);
    expect(viaProc.stderr).toContain('(ELOOP)');
    // A link on the way is followed as the container would: into its own /etc, never the host's.
    expect((await shim(roots, ['mount', 'add', 'esc', hostDir, '/escape/etc/shim-escape'])).exitCode).toBe(0);
    expect((await inContainer('esc', 'grep -c " /etc/shim-escape " /proc/mounts')).stdout.trim()).toBe('1');

    expect((await readdir('/etc')).sort()).toEqual(hostEtc);
    expect(await etcMounts()).toEqual(hostMounts);
    expect(await attachedPrograms('esc')).toEqual([]);
  });
});

describe('mount propagation (seed 004)', () => {
  /** A host directory that is a shared mount, as a host's / usually is (this machine's is private). */
  async function sharedHostDir(): Promise<string> {
    const dir = join(roots.base, 'shared');
    await mkdir(dir);
    await execa('mount', ['--bind', dir, dir]);
    await execa('mount', ['--make-rshared', dir]);
    return dir;
  }

  async function hostTmpfs(dir: string): Promise<void> {
    await mkdir(dir);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
    await writeFile(join(dir, 'f'), 'mounted later on the host\n');
  }

  it('-v rslave sees a host mount made later; rprivate does not; rshared passes a container mount to the host', async () => {
    const shared = await sharedHostDir();
    await runDetached('slave', ['-v', `${shared}:/ctr:rslave`]);
    await runDetached('private', ['-v', `${shared}:/ctr:rprivate`]);
    // The default seccomp profile lets mount(2) through only for a container started with CAP_SYS_ADMIN (as
    // docker's): an exec's --cap alone would meet EPERM from the filter.
    await runDetached('sharing', ['--cap-add', 'SYS_ADMIN', '-v', `${shared}:/ctr:rshared`]);
    await hostTmpfs(join(shared, 'later'));

    expect((await inContainer('slave', 'cat /ctr/later/f')).stdout).toBe('mounted later on the host\n');
    const notSeen = await inContainer('private', 'cat /ctr/later/f');
    expect(notSeen.exitCode).not.toBe(0);

    const mounted = await inContainer('sharing', 'mkdir -p /ctr/from-ctr && mount -t tmpfs -o size=1m none /ctr/from-ctr && echo from the container > /ctr/from-ctr/g', ['--cap', 'CAP_SYS_ADMIN']);
    expect(mounted.stderr).toBe('');
    expect(await readFile(join(shared, 'from-ctr', 'g'), 'utf8')).toBe('from the container\n');

    const mounts = JSON.parse((await shim(roots, ['inspect', '--format', '{{json .PlannedMounts}}', 'slave'])).stdout) as { target: string; Propagation: string; CurrentPropagation: string }[];
    expect(mounts.find((m) => m.target === '/ctr')).toMatchObject({ Propagation: 'rslave', CurrentPropagation: 'slave' });
    const sharing = JSON.parse((await shim(roots, ['inspect', '--format', '{{json .PlannedMounts}}', 'sharing'])).stdout) as { target: string; Propagation: string; CurrentPropagation: string }[];
    expect(sharing.find((m) => m.target === '/ctr')).toMatchObject({ Propagation: 'rshared', CurrentPropagation: 'shared' });
  });

  it('mount add --propagation slave follows the host; private does not', async () => {
    const shared = await sharedHostDir();
    await runDetached('live');
    expect((await shim(roots, ['mount', 'add', '--propagation', 'slave', 'live', shared, '/follow'])).exitCode).toBe(0);
    expect((await shim(roots, ['mount', 'add', '--propagation', 'private', 'live', shared, '/frozen'])).exitCode).toBe(0);
    await hostTmpfs(join(shared, 'later'));
    expect((await inContainer('live', 'cat /follow/later/f')).stdout).toBe('mounted later on the host\n');
    expect((await inContainer('live', 'cat /frozen/later/f')).exitCode).not.toBe(0);
    const listed = JSON.parse((await shim(roots, ['mount', 'ls', '--format', 'json', 'live'])).stdout) as { target: string; currentPropagation: string }[];
    expect(listed.find((m) => m.target === '/follow')?.currentPropagation).toBe('slave');
    expect(listed.find((m) => m.target === '/frozen')?.currentPropagation).toBe('private');
  });

  for (const [propagation, expected] of [
    ['shared', /shared:\d+/],
    ['rshared', /shared:\d+/],
    ['unbindable', /unbindable/],
    ['private', /^(?!.*(shared|master|unbindable))/],
  ] as const) {
    it(`runs a bundle with rootfsPropagation ${propagation}`, async () => {
      const dir = await makeBundle(join(roots.base, `bundle-${propagation}`), (config) => {
        config.linux.rootfsPropagation = propagation;
        // The first line is the root mount.
        config.process.args = ['sh', '-c', 'head -1 /proc/self/mountinfo'];
      });
      const result = await shim(roots, ['run', '--bundle', dir, `prop-${propagation}`]);
      expect(result.exitCode).toBe(0);
      const fields = result.stdout.split(' - ')[0]!;
      expect(fields).toMatch(expected);
    });
  }
});
