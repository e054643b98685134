// The only place that starts the C helper. It runs `shim-helper 3 4`: the Spec goes in as one frame on fd 3,
// Status frames come back on fd 4 until the helper exits; stdin, stdout and stderr are the caller's own.
// Or it finds the helper already started beside Node by dist/shim's launch (launched-helper.ts, for `create`)
// and drives that one over the same two pipes.

import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { RuntimeError, systemError } from '../errors.js';
import type { Logger } from '../log.js';
import { encodeFrame, FrameReader } from '../spec/frames.js';
import { closeSpec, launchedHelperEnded, readStatusChunks, takeLaunchedHelper, writeSpecBytes } from './launched-helper.js';

// Where the helper is: kept in its own small module so that verbs that only need the path (and main.ts, for
// every verb) do not load protobufjs and the frame code with it.
export { HELPER_NAME, locateHelper } from './locate-helper.js';
import { decodeStatus, encodeHookResume, encodeStdinNull, type HelperErrorReport, type HelperStatus } from '../spec/encode-spec.js';

// The fds the helper finds its pipes on: the first two after stdio and the preserved fds (Process.preserve_fds
// counts from 3, so the pipes move up past those).
const FIRST_FD = 3;

export interface HelperRunOptions {
  helperPath: string;
  /**
   * The encoded Spec (the frame header is added here). A promise lets the caller start the helper before it
   * is ready for it to act: the helper's exec overlaps the caller's last steps, and it blocks reading fd 3
   * until the spec comes. undefined (or a rejection) closes the pipe unwritten: the helper reports a
   * read_spec error and exits, having done nothing.
   */
  spec: Uint8Array | Promise<Uint8Array | undefined>;
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
  stdin?: 'inherit' | 'ignore' | import('node:stream').Stream | undefined;
  /** docker cp: the helper's stdout goes here (a tar reading it) rather than to ours. */
  stdout?: import('node:stream').Stream | undefined;
  /**
   * The helper's (and so the process's) stdin, stdout and stderr, over `stdin`, `stdout` and our own:
   * descriptors of ours (the runtime v2 server hands each container the FIFOs containerd named).
   */
  stdio?: readonly [HelperStdio, HelperStdio, HelperStdio] | undefined;
  /** The helper's pid, once it runs (to forward SIGWINCH to the monitor that relays a terminal). */
  onSpawn?: ((pid: number) => void) | undefined;
  /**
   * With Spec.pause_for_hooks: called at the PAUSED status (after onStatus); true lets the helper go on, false
   * stops it (it kills the process and fails at stage hooks). The spec descriptor stays open until then.
   */
  onPause?: ((status: Extract<HelperStatus, { kind: 'paused' }>) => Promise<boolean>) | undefined;
}

export type HelperStdio = number | 'inherit' | 'ignore';

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
  const helper = startHelper(options);
  // A helper that refuses the spec exits without reading all of it; its ERROR frame says why, not EPIPE.
  // With onPause the descriptor stays open after the spec: the answer to PAUSED goes on it too.
  const keepOpen = options.onPause !== undefined;
  const sendSpec = (given: Uint8Array | undefined) => {
    const spec = given && helper.specSuffix ? concatBytes(given, helper.specSuffix) : given;
    if (spec && keepOpen) helper.writeSpec(encodeFrame(spec));
    else helper.endSpec(spec ? encodeFrame(spec) : undefined);
  };
  if (options.spec instanceof Uint8Array) {
    sendSpec(options.spec);
  } else {
    options.spec.then(sendSpec, () => helper.endSpec());
  }

  const outcome: HelperOutcome = { started: false };
  const reader = new FrameReader();
  let protocolError: unknown;
  if (helper.pid !== undefined) options.onSpawn?.(helper.pid);
  let stoppedEarly = false;
  try {
    if (helper.status) {
      reading: for await (const chunk of helper.status) {
        for (const frame of reader.push(chunk)) {
          const status = decodeStatus(frame);
          record(outcome, status);
          await options.onStatus?.(status);
          if (status.kind === 'paused' && options.onPause) {
            const proceed = await options.onPause(status).catch(() => false);
            helper.endSpec(encodeFrame(encodeHookResume(proceed)));
          } else if (keepOpen && status.kind !== 'stage') {
            // Anything but a stage report means there is no pause to answer (any more).
            helper.endSpec();
          }
          if (options.stopAfterReady && (status.kind === 'ready' || status.kind === 'error')) {
            // Leaving the loop closes the pipe: a later frame (an exec failure at start) goes nowhere.
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
    helper.kill();
    helper.stopStatus();
  }

  const result = await helper.ended();
  if (keepOpen) helper.endSpec();
  if (result.spawnError !== undefined) {
    throw systemError(result.spawnError, `start helper ${options.helperPath}`, {
      stage: 'spawn helper',
      path: options.helperPath,
      hint: 'build it with `make build` or point SHIM_HELPER at it',
    });
  }
  outcome.helperExitCode = result.code ?? undefined;
  outcome.helperSignal = result.signal ?? undefined;
  if (protocolError !== undefined) throw protocolError;
  return outcome;
}

/** A running helper as runHelper drives it, whichever way it was started. */
interface StartedHelper {
  pid: number | undefined;
  /** Appended to the encoded Spec: what this way of starting it needs said in the spec. */
  specSuffix?: Uint8Array | undefined;
  /** Writes to the spec pipe, keeping it open. */
  writeSpec(data: Uint8Array): void;
  /** Writes (if given) and closes the spec pipe; again is harmless. */
  endSpec(data?: Uint8Array): void;
  /** The status pipe's bytes, until it ends. */
  status: AsyncIterable<Uint8Array> | undefined;
  /** Stops reading the status pipe after a failure. */
  stopStatus(): void;
  kill(): void;
  /** How it ended; asked once the status pipe is done with. */
  ended(): Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: unknown }>;
}

function startHelper(options: HelperRunOptions): StartedHelper {
  // The helper dist/shim's launch started beside us (launched-helper.ts), when this run wants it as spawn
  // would start it: the same binary, the caller's stdout and stderr, the caller's stdin or none (the helper
  // then opens /dev/null itself: Spec.stdin_null), no descriptors to preserve. And no hooks for Node to run
  // meanwhile (onPause): Node cannot make the launch's pipes close-on-exec, so a hook it spawned would
  // inherit them.
  const stdin = options.stdin ?? 'inherit';
  const launched = takeLaunchedHelper(
    options.helperPath,
    options.stdio === undefined &&
      (stdin === 'inherit' || stdin === 'ignore') &&
      options.stdout === undefined &&
      !options.preserveFds &&
      options.onPause === undefined,
  );
  if (launched) {
    options.log.debug(`helper: started beside node by dist/shim, pid ${launched.pid}`);
    let specOpen = true;
    return {
      pid: launched.pid,
      specSuffix: stdin === 'ignore' ? encodeStdinNull() : undefined,
      writeSpec: (data) => {
        if (specOpen) writeSpecBytes(launched.specFd, data);
      },
      endSpec: (data) => {
        if (!specOpen) return;
        if (data) writeSpecBytes(launched.specFd, data);
        specOpen = false;
        closeSpec(launched.specFd);
      },
      status: readStatusChunks(launched.statusFd),
      // Only ever called between reads (the generator closes the descriptor as the loop leaves it).
      stopStatus: () => {},
      kill: () => {
        try {
          process.kill(launched.pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      },
      // Read only when asked: a read waiting on the report pipe holds one of libuv's four threadpool threads,
      // for as long as the helper runs (an exec'd process's whole life).
      ended: () => launchedHelperEnded(launched.reportFd),
    };
  }
  return spawnHelper(options);
}

function spawnHelper(options: HelperRunOptions): StartedHelper {
  // node:child_process rather than execa: this spawn is on the hot path of every run, create and exec, and
  // loading execa cost 14-27 ms per run on the benchmark host (bench/RESULTS.md) for a process whose stdio
  // is inherited and whose only pipes are read and written right here.
  const preserved = Array.from({ length: options.preserveFds ?? 0 }, (_, index) => FIRST_FD + index);
  const specFd = FIRST_FD + preserved.length;
  const statusFd = specFd + 1;
  const subprocess = spawn(options.helperPath, [String(specFd), String(statusFd)], {
    stdio: [...(options.stdio ?? [options.stdin ?? 'inherit', options.stdout ?? 'inherit', 'inherit']), ...preserved, 'pipe', 'pipe'],
    // Its own session: a Ctrl-C on the terminal reaches the shim alone, which forwards it to the container's
    // init, instead of also killing the helper halfway through. Nothing kills it when the shim exits either:
    // the helper and the container outlive neither more nor less than the shim decides.
    detached: true,
  });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: unknown }>((resolvePromise) => {
    subprocess.once('exit', (code, signal) => resolvePromise({ code, signal }));
    subprocess.once('error', (error) => {
      // 'error' without a pid: it never ran (missing, not executable). With a pid it is a failed kill(),
      // and 'exit' still comes.
      if (subprocess.pid === undefined) resolvePromise({ code: null, signal: null, spawnError: error });
    });
  });
  const specStream = subprocess.stdio[specFd] as Writable | null;
  specStream?.on('error', () => {});
  const statusStream = subprocess.stdio[statusFd] as Readable | null;
  return {
    pid: subprocess.pid,
    writeSpec: (data) => {
      specStream?.write(data);
    },
    endSpec: (data) => {
      specStream?.end(data);
    },
    status: (statusStream as AsyncIterable<Uint8Array> | null) ?? undefined,
    stopStatus: () => {
      statusStream?.destroy();
    },
    kill: () => {
      subprocess.kill('SIGKILL');
    },
    ended: () => ended,
  };
}

function concatBytes(first: Uint8Array, second: Uint8Array): Uint8Array {
  const joined = new Uint8Array(first.length + second.length);
  joined.set(first);
  joined.set(second, first.length);
  return joined;
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
    case 'paused':
      outcome.pid = status.pid;
      return;
    case 'stage':
      return;
  }
}
