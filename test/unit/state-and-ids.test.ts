// Container ids, the pid start time parse, and the state store's atomic files.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateContainerId, validateContainerId } from '../../src/state/container-id.js';
import { parseStartTime, readProcessStartTime, isSameProcess } from '../../src/state/process-start-time.js';
import { StateStore, type ContainerState } from '../../src/state/state-store.js';

describe('validateContainerId', () => {
  it('accepts docker and runc style ids', () => {
    for (const id of ['web1', 'a', 'A_b.c-d', generateContainerId(), 'x'.repeat(128)]) expect(validateContainerId(id)).toBe(id);
  });

  it('refuses slashes, dots that walk, odd first characters, and long ids', () => {
    for (const id of ['', 'a/b', '..', '../x', 'a..b', '.hidden', '-x', '_x', 'sp ace', 'ünï', 'x'.repeat(129), 'a\nb']) {
      expect(() => validateContainerId(id), id).toThrow(/container id/);
    }
  });

  it('generates 64 hex digits', () => {
    expect(generateContainerId()).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('process start time', () => {
  it('reads field 22 even when the command name holds spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[0] = 'S';
    expect(parseStartTime(`123 (a b) c)) ${fields.join(' ')}`)).toBe('22');
  });

  it('tells this process from a stranger with a made-up start time', async () => {
    const start = await readProcessStartTime(process.pid);
    expect(start).toMatch(/^\d+$/);
    expect(await isSameProcess(process.pid, start!)).toBe(true);
    expect(await isSameProcess(process.pid, '1')).toBe(false);
    expect(await readProcessStartTime(2 ** 22 + 1)).toBeUndefined();
  });
});

describe('StateStore', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'shim-unit-state-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const state = (id: string): ContainerState => ({
    ociVersion: '1.2.0',
    id,
    status: 'creating',
    pid: 0,
    bundle: '/b',
    rootfs: '/b/rootfs',
    created: new Date(0).toISOString(),
    cgroupDirs: [],
    autoRemove: true,
  });

  it('claims an id once', async () => {
    const store = new StateStore(join(root, 'run'));
    await store.claim('web1');
    await expect(store.claim('web1')).rejects.toMatchObject({ code: 'already-exists', message: 'container web1 already exists' });
  });

  it('writes state atomically and reads it back', async () => {
    const store = new StateStore(root);
    await store.claim('web1');
    await store.writeState(state('web1'));
    await store.writeState({ ...state('web1'), status: 'running', pid: 42, pidStartTime: '99' });
    expect(await store.readState('web1')).toMatchObject({ status: 'running', pid: 42, pidStartTime: '99' });
    // No temporary file is left beside state.json.
    expect(await readdir(join(root, 'web1'))).toEqual(['state.json']);
    expect(await store.listIds()).toEqual(['web1']);
    await store.remove('web1');
    await expect(store.readState('web1')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('refuses an invalid id before touching the disk', async () => {
    const store = new StateStore(root);
    await expect(store.claim('../escape')).rejects.toMatchObject({ code: 'usage' });
    expect(await readdir(root)).toEqual([]);
  });
});
