// The only place that starts the C helper. It runs `shim-helper 3 4`: the Spec goes in as one frame on fd 3,
// Status frames come back on fd 4 until the helper exits; stdin, stdout and stderr are the caller's own.

import { realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RuntimeError, systemError } from '../errors.js';
import type { Logger } from '../log.js';
import { encodeFrame, FrameReader } from '../spec/frames.js';
import { decodeStatus, type HelperErrorReport, type HelperStatus } from '../spec/encode-spec.js';

export const HELPER_NAME = 'shim-helper';
// The fds the helper finds its pipes on: the first two after stdio and the preserved fds (Process.preserve_fds
// counts from 3, so the pipes move up past those).
const FIRST_FD = 3;

/** The helper sits next to the CLI file (dist/shim -> dist/shim-helper) unless SHIM_HELPER says otherwise. */
export function locateHelper(cliPath: string | undefined, override: string | undefined): string {
  if (override) return resolve(override);
  if (!cliPath) throw new RuntimeError('helper-failed', 'locate shim-helper: the CLI path is unknown', { hint: 'set SHIM_HELPER' });
  // Through symlinks: /usr/local/bin/shim links to /usr/local/lib/shim/shim, and the helper is beside the latter.
  let cliFile = resolve(cliPath);
  try {
    cliFile = realpathSync(cliFile);
  } catch {
    // A CLI path that does not resolve still names the directory to look in.
  }
  return join(dirname(cliFile), HELPER_NAME);
}

export interface HelperRunOptions {
  helperPath: string;
  /** The encoded Spec (the frame header is added here). */
  spec: Uint8Array;
  log: Logger;
  /** Each status frame as it arrives, awaited in order before the next is handled. */
  onStatus?: (status: HelperStatus) => Promise<void> | void;
  /**
   * Stop reading at READY (MONITOR_DETACH): the init keeps the status pipe until its execve, which for a
   * created container comes only with `start`, so the stream would not end before that.
   */
  stopAfterReady?: boolean | undefined;
  /** Our own descriptors 3 .. 3+n-1 become the helper's 3 .. 3+n-1 (exec --preserve-fds). */
  preserveFds?: number | undefined;
  /** 'ignore': the helper (and the process) read /dev/null instead of our stdin. */
  stdin?: 'inherit' | 'ignore' | undefined;
  /** The helper's pid, once it runs (to forward SIGWINCH to the monitor that relays a terminal). */
  onSpawn?: ((pid: number) => void) | undefined;
}

export interface HelperOutcome {
  /** From READY or STARTED. */
  pid?: number | undefined;
  started: boolean;
  exited?: { exitCode: number; termSignal: number; coreDumped: boolean } | undefined;
  error?: HelperErrorReport | undefined;
  /** How the helper process itself ended. */
  helperExitCode?: number | undefined;
  helperSignal?: string | undefined;
}

export async function runHelper(options: HelperRunOptions): Promise<HelperOutcome> {
  const { execa } = await import('execa');
  const preserved = Array.from({ length: options.preserveFds ?? 0 }, (_, index) => FIRST_FD + index);
  const specFd = FIRST_FD + preserved.length;
  const statusFd = specFd + 1;
  const subprocess = execa(options.helperPath, [String(specFd), String(statusFd)], {
    // Typed as the fixed five-entry form: execa's types cannot follow a spread of inherited fd numbers.
    stdio: [options.stdin ?? 'inherit', 'inherit', 'inherit', ...preserved, encodeFrame(options.spec), 'pipe'] as unknown as [
      'inherit',
      'inherit',
      'inherit',
      Uint8Array,
      'pipe',
    ],
    // The status stream is consumed here, frame by frame; stdio is inherited, so nothing else to buffer.
    buffer: false,
    reject: false,
    // The helper and the container must outlive neither more nor less than the shim decides: no kill on
    // the shim's exit, no timeout.
    cleanup: false,
    // Its own session: a Ctrl-C on the terminal reaches the shim alone, which forwards it to the container's
    // init, instead of also killing the helper halfway through.
    detached: true,
    stripFinalNewline: false,
  });

  const outcome: HelperOutcome = { started: false };
  const reader = new FrameReader();
  let protocolError: unknown;
  if (subprocess.pid !== undefined) options.onSpawn?.(subprocess.pid);
  const statusStream = subprocess.stdio[statusFd];
  let stoppedEarly = false;
  try {
    if (statusStream) {
      reading: for await (const chunk of statusStream as AsyncIterable<Uint8Array>) {
        for (const frame of reader.push(chunk)) {
          const status = decodeStatus(frame);
          record(outcome, status);
          await options.onStatus?.(status);
          if (options.stopAfterReady && (status.kind === 'ready' || status.kind === 'error')) {
            // Leaving the loop destroys the stream: a later frame (an exec failure at start) goes nowhere.
            stoppedEarly = true;
            break reading;
          }
        }
      }
    }
    if (reader.pendingBytes > 0 && !stoppedEarly) {
      throw new RuntimeError('helper-failed', `read status: the helper stopped in the middle of a frame (${reader.pendingBytes} bytes)`);
    }
  } catch (error) {
    protocolError = error;
    // A helper that no longer makes sense cannot be trusted to finish either; what it leaves in the
    // container's cgroup is killed when the caller destroys the cgroup.
    subprocess.kill('SIGKILL');
  }

  const result = await subprocess;
  if (result.exitCode === undefined && result.signal === undefined) {
    // It never ran: spawn itself failed (missing, not executable).
    throw systemError(result.cause, `start helper ${options.helperPath}`, {
      stage: 'spawn helper',
      path: options.helperPath,
      hint: 'build it with `make build` or point SHIM_HELPER at it',
    });
  }
  outcome.helperExitCode = result.exitCode;
  outcome.helperSignal = result.signal;
  if (protocolError !== undefined) throw protocolError;
  return outcome;
}

function record(outcome: HelperOutcome, status: HelperStatus): void {
  switch (status.kind) {
    case 'ready':
      outcome.pid = status.pid;
      return;
    case 'started':
      outcome.pid = status.pid;
      outcome.started = true;
      return;
    case 'exited':
      outcome.exited = { exitCode: status.exitCode, termSignal: status.termSignal, coreDumped: status.coreDumped };
      return;
    case 'error':
      outcome.error = status.error;
      return;
    case 'stage':
      return;
  }
}
