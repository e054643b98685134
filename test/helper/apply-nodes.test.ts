// ACTION_APPLY_NODES straight to the helper: nodes made inside a layer directory, a symlink in the layer
// followed inside it (never to the host), and the spec checks.

import { lstat, mkdir, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeRoots, type Roots } from '../support/shim.js';
import { errorFrame, runHelper, specFrame, v1 } from './run-helper.js';

const K = v1.FsNodeKind;
let roots: Roots;
let layer: string;

beforeEach(async () => {
  roots = await makeRoots();
  layer = join(roots.base, 'layer');
  await mkdir(join(layer, 'dir'), { recursive: true });
});

afterEach(async () => {
  await roots.dispose();
});

const apply = (nodes: object[], layerDir = layer) =>
  runHelper(specFrame({ action: v1.Action.ACTION_APPLY_NODES, layerDir, nodes }));

describe('ACTION_APPLY_NODES', () => {
  it('makes whiteouts, devices and FIFOs with exact modes and owners, and sets xattrs; no frame on success', async () => {
    const result = await apply([
      { path: 'dir/gone', kind: K.FS_NODE_KIND_CHAR, mode: 0, major: 0, minor: 0 },
      { path: 'dir/null', kind: K.FS_NODE_KIND_CHAR, mode: 0o666, major: 1, minor: 3, uid: 7, gid: 8 },
      { path: 'fifo', kind: K.FS_NODE_KIND_FIFO, mode: 0o640 },
      { path: 'dir', kind: K.FS_NODE_KIND_EXISTING, xattrs: [{ name: 'trusted.overlay.opaque', value: Buffer.from('y') }] },
    ]);
    expect(result).toMatchObject({ exitCode: 0, frames: [] });
    const gone = await lstat(join(layer, 'dir/gone'));
    expect([gone.isCharacterDevice(), gone.rdev]).toEqual([true, 0]);
    const device = await lstat(join(layer, 'dir/null'));
    expect([device.mode & 0o7777, device.rdev, device.uid, device.gid]).toEqual([0o666, 259, 7, 8]);
    expect(((await lstat(join(layer, 'fifo'))).mode & 0o7777)).toBe(0o640);
    expect((await execa('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', join(layer, 'dir')])).stdout).toBe('y');
  });

  it('follows a symlink of the layer inside the layer, never to the host', async () => {
    const outside = join(roots.base, 'outside');
    await mkdir(outside);
    await symlink(outside, join(layer, 'escape'));
    const result = await apply([{ path: 'escape/node', kind: K.FS_NODE_KIND_FIFO, mode: 0o600 }]);
    // RESOLVE_IN_ROOT reads /…/outside as a path inside the layer, where it does not exist.
    expect(result.exitCode).toBe(125);
    expect(errorFrame(result).error).toMatchObject({ stage: v1.Stage.STAGE_APPLY_NODES, errnoValue: 2, path: 'escape/node' });
    expect(await readdir(outside)).toEqual([]);
  });

  it('refuses absolute node paths and a relative layer dir', async () => {
    const absolute = await apply([{ path: '/etc/x', kind: K.FS_NODE_KIND_FIFO }]);
    expect(errorFrame(absolute).error?.message).toBe('spec: nodes[0]: path must be relative');
    const relative = await apply([], 'layer');
    expect(errorFrame(relative).error?.message).toBe('spec: layer_dir must be an absolute path');
  });
});
