// Runs the runtime-namespace hooks (prestart, createRuntime, poststart, poststop) from the shim itself: each
// program with the state on stdin, its stdout and stderr kept for the error, killed past its timeout. As runc's
// Command.Run: args empty means [path]; env absent means the runtime's own environment.

import { spawn } from 'node:child_process';
import { RuntimeError, errnoText } from '../errors.js';
import type { Logger } from '../log.js';
import { hookEnvironment, hookStateJson, type HookKind, type HookStateBase, type HookStatus, type OciHook } from './oci-hooks.js';

/** How much of a failed hook's output goes into the error line. */
const OUTPUT_SHOWN = 1024;

export interface HookRun {
  kind: HookKind;
  hooks: readonly OciHook[];
  state: HookStateBase;
  status: HookStatus;
  pid?: number | undefined;
  log: Logger;
}

/** Runs every hook of one kind in order; the first failure is thrown (RuntimeError 'setup-failed'). */
export async function runHooks(run: HookRun): Promise<void> {
  const stdin = hookStateJson(run.state, run.status, run.pid);
  for (const [index, hook] of run.hooks.entries()) {
    const reason = await runOne(hook, stdin);
    if (reason) {
      throw new RuntimeError('setup-failed', `error running ${run.kind} hook #${index}: ${reason.text}`, {
        stage: `${run.kind} hooks`,
        errno: reason.errno,
        reasonInWords: true,
      });
    }
    run.log.debug(`hooks: ${run.kind} #${index} ${hook.path} done`);
  }
}

/** poststop: a failure is a warning and the rest still run (runtime.md step 13). */
export async function runHooksWarning(run: HookRun): Promise<void> {
  const stdin = hookStateJson(run.state, run.status, run.pid);
  for (const [index, hook] of run.hooks.entries()) {
    const reason = await runOne(hook, stdin);
    if (reason) run.log.warn(`error running ${run.kind} hook #${index}: ${reason.text}`);
  }
}

interface Failure {
  text: string;
  errno?: number | undefined;
}

async function runOne(hook: OciHook, stdin: string): Promise<Failure | undefined> {
  const argv = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
  const env = hookEnvironment(hook, Object.entries(process.env).map(([key, value]) => `${key}=${value}`));
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const child = spawn(hook.path, argv.slice(1), {
      argv0: argv[0],
      env: environmentObject(env),
      stdio: ['pipe', 'pipe', 'pipe'],
      cwd: '/',
      // Its own process group, so that a timeout kills what it started too (a `sleep` under a shell script),
      // not only the hook: runc's leaves those behind, holding the output pipes.
      detached: true,
    });
    const timer = hook.timeout
      ? setTimeout(() => {
          timedOut = true;
          try {
            if (child.pid) process.kill(-child.pid, 'SIGKILL');
          } catch {
            child.kill('SIGKILL');
          }
        }, hook.timeout * 1000)
      : undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < OUTPUT_SHOWN) stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < OUTPUT_SHOWN) stderr += chunk.toString();
    });
    // A hook that does not read its stdin must not fail the write: EPIPE here is no error of the hook's.
    child.stdin.on('error', () => {});
    child.stdin.end(stdin);
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      const errno = typeof error.errno === 'number' ? Math.abs(error.errno) : undefined;
      resolve({ text: `exec ${hook.path}: ${errno ? errnoText(errno) : error.message}`, errno });
    });
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (timer) clearTimeout(timer);
      if (timedOut) return resolve({ text: `hook ran past specified timeout of ${hook.timeout}s` });
      if (code === 0) return resolve(undefined);
      // Worded as runc's (Go's exec.ExitError, then its stdout and stderr).
      const how = signal ? `signal: ${signal}` : `exit status ${code}`;
      resolve({ text: `${how}, stdout: ${trim(stdout)}, stderr: ${trim(stderr)}` });
    };
    // 'close' (the output is all read) normally; but something the hook left running may hold its pipes, so
    // a moment after 'exit' its status counts without the rest.
    child.once('close', finish);
    child.once('exit', (code, signal) => setTimeout(() => finish(code, signal), 200).unref());
  });
}

/** KEY=VALUE strings as Node's env object (an entry without '=' is a name with an empty value, as execve sees it). */
function environmentObject(entries: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf('=');
    if (at < 0) env[entry] = '';
    else env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}

function trim(text: string): string {
  return text.slice(0, OUTPUT_SHOWN).replace(/\s+$/, '');
}

