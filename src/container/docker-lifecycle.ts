// docker's lifecycle verbs over the same state the runc verbs use: stop (the stop signal, SIGKILL after the
// timeout), start of a stopped docker-style container (again on its own upper layer and volumes, under a new
// background monitor), wait, rm [-f] [-v]. A container is "docker-style" when a docker-style `run` made it
// (state.containerDir and state.docker); runc's start of a created container is untouched (lifecycle.ts).

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeError, hasErrnoCode, isRuntimeError, systemError } from '../errors.js';
import { signalProcess } from '../host/signal-process.js';
import type { Logger } from '../log.js';
import type { ContainerPlan } from '../plan/container-plan.js';
import { withContainerLock } from '../state/container-lock.js';
import { readProcStat, readProcessStartTime } from '../state/process-start-time.js';
import { EXIT_STATUS_FILE, PLAN_FILE, StateStore } from '../state/state-store.js';
import { VolumeStore } from '../volumes/volume-store.js';
import { deleteContainer, observeContainer, readContainerState, type ObservedContainer } from './lifecycle.js';
import { parseSignal } from './signals.js';
import { ATTACH_SOCKET, DEFAULT_STOP_TIMEOUT_S, PID_FILE, backgroundSpecOptions } from './docker-run.js';
import type { RuntimeContext } from './run-container.js';
import { readCgroupPids } from '../cgroups/cgroup-v1-manager.js';

const POLL_MS = 50;

function isLive(status: string): boolean {
  return status === 'running' || status === 'paused' || status === 'created';
}

/** docker stop: the stop signal to the init, SIGKILL to the whole container after timeoutS; returns at its end. */
export async function stopContainer(context: RuntimeContext, id: string, timeoutS?: number): Promise<void> {
  const store = new StateStore(context.root);
  try {
    let observed = await readContainerState(context.root, id);
    if (!isLive(observed.status)) return;
    const { state } = observed;
    // A restart policy must not bring it back: the monitor is told first (SIGUSR1: no more restarts).
    if (state.docker?.restart && state.monitorPid) {
      state.docker.stoppedByUser = true;
      await store.writeState(state);
      try {
        signalProcess(state.monitorPid, 'SIGUSR1');
      } catch {
        // Gone: nothing left to restart it.
      }
    }
    const signal = state.docker?.stopSignal ?? 'SIGTERM';
    const timeout = timeoutS ?? state.docker?.stopTimeout ?? DEFAULT_STOP_TIMEOUT_S;
    try {
      signalProcess(observed.state.pid, parseSignal(signal));
    } catch (error) {
      if (!hasErrnoCode(error, 'ESRCH')) throw systemError(error, `kill ${observed.state.pid}`);
    }
    const deadline = Date.now() + timeout * 1000;
    while (Date.now() < deadline) {
      observed = await observeContainer(store, id);
      if (!isLive(observed.status)) return;
      await sleep(POLL_MS);
    }
    context.log.debug(`stop: ${id} still runs after ${timeout}s: SIGKILL`);
    for (const pid of [observed.state.pid, ...(await readCgroupPids(observed.state.cgroupDirs))]) {
      try {
        signalProcess(pid, 'SIGKILL');
      } catch {
        // Ended meanwhile.
      }
    }
    await waitForStop(context.root, id, 10_000);
  } catch (error) {
    throw (isRuntimeError(error) ? error : systemError(error, 'stop container')).forContainer(id);
  }
}

/** Until the container is stopped with a known exit code (or timeoutMs passes: then as it is). */
export async function waitForStop(root: string, id: string, timeoutMs = Infinity): Promise<ObservedContainer> {
  const store = new StateStore(root);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const observed = await observeContainer(store, id);
    if (observed.status === 'stopped' && (observed.exitCode !== undefined || !observed.state.monitorPid)) return observed;
    if (Date.now() > deadline) return observed;
    await sleep(POLL_MS);
  }
}

export interface StartOptions {
  /** A terminal container whose caller attaches at once: the monitor keeps the first output for it. */
  attachNow: boolean;
}

/** docker start of a stopped docker-style container: its plan, upper layer and volumes, a new monitor. */
export async function startStoppedContainer(context: RuntimeContext, id: string, options: StartOptions): Promise<void> {
  const store = new StateStore(context.root);
  try {
    await withContainerLock(context.root, id, async () => {
      const observed = await observeContainer(store, id);
      const { state } = observed;
      if (observed.status !== 'stopped') {
        throw new RuntimeError('invalid-state', `cannot start a ${observed.status} container`, { stage: 'state', containerId: id });
      }
      if (!state.containerDir) {
        throw new RuntimeError('invalid-state', 'cannot start a stopped container that a bundle run made', {
          stage: 'state', containerId: id, hint: 'runc-style containers are created again: shim delete, then shim create',
        });
      }
      const plan = await store.readJson<ContainerPlan>(id, PLAN_FILE);
      if (!plan) throw new RuntimeError('system', 'start: the container\'s plan.json is missing', { containerId: id });
      const stateDir = store.dirOf(id);
      for (const name of [EXIT_STATUS_FILE, PID_FILE, ATTACH_SOCKET]) rmSync(join(stateDir, name), { force: true });
      const { createCgroupManager } = await import('../cgroups/cgroup-manager.js');
      const cgroups = createCgroupManager(plan.cgroup, context.log);
      await cgroups.apply();
      const { runHelper } = await import('../helper/run-helper.js');
      const { encodeRunSpec } = await import('../spec/encode-spec.js');
      const { helperFailure } = await import('./run-container.js');
      state.logPath ??= join(state.containerDir, 'container.log');
      if (state.docker) state.docker.stoppedByUser = undefined;
      let pid = 0;
      const outcome = await runHelper({
        helperPath: context.helperPath,
        spec: encodeRunSpec(plan, {
          debug: context.debug,
          monitor: 'background',
          logPath: state.logPath,
          exitStatusPath: join(stateDir, EXIT_STATUS_FILE),
          ...backgroundSpecOptions(state.docker, stateDir, options.attachNow),
        }),
        log: context.log,
        onStatus: (status) => {
          if ((status.kind === 'ready' || status.kind === 'started') && pid === 0) pid = status.pid;
        },
      });
      if (outcome.error) throw helperFailure(outcome.error);
      if (pid === 0 || !outcome.started) throw new RuntimeError('helper-failed', 'the helper ended before the container started', { stage: 'wait' });
      const stat = await readProcStat(pid);
      state.pid = pid;
      state.pidStartTime = stat?.startTime;
      if (stat) {
        state.monitorPid = stat.ppid;
        state.monitorStartTime = await readProcessStartTime(stat.ppid);
      }
      state.status = 'running';
      state.exitCode = undefined;
      state.exitSignal = undefined;
      state.finished = undefined;
      if (state.docker) state.docker.startedAt = new Date().toISOString();
      await store.writeState(state);
    });
  } catch (error) {
    throw (isRuntimeError(error) ? error : systemError(error, 'start container')).forContainer(id);
  }
}

/** docker rm: a stopped container (or, with force, any) goes with its layer; with volumes, its anonymous volumes. */
export async function removeContainer(context: RuntimeContext, dataRoot: string, id: string, options: { force: boolean; volumes: boolean }, log: Logger): Promise<void> {
  const store = new StateStore(context.root);
  let anonymous: string[] = [];
  try {
    const observed = await observeContainer(store, id);
    anonymous = observed.state.anonymousVolumes ?? [];
    if (isLive(observed.status) && !options.force) {
      throw new RuntimeError('invalid-state', `cannot remove a ${observed.status} container`, {
        stage: 'state', containerId: id, hint: `stop it first (shim stop ${id}), or shim rm -f ${id}`,
      });
    }
  } catch (error) {
    if (!options.force || !(await store.exists(id))) throw error;
  }
  await deleteContainer(context.root, id, { force: true }, log);
  if (options.volumes) {
    const volumes = new VolumeStore(dataRoot);
    for (const name of anonymous) await volumes.destroy(name);
  }
}
