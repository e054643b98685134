// One lock per container id, so that concurrent verbs on one id (two creates, a start racing a delete) take
// turns. Node has no flock(2); the lock is a file made with O_EXCL in the root, holding its owner's pid and
// start time. A lock whose owner is gone (killed mid-create) is broken by the next caller, so a crash never
// wedges an id. It lives beside the state directory, not inside it: create runs before that directory
// exists and delete removes it.

import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { readFile, stat, unlink } from '../host/fs-async.js';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeError, hasErrnoCode, systemError } from '../errors.js';
import { isSameProcess, readProcessStartTime } from './process-start-time.js';

const DEFAULT_TIMEOUT_MS = 60_000;

export interface ContainerLock {
  release(): Promise<void>;
}

export function lockPathOf(root: string, id: string): string {
  // A leading dot: never a valid container id, so never mistaken for a state directory.
  return join(root, `.${id}.lock`);
}

export async function lockContainer(root: string, id: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ContainerLock> {
  try {
    // Synchronous: the root nearly always exists (one mkdir(2) and its EEXIST), and the threadpool's round
    // trip took 4-5 ms of every create here, its threads busy or still starting.
    mkdirSync(root, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw systemError(error, 'create state root', { stage: 'state', path: root });
  }
  return lockFile(lockPathOf(root, id), { what: `container ${id}`, containerId: id }, timeoutMs);
}

/**
 * The same lock for any path (the image store's name list uses it too): a file made with O_EXCL holding its
 * owner's pid and start time, broken by the next caller once that owner is gone, so a SIGKILL never wedges it.
 */
export async function lockFile(path: string, subject: { what: string; containerId?: string }, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ContainerLock> {
  const owner = `${process.pid} ${(await readProcessStartTime(process.pid)) ?? ''}`;
  const deadline = Date.now() + timeoutMs;
  const context = { stage: 'state' as const, path, ...(subject.containerId ? { containerId: subject.containerId } : {}) };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, owner);
      } catch (error) {
        // A full disk gives the inode but not the page for its pid (ENOSPC): an empty lock file reads as
        // "owner between open and write" to every later caller and would never be broken. Gone again, now.
        closeSync(fd);
        await unlink(path).catch(() => {});
        throw error;
      }
      closeSync(fd);
      return { release: async () => releaseLock(path) };
    } catch (error) {
      if (!hasErrnoCode(error, 'EEXIST')) throw systemError(error, `lock ${subject.what}`, context);
    }
    const holder = await readFile(path, 'utf8').catch(() => undefined);
    if (holder !== undefined && (await isStale(holder, path))) {
      // Only the lock we judged stale is removed: if another caller broke it and took it meanwhile, its
      // content differs and it stays.
      if ((await readFile(path, 'utf8').catch(() => undefined)) === holder) await unlink(path).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) {
      throw new RuntimeError('system', `${subject.what} is busy: another shim holds its lock`, {
        ...context,
        hint: `held by pid ${holder?.split(' ')[0] ?? '?'}; ${path}`,
      });
    }
    // Jittered: ten callers waiting on one id must not wake in lockstep.
    await sleep(5 + Math.random() * Math.min(50, 5 * (attempt + 1)));
  }
}

/** Synchronous, as the lock's making: the last step of every verb, where a threadpool round trip is pure wait. */
function releaseLock(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already (broken as stale by another caller): nothing of ours to remove.
  }
}

/** How long an owner may sit between its open and its write; it writes right after the open. */
const HALF_WRITTEN_GRACE_MS = 2_000;

/** An owner line whose process is gone (or is some later process with the same pid). */
async function isStale(holder: string, path: string): Promise<boolean> {
  const [pidText, startTime] = holder.split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || !startTime) {
    // Half written: the owner is between open and write, and about to complete it; unless it was killed
    // right there (the fault matrix's SIGKILL at create's "prepare: planned" line did that), which leaves an
    // empty file for ever. An owner never takes seconds for one write, so an old half-written lock is stale.
    const written = await stat(path).then((info) => info.mtimeMs, () => undefined);
    return written !== undefined && Date.now() - written > HALF_WRITTEN_GRACE_MS;
  }
  return !(await isSameProcess(pid, startTime));
}

/** Runs `body` holding the container's lock. */
export async function withContainerLock<T>(root: string, id: string, body: () => Promise<T>): Promise<T> {
  const lock = await lockContainer(root, id);
  try {
    return await body();
  } finally {
    await lock.release();
  }
}
