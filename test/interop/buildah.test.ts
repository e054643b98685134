// buildah 1.28 (Debian's) with dist/shim as the runtime of `buildah run` (what every Dockerfile RUN step is):
// from, run (output, exit status), commit, and the committed image's file read back through a second run.
// Private storage and run root; nothing left in shim's root, the cgroup parent or the mount table.

import { execa } from 'execa';
import { mkdtemp, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seccompGate } from '../support/features.js';
import { mountsUnder, processesOf, shimStatesNaming } from '../support/podman.js';
import { shimBin, testPrefix, waitFor } from '../support/shim.js';

let base: string;
let parent: string;
let fromFlags: string[];

async function buildah(args: string[]) {
  const result = await execa('buildah', [
    '--root', join(base, 'storage'), '--runroot', join(base, 'runroot'), '--storage-driver', 'overlay', '--cgroup-manager', 'cgroupfs', ...args,
  ], { reject: false, env: { CONTAINERS_CONF: join(base, 'containers.conf'), SHIM_TEST_TAG: base }, timeout: 120_000, stripFinalNewline: false });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

async function cgroupDirs(): Promise<string[]> {
  const found: string[] = [];
  for (const hierarchy of await readdir('/sys/fs/cgroup')) {
    const dir = join('/sys/fs/cgroup', hierarchy, parent);
    for (const child of await readdir(dir, { withFileTypes: true }).catch(() => [])) if (child.isDirectory()) found.push(join(dir, child.name));
  }
  return found;
}

beforeAll(async () => {
  base = await mkdtemp(`/tmp/${testPrefix}buildah-`);
  parent = base.split('/').pop()!;
  await writeFile(join(base, 'containers.conf'), '');
  const seccomp = await seccompGate();
  fromFlags = ['--pull-never', '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=1024:1024', '--cgroup-parent', `/${parent}`,
    ...(seccomp.ok ? [] : ['--security-opt', 'seccomp=unconfined'])];
  const archive = join(base, 'busybox.oci.tar');
  await execa(shimBin, ['--data-root', join(base, 'shim-data'), 'image', 'export', 'busybox', archive]);
  const pulled = await buildah(['pull', '-q', `oci-archive:${archive}`]);
  if (pulled.exitCode !== 0) throw new Error(`buildah pull: ${pulled.stderr}`);
}, 120_000);

afterAll(async () => {
  if (!base) return;
  await buildah(['rm', '-a']);
  await buildah(['rmi', '-a', '-f']);
  for (const mountPoint of (await mountsUnder(base)).reverse()) await execa('umount', ['-l', mountPoint], { reject: false });
  for (const hierarchy of await readdir('/sys/fs/cgroup')) await rmdir(join('/sys/fs/cgroup', hierarchy, parent)).catch(() => undefined);
  await rm(base, { recursive: true, force: true });
});

describe('buildah --runtime dist/shim', () => {
  it('from, run (output and exit status), commit; the committed file is in the new image', async () => {
    const from = await buildah(['from', ...fromFlags, '--name', 'w1', 'localhost/busybox']);
    expect(from.exitCode, from.stderr).toBe(0);
    const ran = await buildah(['run', '--runtime', shimBin, '--isolation', 'oci', '--network', 'none', 'w1', '--', 'sh', '-c', 'echo built-by-shim > /built; echo ran']);
    expect(ran).toMatchObject({ exitCode: 0, stdout: 'ran\n' });
    const failed = await buildah(['run', '--runtime', shimBin, '--isolation', 'oci', '--network', 'none', 'w1', '--', 'sh', '-c', 'exit 5']);
    expect(failed.exitCode).not.toBe(0);
    expect(failed.stderr).toMatch(/exit status 5/);
    expect((await buildah(['commit', '-q', 'w1', 'localhost/built:1'])).exitCode).toBe(0);

    expect((await buildah(['from', ...fromFlags, '--name', 'w2', 'localhost/built:1'])).exitCode).toBe(0);
    const read = await buildah(['run', '--runtime', shimBin, '--isolation', 'oci', '--network', 'none', 'w2', '--', 'cat', '/built']);
    expect(read).toMatchObject({ exitCode: 0, stdout: 'built-by-shim\n' });
    expect((await buildah(['rm', 'w1', 'w2'])).exitCode).toBe(0);

    const leaks = await waitFor('buildah to settle', async () => {
      const found = [
        ...(await shimStatesNaming(base)).map((id) => `shim state ${id}`),
        ...(await cgroupDirs()).map((dir) => `cgroup ${dir}`),
        ...(await processesOf(base, parent)).map((proc) => `process ${proc}`),
        // containers/storage keeps its overlay home mounted while the storage lives; afterAll ends it.
        ...(await mountsUnder(base)).filter((point) => point !== join(base, 'storage/overlay')).map((point) => `mount ${point}`),
      ];
      return found.length === 0 ? found : undefined;
    }, 5_000).catch(async () => [...(await shimStatesNaming(base)), ...(await cgroupDirs()), ...(await mountsUnder(base))]);
    expect(leaks).toEqual([]);
  });
});
