// A docker-style container's log (Spec.log_records): the background monitor writes one record per line,
//   <Unix time in ns> <stdout|stderr> <F|P> <line>\n
// CRI's log layout with the time as a number (the helper has no calendar); P: the line goes on in the next
// record of the same stream. Containers made before the records have a raw log (state.docker.logRecords
// unset): it is still printed, followed and tailed, but has no times to show or filter by.
// Also docker's time arguments (--since, --until): RFC 3339, Unix time, or a Go duration back from now.

import { RuntimeError } from '../errors.js';

export type LogStream = 'stdout' | 'stderr';

export interface LogLine {
  timeNs: bigint;
  stream: LogStream;
  /** The line's bytes, with its newline unless the process has not ended it (yet). */
  bytes: Buffer;
}

const NEWLINE = 0x0a;
const SPACE = 0x20;

/** Records in, whole lines out; fed in any pieces (a record may arrive split, as a follower reads it). */
export class LogRecordDecoder {
  #rest: Buffer = Buffer.alloc(0);
  readonly #open = new Map<LogStream, { timeNs: bigint; pieces: Buffer[] }>();

  push(chunk: Buffer): LogLine[] {
    const data = this.#rest.length > 0 ? Buffer.concat([this.#rest, chunk]) : chunk;
    const lines: LogLine[] = [];
    let start = 0;
    for (let end = data.indexOf(NEWLINE, start); end >= 0; end = data.indexOf(NEWLINE, start)) {
      const line = this.#record(data.subarray(start, end));
      if (line) lines.push(line);
      start = end + 1;
    }
    this.#rest = Buffer.from(data.subarray(start));
    return lines;
  }

  /** Lines the process left unended: printed as they are, as docker prints a partial line. */
  flush(): LogLine[] {
    const lines = [...this.#open.entries()].map(([stream, open]) => ({ timeNs: open.timeNs, stream, bytes: Buffer.concat(open.pieces) }));
    this.#open.clear();
    return lines.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
  }

  #record(record: Buffer): LogLine | undefined {
    const first = record.indexOf(SPACE);
    const second = first < 0 ? -1 : record.indexOf(SPACE, first + 1);
    const tag = second < 0 ? '' : record.toString('latin1', second + 1, second + 2);
    const time = record.toString('latin1', 0, first);
    const stream = record.toString('latin1', first + 1, second);
    // Not a record (a torn write, a foreign line): skipped rather than shown garbled.
    if (!/^\d+$/.test(time) || (stream !== 'stdout' && stream !== 'stderr') || (tag !== 'F' && tag !== 'P')) return undefined;
    const content = record.subarray(second + 3);
    const open = this.#open.get(stream) ?? { timeNs: BigInt(time), pieces: [] };
    open.pieces.push(Buffer.from(content));
    if (tag === 'P') {
      this.#open.set(stream, open);
      return undefined;
    }
    this.#open.delete(stream);
    return { timeNs: open.timeNs, stream, bytes: Buffer.concat([...open.pieces, Buffer.from('\n')]) };
  }
}

/** docker's fixed-width RFC 3339 with nanoseconds, in UTC (what `docker logs -t` prints). */
export function formatLogTime(timeNs: bigint): string {
  const seconds = timeNs / 1_000_000_000n;
  const nanos = (timeNs % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${nanos}Z`;
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in ns; undefined when it is not one. */
export function parseGoDuration(text: string): bigint | undefined {
  const match = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(text);
  if (!match) return undefined;
  let total = 0;
  for (const part of text.replace(/^[+-]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * DURATION_UNITS[part[2]!]!;
  }
  return BigInt(Math.round(total)) * (match[1] === '-' ? -1n : 1n);
}

/**
 * docker's --since/--until value (its timetypes.GetTimestamp), in Unix ns: a Go duration back from now
 * (10m, 1h30m), RFC 3339 with or without its time, fraction and zone (none: local time, as docker), or Unix
 * seconds with an optional fraction.
 */
export function parseLogTime(flag: string, text: string, nowMs = Date.now()): bigint {
  const duration = text !== '0' ? parseGoDuration(text) : undefined;
  if (duration !== undefined) return BigInt(nowMs) * 1_000_000n - duration;
  const unix = /^(\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (unix) return BigInt(unix[1]!) * 1_000_000_000n + BigInt((unix[2] ?? '').padEnd(9, '0'));
  const date = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(text);
  if (date) {
    const [year, month, day, hour, minute, second] = date.slice(1, 7).map((part) => Number(part ?? 0)) as number[];
    const zone = date[8];
    let ms: number;
    if (zone === undefined) {
      ms = new Date(year!, month! - 1, day!, hour!, minute!, second!).getTime();
    } else {
      ms = Date.UTC(year!, month! - 1, day!, hour!, minute!, second!);
      if (zone.toUpperCase() !== 'Z') {
        const offset = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
        ms -= (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) * 60_000;
      }
    }
    if (!Number.isNaN(ms)) return BigInt(ms) * 1_000_000n + BigInt((date[7] ?? '').padEnd(9, '0'));
  }
  throw new RuntimeError('usage', `${flag} ${text}: expected a time such as 2024-05-01T10:00:00Z, 1714557600 (Unix seconds) or 10m (before now)`);
}
