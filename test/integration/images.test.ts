// Images, layers, volumes and commit against real containers, through the real CLI. Archives are made by the
// test with GNU tar (test/support/oci.ts). Every test removes the containers it kept and must leave nothing.

import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeDockerArchive, makeOciArchive, tarLayer } from '../support/oci.js';
import { makeBusyboxRootfs, makeRoots, settledLeaks, shim, type Roots } from '../support/shim.js';

let roots: Roots;
const extraRoots: Roots[] = [];

beforeEach(async () => {
  roots = await makeRoots();
});

afterEach(async () => {
  try {
    // Containers kept (run without --rm) are removed, as a user would with shim rm.
    for (const r of [roots, ...extraRoots]) {
      for (const id of await readdir(r.root).catch(() => [] as string[])) await shim(r, ['rm', id]);
      expect(await settledLeaks(r)).toEqual([]);
    }
  } finally {
    for (const r of [roots, ...extraRoots.splice(0)]) await r.dispose();
  }
});

/** A busybox base layer plus whatever `extra` writes into a second layer dir. */
async function baseLayer(): Promise<string> {
  const dir = join(roots.base, 'layer-base');
  await makeBusyboxRootfs(dir);
  await mkdir(join(dir, 'srv/lower'), { recursive: true });
  await writeFile(join(dir, 'srv/lower/a'), 'lower a\n');
  await writeFile(join(dir, 'etc/motd'), 'from the base layer\n');
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'data/seed'), 'seeded by the image\n');
  return dir;
}

async function importImage(r: Roots, archive: string, name?: string) {
  const result = await shim(r, ['image', 'import', archive, ...(name ? [name] : [])]);
  expect(result).toMatchObject({ exitCode: 0, stderr: '' });
  return result;
}

describe('shim image import and run', () => {
  it('imports an OCI archive made from a rootfs and runs its default command', async () => {
    const top = join(roots.base, 'layer-top');
    await mkdir(join(top, 'app'), { recursive: true });
    await writeFile(join(top, 'app/hello.sh'), '#!/bin/sh\necho "hello from $GREETING in $(pwd) as $(id -u)"\n', { mode: 0o755 });
    const archive = await makeOciArchive(roots.base, [{ dir: await baseLayer() }, { dir: top, gzip: true }], {
      Cmd: ['/app/hello.sh'],
      Env: ['GREETING=the image'],
      WorkingDir: '/srv',
      User: 'nobody',
    });
    const imported = await importImage(roots, archive, 'hello:1');
    expect(imported.stdout).toMatch(/^hello:1 sha256:[0-9a-f]{64}\n$/);
    expect(await shim(roots, ['run', '--rm', 'hello:1'])).toMatchObject({ exitCode: 0, stdout: 'hello from the image in /srv as 65534\n' });
    // CMD args replace Cmd; -w and -e override the config.
    expect(await shim(roots, ['run', '--rm', '-w', '/', '-e', 'GREETING=x', 'hello:1', 'sh', '-c', 'echo $GREETING $(pwd)'])).toMatchObject({ stdout: 'x /\n' });
    // --entrypoint replaces Entrypoint and drops the image's Cmd.
    expect(await shim(roots, ['run', '--rm', '--entrypoint', 'echo', 'hello:1', 'a', 'b'])).toMatchObject({ stdout: 'a b\n' });
    const ls = await shim(roots, ['image', 'ls']);
    expect(ls.stdout).toMatch(/^hello +1 +[0-9a-f]{12} +2 /m);
    const inspect = JSON.parse((await shim(roots, ['image', 'inspect', 'hello:1'])).stdout);
    expect(inspect.Config.Cmd).toEqual(['/app/hello.sh']);
    expect(inspect.RootFS.Layers).toHaveLength(2);
  });

  it('imports a docker-archive; its VOLUME becomes an anonymous volume that goes with --rm', async () => {
    const archive = await makeDockerArchive(roots.base, [await baseLayer()], {
      Cmd: ['sh', '-c', 'cat /etc/motd; grep -c " /cache " /proc/self/mountinfo'],
      Volumes: { '/cache': {} },
    }, 'dock:latest');
    await importImage(roots, archive);
    expect(await shim(roots, ['run', '--rm', 'dock'])).toMatchObject({ exitCode: 0, stdout: 'from the base layer\n1\n' });
    expect((await shim(roots, ['volume', 'ls', '-q'])).stdout).toBe('');
  });

  it('refuses a corrupt layer and keeps nothing of it', async () => {
    const archive = await makeOciArchive(roots.base, [{ dir: await baseLayer() }], { Cmd: ['sh'] }, { refName: '3.1' });
    // Without a name, a tag-only ref.name (skopeo's oci-archive:FILE:TAG) names the image after the file.
    expect((await importImage(roots, archive)).stdout).toMatch(/^image:3\.1 sha256:/);
    expect((await shim(roots, ['image', 'rm', 'image:3.1'])).exitCode).toBe(0);
    // Flip one byte inside the layer blob (the largest file in the archive).
    const work = join(roots.base, 'corrupt');
    await mkdir(work);
    await execa('tar', ['-C', work, '-xf', archive]);
    const blobs = join(work, 'blobs/sha256');
    let largest = '';
    let size = 0;
    for (const name of await readdir(blobs)) {
      const s = (await stat(join(blobs, name))).size;
      if (s > size) [largest, size] = [name, s];
    }
    const data = await readFile(join(blobs, largest));
    data[size - 2000] = data[size - 2000]! ^ 0xff;
    await writeFile(join(blobs, largest), data);
    await execa('tar', ['-C', work, '-cf', archive, '.']);
    const result = await shim(roots, ['image', 'import', archive, 'bad:1']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^shim: image: layer sha256:[0-9a-f]{12}: (digest|diff_id) mismatch.*\(the archive is corrupt\)\n$/);
    expect(await readdir(join(roots.dataRoot, 'images/layers/sha256')).catch(() => [])).toEqual([]);
    expect(await readdir(join(roots.dataRoot, 'images/tmp')).catch(() => [])).toEqual([]);
    expect((await shim(roots, ['image', 'ls', '-q'])).stdout).toBe('');
  });

  it('refuses an archive whose manifest names a layer blob that is not there, with one line and no residue', async () => {
    const archive = await makeOciArchive(roots.base, [{ dir: await baseLayer() }], { Cmd: ['sh'] });
    const work = join(roots.base, 'missing-blob');
    await mkdir(work);
    await execa('tar', ['-C', work, '-xf', archive]);
    const index = JSON.parse(await readFile(join(work, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(await readFile(join(work, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as {
      layers: { digest: string }[];
    };
    const layer = manifest.layers[0]!.digest;
    await rm(join(work, 'blobs/sha256', layer.slice(7)));
    await execa('tar', ['-C', work, '-cf', archive, '.']);
    const result = await shim(roots, ['image', 'import', archive, 'missing:1']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(`shim: image: archive: layer ${layer} is listed, but the archive does not hold it (the archive is incomplete)\n`);
    expect(await readdir(join(roots.dataRoot, 'images/tmp')).catch(() => [])).toEqual([]);
    expect((await shim(roots, ['image', 'ls', '-q'])).stdout).toBe('');
  });

  it('refuses a corrupt gzip layer without a crash or a trace', async () => {
    const archive = await makeOciArchive(roots.base, [{ dir: await baseLayer(), gzip: true }], { Cmd: ['sh'] });
    const work = join(roots.base, 'corrupt');
    await mkdir(work);
    await execa('tar', ['-C', work, '-xf', archive]);
    const blobs = join(work, 'blobs/sha256');
    for (const name of await readdir(blobs)) {
      const data = await readFile(join(blobs, name));
      if (data[0] !== 0x1f || data[1] !== 0x8b) continue;
      for (let i = 0; i < 64; i++) data[(data.length >> 1) + i] = data[(data.length >> 1) + i]! ^ 0x5a;
      await writeFile(join(blobs, name), data);
    }
    await execa('tar', ['-C', work, '-cf', archive, '.']);
    const result = await shim(roots, ['image', 'import', archive, 'bad:1']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^shim: image: layer sha256:[0-9a-f]{12}: (not a valid gzip stream|digest mismatch.*) \(the archive is corrupt\)\n$/);
    expect(await readdir(join(roots.dataRoot, 'images/tmp')).catch(() => [])).toEqual([]);
  });

  it('shares the layer directories between containers, which see each other\'s writes only through a shared volume', async () => {
    await importImage(roots, await makeOciArchive(roots.base, [{ dir: await baseLayer() }], { Cmd: ['sh'] }), 'base:1');
    const layerDir = JSON.parse((await shim(roots, ['image', 'inspect', 'base:1'])).stdout).LayerDirs[0];
    const hostInode = (await stat(join(layerDir, 'bin/busybox'))).ino;
    const first = await shim(roots, ['run', '--name', 'c1', '-v', 'shared:/shared', 'base:1', 'sh', '-c',
      'stat -c %i /bin/busybox; echo one > /private-c1; echo one > /shared/from-c1']);
    const second = await shim(roots, ['run', '--name', 'c2', '-v', 'shared:/shared', 'base:1', 'sh', '-c',
      'stat -c %i /bin/busybox; ls /private-c1 2>&1; cat /shared/from-c1']);
    expect(first).toMatchObject({ exitCode: 0, stdout: `${hostInode}\n` });
    expect(second.stdout).toBe(`${hostInode}\nls: /private-c1: No such file or directory\none\n`);
    // The volume is in use while the containers exist.
    const refused = await shim(roots, ['volume', 'rm', 'shared']);
    expect(refused).toMatchObject({ exitCode: 1 });
    expect(refused.stderr).toContain('in use by container c1, c2');
    const imageRefused = await shim(roots, ['image', 'rm', 'base:1']);
    expect(imageRefused.stderr).toContain('in use by container c1, c2');
    expect((await shim(roots, ['rm', 'c1', 'c2'])).exitCode).toBe(0);
    expect((await shim(roots, ['volume', 'rm', 'shared'])).exitCode).toBe(0);
    expect((await shim(roots, ['image', 'rm', 'base:1'])).exitCode).toBe(0);
    expect(existsSync(layerDir)).toBe(false);
  });

  it('hides a lower file behind a whiteout and a lower directory\'s content behind an opaque directory', async () => {
    const top = join(roots.base, 'layer-top');
    await mkdir(join(top, 'etc'), { recursive: true });
    await writeFile(join(top, 'etc/.wh.motd'), '');
    await mkdir(join(top, 'srv/lower'), { recursive: true });
    await writeFile(join(top, 'srv/lower/.wh..wh..opq'), '');
    await writeFile(join(top, 'srv/lower/b'), 'upper b\n');
    await importImage(roots, await makeOciArchive(roots.base, [{ dir: await baseLayer() }, { dir: top }], { Cmd: ['sh'] }), 'wh:1');
    const result = await shim(roots, ['run', '--rm', 'wh:1', 'sh', '-c', 'ls /etc/motd 2>&1; ls /srv/lower']);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'ls: /etc/motd: No such file or directory\nb\n' });
    // In the layer directory itself: overlay's own encodings, a char device 0/0 and the opaque xattr.
    const layers = JSON.parse((await shim(roots, ['image', 'inspect', 'wh:1'])).stdout).LayerDirs;
    const whiteout = await stat(join(layers[1], 'etc/motd'));
    expect(whiteout.isCharacterDevice() && whiteout.rdev === 0).toBe(true);
    const xattr = await execa('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', join(layers[1], 'srv/lower')]);
    expect(xattr.stdout).toBe('y');
  });

  it('keeps owners, modes, symlinks, hardlinks, device nodes, FIFOs and xattrs of a layer', async () => {
    const top = join(roots.base, 'layer-top');
    await mkdir(join(top, 'meta'), { recursive: true });
    await writeFile(join(top, 'meta/owned'), 'x\n');
    await execa('chown', ['1234:5678', join(top, 'meta/owned')]);
    await writeFile(join(top, 'meta/setuid'), 'x\n');
    await execa('chmod', ['4755', join(top, 'meta/setuid')]);
    await execa('ln', [join(top, 'meta/owned'), join(top, 'meta/hardlink')]);
    await symlink('/etc/motd', join(top, 'meta/abs-link'));
    await execa('mknod', [join(top, 'meta/null'), 'c', '1', '3']);
    await execa('mkfifo', [join(top, 'meta/fifo')]);
    await execa('setfattr', ['-n', 'user.note', '-v', 'kept', join(top, 'meta/owned')]);
    await importImage(roots, await makeOciArchive(roots.base, [{ dir: await baseLayer() }, { dir: top }], { Cmd: ['sh'] }), 'meta:1');
    const layers = JSON.parse((await shim(roots, ['image', 'inspect', 'meta:1'])).stdout).LayerDirs;
    const meta = join(layers[1], 'meta');
    const owned = await stat(join(meta, 'owned'));
    expect([owned.uid, owned.gid, owned.nlink]).toEqual([1234, 5678, 2]);
    expect((await stat(join(meta, 'hardlink'))).ino).toBe(owned.ino);
    expect((await stat(join(meta, 'setuid'))).mode & 0o7777).toBe(0o4755);
    const device = await stat(join(meta, 'null'));
    expect(device.isCharacterDevice() && device.rdev === (1 << 8 | 3)).toBe(true);
    expect((await stat(join(meta, 'fifo'))).isFIFO()).toBe(true);
    expect((await execa('getfattr', ['--only-values', '-n', 'user.note', join(meta, 'owned')])).stdout).toBe('kept');
    const run = await shim(roots, ['run', '--rm', 'meta:1', 'sh', '-c', 'cat /meta/abs-link; stat -c "%u:%g %a" /meta/owned /meta/setuid']);
    expect(run.stdout).toBe('from the base layer\n1234:5678 644\n0:0 4755\n');
  });

  it('refuses a layer entry that climbs out with ../ or through a symlink, and writes nothing outside', async () => {
    const sentinel = join(roots.base, 'outside');
    await mkdir(sentinel);
    // ../../../etc/passwd-style name.
    const climb = join(roots.base, 'climb');
    await mkdir(join(climb, 'etc'), { recursive: true });
    await writeFile(join(climb, 'etc/passwd'), 'pwned\n');
    const climbTar = join(roots.base, 'climb.tar');
    await execa('tar', ['-C', climb, '-P', '--transform', 's,^etc,../../etc,', '-cf', climbTar, 'etc/passwd']);
    const first = await shim(roots, ['image', 'import', await makeOciArchive(join(roots.base, 'a'), [{ tar: climbTar }], { Cmd: ['sh'] })]);
    expect(first.exitCode).toBe(1);
    expect(first.stderr).toMatch(/^shim: image: layer sha256:[0-9a-f]{12}: entry \.\.\/\.\.\/etc\/passwd escapes the layer directory/);
    expect(await readFile('/etc/passwd', 'utf8')).not.toContain('pwned');

    // An absolute symlink, then an entry through it.
    const linkDir = join(roots.base, 'links');
    await mkdir(linkDir);
    await symlink(sentinel, join(linkDir, 'evil'));
    const through = join(roots.base, 'through');
    await mkdir(join(through, 'evil'), { recursive: true });
    await writeFile(join(through, 'evil/pwned'), 'pwned\n');
    const linkTar = await tarLayer(linkDir, join(roots.base, 'link.tar'));
    await execa('tar', ['-C', through, '-rf', linkTar, './evil/pwned']);
    const second = await shim(roots, ['image', 'import', await makeOciArchive(join(roots.base, 'b'), [{ tar: linkTar }], { Cmd: ['sh'] })]);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toContain(`entry ./evil/pwned goes through the symlink evil -> ${sentinel}`);
    expect(await readdir(sentinel)).toEqual([]);
    expect(await readdir(join(roots.dataRoot, 'images/layers/sha256')).catch(() => [])).toEqual([]);
  });
});

describe('shim image export', () => {
  it('exports the built-in busybox image before anything has used it (podman load, ctr import)', async () => {
    const archive = join(roots.base, 'busybox.oci.tar');
    expect(await shim(roots, ['image', 'export', 'busybox', archive])).toMatchObject({ exitCode: 0, stderr: '' });
    const { stdout } = await execa('tar', ['-xOf', archive, 'index.json']);
    expect(JSON.parse(stdout).manifests[0].annotations['io.containerd.image.name']).toMatch(/busybox/);
  });
});

describe('volumes', () => {
  it('keeps a named volume\'s data across containers, seeded from the image, and shows its host path', async () => {
    await importImage(roots, await makeOciArchive(roots.base, [{ dir: await baseLayer() }], { Cmd: ['sh'] }), 'base:1');
    const write = await shim(roots, ['run', '--rm', '-v', 'data:/data', 'base:1', 'sh', '-c', 'cat /data/seed; echo kept > /data/mine']);
    expect(write).toMatchObject({ exitCode: 0, stdout: 'seeded by the image\n' });
    expect(await shim(roots, ['run', '--rm', '-v', 'data:/data', 'base:1', 'cat', '/data/mine'])).toMatchObject({ stdout: 'kept\n' });
    const [info] = JSON.parse((await shim(roots, ['volume', 'inspect', 'data'])).stdout);
    expect(info).toMatchObject({ Name: 'data', Mountpoint: join(roots.dataRoot, 'volumes/data/_data') });
    expect(await readFile(join(info.Mountpoint, 'mine'), 'utf8')).toBe('kept\n');
    expect((await shim(roots, ['volume', 'ls', '-q'])).stdout).toBe('data\n');
    expect((await shim(roots, ['volume', 'rm', 'data'])).exitCode).toBe(0);
    expect((await shim(roots, ['volume', 'ls', '-q'])).stdout).toBe('');
  });

  it('makes an anonymous volume that goes away with --rm, and binds a host path', async () => {
    const host = join(roots.base, 'host');
    await mkdir(host);
    const result = await shim(roots, ['run', '--rm', '-v', '/scratch', '-v', `${host}:/host:rw,rprivate`, 'busybox', 'sh', '-c',
      'echo a > /scratch/a; echo h > /host/h; grep -c " /scratch " /proc/self/mountinfo']);
    expect(result).toMatchObject({ exitCode: 0, stdout: '1\n' });
    expect(await readFile(join(host, 'h'), 'utf8')).toBe('h\n');
    expect((await shim(roots, ['volume', 'ls', '-q'])).stdout).toBe('');
    expect((await shim(roots, ['volume', 'create', 'made'])).stdout).toBe('made\n');
    expect((await shim(roots, ['volume', 'prune'])).stdout).toBe('made\n');
  });
});

describe('shim commit', () => {
  it('round trip: new file in, deleted file out, volume mount point empty, hostname the new container\'s; export re-imports', async () => {
    await importImage(roots, await makeOciArchive(roots.base, [{ dir: await baseLayer() }], { Cmd: ['sh'] }), 'base:1');
    const run = await shim(roots, ['run', '--name', 'c1', '-v', 'vol:/vol', 'base:1', 'sh', '-c',
      'echo new > /new-file; rm /etc/motd; echo secret > /vol/in-volume; rm -r /srv/lower; mkdir /srv/lower; echo c > /srv/lower/c']);
    expect(run.exitCode).toBe(0);
    const diff = await shim(roots, ['diff', 'c1']);
    expect(diff.stdout.split('\n')).toEqual(expect.arrayContaining(['A /new-file', 'D /etc/motd', 'C /etc', 'A /vol']));
    const commit = await shim(roots, ['commit', '--change', 'CMD ["cat","/new-file"]', '--change', 'ENV COMMITTED=yes', 'c1', 'committed:1']);
    expect(commit).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^sha256:[0-9a-f]{64}\n$/) });
    expect(await shim(roots, ['run', '--rm', 'committed:1'])).toMatchObject({ exitCode: 0, stdout: 'new\n' });
    const check = 'ls /etc/motd 2>&1; ls -A /vol | wc -l; ls /srv/lower; echo $COMMITTED; cat /etc/hostname';
    const after = await shim(roots, ['run', '--rm', '--hostname', 'fresh', 'committed:1', 'sh', '-c', check]);
    expect(after).toMatchObject({ exitCode: 0, stdout: 'ls: /etc/motd: No such file or directory\n0\nc\nyes\nfresh\n' });

    // Into a fresh data root through an OCI archive.
    const archive = join(roots.base, 'committed.tar');
    expect((await shim(roots, ['image', 'export', 'committed:1', archive])).exitCode).toBe(0);
    const other = await makeRoots();
    extraRoots.push(other);
    await importImage(other, archive);
    expect(await shim(other, ['run', '--rm', 'committed:1'])).toMatchObject({ exitCode: 0, stdout: 'new\n' });
    expect(await shim(other, ['run', '--rm', 'committed:1', 'sh', '-c', 'ls /etc/motd 2>&1; ls /srv/lower'])).toMatchObject({
      stdout: 'ls: /etc/motd: No such file or directory\nc\n',
    });
    await rm(archive);
  });
});

describe('shim commit of a running container', () => {
  it('freezes it while committing (--pause, the default), then lets it run on', async () => {
    const { execa: run } = await import('execa');
    const sync = join(roots.base, 'sync');
    await mkdir(sync);
    const { shimBin } = await import('../support/shim.js');
    const live = run(shimBin, ['--root', roots.root, '--data-root', roots.dataRoot, 'run', '--name', 'live', '-v', `${sync}:/sync`, 'busybox', 'sh', '-c',
      'echo live > /live; touch /sync/ready; while [ ! -e /sync/go ]; do sleep 0.05; done; echo done'], { reject: false, env: roots.env, stdin: 'ignore', timeout: 60_000 });
    try {
      for (let tries = 0; !existsSync(join(sync, 'ready')); tries++) {
        if (tries > 300) throw new Error('the container never got ready');
        await new Promise((done) => setTimeout(done, 20));
      }
      const commit = await shim(roots, ['commit', 'live', 'live:1']);
      expect(commit.exitCode).toBe(0);
      const state = JSON.parse(await readFile(join(roots.root, 'live', 'state.json'), 'utf8'));
      const freezer = state.cgroupDirs.find((dir: string) => dir.includes('/freezer/'));
      if (freezer) expect((await readFile(join(freezer, 'freezer.state'), 'utf8')).trim()).toBe('THAWED');
      await writeFile(join(sync, 'go'), '');
      expect(await live).toMatchObject({ exitCode: 0, stdout: 'done' });
    } finally {
      await writeFile(join(sync, 'go'), '').catch(() => {});
      await live;
    }
    expect(await shim(roots, ['run', '--rm', 'live:1', 'cat', '/live'])).toMatchObject({ exitCode: 0, stdout: 'live\n' });
    // The bind mount point is in the image, empty; the host directory's files are not.
    expect(await shim(roots, ['run', '--rm', 'live:1', 'ls', '-A', '/sync'])).toMatchObject({ stdout: '' });
  });
});
