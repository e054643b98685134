// The lifecycle verbs after create, as library calls: observe (status derivation), start, kill, delete, list
// and the OCI state. containerd's shim reads as the model: a small state machine whose refused transitions
// say "cannot start a running container".
//
// Status is derived, never trusted from the file alone: the init's pid is stored with its start time, and
//   alive (same start time, not a zombie) + start FIFO present  -> created
//   alive, no FIFO, the cgroup frozen                           -> paused
//   alive, no FIFO                                              -> running
//   anything else                                               -> stopped
// so a pid the kernel has since given to another process is never taken for the container.

import { ociStateOfStored, type OciState } from '../state/oci-state.js';
import { closeSync, constants as fsConstants, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { unlink } from '../host/fs-async.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeError, hasErrnoCode, isRuntimeError, systemError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { destroyCgroupDirs, readCgroupPids, thawDirs } from '../cgroups/cgroup-v1-manager.js';
import { isFrozenText } from '../cgroups/cgroup-files.js';
import { withContainerLock } from '../state/container-lock.js';
import { validateContainerId } from '../state/container-id.js';
import { isLiveProcess } from '../state/process-start-time.js';
import { StateStore, removeTree, type ContainerState, type ContainerStatus, type ExitStatus } from '../state/state-store.js';
import { parseSignal } from './signals.js';
import { signalProcess } from '../host/signal-process.js';
import { readOomKillCount } from '../cgroups/cgroup-files.js';
import { netnsSharers, releaseNetwork } from '../network/container-network.js';
import { isoTimestamp } from '../host/utc-timestamp.js';

const DEATH_WAIT_MS = 5_000;
const START_WAIT_MS = 10_000;

export interface ObservedContainer {
  state: ContainerState;
  status: ContainerStatus;
  /** When stopped and known: the exit code (128+N for signal N), and when it ended. */
  exitCode?: number | undefined;
  finished?: string | undefined;
  /** When stopped by SIGKILL: whether the OOM killer took a process of the container (docker's OOMKilled). */
  oomKilled?: boolean | undefined;
}

/** What a docker-style container's monitor writes at each start (Spec.pid_path). */
interface MonitorPidFile {
  pid: number;
  startTime: number;
  restarts: number;
  delayMs?: number;
  monitorPid?: number;
  monitorStartTime?: number;
}

export async function observeContainer(store: StateStore, id: string): Promise<ObservedContainer> {
  const state = await store.readState(id);
  return observeState(store, state);
}

async function observeState(store: StateStore, state: ContainerState): Promise<ObservedContainer> {
  if (state.status === 'creating') return { state, status: 'creating' };
  // A docker-style container's monitor rewrites this file at each (re)start: its pid is the current one.
  if (state.docker) {
    const latest = await store.readJson<MonitorPidFile>(state.id, 'pid.json');
    if (latest && latest.pid > 0) {
      // The monitor's own word for its pid: a run -d whose init ended before the shim looked at its parent
      // recorded none, and then neither the restart count nor "running between two runs" was seen.
      if (!state.monitorPid && latest.monitorPid) {
        state.monitorPid = latest.monitorPid;
        state.monitorStartTime = String(latest.monitorStartTime);
      }
      state.pid = latest.pid;
      state.pidStartTime = String(latest.startTime);
      state.docker.restartCount = latest.restarts;
      state.docker.restartDelayMs = latest.delayMs;
    }
  }
  if (await isLiveProcess(state.pid, state.pidStartTime)) {
    const created = state.startFifo !== undefined && (await pathExists(state.startFifo));
    if (created) return { state, status: 'created' };
    return { state, status: (await isFrozen(state)) ? 'paused' : 'running' };
  }
  const exit = await store.readExitStatus(state.id);
  // Between two runs of a restart policy: the monitor is there and has written no exit status.
  if (!exit && state.docker?.restart && state.docker.restart.name !== 'no' && state.monitorPid &&
    (await isLiveProcess(state.monitorPid, state.monitorStartTime))) {
    return { state, status: 'running' };
  }
  if (exit) {
    // Only a SIGKILL can be the OOM killer's, and only then is the cgroup read.
    const oomKilled = exit.termSignal === 9 ? ((await readOomKillCount(state.cgroupDirs ?? [])) ?? 0) > 0 : undefined;
    return { state, status: 'stopped', exitCode: exitCodeOf(exit), finished: finishedAt(exit), oomKilled };
  }
  return { state, status: 'stopped', exitCode: state.exitCode, finished: state.finished };
}

// Synchronous, like the state reads: `state` does nothing else, and its first asynchronous fs call would
// start libuv's threadpool for a one-line read.
async function isFrozen(state: ContainerState): Promise<boolean> {
  if (!state.freezeStateFile) return false;
  try {
    return isFrozenText(state.freezeStateFile, readFileSync(state.freezeStateFile, 'utf8'));
  } catch {
    return false;
  }
}

function exitCodeOf(exit: ExitStatus): number {
  return exit.termSignal ? 128 + exit.termSignal : exit.exitCode;
}

function finishedAt(exit: ExitStatus): string {
  return isoTimestamp(exit.finishedSec * 1000 + Math.floor(exit.finishedNsec / 1e6));
}

/** A transition the current status does not allow, worded as containerd's shim words it. */
function refused(verb: string, id: string, status: ContainerStatus, hint?: string): RuntimeError {
  return new RuntimeError('invalid-state', `cannot ${verb} a ${status} container`, { stage: 'state', containerId: id, hint });
}

// --- start ---------------------------------------------------------------------------------------------------

/**
 * Lets a created container's init run: reads the byte it writes to the start FIFO, then removes the FIFO. With
 * hooks: the init's startContainer hooks ran before that byte (a failure comes instead of it), and the
 * poststart hooks run here once the program runs; a failing one kills the container, as runc does.
 */
export async function startContainer(root: string, id: string, log: Logger = silentLogger): Promise<void> {
  validateContainerId(id);
  const store = new StateStore(root);
  await withContainerLock(root, id, async () => {
    const observed = await observeContainer(store, id);
    if (observed.status !== 'created' || !observed.state.startFifo) throw refused('start', id, observed.status);
    log.debug(`start: ${id} is created, releasing its init (pid ${observed.state.pid})`);
    try {
      await releaseInit(observed.state);
    } finally {
      await unlink(observed.state.startFifo).catch(() => {});
    }
    log.debug('start: init released');
    observed.state.status = 'running';
    await store.writeState(observed.state);
    log.debug('start: state written');
    if (observed.state.hooks?.hooks.poststart) {
      const { runPoststartHooks } = await import('../hooks/container-hooks.js');
      await runPoststartHooks(observed.state.hooks, observed.state.pid, log).catch(async (error: unknown) => {
        try {
          signalProcess(observed.state.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
        await waitForEnd(observed.state.pid, observed.state.pidStartTime, `the container's init (pid ${observed.state.pid})`, log);
        throw error;
      });
    }
  }).catch((error) => {
    throw (isRuntimeError(error) ? error : systemError(error, 'start container')).forContainer(id);
  });
}

async function releaseInit(state: ContainerState): Promise<void> {
  const fifo = state.startFifo!;
  // Non-blocking, unlike runc's plain open: a blocking open of a FIFO whose writer died would hang forever.
  // The init is blocked opening its end for writing; once ours is open it writes one byte.
  let fd: number;
  try {
    fd = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    throw systemError(error, 'open start fifo', { stage: 'start', path: fifo });
  }
  try {
    const buffer = Buffer.alloc(4096);
    const deadline = Date.now() + START_WAIT_MS;
    // The init opened its end: from then on it may be running startContainer hooks, which take what they take.
    let opened = false;
    let failure: Buffer | undefined;
    for (;;) {
      try {
        // Non-blocking: returns at once, with bytes, 0 or EAGAIN.
        const n = readSync(fd, buffer, 0, buffer.length, null);
        if (n > 0 && failure === undefined && buffer[0] === 0x30) return; // "0": go.
        if (n > 0) {
          // "E" and an ERROR frame: a startContainer hook failed; the rest comes until the init exits.
          failure = Buffer.concat([failure ?? Buffer.alloc(0), buffer.subarray(0, n)]);
          continue;
        }
        // 0: the init has not opened its end yet (or never will: checked below), or, after a failure, is gone.
        if (failure !== undefined) throw await startFailure(failure);
      } catch (error) {
        if (!hasErrnoCode(error, 'EAGAIN')) throw isRuntimeError(error) ? error : systemError(error, 'read start fifo', { stage: 'start', path: fifo });
        opened = true;
      }
      if (!(await isLiveProcess(state.pid, state.pidStartTime))) {
        if (failure !== undefined) throw await startFailure(failure);
        throw new RuntimeError('setup-failed', `the container's init (pid ${state.pid}) ended before it could start`, { stage: 'start' });
      }
      if (!opened && Date.now() > deadline) throw new RuntimeError('system', 'start: the init did not answer on its start fifo', { stage: 'start', path: fifo });
      await sleep(2);
    }
  } finally {
    closeSync(fd);
  }
}

/** What the init wrote instead of "0" (src/hooks/start-failure.ts reads it; loaded only then). */
async function startFailure(bytes: Buffer): Promise<RuntimeError> {
  const { readStartFailure } = await import('../hooks/start-failure.js');
  return readStartFailure(bytes);
}

// --- kill ----------------------------------------------------------------------------------------------------

export interface KillOptions {
  /** Every process in the container's cgroup, not only the init. */
  all: boolean;
}

export async function killContainer(root: string, id: string, signalText: string | undefined, options: KillOptions): Promise<void> {
  try {
    validateContainerId(id);
    const signal = parseSignal(signalText ?? 'SIGTERM');
    const store = new StateStore(root);
    const observed = await observeContainer(store, id);
    if (observed.status !== 'created' && observed.status !== 'running' && observed.status !== 'paused') {
      // runc's wording, which containerd's runc client matches on.
      throw new RuntimeError('invalid-state', 'container not running', { stage: 'kill', containerId: id });
    }
    const pids = options.all ? await readCgroupPids(observed.state.cgroupDirs) : [observed.state.pid];
    for (const pid of pids) {
      try {
        signalProcess(pid, signal);
      } catch (error) {
        // A process of --all's list that ended meanwhile is not an error.
        if (!hasErrnoCode(error, 'ESRCH') || !options.all) throw systemError(error, `kill ${pid}`);
      }
    }
  } catch (error) {
    throw (isRuntimeError(error) ? error : systemError(error, 'kill container')).forContainer(id);
  }
}

// --- delete --------------------------------------------------------------------------------------------------

export interface DeleteOptions {
  /** Kill a running container first; remove a half-made one. */
  force: boolean;
}

export async function deleteContainer(root: string, id: string, options: DeleteOptions, log: Logger): Promise<void> {
  validateContainerId(id);
  const store = new StateStore(root);
  try {
    await withContainerLock(root, id, async () => {
      let state: ContainerState | undefined;
      let status: ContainerStatus | undefined;
      try {
        const observed = await observeContainer(store, id);
        state = observed.state;
        status = observed.status;
      } catch (error) {
        // Without --force only a container we can read is deleted; with it, whatever is there goes.
        if (!options.force) throw error;
        // As runc: `delete --force` of a container that is not there succeeds silently. podman calls it after a
        // create that failed (the container may never have been written) and logs an error on anything else.
        if (!(await store.exists(id))) {
          if (isRuntimeError(error) && error.code === 'not-found') return;
          throw error;
        }
        log.warn(`delete: ${(error as Error).message}; removing what is there`);
      }
      // A created container is deleted without --force, as runc does: its user process never ran. One still
      // "creating" under our lock is what an interrupted create left.
      if (state && (status === 'running' || status === 'paused' || status === 'creating') && !options.force) {
        throw refused('delete', id, status, 'stop it first, or use --force');
      }
      if (state?.network && !options.force) await refuseWhileShared(root, id);
      if (state) await destroyContainer(root, state, log);
      await store.remove(id);
      log.debug('delete: state removed');
      // Once the container is gone, before delete returns (runtime.md step 13); failures are warnings.
      if (state?.hooks?.hooks.poststop) {
        const { runPoststopHooks } = await import('../hooks/container-hooks.js');
        await runPoststopHooks(state.hooks, log);
      }
    });
  } catch (error) {
    throw (isRuntimeError(error) ? error : systemError(error, 'delete container')).forContainer(id);
  }
}

/**
 * A container whose network namespace others joined (--net container:ID) stays while they run: removing it
 * would take their eth0 away under them. --force removes it anyway.
 */
export async function refuseWhileShared(root: string, id: string): Promise<void> {
  const sharers = await netnsSharers(root, id);
  if (sharers.length > 0) {
    throw new RuntimeError('invalid-state', `cannot delete a container whose network namespace ${sharers.join(', ')} ${sharers.length === 1 ? 'uses' : 'use'}`, {
      stage: 'network',
      containerId: id,
      hint: 'remove those first, or use --force',
    });
  }
}

/**
 * Kills the init (and the rest of its cgroup), waits for its monitor, releases its network (CNI DEL, the
 * namespace's bind mount), removes its cgroup and layer dir.
 */
async function destroyContainer(root: string, state: ContainerState, log: Logger): Promise<void> {
  if (await isLiveProcess(state.pid, state.pidStartTime)) {
    try {
      signalProcess(state.pid, 'SIGKILL');
    } catch (error) {
      if (!hasErrnoCode(error, 'ESRCH')) throw systemError(error, `kill ${state.pid}`);
    }
    // A paused init acts on the SIGKILL only once thawed; thawed after the signal, it runs nothing of its own.
    await thawDirs(state.cgroupDirs ?? [], log);
    await waitForEnd(state.pid, state.pidStartTime, `the container's init (pid ${state.pid})`, log);
    log.debug(`delete: init (pid ${state.pid}) killed`);
  }
  await destroyCgroupDirs(state.cgroupDirs ?? [], state.cgroupParentDirs ?? [], log);
  log.debug('delete: cgroups removed');
  // After the process is gone, before the state directory (which holds the namespace's bind mount) goes.
  await releaseNetwork(root, state, log);
  if (state.network?.mode === 'bridge') log.debug('delete: network released');
  // The background monitor writes the exit status into the state directory: let it finish first, so that
  // removing the directory does not race its last write.
  if (state.monitorPid) await waitForEnd(state.monitorPid, state.monitorStartTime, `the monitor (pid ${state.monitorPid})`, log);
  if (state.containerDir) removeTree(state.containerDir);
  log.debug('delete: layer dir removed');
}

async function waitForEnd(pid: number, startTime: string | undefined, what: string, log: Logger): Promise<void> {
  const deadline = Date.now() + DEATH_WAIT_MS;
  while (await isLiveProcess(pid, startTime)) {
    if (Date.now() > deadline) {
      log.warn(`delete: ${what} is still there after ${DEATH_WAIT_MS / 1000}s`);
      return;
    }
    await sleep(10);
  }
}

// --- state and list ------------------------------------------------------------------------------------------

/** The OCI state (runtime.md), in the key order `runc state` prints. */
export type { OciState } from '../state/oci-state.js';

export function ociStateOf(observed: ObservedContainer, owner = ''): OciState {
  return ociStateOfStored(observed.state, observed.status, owner);
}

export async function readContainerState(root: string, id: string): Promise<ObservedContainer> {
  try {
    validateContainerId(id);
    return await observeContainer(new StateStore(root), id);
  } catch (error) {
    throw (isRuntimeError(error) ? error : systemError(error, 'read state')).forContainer(id);
  }
}

/** Every container under the root; one whose state cannot be read is listed as such, not fatal. */
export async function listContainers(root: string): Promise<{ id: string; observed?: ObservedContainer; error?: string }[]> {
  const store = new StateStore(root);
  const entries = [];
  for (const id of await store.listIds()) {
    try {
      entries.push({ id, observed: await observeContainer(store, id) });
    } catch (error) {
      entries.push({ id, error: (error as Error).message });
    }
  }
  return entries;
}

async function pathExists(path: string): Promise<boolean> {
  return existsSync(path);
}

