// The orchestrator's path for seccomp: podman writes its default profile into every config.json and runs shim
// as its OCI runtime. The image comes from shim's own built-in busybox through `shim image export` and
// `podman load`: no registry. podman gets private storage, run root and tmpdir under this test's root, and a
// cgroup parent of the test's own, so nothing it makes is shared with another suite.

import { execa } from 'execa';
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRoots, settledLeaks, shim, shimBin, type Roots } from '../support/shim.js';

let roots: Roots;
let podmanArgs: string[];

async function podman(args: string[]) {
  const result = await execa('podman', [...podmanArgs, ...args], { reject: false, env: roots.env, input: '' });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

const RUN = ['--runtime', shimBin, 'run', '--rm', '--net', 'none', '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=1024:1024'];

beforeAll(async () => {
  roots = await makeRoots();
  podmanArgs = [
    '--root', join(roots.base, 'podman/storage'),
    '--runroot', join(roots.base, 'podman/runroot'),
    '--tmpdir', join(roots.base, 'podman/tmp'),
    '--storage-driver', 'overlay',
    '--cgroup-manager', 'cgroupfs',
    '--events-backend', 'none',
  ];
  // The built-in busybox image is made in the store on first use.
  expect((await shim(roots, ['run', '--rm', 'busybox', 'true'])).exitCode).toBe(0);
  const archive = join(roots.base, 'busybox.tar');
  const exported = await shim(roots, ['image', 'export', 'busybox', archive]);
  expect(exported.exitCode).toBe(0);
  const loaded = await podman(['load', '-i', archive]);
  expect(loaded.stderr + loaded.stdout).toContain('localhost/busybox');
}, 120_000);

afterAll(async () => {
  try {
    await podman(['rm', '--all', '--force']);
    await podman(['rmi', '--all', '--force']);
    // podman puts conmon in a cgroup of its own under the parent it was given; it is podman's to make and ours
    // to remove, as podman never does.
    for (const hierarchy of await readdir('/sys/fs/cgroup')) {
      await rmdir(join('/sys/fs/cgroup', hierarchy, roots.cgroupParent, 'conmon')).catch(() => {});
    }
    expect(await settledLeaks(roots)).toEqual([]);
  } finally {
    await roots.dispose();
  }
}, 120_000);

describe('podman --runtime shim', () => {
  it('runs with podman\'s default profile: Seccomp: 2', async () => {
    const result = await podman([...RUN, '--cgroup-parent', `/${roots.cgroupParent}`, 'localhost/busybox', 'grep', 'Seccomp:', '/proc/self/status']);
    expect({ exitCode: result.exitCode, stdout: result.stdout }).toEqual({ exitCode: 0, stdout: 'Seccomp:\t2' });
  });

  it('--security-opt seccomp=unconfined: Seccomp: 0', async () => {
    const result = await podman([...RUN, '--cgroup-parent', `/${roots.cgroupParent}`, '--security-opt', 'seccomp=unconfined', 'localhost/busybox', 'grep', 'Seccomp:', '/proc/self/status']);
    expect({ exitCode: result.exitCode, stdout: result.stdout }).toEqual({ exitCode: 0, stdout: 'Seccomp:\t0' });
  });
});
