// User namespaces against real containers through the real CLI: a bundle built the way podman builds one for
// `--uidmap 0:100000:65536` (rootfs chowned to 100000, mappings in config.json) driven through
// create/start/exec/kill/delete; a user namespace joined by path; idmapped mounts; sysfs without a network
// namespace; the docker-style `run --uidmap` over shim's own root-owned layers; and mappings the kernel would
// refuse. Every test ends with nothing left behind.

import { execa } from 'execa';
import { closeSync, openSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBundle, makeRoots, settledLeaks, shim, shimBin, type Roots, type ShimResult } from '../support/shim.js';

const HOST_ROOT = 100000;
const MAPPING = [{ containerID: 0, hostID: HOST_ROOT, size: 65536 }];

let roots: Roots;

beforeEach(async () => {
  // The roots stay 0700 (mkdtemp's): the container's root (100000 on the host) may not search them, so these
  // tests also prove the rootfs, the layers and idmapped sources are never reached by path from inside.
  roots = await makeRoots();
});

afterEach(async () => {
  try {
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

/** A bundle as podman makes one for --uidmap 0:100000:65536: rootfs owned by 100000, the maps in config.json. */
async function podmanStyleBundle(args: string[], mutate: (config: any) => void = () => {}): Promise<string> {
  const dir = join(roots.base, `bundle-${Math.random().toString(36).slice(2, 8)}`);
  await makeBundle(dir, (config) => {
    config.process.args = args;
    config.root.readonly = false;
    config.linux.namespaces.push({ type: 'user' });
    config.linux.uidMappings = MAPPING;
    config.linux.gidMappings = MAPPING;
    mutate(config);
  });
  await execa('chown', ['-R', `${HOST_ROOT}:${HOST_ROOT}`, join(dir, 'rootfs')]);
  return dir;
}

/** `create` (and `run -d`) with stdio in files: the init inherits them, and a pipe would keep execa waiting. */
async function shimToFiles(args: string[]): Promise<ShimResult> {
  const out = join(roots.base, `out-${Math.random().toString(36).slice(2, 8)}`);
  const stdout = openSync(`${out}.out`, 'w');
  const stderr = openSync(`${out}.err`, 'w');
  try {
    const result = await execa(shimBin, ['--root', roots.root, '--data-root', roots.dataRoot, ...args], {
      reject: false,
      env: roots.env,
      stdio: ['ignore', stdout, stderr] as unknown as ['ignore', 'inherit', 'inherit'],
      timeout: 60_000,
    });
    return { exitCode: result.exitCode ?? -1, stdout: await readFile(`${out}.out`, 'utf8'), stderr: await readFile(`${out}.err`, 'utf8') };
  } finally {
    closeSync(stdout);
    closeSync(stderr);
  }
}

async function initPid(id: string): Promise<number> {
  const result = await shim(roots, ['state', id]);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout).pid;
}

/** Lines of a uid_map or gid_map, whitespace collapsed: "0 100000 65536". */
function mapLines(text: string): string[] {
  return text.trim().split('\n').map((line) => line.trim().split(/\s+/).join(' '));
}

/** The one line a failure must give: shim's own, nothing else on stderr but warnings. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('shim: ') && !line.startsWith('shim: warning:'));
}

describe('a podman-style bundle (rootfs owned by 100000, mappings 0:100000:65536)', () => {
  it('runs create/start/exec/kill/delete in the user namespace, and exec joins the same one', async () => {
    const dir = await podmanStyleBundle(['sleep', '1000']);
    const created = await shimToFiles(['create', '--bundle', dir, 'u1']);
    expect(created.exitCode, created.stderr).toBe(0);
    const pid = await initPid('u1');
    // Written before the init ran any container code: it is in place while the init waits for `start`.
    expect(mapLines(await readFile(`/proc/${pid}/uid_map`, 'utf8'))).toEqual(['0 100000 65536']);
    expect(mapLines(await readFile(`/proc/${pid}/gid_map`, 'utf8'))).toEqual(['0 100000 65536']);
    // setgroups is left allowed, as runc leaves it for a privileged caller: the container's root may set groups.
    expect((await readFile(`/proc/${pid}/setgroups`, 'utf8')).trim()).toBe('allow');
    expect((await readFile(`/proc/${pid}/status`, 'utf8')).match(/^Uid:\s+(.*)$/m)![1]!.split(/\s+/)[0]).toBe(String(HOST_ROOT));

    expect((await shim(roots, ['start', 'u1'])).exitCode).toBe(0);
    const exec = await shim(roots, [
      'exec', 'u1', 'sh', '-c',
      'cat /proc/self/uid_map; readlink /proc/self/ns/user; id -u; stat -c %u:%g /bin/busybox; echo data > /made-inside; stat -c %u /made-inside; id -G',
    ]);
    expect(exec.exitCode, exec.stderr).toBe(0);
    const [uidMap, userNs, uid, busyboxOwner, madeOwner] = exec.stdout.trim().split('\n');
    expect(mapLines(uidMap!)).toEqual(['0 100000 65536']);
    // The same user namespace as the init's: exec joined it (first, so that it owns the others it joins).
    expect(userNs).toBe(await readlink(`/proc/${pid}/ns/user`));
    expect(userNs).not.toBe(await readlink('/proc/self/ns/user'));
    expect(uid).toBe('0');
    // Files owned by 100000 on the host are root's inside; what root makes inside is 100000's on the host.
    expect(busyboxOwner).toBe('0:0');
    expect(madeOwner).toBe('0');
    const made = await stat(join(dir, 'rootfs/made-inside'));
    expect([made.uid, made.gid]).toEqual([HOST_ROOT, HOST_ROOT]);

    expect((await shim(roots, ['kill', 'u1', 'KILL'])).exitCode).toBe(0);
    await waitForStopped('u1');
    const deleted = await shim(roots, ['delete', 'u1']);
    expect(deleted.exitCode, deleted.stderr).toBe(0);
  });

  it('mounts /proc, /dev (host nodes bound), /sys, devpts, mqueue and the cgroup hierarchies under the mapping', async () => {
    const dir = await podmanStyleBundle(['sh', '-c', [
      'echo $$',
      'head -c 4 /dev/zero | wc -c',
      'echo ok > /dev/null && echo null-ok',
      'grep -c . /proc/self/mountinfo >/dev/null && echo proc-ok',
      'ls /sys/kernel >/dev/null && echo sys-ok',
      'ls -d /sys/fs/cgroup/memory >/dev/null && echo cgroup-ok',
      'stat -c %u /dev/pts/ptmx',
    ].join('; ')], (config) => {
      config.linux.namespaces.push({ type: 'cgroup' });
    });
    const result = await shim(roots, ['run', '--bundle', dir, 'u2']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual(['1', '4', 'null-ok', 'proc-ok', 'sys-ok', 'cgroup-ok', '0']);
  });

  it('binds the host\'s /sys when there is no new network namespace (sysfs would be refused), read-only', async () => {
    const dir = await podmanStyleBundle(['sh', '-c', 'ls /sys/kernel >/dev/null && echo sys-ok; touch /sys/x 2>/dev/null || echo read-only'], (config) => {
      config.linux.namespaces = config.linux.namespaces.filter((ns: any) => ns.type !== 'network');
    });
    const result = await shim(roots, ['run', '--bundle', dir, 'u3']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual(['sys-ok', 'read-only']);
    expect(result.stderr).toContain('the host\'s /sys is bound there instead');
  });
});

describe('a user namespace joined by path', () => {
  it('joins another container\'s user namespace with a pid namespace of its own, whose /proc it can mount', async () => {
    const first = await podmanStyleBundle(['sleep', '1000']);
    expect((await shimToFiles(['run', '-d', '--bundle', first, 'owner'])).exitCode).toBe(0);
    const ownerPid = await initPid('owner');
    const second = await podmanStyleBundle(['sh', '-c', 'readlink /proc/self/ns/user; cat /proc/self/uid_map; echo $$; id -u'], (config) => {
      delete config.linux.uidMappings;
      delete config.linux.gidMappings;
      config.linux.namespaces = config.linux.namespaces.map((ns: any) =>
        ns.type === 'user' ? { type: 'user', path: `/proc/${ownerPid}/ns/user` } : ns,
      );
    });
    const joined = await shim(roots, ['run', '--bundle', second, 'joiner']);
    expect(joined.exitCode, joined.stderr).toBe(0);
    const [userNs, uidMap, pid, uid] = joined.stdout.trim().split('\n');
    expect(userNs).toBe(await readlink(`/proc/${ownerPid}/ns/user`));
    expect(mapLines(uidMap!)).toEqual(['0 100000 65536']);
    expect(pid).toBe('1');
    expect(uid).toBe('0');
  });

  it('fails with one line and leaves nothing when the path is not a user namespace', async () => {
    const dir = await podmanStyleBundle(['true'], (config) => {
      delete config.linux.uidMappings;
      delete config.linux.gidMappings;
      config.linux.namespaces = config.linux.namespaces.map((ns: any) => (ns.type === 'user' ? { type: 'user', path: '/proc/self/ns/net' } : ns));
    });
    const result = await shimToFiles(['create', '--bundle', dir, 'badpath']);
    expect(result.exitCode).not.toBe(0);
    const lines = errorLines(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^shim: create badpath: .*join user namespace.*\(EINVAL\)/);
  });
});

describe('mappings the kernel would refuse', () => {
  it('refuses overlapping ranges in one line before anything is made', async () => {
    const dir = await podmanStyleBundle(['true'], (config) => {
      config.linux.uidMappings = [
        { containerID: 0, hostID: 100000, size: 1000 },
        { containerID: 500, hostID: 200000, size: 1000 },
      ];
    });
    const result = await shimToFiles(['create', '--bundle', dir, 'overlap']);
    expect(result.exitCode).toBe(1);
    expect(errorLines(result.stderr)).toEqual([
      'shim: create overlap: config.json: linux.uidMappings[1] and [0] overlap in container ids (500:200000:1000 and 0:100000:1000)',
    ]);
  });

  it('refuses a user the mappings leave out, and maps without a user namespace', async () => {
    const unmapped = await podmanStyleBundle(['true'], (config) => {
      config.process.user.uid = 70000;
    });
    const first = await shimToFiles(['create', '--bundle', unmapped, 'unmapped']);
    expect(first.exitCode).toBe(1);
    expect(errorLines(first.stderr)).toEqual(['shim: create unmapped: config.json: process.user.uid 70000 is not mapped by linux.uidMappings']);

    const noUserns = await podmanStyleBundle(['true'], (config) => {
      config.linux.namespaces = config.linux.namespaces.filter((ns: any) => ns.type !== 'user');
    });
    const second = await shimToFiles(['create', '--bundle', noUserns, 'nouserns']);
    expect(second.exitCode).toBe(1);
    expect(errorLines(second.stderr)[0]).toContain('linux.namespaces has no user namespace');
  });

  it('reports a failure inside the new namespace (no gid 0 to become root with), killing the init and leaving nothing', async () => {
    // Every map the kernel would refuse is refused by the planner first (above), so the helper's own failure
    // path is driven by a map the planner allows (the process runs as gid 5) but the init cannot use: it
    // becomes the namespace's root before anything else, and gid 0 is left out.
    const dir = await podmanStyleBundle(['true'], (config) => {
      config.process.user = { uid: 0, gid: 5 };
      config.linux.gidMappings = [{ containerID: 5, hostID: 100005, size: 1 }];
    });
    const result = await shimToFiles(['create', '--bundle', dir, 'nogid0']);
    expect(result.exitCode).not.toBe(0);
    const lines = errorLines(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^shim: create nogid0: become the user namespace's root: setresgid 0 .*\(EINVAL\)/);
  });
});

describe('idmapped mounts', () => {
  it('maps a bind mount with the container\'s maps (idmap) and with its own (uidMappings)', async () => {
    const shared = join(roots.base, 'shared');
    await mkdir(shared);
    await writeFile(join(shared, 'owned-by-1000'), 'x');
    await execa('chown', ['1000:1000', join(shared, 'owned-by-1000')]);
    const dir = await podmanStyleBundle(['sh', '-c', 'stat -c %u /same/owned-by-1000; stat -c %u /own/owned-by-1000; echo w > /same/from-root; stat -c %u /same/from-root'], (config) => {
      config.mounts.push({ destination: '/same', type: 'bind', source: shared, options: ['rbind', 'idmap'] });
      config.mounts.push({
        destination: '/own', type: 'bind', source: shared, options: ['rbind', 'ro'],
        uidMappings: [{ containerID: 1000, hostID: HOST_ROOT, size: 1 }],
        gidMappings: [{ containerID: 1000, hostID: HOST_ROOT, size: 1 }],
      });
    });
    const result = await shim(roots, ['run', '--bundle', dir, 'idm']);
    expect(result.exitCode, result.stderr).toBe(0);
    // /same: on-disk ids are the container's ids. /own: on-disk 1000 is host 100000, the container's root.
    expect(result.stdout.trim().split('\n')).toEqual(['1000', '0', '0']);
    // What the container's root wrote through the idmapped mount is owned by uid 0 on disk, not 100000.
    expect((await stat(join(shared, 'from-root'))).uid).toBe(0);
  });

  it('refuses an idmapped mount that is not a bind mount, in one line', async () => {
    const dir = await podmanStyleBundle(['true'], (config) => {
      config.mounts.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] });
    });
    const result = await shimToFiles(['create', '--bundle', dir, 'idmtmp']);
    expect(result.exitCode).toBe(1);
    expect(errorLines(result.stderr)).toEqual(['shim: create idmtmp: config.json: mounts[7] (/t): only a bind mount can be idmapped']);
  });
});

describe('docker-style run --uidmap', () => {
  it('runs the built-in busybox as the mapped root over idmapped layers; its writes land as the host\'s root', async () => {
    const result = await shim(roots, [
      'run', '--name', 'dk', '--uidmap', '0:100000:65536', 'busybox', 'sh', '-c',
      'cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u:%g /bin/busybox /etc/hostname; echo x > /new; mkdir /owned5; chown 5:5 /owned5; rm /bin/ls',
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/).join(' '))).toEqual([
      '0 100000 65536', '0 100000 65536', '0', '0:0', '0:0',
    ]);
    // The upper layer keeps the ids as they are in the container (0, 5), the way a run without --uidmap writes
    // them: commit and the image store see no shifted ids. The removed file is a whiteout.
    const upper = join(roots.dataRoot, 'containers', 'dk', 'upper');
    expect((await stat(join(upper, 'new'))).uid).toBe(0);
    expect([(await stat(join(upper, 'owned5'))).uid, (await stat(join(upper, 'owned5'))).gid]).toEqual([5, 5]);
    expect((await lstat(join(upper, 'bin/ls'))).isCharacterDevice()).toBe(true);
    expect((await shim(roots, ['rm', 'dk'])).exitCode).toBe(0);
  });

  it('--userns host shares the host\'s, and refuses what it cannot take', async () => {
    const host = await shim(roots, ['run', '--rm', '--userns', 'host', 'busybox', 'cat', '/proc/self/uid_map']);
    expect(host.exitCode, host.stderr).toBe(0);
    expect(mapLines(host.stdout)).toEqual(['0 0 4294967295']);
    const both = await shim(roots, ['run', '--rm', '--userns', 'host', '--uidmap', '0:100000:65536', 'busybox', 'true']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('--userns host cannot go with --uidmap/--gidmap');
    const bad = await shim(roots, ['run', '--rm', '--uidmap', '0:100000', 'busybox', 'true']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--uidmap 0:100000: expected CONTAINER_ID:HOST_ID:SIZE');
  });
});

async function waitForStopped(id: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const result = await shim(roots, ['state', id]);
    if (result.exitCode === 0 && JSON.parse(result.stdout).status === 'stopped') return;
    if (Date.now() > deadline) throw new Error(`${id} did not stop`);
    await new Promise((done) => setTimeout(done, 20));
  }
}
