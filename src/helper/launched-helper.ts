// A helper started beside this Node process rather than by it: dist/shim runs `create` and `exec` through
// `shim-helper --launch` (helper-c/launch.c), which makes three pipes, starts the helper on two of them and Node
// with its ends of all three, and waits. Node then need not fork itself to start the helper: with the
// planner loaded that fork, node:child_process and the pipes' stream objects cost `create` ~20 ms here.
//
// The launcher hands the ends over in SHIM_HELPER_LAUNCHED ("SPEC_FD STATUS_FD REPORT_FD HELPER_PATH");
// dist/shim.cjs (src/cli/launcher.ts) takes the variable out of the environment before anything could
// inherit it and leaves it here, under LAUNCHED_KEY. It is used once, by the first helper run that wants the
// helper as spawn would start it (run-helper.ts startHelper says when); any other first run, or a hook about
// to be spawned (releaseLaunchedHelper), closes the ends, and the helper, reading end of file instead of a
// spec, exits having done nothing.

import { closeSync, read, readSync, realpathSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { promisify } from 'node:util';

/** Where launcher.ts leaves the variable's value (spelled out there too: the verb files are bundles of their own,
 * globalThis is what they share). */
export const LAUNCHED_KEY = Symbol.for('shim.helper-launched');

export interface LaunchedHelper {
  /** The helper's pid: the launcher writes it before Node has even started. */
  pid: number;
  /** Write end of the helper's spec pipe. */
  specFd: number;
  /** Read end of its status pipe. */
  statusFd: number;
  /** The launcher's report: the helper's wait status once it has ended. */
  reportFd: number;
}

interface LaunchedFds {
  specFd: number;
  statusFd: number;
  reportFd: number;
  helperPath: string;
}

function takeFds(): LaunchedFds | undefined {
  const holder = globalThis as Record<symbol, unknown>;
  const value = holder[LAUNCHED_KEY];
  if (typeof value !== 'string') return undefined;
  delete holder[LAUNCHED_KEY];
  const match = /^(\d+) (\d+) (\d+) (.+)$/s.exec(value);
  if (!match) return undefined;
  return { specFd: Number(match[1]), statusFd: Number(match[2]), reportFd: Number(match[3]), helperPath: match[4]! };
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Closed already.
  }
}

/**
 * The launched helper, if there is one and it is `helperPath`; undefined otherwise. Either way the hand-over
 * is used up: a later call returns undefined, and ends not taken are closed.
 */
export function takeLaunchedHelper(helperPath: string, usable: boolean): LaunchedHelper | undefined {
  const fds = takeFds();
  if (!fds) return undefined;
  if (usable && sameFile(fds.helperPath, helperPath)) {
    const pid = readWord(fds.reportFd);
    if (pid !== undefined && pid > 0) return { pid, specFd: fds.specFd, statusFd: fds.statusFd, reportFd: fds.reportFd };
  }
  closeQuietly(fds.specFd);
  closeQuietly(fds.statusFd);
  closeQuietly(fds.reportFd);
  return undefined;
}

/**
 * Gives up a launched helper before Node spawns anything of its own (a hook): its pipes, inherited, would
 * otherwise reach that process, and one that lingered would keep the helper waiting for a spec.
 */
export function releaseLaunchedHelper(): void {
  takeLaunchedHelper('', false);
}

/** locateHelper resolves symlinks; dist/shim names the helper as it found itself. */
function sameFile(launched: string, located: string): boolean {
  try {
    return realpathSync.native(launched) === realpathSync.native(located);
  } catch {
    return false;
  }
}

/** The helper's pid: written by the launcher right after its fork, long before Node gets here. */
function readWord(fd: number): number | undefined {
  const word = Buffer.alloc(4);
  let got = 0;
  try {
    while (got < 4) {
      const count = readSync(fd, word, got, 4 - got, null);
      if (count === 0) return undefined;
      got += count;
    }
  } catch {
    return undefined;
  }
  return word.readUInt32LE(0);
}

const readAsync = promisify(read);

/** The helper's status frames as they come, from libuv's threadpool; the descriptor is closed when done. */
export async function* readStatusChunks(fd: number): AsyncGenerator<Uint8Array> {
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(65536);
      const { bytesRead } = await readAsync(fd, buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    closeQuietly(fd);
  }
}

/** Writes all of data to the spec pipe; a helper that is gone (EPIPE) explains itself in its status. */
export function writeSpecBytes(fd: number, data: Uint8Array): void {
  let written = 0;
  try {
    while (written < data.length) written += writeSync(fd, data, written, data.length - written);
  } catch {
    // The helper stopped reading: its ERROR frame or exit status says why.
  }
}

export function closeSpec(fd: number): void {
  closeQuietly(fd);
}

/** The helper's end as the launcher saw it (its wait status), as child_process reports an exit. */
export async function launchedHelperEnded(fd: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const word = Buffer.alloc(4);
  let got = 0;
  try {
    while (got < 4) {
      const { bytesRead } = await readAsync(fd, word, got, 4 - got, null);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
  } finally {
    closeQuietly(fd);
  }
  // No status: the launcher is gone (and Node with it, by PR_SET_PDEATHSIG, any moment now).
  if (got < 4) return { code: null, signal: null };
  const waitStatus = word.readUInt32LE(0);
  const termSignal = waitStatus & 0x7f;
  if (termSignal === 0) return { code: (waitStatus >> 8) & 0xff, signal: null };
  const name = Object.entries(constants.signals).find(([, number]) => number === termSignal)?.[0];
  return { code: null, signal: (name ?? null) as NodeJS.Signals | null };
}
