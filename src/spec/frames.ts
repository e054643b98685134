// The wire framing of both pipes (proto/shim.proto): a 4-byte little-endian length, then that many bytes of
// one encoded message. A frame over 16 MiB is refused on both sides.

import { RuntimeError } from '../errors.js';

export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.length > MAX_FRAME_BYTES) {
    throw new RuntimeError('invalid-config', `spec is ${payload.length} bytes; a frame holds at most ${MAX_FRAME_BYTES}`);
  }
  const frame = Buffer.allocUnsafe(4 + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.set(payload, 4);
  return frame;
}

/**
 * Reassembles frames from a byte stream that may split them anywhere (a pipe read returns whatever is
 * there). push() returns every frame completed by the chunk, in order.
 */
export class FrameReader {
  #buffered: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): Buffer[] {
    this.#buffered = this.#buffered.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buffered, chunk]);
    const frames: Buffer[] = [];
    while (this.#buffered.length >= 4) {
      const length = this.#buffered.readUInt32LE(0);
      if (length > MAX_FRAME_BYTES) {
        throw new RuntimeError('helper-failed', `read status: frame of ${length} bytes is over the ${MAX_FRAME_BYTES}-byte limit`, {
          hint: 'the status pipe is out of step or corrupt',
        });
      }
      if (this.#buffered.length < 4 + length) break;
      frames.push(this.#buffered.subarray(4, 4 + length));
      this.#buffered = this.#buffered.subarray(4 + length);
    }
    return frames;
  }

  /** Bytes of a frame begun but not finished; non-zero at end of stream means the helper was cut off. */
  get pendingBytes(): number {
    return this.#buffered.length;
  }
}
