// A full disk: the data root (or the state root) on a small tmpfs mounted for the test, so that the runtime's
// own writes meet ENOSPC: an import whose archive, or whose layer, is bigger than the disk; a commit whose
// upper dir is too big to pack; a run whose state cannot be written. Each must fail with one line naming
// ENOSPC, and leave no partial image, layer, tmp/ entry, state dir, mount or cgroup.

import { execa } from 'execa';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeSnapshot } from '../support/faults.js';
import { makeRoots, settledLeaks, shim, type Roots } from '../support/shim.js';

let roots: Roots;
let mounted: string[];

beforeEach(async () => {
  roots = await makeRoots();
  mounted = [];
});

afterEach(async () => {
  for (const dir of mounted.reverse()) await execa('umount', ['-l', dir], { reject: false });
  await roots.dispose();
});

/** A tmpfs of `size` at roots.base/NAME (unmounted after the test). */
async function smallDisk(name: string, size: string): Promise<string> {
  const dir = join(roots.base, name);
  await mkdir(dir, { recursive: true });
  await execa('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  mounted.push(dir);
  return dir;
}

/** Leaks but for the test's own tmpfs mounts (the disks themselves). */
const ownMountsAside = (leaks: string[]) => leaks.filter((leak) => !mounted.some((dir) => leak === `mount ${dir}`));

/** The CLI with a data root (and state root) of the test's choosing. */
function shimOn(dataRoot: string, args: string[], root = roots.root) {
  return shim({ ...roots, root, dataRoot }, args);
}

/** The one line the user sees: exit 1 (125 for docker-style run, as docker), a single stderr line naming ENOSPC. */
function expectEnospc(result: { exitCode: number; stderr: string }): void {
  expect([1, 125], result.stderr).toContain(result.exitCode);
  const lines = result.stderr.split('\n').filter(Boolean);
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^shim: .*no space left on device \(ENOSPC\)/);
}

/** An archive of busybox plus one incompressible layer of `bytes`, made on the real disk. */
async function bigArchive(bytes: number): Promise<string> {
  const ok = async (args: string[]) => {
    const result = await shim(roots, args);
    if (result.exitCode !== 0) throw new Error(`shim ${args.join(' ')}: ${result.stderr}`);
  };
  await ok(['run', '--name', 'maker', 'busybox', 'sh', '-c', `head -c ${bytes} /dev/urandom > /big`]);
  await ok(['commit', 'maker', 'big:1']);
  await ok(['rm', 'maker']);
  const archive = join(roots.base, 'big.tar');
  await ok(['image', 'export', 'big:1', archive]);
  return archive;
}

describe('a full disk', () => {
  it('image import: an archive bigger than the disk, then a layer bigger than what is left', async () => {
    const archive = await bigArchive(6_000_000);
    for (const size of ['3m', '10m']) {
      const data = await smallDisk(`data-${size}`, size);
      const result = await shimOn(data, ['image', 'import', archive, 'big:1']);
      expectEnospc(result);
      expect({ size, store: await storeSnapshot(data) }).toEqual({ size, store: [] });
      expect((await shimOn(data, ['image', 'ls', '-q'])).stdout).toBe('');
    }
  }, 120_000);

  it('commit: an upper dir too big to pack leaves the store as it was', async () => {
    const data = await smallDisk('data', '14m');
    // The container fills the disk itself (its own ENOSPC is its business), then commit must write a layer.
    const filled = await shimOn(data, ['run', '--name', 'filler', 'busybox', 'sh', '-c', 'head -c 12000000 /dev/urandom > /big; ls -l /big']);
    expect(filled.stdout).toMatch(/big/);
    const store = await storeSnapshot(data);
    const result = await shimOn(data, ['commit', 'filler', 'full:1']);
    expectEnospc(result);
    expect(await storeSnapshot(data)).toEqual(store);
    expect((await shimOn(data, ['rm', 'filler'])).exitCode).toBe(0);
    expect(ownMountsAside(await settledLeaks({ ...roots, dataRoot: data }))).toEqual([]);
  }, 120_000);

  it('run: a state root with no room leaves no state, layer dir, mount or cgroup', async () => {
    // The image first, while there is room.
    expect((await shim(roots, ['run', '--rm', 'busybox', 'true'])).exitCode).toBe(0);
    const stateRoot = await smallDisk('state', '1m');
    await writeFile(join(stateRoot, 'filler'), Buffer.alloc(1024 * 1024)).catch(() => {});
    const result = await shimOn(roots.dataRoot, ['run', '--name', 'nospace', 'busybox', 'true'], stateRoot);
    expectEnospc(result);
    const leaks = await settledLeaks({ ...roots, root: stateRoot });
    expect(ownMountsAside(leaks).filter((leak) => !leak.endsWith('/filler'))).toEqual([]);
  }, 60_000);
});
