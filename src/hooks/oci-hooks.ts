// OCI hooks (runtime-spec 1.3 config.md "POSIX-platform Hooks", runtime.md "Lifecycle"): which hooks run when,
// in which namespace, and the state each one gets on stdin. Pure: planning and the state's text. Running the
// runtime-namespace ones is run-hooks.ts; the helper runs the two that live inside the container.
//
// When, where, and the state's status (runc's statuses; the pid is always the init's as the host sees it, the
// spec's definition of the state's pid, where runc gives getpid() inside the container, which is 1 in a new pid
// namespace):
//   prestart, createRuntime  create, after the namespaces and mounts, before pivot_root  runtime ns  creating
//                            (the helper pauses, sync steps H1-H3, and the shim runs them)
//   createContainer          the same moment, after those                               container mount ns
//                            (the init runs them before pivot_root, in the rootfs dir)  creating
//   startContainer           start, after the start FIFO, before the program            container  created
//   poststart                start, once the program runs, before start returns         runtime ns  running
//   poststop                 delete (and a failed create), once the container is gone   runtime ns  stopped, no pid
// A failing prestart, createRuntime, createContainer or startContainer hook fails the operation and the
// container is stopped and cleaned up. A failing poststart hook does the same (runtime-spec 1.3, runtime.md
// step 9, and what runc has always done: it kills the container); a failing poststop hook is a warning and the
// rest still run (step 13).

import { posix } from 'node:path';
import { RuntimeError } from '../errors.js';

export const HOOK_KINDS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
export type HookKind = (typeof HOOK_KINDS)[number];

/** The state's ociVersion: the one `shim state` prints (STATE_OCI_VERSION in run-container.ts). */
export const HOOK_STATE_OCI_VERSION = '1.2.0';

/** One entry of config.json hooks[kind], as the spec gives it. */
export interface OciHook {
  path: string;
  args?: string[] | undefined;
  env?: string[] | undefined;
  /** Seconds; > 0 when set. */
  timeout?: number | undefined;
}

export type OciHooks = Partial<Record<HookKind, OciHook[]>>;

/** What the state on a hook's stdin names besides its status and pid. */
export interface HookStateBase {
  ociVersion: string;
  id: string;
  bundle: string;
  annotations?: Record<string, string> | undefined;
}

export interface PlannedHooks {
  hooks: OciHooks;
  state: HookStateBase;
}

/** Checks config.json hooks (path absolute, timeout > 0) and keeps the kinds that have entries. */
export function planHooks(hooks: OciHooks | undefined, state: HookStateBase): PlannedHooks | undefined {
  if (!hooks) return undefined;
  const kept: OciHooks = {};
  for (const kind of HOOK_KINDS) {
    const list = hooks[kind];
    if (!list || list.length === 0) continue;
    list.forEach((hook, index) => {
      const where = `config.json: hooks.${kind}[${index}]`;
      if (typeof hook.path !== 'string' || !posix.isAbsolute(hook.path)) {
        throw new RuntimeError('invalid-config', `${where}.path must be an absolute path`);
      }
      if (hook.timeout !== undefined && !(Number.isInteger(hook.timeout) && hook.timeout > 0)) {
        throw new RuntimeError('invalid-config', `${where}.timeout must be a whole number of seconds above 0`);
      }
    });
    kept[kind] = list.map((hook) => ({ path: hook.path, args: hook.args, env: hook.env, timeout: hook.timeout }));
  }
  return Object.keys(kept).length > 0 ? { hooks: kept, state } : undefined;
}

export type HookStatus = 'creating' | 'created' | 'running' | 'stopped';

/**
 * The state as runc hands it to hooks (runtime-spec's State, in its key order): ociVersion, id, status, pid
 * (left out when there is none: a stopped container), bundle, annotations (left out when empty).
 */
export function hookStateJson(base: HookStateBase, status: HookStatus, pid: number | undefined): string {
  return JSON.stringify({
    ociVersion: base.ociVersion,
    id: base.id,
    status,
    ...(pid ? { pid } : {}),
    bundle: base.bundle,
    ...(base.annotations && Object.keys(base.annotations).length > 0 ? { annotations: base.annotations } : {}),
  });
}

/**
 * The state split where the pid goes, for the hooks the helper runs: it learns the init's host pid only once
 * it has cloned, and writes before + pid + after.
 */
export function hookStateTemplate(base: HookStateBase, status: HookStatus): { before: string; after: string } {
  const marker = 987654321;
  const text = hookStateJson(base, status, marker);
  const at = text.indexOf(`"pid":${marker}`) + '"pid":'.length;
  return { before: text.slice(0, at), after: text.slice(at + String(marker).length) };
}

/** The hook's whole environment: its own env, or `fallback` (runc: the runtime's own, or for startContainer the process's). */
export function hookEnvironment(hook: OciHook, fallback: readonly string[]): string[] {
  return hook.env ? [...hook.env] : [...fallback];
}
