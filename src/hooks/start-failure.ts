// What the init writes on the start FIFO instead of "0" when a startContainer hook fails: "E" and one ERROR
// Status frame (4-byte little-endian length, then the encoded message; proto/shim.proto). `start` reads only
// this, so the frame is decoded here by hand rather than with protobufjs and the generated code, which would
// make start.cjs (an orchestrator's most frequent call) ten times larger for a failure path.

import { RuntimeError } from '../errors.js';
import { helperHookFailure } from './container-hooks.js';

// proto/shim.proto: Status.error = 7; Error.stage = 1, errno_value = 2, message = 3, path = 4; the stages.
const STATUS_ERROR = 7;
const STAGE_NAMES: Record<number, string> = { 25: 'wait_start', 46: 'create_container_hooks', 47: 'start_container_hooks' };

export function readStartFailure(bytes: Buffer): RuntimeError {
  const unreadable = new RuntimeError('setup-failed', 'start: the init answered on its start fifo with something unreadable', { stage: 'start' });
  if (bytes.length < 5 || bytes[0] !== 0x45) return unreadable;
  const length = bytes.readUInt32LE(1);
  if (bytes.length < 5 + length) return unreadable;
  try {
    const status = fields(bytes.subarray(5, 5 + length));
    const error = status.get(STATUS_ERROR);
    if (!(error instanceof Buffer)) return unreadable;
    const report = fields(error);
    const stageNumber = Number(report.get(1) ?? 0);
    const decoded = {
      stage: STAGE_NAMES[stageNumber] ?? `stage ${stageNumber}`,
      // int32 on the wire as a varint; a negative one would be 10 bytes, which no errno is.
      errno: Number(report.get(2) ?? 0),
      message: String(report.get(3) ?? ''),
      path: String(report.get(4) ?? ''),
    };
    return (
      helperHookFailure(decoded) ??
      new RuntimeError('setup-failed', decoded.message || `stage ${decoded.stage} failed`, { stage: decoded.stage, errno: decoded.errno, path: decoded.path })
    );
  } catch {
    return unreadable;
  }
}

/** Top-level fields of one message: varints as numbers, length-delimited ones as Buffers (strings by caller). */
function fields(message: Buffer): Map<number, number | Buffer> {
  const found = new Map<number, number | Buffer>();
  let at = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (at >= message.length) throw new Error('truncated');
      const byte = message[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
      shift += 7;
    }
  };
  while (at < message.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        found.set(field, varint());
        break;
      case 2: {
        const size = varint();
        found.set(field, message.subarray(at, at + size));
        at += size;
        break;
      }
      case 1:
        at += 8;
        break;
      case 5:
        at += 4;
        break;
      default:
        throw new Error('wire type');
    }
  }
  return found;
}
