// The container lock and status derivation, on a temporary root (no containers, no root privileges).

import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { observeContainer } from '../../src/container/lifecycle.js';
import { lockContainer, lockPathOf } from '../../src/state/container-lock.js';
import { readProcessStartTime } from '../../src/state/process-start-time.js';
import { StateStore, type ContainerState } from '../../src/state/state-store.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'shim-unit-lock-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('lockContainer', () => {
  it('lets one holder in at a time, and removes the lock file on release', async () => {
    const order: string[] = [];
    const first = await lockContainer(root, 'c1');
    const second = lockContainer(root, 'c1').then((lock) => {
      order.push('second');
      return lock;
    });
    await new Promise((done) => setTimeout(done, 100));
    order.push('first releases');
    await first.release();
    await (await second).release();
    expect(order).toEqual(['first releases', 'second']);
    expect(await readdir(root)).toEqual([]);
  });

  it('breaks a lock whose owner is gone (a pid with another start time)', async () => {
    await writeFile(lockPathOf(root, 'c2'), `${process.pid} 1`);
    const lock = await lockContainer(root, 'c2', 1000);
    await lock.release();
  });

  it('breaks an empty lock (its owner killed between open and write) once it is old, never a fresh one', async () => {
    await writeFile(lockPathOf(root, 'c4'), '');
    // Fresh: the owner may be about to write its pid.
    await expect(lockContainer(root, 'c4', 200)).rejects.toThrow(/container c4 is busy/);
    const old = new Date(Date.now() - 10_000);
    await utimes(lockPathOf(root, 'c4'), old, old);
    const lock = await lockContainer(root, 'c4', 1000);
    await lock.release();
  });

  it('times out on a live holder, naming it', async () => {
    const held = await lockContainer(root, 'c3');
    await expect(lockContainer(root, 'c3', 200)).rejects.toThrow(/container c3 is busy: another shim holds its lock/);
    await held.release();
  });
});

describe('observeContainer', () => {
  const base = (overrides: Partial<ContainerState>): ContainerState => ({
    ociVersion: '1.2.0', id: 's1', status: 'created', pid: 0, bundle: '/b', rootfs: '/b/rootfs', created: '2020-01-01T00:00:00.000Z',
    cgroupDirs: [], autoRemove: false, ...overrides,
  });

  it('running while the pid has its recorded start time, created while the start fifo exists too', async () => {
    const store = new StateStore(root);
    await store.claim('s1');
    const fifo = join(root, 's1', 'exec.fifo');
    await store.writeState(base({ pid: process.pid, pidStartTime: await readProcessStartTime(process.pid), startFifo: fifo }));
    expect((await observeContainer(store, 's1')).status).toBe('running');
    await writeFile(fifo, '');
    expect((await observeContainer(store, 's1')).status).toBe('created');
  });

  it('stopped when the pid now belongs to another process: a reused pid is never the container', async () => {
    const store = new StateStore(root);
    await store.claim('s1');
    await store.writeState(base({ status: 'running', pid: process.pid, pidStartTime: '1' }));
    expect(await observeContainer(store, 's1')).toMatchObject({ status: 'stopped' });
  });

  it('stopped with the exit status the background monitor recorded', async () => {
    const store = new StateStore(root);
    await store.claim('s1');
    await store.writeState(base({ status: 'running', pid: 2 ** 22 + 5, pidStartTime: '9' }));
    await writeFile(join(root, 's1', 'exit.json'), '{"exitCode":0,"termSignal":9,"coreDumped":false,"finishedSec":1700000000,"finishedNsec":5000000}\n');
    expect(await observeContainer(store, 's1')).toMatchObject({ status: 'stopped', exitCode: 137, finished: '2023-11-14T22:13:20.005Z' });
  });
});
