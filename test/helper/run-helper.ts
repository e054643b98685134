// Runs dist/shim-helper directly: spec bytes in on fd 3, Status frames out on fd 4, exactly as the shim does,
// so these tests see the helper's raw contract (frames, exit codes) with no CLI in between.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { helperBin } from '../support/shim.js';
import { shim } from '../../src/spec/generated/shim.js';

export const v1 = shim.v1;
export type Status = shim.v1.Status;

export interface HelperRun {
  frames: Status[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Bytes on the status descriptor that did not form whole frames. */
  trailing: number;
}

export interface HelperOptions {
  env?: Record<string, string>;
  /** Called for each frame as it arrives (to kill the container, open the start fifo, ...). */
  onFrame?: (frame: Status) => void;
  timeoutMs?: number;
  /** 'ignore': no stdout/stderr pipes (for processes that outlive the helper). */
  stdio?: 'pipe' | 'ignore';
  /** Written to the helper's stdin, which is then closed (else stdin is /dev/null). */
  input?: string | Buffer;
  /** Descriptors 3 .. 3+n-1 given to the helper before its spec and status pipes, for Process.preserve_fds. */
  preserve?: number;
}

/** One frame: 4-byte little-endian length, then the bytes. */
export function frame(body: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32LE(body.length, 0);
  Buffer.from(body).copy(out, 4);
  return out;
}

export function specFrame(spec: shim.v1.ISpec): Buffer {
  return frame(v1.Spec.encode(spec).finish());
}

export function runHelper(input: Buffer, options: HelperOptions = {}): Promise<HelperRun> {
  return new Promise((resolve, reject) => {
    const preserve = options.preserve ?? 0;
    const specFd = 3 + preserve;
    const child = spawn(helperBin, [String(specFd), String(specFd + 1)], {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', options.stdio ?? 'pipe', options.stdio ?? 'pipe', ...Array(preserve + 2).fill('pipe')],
      env: options.env ?? { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    const frames: Status[] = [];
    let pending = Buffer.alloc(0);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shim-helper did not finish in ${options.timeoutMs ?? 20_000} ms`));
    }, options.timeoutMs ?? 20_000);

    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    (child.stdio[specFd + 1] as Readable).on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32LE(0)) {
        const len = pending.readUInt32LE(0);
        const status = v1.Status.decode(pending.subarray(4, 4 + len));
        pending = pending.subarray(4 + len);
        frames.push(status);
        options.onFrame?.(status);
      }
    });
    if (options.input !== undefined) {
      child.stdin!.on('error', () => {});
      child.stdin!.end(options.input);
    }
    const specPipe = child.stdio[specFd] as Writable;
    specPipe.on('error', () => {}); // the helper may stop reading early, and must be allowed to
    specPipe.end(input);
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ frames, exitCode, signal, stdout, stderr, trailing: pending.length });
    });
  });
}

export const kinds = (run: HelperRun): string[] =>
  run.frames.filter((f) => f.kind !== v1.StatusKind.STATUS_KIND_STAGE).map((f) => v1.StatusKind[f.kind]!);

export function errorFrame(run: HelperRun): Status {
  const errors = run.frames.filter((f) => f.kind === v1.StatusKind.STATUS_KIND_ERROR);
  if (errors.length !== 1) throw new Error(`expected one ERROR frame, got ${JSON.stringify(run.frames)}`);
  return errors[0]!;
}

/** True while a process with this pid runs. A zombie counts as gone: it has ended, and who reaps it (for a
 * detached process, the host's init) is not the helper's business. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
