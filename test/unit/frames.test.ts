// The 4-byte little-endian length framing, with frames split anywhere across reads.

import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameReader, MAX_FRAME_BYTES } from '../../src/spec/frames.js';

describe('frames', () => {
  it('prefixes the payload with its length, little-endian', () => {
    expect([...encodeFrame(Buffer.from('abc'))]).toEqual([3, 0, 0, 0, 0x61, 0x62, 0x63]);
    expect([...encodeFrame(Buffer.alloc(0))]).toEqual([0, 0, 0, 0]);
  });

  it('reassembles frames split at every possible byte', () => {
    const payloads = [Buffer.from('first'), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.from('last')];
    const stream = Buffer.concat(payloads.map(encodeFrame));
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new FrameReader();
      const frames = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      expect(frames.map((f) => Buffer.from(f).toString('hex'))).toEqual(payloads.map((p) => p.toString('hex')));
      expect(reader.pendingBytes).toBe(0);
    }
  });

  it('handles one byte at a time and reports a truncated tail', () => {
    const stream = Buffer.concat([encodeFrame(Buffer.from('hello')), encodeFrame(Buffer.from('world')).subarray(0, 6)]);
    const reader = new FrameReader();
    const frames: Buffer[] = [];
    for (const byte of stream) frames.push(...reader.push(Buffer.from([byte])));
    expect(frames.map(String)).toEqual(['hello']);
    expect(reader.pendingBytes).toBe(6);
  });

  it('refuses a length over 16 MiB', () => {
    const header = Buffer.alloc(4);
    header.writeUInt32LE(MAX_FRAME_BYTES + 1);
    expect(() => new FrameReader().push(header)).toThrow(/over the 16777216-byte limit/);
    expect(() => encodeFrame(Buffer.alloc(MAX_FRAME_BYTES + 1))).toThrow(/at most/);
  });
});
