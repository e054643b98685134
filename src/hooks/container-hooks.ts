// The hooks around one container's create, start and delete, as the container code calls them: the pause
// handler for the helper (prestart, createRuntime), poststart, poststop, and the helper's own hook failures
// worded as runc words them.

import { RuntimeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { HookStatus, PlannedHooks } from './oci-hooks.js';
import { runHooks, runHooksWarning } from './run-hooks.js';
import { moveNetDevices, type PlannedNetDevice } from '../network/net-devices.js';

/**
 * Answers the helper's PAUSED status (Spec.pause_for_hooks, sync steps H1-H3 in the helper): runs prestart then
 * createRuntime in the runtime namespace with the state "creating" and the init's pid. A failure is kept (the
 * helper is told to stop, and reports only that it was stopped) for the caller to throw.
 */
export class HookPause {
  readonly #planned: PlannedHooks | undefined;
  readonly #log: Logger;
  readonly #netDevices: readonly PlannedNetDevice[];
  failure: RuntimeError | undefined;

  /** netDevices are moved first, as runc moves them before it runs any hook. */
  constructor(planned: PlannedHooks | undefined, log: Logger, netDevices: readonly PlannedNetDevice[] = []) {
    this.#planned = planned;
    this.#log = log;
    this.#netDevices = netDevices;
  }

  /** A pause handler when the plan needs the pause (hooks to run, devices to move); else undefined. */
  static forPlan(plan: { hooks?: PlannedHooks | undefined; netDevices?: PlannedNetDevice[] | undefined }, log: Logger): HookPause | undefined {
    return plan.hooks || plan.netDevices?.length ? new HookPause(plan.hooks, log, plan.netDevices) : undefined;
  }

  readonly onPause = async (status: { pid: number }): Promise<boolean> => {
    try {
      if (this.#netDevices.length > 0) await moveNetDevices(this.#netDevices, status.pid, this.#log);
      const planned = this.#planned;
      for (const kind of ['prestart', 'createRuntime'] as const) {
        const hooks = planned?.hooks[kind];
        if (planned && hooks) await runHooks({ kind, hooks, state: planned.state, status: 'creating', pid: status.pid, log: this.#log });
      }
      return true;
    } catch (error) {
      this.failure = error instanceof RuntimeError ? error : new RuntimeError('setup-failed', `hooks: ${(error as Error).message}`);
      return false;
    }
  };
}

/** poststart: after the program runs, before start (or run) returns; a failure is the caller's to act on. */
export async function runPoststartHooks(planned: PlannedHooks | undefined, pid: number, log: Logger): Promise<void> {
  const hooks = planned?.hooks.poststart;
  if (planned && hooks) await runHooks({ kind: 'poststart', hooks, state: planned.state, status: 'running', pid, log });
}

/** poststop: once the container is gone; failures are warnings (runtime.md step 13). */
export async function runPoststopHooks(planned: PlannedHooks | undefined, log: Logger): Promise<void> {
  const hooks = planned?.hooks.poststop;
  if (planned && hooks) await runHooksWarning({ kind: 'poststop', hooks, state: planned.state, status: 'stopped' as HookStatus, log });
}

/** What a container keeps of its hooks for start and delete: the two kinds that run then. */
export function hooksForLater(planned: PlannedHooks | undefined): PlannedHooks | undefined {
  if (!planned || (!planned.hooks.poststart && !planned.hooks.poststop)) return undefined;
  return { hooks: { poststart: planned.hooks.poststart, poststop: planned.hooks.poststop }, state: planned.state };
}

const HELPER_HOOK_STAGES: Record<string, string> = {
  create_container_hooks: 'createContainer',
  start_container_hooks: 'startContainer',
};

/**
 * A hook the helper ran failed (its message is "hook #N: exit status 1, stdout: ..., stderr: ..."): runc's
 * "error running createContainer hook #N: ...". undefined for any other stage.
 */
export function helperHookFailure(report: { stage: string; errno: number; message: string; path: string }): RuntimeError | undefined {
  const kind = HELPER_HOOK_STAGES[report.stage];
  if (!kind) return undefined;
  const operation = `error running ${kind} ${report.message}`;
  // With an errno (the hook could not be started) the path and the errno's text say why; otherwise the
  // message does (exit status, output, timeout).
  return report.errno
    ? new RuntimeError('setup-failed', operation, { stage: report.stage, errno: report.errno, path: report.path })
    : new RuntimeError('setup-failed', operation, { stage: report.stage, reasonInWords: true });
}
