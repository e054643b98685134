// Takes the kernel's RCU grace period off the critical path of run, create and exec.
//
// Every write to a cgroup.procs file (v1 and v2 alike) takes the global cgroup_threadgroup_rwsem for writing:
// percpu_down_write -> rcu_sync_enter. When no writer has been in for a grace period, rcu_sync_enter waits a
// full RCU grace period (6-25 ms on the hosts we measured) before the write goes on; when another writer
// entered within the last grace period it returns at once. The helper's first cgroup.procs write (placing
// the container's init, or the exec'd process) used to pay that wait every time.
//
// So the shim pays it early, in parallel with its own planning: it writes its own pid into its own current
// cgroup (a move to where it already is, which changes nothing) from the libuv threadpool, and repeats the
// write every few milliseconds (cheap once the rcu_sync is active) until the helper has placed its process.
// By then the grace period has long passed and the helper's write goes through at once.
//
// It is only an optimisation: any failure (not root, no writable cgroup, a kernel that behaves otherwise)
// stops it silently, with a debug line. Its timers never keep the process alive, and it stops by itself after
// MAX_LIFETIME_MS should a caller never stop it (a dry run).

import { closeSync, openSync, write } from 'node:fs';
import { posix } from 'node:path';
import type { Logger } from '../log.js';
import { nowMs } from '../log.js';
import type { CgroupHierarchy } from '../plan/container-plan.js';

// Well inside one grace period, so that the rcu_sync never falls back to idle between two writes. (The
// rewrites run from the event loop, so a long synchronous stretch delays them; the rcu_sync stays active
// for a grace period after each write, which is what the helper's write, right after the spawn, relies on.)
const REWRITE_INTERVAL_MS = 3;
const MAX_LIFETIME_MS = 2_000;

export interface AttachWarmup {
  /** Stops the writes. Safe to call more than once; an in-flight write finishes and its fd is closed. */
  stop(): void;
}

export function startAttachWarmup(hierarchies: readonly CgroupHierarchy[], log: Logger): AttachWarmup {
  const pid = Buffer.from(String(process.pid));
  const started = nowMs();
  let stopped = false;
  let fd: number | undefined;
  let busy = false;
  let writes = 0;
  let timer: NodeJS.Timeout | undefined;
  const lifetime = setTimeout(() => stop(), MAX_LIFETIME_MS);
  lifetime.unref();

  const closeFd = () => {
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch {
      // Nothing to do about it; the fd is gone either way.
    }
    fd = undefined;
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(lifetime);
    clearTimeout(timer);
    if (log.debugEnabled) log.debug(`attach warm-up: stopped after ${writes} writes, ${(nowMs() - started).toFixed(1)}ms`);
    if (!busy) closeFd();
  };
  const giveUp = (what: string, error: unknown) => {
    log.debug(`attach warm-up: ${what}: ${(error as Error).message}; going on without it`);
    busy = false;
    stop();
    closeFd();
  };
  const writeOnce = () => {
    timer = undefined;
    if (stopped || fd === undefined) return;
    busy = true;
    write(fd, pid, (error) => {
      busy = false;
      if (error) return giveUp('write cgroup.procs', error);
      writes++;
      if (writes === 1 && log.debugEnabled) log.debug(`attach warm-up: first write took ${(nowMs() - started).toFixed(1)}ms`);
      if (stopped) return closeFd();
      timer = setTimeout(writeOnce, REWRITE_INTERVAL_MS);
      timer.unref();
    });
  };

  const procsFile = ownProcsFile(hierarchies);
  if (!procsFile) {
    giveUp('find own cgroup', new Error('no mounted cgroup hierarchy holds this process'));
    return { stop };
  }
  // Opened here and the first write handed to the threadpool at once: what follows (planning, the state
  // files, the spawn) is mostly synchronous, and an open left to a callback would wait for all of it.
  try {
    fd = openSync(procsFile, 'w');
  } catch (error) {
    giveUp(`open ${procsFile}`, error);
    return { stop };
  }
  writeOnce();
  return { stop };
}

/**
 * The cgroup.procs of this process's own cgroup in the hierarchy whose attach does the least work: the
 * cgroup2 one (on a hybrid host it has no controllers), else the v1 one with the fewest controllers.
 */
export function ownProcsFile(hierarchies: readonly CgroupHierarchy[]): string | undefined {
  const ranked = [...hierarchies].sort((a, b) => rank(a) - rank(b));
  for (const hierarchy of ranked) {
    const relative = posix.relative(hierarchy.root, hierarchy.ownCgroup);
    // Our cgroup is outside the part of the hierarchy that is mounted: no file to write to there.
    if (relative.startsWith('..')) continue;
    return posix.join(hierarchy.mountPoint, relative, 'cgroup.procs');
  }
  return undefined;
}

function rank(hierarchy: CgroupHierarchy): number {
  return hierarchy.version === 2 ? 0 : hierarchy.controllers.length;
}
