// `create` and `run -d`, as library calls. Both leave a container behind that outlives the shim:
//   create: the helper sets the init up, reports READY and exits (MONITOR_DETACH); the init blocks on the
//           start FIFO and is re-parented to the caller's subreaper, as with `runc create`.
//   run -d: the helper daemonizes first (MONITOR_BACKGROUND), runs the process with stdout/stderr in a log
//           file, and records its exit status in the state directory when it ends.
//   monitored: for a long-lived caller (the runtime v2 server): as create, but the helper stays as the init's
//           monitor (MONITOR_WAIT) and reports its exit to the caller, who keeps the status pipe open.
// Every resource is registered for undo as it is acquired: if any step fails, nothing is left (no process,
// state directory, cgroup, FIFO or pid file). Concurrent calls for one id take turns on the container lock.

import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from '../host/fs-async.js';
import { dirname, join, resolve } from 'node:path';
import { RuntimeError, isRuntimeError, systemError } from '../errors.js';
import { elapsedMs, nowMs } from '../log.js';
import { runHelper, type HelperOutcome, type HelperStdio } from '../helper/run-helper.js';
import { releaseLaunchedHelper } from '../helper/launched-helper.js';
import { encodeRunSpec } from '../spec/encode-spec.js';
import { lockContainer } from '../state/container-lock.js';
import { readProcStat, readProcessStartTime } from '../state/process-start-time.js';
import { EXIT_STATUS_FILE, START_FIFO, StateStore } from '../state/state-store.js';
import { UndoStack } from '../undo-stack.js';
import { acquireContainer, helperFailure, logStatus, runtimeEnvironment, type PreparedRun, type RuntimeContext } from './run-container.js';
import { HookPause, runPoststopHooks } from '../hooks/container-hooks.js';
import { signalProcess } from '../host/signal-process.js';
import { backgroundSpecOptions } from './docker-run.js';
import { isoTimestamp } from '../host/utc-timestamp.js';

export const LOG_FILE = 'container.log';

export interface CreateOptions {
  /**
   * 'create': wait on the start FIFO, helper detaches. 'background': run now under a daemon monitor.
   * 'monitored': wait on the start FIFO, the helper stays and reports the exit (CreateResult.exited).
   */
  mode: 'create' | 'background' | 'monitored';
  /** Monitored mode with a terminal: the file the monitor sizes the pty from on SIGWINCH (ROWS COLS). */
  windowSizePath?: string | undefined;
  /** The process's stdin, stdout and stderr (monitored mode); the caller's own otherwise. */
  stdio?: readonly [HelperStdio, HelperStdio, HelperStdio] | undefined;
  /** Written (atomically) with the init's pid before the call returns. */
  pidFile?: string | undefined;
  /** With process.terminal: the unix socket the pty master is sent to. */
  consoleSocket?: string | undefined;
  preserveFds?: number | undefined;
  /** background with a terminal: the caller attaches at once (run -it), so the monitor keeps the output for it. */
  attachNow?: boolean | undefined;
}

export interface CreateResult {
  containerId: string;
  pid: number;
  /** Monitored mode: the helper's outcome once the init has ended (its `exited`), or once the helper failed. */
  exited?: Promise<HelperOutcome> | undefined;
  /** Monitored mode: the helper's pid (the monitor, which a SIGWINCH makes read windowSizePath). */
  monitorPid?: number | undefined;
}

export async function createPrepared(prepared: PreparedRun, context: RuntimeContext, options: CreateOptions): Promise<CreateResult> {
  const { log } = context;
  const { containerId } = prepared;
  const store = new StateStore(context.root);
  const undo = new UndoStack(log);
  let succeeded = false;
  const started = nowMs();
  // First on the stack, so last to run: a failed create is deleted, and poststop follows a delete (runc too).
  const hooks = prepared.plan.hooks;
  // Hooks are processes Node spawns (here, or in the undo below): a helper dist/shim launched beside us is
  // given up first, so that none of them inherits its pipes (src/helper/launched-helper.ts).
  if (hooks) releaseLaunchedHelper();
  if (hooks?.hooks.poststop) undo.push('poststop hooks', () => runPoststopHooks(hooks, log), { keepOnSuccess: true });
  const hookPause = HookPause.forPlan(prepared.plan, log);
  const lock = await lockContainer(context.root, containerId).catch((error) => {
    throw (isRuntimeError(error) ? error : systemError(error, 'lock container')).forContainer(containerId);
  });
  try {
    if (options.mode === 'create' && prepared.plan.process.terminal && !options.consoleSocket) {
      // Exit 1, as runc's "cannot allocate tty if runc will detach without setting console socket": the
      // command line is well formed, the bundle and the flags do not fit together.
      throw new RuntimeError('invalid-config', 'config.json asks for a terminal (process.terminal): create needs --console-socket to hand it to');
    }
    const waitsForStart = options.mode === 'create' || options.mode === 'monitored';
    // The helper makes the start FIFO in the state directory (Spec.start_fifo_mode): node has no mkfifo(3),
    // and running mkfifo(1) cost create a fork and exec of this whole process. It goes with the directory.
    const startFifo = waitsForStart ? join(store.dirOf(containerId), START_FIFO) : undefined;
    // Everything stays on success: the container lives until `delete`.
    const { prepared: acquired, state, stateDir } = await acquireContainer(prepared, context, undo, {
      keepLayers: true,
      keepCgroup: true,
      autoRemove: false,
    });
    const plan = acquired.plan;

    if (startFifo) {
      state.startFifo = startFifo;
    } else {
      state.logPath = join(acquired.containerDir ?? stateDir, LOG_FILE);
    }

    log.debug(`${options.mode}: state, layers and cgroup ready at ${elapsedMs(started)}`);

    const background = options.mode === 'background';
    const monitored = options.mode === 'monitored';
    let pid = 0;
    let monitorPid: number | undefined;
    let reportReady: () => void = () => {};
    const ready = new Promise<void>((resolveReady) => {
      reportReady = resolveReady;
    });
    const running = runHelper({
      helperPath: context.helperPath,
      spec: encodeRunSpec(plan, {
        debug: context.debug,
        monitor: background ? 'background' : monitored ? 'wait' : 'detach',
        startFifo,
        startFifoMode: START_FIFO_MODE,
        consoleSocket: options.consoleSocket,
        logPath: state.logPath,
        exitStatusPath: background ? join(stateDir, EXIT_STATUS_FILE) : undefined,
        preserveFds: options.preserveFds,
        runtimeEnv: runtimeEnvironment(),
        windowSizePath: options.windowSizePath,
        ...(background ? backgroundSpecOptions(state.docker, stateDir, options.attachNow ?? false) : {}),
      }),
      log,
      onPause: hookPause?.onPause,
      onSpawn: (helperPid) => {
        monitorPid = helperPid;
      },
      stopAfterReady: options.mode === 'create',
      preserveFds: options.preserveFds,
      stdio: options.stdio,
      onStatus: (status) => {
        logStatus(log, status);
        if (status.kind !== 'stage') prepared.attachWarmup?.stop();
        if ((status.kind === 'ready' || status.kind === 'started') && pid === 0) {
          pid = status.pid;
          // From here a failure must not leave the process behind (the cgroup undo would also get it, but
          // only for processes that reached their cgroup).
          undo.push('kill container process', () => killQuietly(status.pid), { keepOnSuccess: true });
          if (status.kind === 'ready') reportReady();
        }
      },
    });
    // Monitored: the helper runs on until the init ends; its READY is where create is done.
    running.catch(() => {});
    const outcome: HelperOutcome = monitored ? ((await Promise.race([ready.then(() => undefined), running])) ?? { started: false, pid }) : await running;
    if (outcome.error) throw hookPause?.failure ?? helperFailure(outcome.error);
    if (pid === 0 || (background && !outcome.started)) {
      const how = outcome.helperSignal ? `was killed by ${outcome.helperSignal}` : `exited with code ${outcome.helperExitCode}`;
      throw new RuntimeError('helper-failed', `helper ${how} before the container was ${background ? 'started' : 'ready'}`, { stage: 'wait' });
    }

    state.pid = pid;
    const stat = await readProcStat(pid);
    state.pidStartTime = stat?.startTime;
    if (!state.pidStartTime) {
      // Gone already: for run -d, a process that ended at once (its monitor records the status); for
      // create, an init that cannot be gone before start.
      if (!background) throw new RuntimeError('setup-failed', `the container's init (pid ${pid}) died before start`, { stage: 'wait' });
    }
    if (background && stat) {
      // The init's parent is the daemonized monitor: kept so that delete can wait for its last write.
      state.monitorPid = stat.ppid;
      state.monitorStartTime = await readProcessStartTime(stat.ppid);
    }
    state.status = background ? 'running' : 'created';
    if (state.docker) state.docker.startedAt = isoTimestamp();
    await store.writeState(state);

    if (options.pidFile) {
      const pidFile = resolve(context.cwd, options.pidFile);
      await writePidFile(pidFile, pid);
      undo.push('remove pid file', () => rm(pidFile, { force: true }), { keepOnSuccess: true });
    }
    succeeded = true;
    log.debug(`${options.mode}: pid ${pid} after ${elapsedMs(started)}`);
    return { containerId, pid, exited: monitored ? running : undefined, monitorPid: monitored ? monitorPid : undefined };
  } catch (error) {
    throw (isRuntimeError(error) ? error : systemError(error, `${options.mode} container`)).forContainer(containerId);
  } finally {
    prepared.attachWarmup?.stop();
    await undo.unwind(succeeded);
    await lock.release();
  }
}

function killQuietly(pid: number): void {
  try {
    signalProcess(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * Mode 0622, as runc's exec.fifo: the init reopens it for writing after it has taken the process's user, so a
 * non-root user (podman --user, a config's process.user), or an init in a user namespace (host uid 100000),
 * must be allowed to write it. Only the write side is open to others, and the state dir (0700) keeps every
 * other process from reaching it by path.
 */
const START_FIFO_MODE = 0o622;

/** As runc: the bare pid, no newline, through a temporary file renamed into place. */
export async function writePidFile(path: string, pid: number): Promise<void> {
  const temporary = join(dirname(path), `.${pid}.pid.tmp`);
  // Synchronous: three small calls, cheaper than their threadpool round trips (see prepareBundleRun).
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(temporary, String(pid), { mode: 0o644 });
    renameSync(temporary, path);
  } catch (error) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // The error that matters is the one below.
    }
    throw systemError(error, 'write pid file', { path });
  }
}
