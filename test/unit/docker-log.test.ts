// The docker-style log's records (container/docker-log.ts) and docker's time arguments, without a container.

import { describe, expect, it } from 'vitest';
import { LogRecordDecoder, formatLogTime, parseGoDuration, parseLogTime } from '../../src/container/docker-log.js';

describe('LogRecordDecoder', () => {
  it('joins a line written in pieces, keeps the streams apart, and takes records split anywhere', () => {
    const log = Buffer.from('1000000000000000001 stdout P in \n1000000000000000002 stderr F oops\n1000000000000000003 stdout F pieces\n');
    const decoder = new LogRecordDecoder();
    const lines = [...decoder.push(log.subarray(0, 7)), ...decoder.push(log.subarray(7, 40)), ...decoder.push(log.subarray(40))];
    expect(lines.map((line) => [line.timeNs, line.stream, line.bytes.toString()])).toEqual([
      [1000000000000000002n, 'stderr', 'oops\n'],
      [1000000000000000001n, 'stdout', 'in pieces\n'],
    ]);
    expect(decoder.flush()).toEqual([]);
  });

  it('hands over a line the process has not ended yet at the end, and skips what is not a record', () => {
    const decoder = new LogRecordDecoder();
    expect(decoder.push(Buffer.from('garbage\n5 stdout P prompt> \n'))).toEqual([]);
    expect(decoder.flush().map((line) => line.bytes.toString())).toEqual(['prompt> ']);
  });
});

describe('docker times', () => {
  const now = Date.UTC(2024, 4, 1, 12, 0, 0);
  it('reads RFC 3339, Unix seconds and Go durations back from now', () => {
    expect(parseLogTime('--since', '2024-05-01T10:00:00Z', now)).toBe(BigInt(Date.UTC(2024, 4, 1, 10)) * 1_000_000n);
    expect(parseLogTime('--since', '2024-05-01T10:00:00.5+02:00', now)).toBe(BigInt(Date.UTC(2024, 4, 1, 8)) * 1_000_000n + 500_000_000n);
    expect(parseLogTime('--since', '1714557600.25', now)).toBe(1714557600_250_000_000n);
    expect(parseLogTime('--since', '10m', now)).toBe(BigInt(now - 600_000) * 1_000_000n);
    expect(parseLogTime('--since', '1h30m', now)).toBe(BigInt(now - 5_400_000) * 1_000_000n);
    expect(parseGoDuration('1.5s')).toBe(1_500_000_000n);
    expect(parseGoDuration('10')).toBeUndefined();
    expect(() => parseLogTime('--until', 'yesterday', now)).toThrow(/--until yesterday: expected a time/);
  });

  it('prints docker\'s fixed-width nanosecond time', () => {
    expect(formatLogTime(1714557600_000000042n)).toBe('2024-05-01T10:00:00.000000042Z');
  });
});
