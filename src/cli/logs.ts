// `shim logs [-f] [--tail N] [--since T] [--until T] [-t] ID`: a `run -d` container's output. A docker-style
// container's log is in timed records, one per line and stream (container/docker-log.ts): stdout's lines go
// to stdout and stderr's to stderr, as docker's do. A log from before the records is printed as it is.

import { open, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { readContainerState } from '../container/lifecycle.js';
import { LogRecordDecoder, formatLogTime, parseLogTime, type LogLine } from '../container/docker-log.js';
import { RuntimeError, systemError } from '../errors.js';

import type { CliEnvironment } from './main.js';

const FOLLOW_POLL_MS = 100;

export interface LogsOptions {
  tail?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  timestamps?: boolean | undefined;
}

interface LineFilter {
  sinceNs?: bigint | undefined;
  untilNs?: bigint | undefined;
  timestamps: boolean;
}

export async function logsVerb(root: string, id: string, follow: boolean, cli: CliEnvironment, options: LogsOptions = {}): Promise<number> {
  const { state } = await readContainerState(root, id);
  if (!state.logPath) {
    throw new RuntimeError('usage', 'this container has no log: only `run -d` containers write one', { containerId: id });
  }
  const timed = options.since !== undefined || options.until !== undefined || Boolean(options.timestamps);
  if (timed && !state.docker?.logRecords) {
    const flag = options.since !== undefined ? '--since' : options.until !== undefined ? '--until' : '-t';
    throw new RuntimeError('unsupported', `logs ${flag}: this container's log keeps no time per line (an older shim made it)`, {
      containerId: id, hint: 'logs --tail N and -f work on it; containers run from now on keep times',
    });
  }
  const filter: LineFilter = {
    sinceNs: options.since !== undefined ? parseLogTime('--since', options.since) : undefined,
    untilNs: options.until !== undefined ? parseLogTime('--until', options.until) : undefined,
    timestamps: Boolean(options.timestamps),
  };
  if (options.tail !== undefined && options.tail !== 'all' && !/^\d+$/.test(options.tail)) {
    throw new RuntimeError('usage', `--tail ${options.tail}: expected a number of lines or "all"`);
  }
  const tail = options.tail === undefined || options.tail === 'all' ? undefined : Number(options.tail);
  // docker stops following at --until, and follows nothing when it has passed.
  const keepFollowing = follow && (filter.untilNs === undefined || filter.untilNs > BigInt(Date.now()) * 1_000_000n);
  const handle = await open(state.logPath, 'r').catch((error) => {
    throw systemError(error, 'open log', { path: state.logPath, containerId: id });
  });
  try {
    if (!state.docker?.logRecords) return await printRawLog(handle, root, id, { follow: keepFollowing, tail }, cli);
    await printRecords(handle, root, id, { from: 0, follow: keepFollowing, tail, filter }, cli);
    return 0;
  } finally {
    await handle.close();
  }
}

/**
 * The records from byte `from` on: the last `tail` lines of what is there now, then (follow) what comes
 * until the container has stopped. attach and start -a follow with this too.
 */
export async function printRecords(
  handle: FileHandle,
  root: string,
  id: string,
  options: { from: number; follow: boolean; tail?: number | undefined; filter?: LineFilter | undefined },
  cli: CliEnvironment,
): Promise<void> {
  const filter = options.filter ?? { timestamps: false };
  const decoder = new LogRecordDecoder();
  const { size } = await handle.stat();
  let position = options.from;
  const first: LogLine[] = [];
  const buffer = Buffer.alloc(64 * 1024);
  while (position < size) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - position), position);
    if (bytesRead === 0) break;
    position += bytesRead;
    first.push(...decoder.push(buffer.subarray(0, bytesRead)));
  }
  if (!options.follow) first.push(...decoder.flush());
  // docker takes the tail first, then the time window.
  printLines(options.tail === undefined ? first : options.tail === 0 ? [] : first.slice(-options.tail), filter, cli);
  if (!options.follow) return;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead > 0) {
      position += bytesRead;
      printLines(decoder.push(buffer.subarray(0, bytesRead)), filter, cli);
      continue;
    }
    // Drained: stop once the container has ended (its last records are in the file by then).
    const { status } = await readContainerState(root, id).catch(() => ({ status: 'stopped' as const }));
    if (status === 'stopped') {
      const { bytesRead: more } = await handle.read(buffer, 0, buffer.length, position);
      if (more > 0) continue;
      printLines(decoder.flush(), filter, cli);
      return;
    }
    if (filter.untilNs !== undefined && filter.untilNs < BigInt(Date.now()) * 1_000_000n) return;
    await sleep(FOLLOW_POLL_MS);
  }
}

function printLines(lines: LogLine[], filter: LineFilter, cli: CliEnvironment): void {
  for (const line of lines) {
    if (filter.sinceNs !== undefined && line.timeNs < filter.sinceNs) continue;
    if (filter.untilNs !== undefined && line.timeNs > filter.untilNs) continue;
    const text = `${filter.timestamps ? `${formatLogTime(line.timeNs)} ` : ''}${line.bytes.toString('utf8')}`;
    if (line.stream === 'stderr') cli.stderr(text);
    else cli.stdout(text);
  }
}

/**
 * A log from before the records: its bytes as they are, from `from` (docker attach: where the log ended when it
 * attached), from where the last `tail` lines begin, or from the start.
 */
export async function printRawLog(
  handle: FileHandle,
  root: string,
  id: string,
  options: { from?: number | undefined; tail?: number | undefined; follow: boolean },
  cli: CliEnvironment,
): Promise<number> {
  const { follow, tail } = options;
  let position = options.from ?? (tail === undefined ? 0 : await tailStart(handle, tail));
  const buffer = Buffer.alloc(64 * 1024);
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead > 0) {
      position += bytesRead;
      cli.stdout(buffer.subarray(0, bytesRead).toString('utf8'));
      continue;
    }
    if (!follow) return 0;
    const { status } = await readContainerState(root, id).catch(() => ({ status: 'stopped' as const }));
    if (status === 'stopped') {
      const { bytesRead: more } = await handle.read(buffer, 0, buffer.length, position);
      if (more === 0) return 0;
      continue;
    }
    await sleep(FOLLOW_POLL_MS);
  }
}

/** Where the last N lines begin (a final line without its newline counts as one). */
async function tailStart(handle: FileHandle, wanted: number): Promise<number> {
  const { size } = await handle.stat();
  const text = (await handle.read(Buffer.alloc(size), 0, size, 0)).buffer.toString('latin1');
  let end = text.endsWith('\n') ? text.length - 1 : text.length;
  let position = end;
  for (let count = 0; count < wanted; count++) {
    const newline = text.lastIndexOf('\n', end - 1);
    if (newline < 0 || end === 0) return 0;
    position = newline + 1;
    end = newline;
  }
  return wanted === 0 ? size : position;
}


