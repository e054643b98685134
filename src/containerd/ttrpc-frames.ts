// ttrpc's framing (containerd/ttrpc PROTOCOL.md, channel.go), free of any generated code so that the cold
// `start` path can speak it without loading protobufjs. ttrpc.ts has the server and client over it.

export const HEADER_SIZE = 10;
export const MAX_MESSAGE_SIZE = 4 << 20;
export const MESSAGE_TYPE_REQUEST = 1;
export const MESSAGE_TYPE_RESPONSE = 2;

/** gRPC status codes (google.golang.org/grpc/codes), which containerd's errdefs maps back to its errors. */
export const Code = {
  OK: 0,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** An error a handler throws to answer with this status instead of UNKNOWN. */
export class TtrpcError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export interface Frame {
  streamId: number;
  type: number;
  flags: number;
  data: Uint8Array;
}

export function encodeFrameHeader(length: number, streamId: number, type: number, flags = 0): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt32BE(length, 0);
  header.writeUInt32BE(streamId, 4);
  header.writeUInt8(type, 8);
  header.writeUInt8(flags, 9);
  return header;
}

/** Splits a byte stream into frames; a frame over the size limit is a protocol error (the peer is not ttrpc). */
export class FrameDecoder {
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const frames: Frame[] = [];
    while (this.#buffer.length >= HEADER_SIZE) {
      const length = this.#buffer.readUInt32BE(0);
      if (length > MAX_MESSAGE_SIZE) throw new TtrpcError(Code.INVALID_ARGUMENT, `ttrpc: message of ${length} bytes is over the ${MAX_MESSAGE_SIZE}-byte limit`);
      if (this.#buffer.length < HEADER_SIZE + length) break;
      frames.push({
        streamId: this.#buffer.readUInt32BE(4),
        type: this.#buffer.readUInt8(8),
        flags: this.#buffer.readUInt8(9),
        data: this.#buffer.subarray(HEADER_SIZE, HEADER_SIZE + length),
      });
      this.#buffer = this.#buffer.subarray(HEADER_SIZE + length);
    }
    return frames;
  }
}

