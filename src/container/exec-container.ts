// `exec`, as a library call: read the container's state and config, make sure its init is still the process
// the state names, plan (planExec, pure), and hand the spec to the helper, which joins the init's namespaces,
// cgroups and root itself. Foreground: wait and pass the exit code back. Detached: return at READY, after the
// pid file is written.

import { readFileSync } from 'node:fs';
import { rename, rm, writeFile } from '../host/fs-async.js';
import { dirname, join, resolve } from 'node:path';
import { isFrozenText } from '../cgroups/cgroup-files.js';
import { RuntimeError, isRuntimeError, systemError } from '../errors.js';
import { elapsedMs, type Logger, nowMs } from '../log.js';
import { runHelper, type HelperStdio } from '../helper/run-helper.js';
import { readHostFactsSync } from '../host/read-host-facts.js';
import { startAttachWarmup, type AttachWarmup } from '../cgroups/attach-warmup.js';
import type { ContainerPlan } from '../plan/container-plan.js';
import { planExec, type ExecPlan, type ExecRequest } from '../plan/plan-exec.js';
import { encodeExecSpec } from '../spec/encode-spec.js';
import { isLiveProcess } from '../state/process-start-time.js';
import { PLAN_FILE, StateStore } from '../state/state-store.js';
import { SignalForwarder, helperFailure, type SignalSource } from './run-container.js';

export interface ExecContext {
  root: string;
  helperPath: string;
  debug: boolean;
  log: Logger;
  /** Relative --pid-file paths are taken from here. */
  cwd: string;
}

// prepareExec starts the attach warm-up and execPrepared stops it; the plan itself stays the pure planner's
// data, so the handle travels beside it.
const attachWarmups = new WeakMap<ExecPlan, AttachWarmup>();

/** Reads what planExec needs and plans. Changes nothing. */
export async function prepareExec(request: ExecRequest, context: ExecContext): Promise<ExecPlan> {
  const started = nowMs();
  const store = new StateStore(context.root);
  let attachWarmup: AttachWarmup | undefined;
  try {
    const host = readHostFactsSync();
    // First thing: the grace period it waits out runs while we read the state and plan.
    attachWarmup = startAttachWarmup(host.cgroupHierarchies, context.log);
    const state = await store.readState(request.containerId);
    // The state may be stale (a container killed from outside, or a foreground `run` that died): a pid that
    // is no longer the init's, or the same number given to another process, must not be entered. Nor may an
    // init that has exited and waits, a zombie, for its monitor to reap it: its /proc/PID/root is gone.
    if (state.pid > 0 && (state.status === 'running' || state.status === 'created')) {
      if (!(await isLiveProcess(state.pid, state.pidStartTime))) state.status = 'stopped';
    }
    if (state.status === 'stopped') {
      throw new RuntimeError('invalid-state', 'cannot exec in a stopped container', { hint: `shim ps or the state in ${store.dirOf(state.id)}` });
    }
    // A frozen cgroup would freeze the new process as it joins, and the exec would hang until a resume.
    if (state.freezeStateFile && isFrozenText(state.freezeStateFile, readFreezeState(state.freezeStateFile))) {
      throw new RuntimeError('invalid-state', 'cannot exec in a paused container', { hint: `shim resume ${state.id}` });
    }
    const config = await store.readConfig(state.id);
    // The filter the container was started with, as compiled then (plan.json): exec'd processes get it too.
    const seccomp = config.linux?.seccomp ? (await store.readJson<ContainerPlan>(state.id, PLAN_FILE))?.seccomp : undefined;
    const plan = planExec(state, config, request, host, seccomp);
    for (const warning of plan.warnings) context.log.warn(`config.json: ${warning}`);
    context.log.debug(`exec: planned in ${elapsedMs(started)}`);
    attachWarmups.set(plan, attachWarmup);
    return plan;
  } catch (error) {
    attachWarmup?.stop();
    const runtimeError = isRuntimeError(error) ? error : systemError(error, 'plan exec');
    throw runtimeError.code === 'usage' ? runtimeError : runtimeError.forContainer(request.containerId);
  }
}

function readFreezeState(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export interface ExecOptions {
  /** Signals for the exec'd process (foreground only). */
  signals?: SignalSource | undefined;
  /** SIGWINCH, forwarded to the helper's monitor, which relays the terminal (foreground -t only). */
  resizes?: SignalSource | undefined;
  /** Written (atomically) with the process's host pid as soon as it is known, before exec returns. */
  pidFile?: string | undefined;
  /** 'ignore' gives the process /dev/null as stdin (exec without -i). */
  stdin?: 'inherit' | 'ignore' | undefined;
  /** The process's stdin, stdout and stderr as descriptors of ours (the runtime v2 server's FIFOs), over `stdin`. */
  stdio?: readonly [HelperStdio, HelperStdio, HelperStdio] | undefined;
  /** With a relayed terminal: the file the monitor sizes the pty from on SIGWINCH (ROWS COLS). */
  windowSizePath?: string | undefined;
  /** The helper's pid (its monitor), once it runs. */
  onMonitor?: ((pid: number) => void) | undefined;
  /** Called once the process has exec'd (a foreground exec returns only when it ends). */
  onStarted?: ((pid: number) => void) | undefined;
}

export interface ExecResult {
  /** The process's exit code (128+N when killed by signal N); 0 for a detached exec. */
  exitCode: number;
  /** Host pid of the exec'd process. */
  pid: number;
}

export async function execPrepared(plan: ExecPlan, context: ExecContext, options: ExecOptions = {}): Promise<ExecResult> {
  const { log } = context;
  const forwarder = new SignalForwarder(plan.detach ? undefined : options.signals, log);
  const resizer = new SignalForwarder(plan.detach || !plan.process.terminal ? undefined : options.resizes, log);
  const pidFile = options.pidFile === undefined ? undefined : resolve(context.cwd, options.pidFile);
  const started = nowMs();
  const attachWarmup = attachWarmups.get(plan);
  try {
    const outcome = await runHelper({
      helperPath: context.helperPath,
      spec: encodeExecSpec(plan, { debug: context.debug, windowSizePath: options.windowSizePath }),
      log,
      preserveFds: plan.preserveFds,
      stdin: options.stdin,
      stdio: options.stdio,
      // The monitor runs in a session of its own, so the terminal's SIGWINCH reaches only us.
      onSpawn: (helperPid) => {
        resizer.attach(helperPid);
        options.onMonitor?.(helperPid);
      },
      onStatus: async (status) => {
        if (status.kind !== 'stage') attachWarmup?.stop();
        if (status.kind === 'ready') {
          // Before the process runs anything of its own: an orchestrator reading the file after we return
          // (or after a later failure) finds the pid already there.
          if (pidFile) await writePidFile(pidFile, status.pid);
          forwarder.attach(status.pid);
        } else if (status.kind === 'started') {
          options.onStarted?.(status.pid);
        } else if (status.kind === 'exited') {
          forwarder.detach();
          resizer.detach();
        } else if (status.kind === 'stage' && log.debugEnabled) {
          log.debug(`helper: ${status.stage} +${(status.elapsedNs / 1e6).toFixed(2)}ms`);
        }
      },
    });
    forwarder.detach();
    resizer.detach();
    if (outcome.error) throw helperFailure(outcome.error);
    if (plan.detach) {
      if (outcome.pid === undefined) throw new RuntimeError('helper-failed', 'helper exited without reporting the process\'s pid', { stage: 'wait' });
      return { exitCode: 0, pid: outcome.pid };
    }
    if (!outcome.exited) {
      const how = outcome.helperSignal ? `was killed by ${outcome.helperSignal}` : `exited with code ${outcome.helperExitCode}`;
      throw new RuntimeError('helper-failed', `helper ${how} without reporting the process's exit`, { stage: 'wait' });
    }
    const { exitCode, termSignal } = outcome.exited;
    log.debug(`exec: process exited after ${elapsedMs(started)}`);
    return { exitCode: termSignal ? 128 + termSignal : exitCode, pid: outcome.pid ?? 0 };
  } catch (error) {
    throw (isRuntimeError(error) ? error : systemError(error, 'exec')).forContainer(plan.containerId);
  } finally {
    attachWarmup?.stop();
    forwarder.close();
    resizer.close();
  }
}

async function writePidFile(path: string, pid: number): Promise<void> {
  // Renamed into place, so a reader polling for it never sees an empty or half-written file.
  const temporary = join(dirname(path), `.${pid}.${process.pid}.pid.tmp`);
  try {
    await writeFile(temporary, String(pid));
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    throw systemError(error, 'write pid file', { path });
  }
}
