// The few protobuf messages the cold `start` and `delete` paths need, written by hand: containerd runs those
// once per container, each a Node start of its own, and loading protobufjs and containerd's generated API for a
// two-field message would cost more than the rest of the call (the server loads them; these paths do not).
// Field numbers are containerd's and ttrpc's (proto/containerd/).

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return bytes;
}

function varintField(field: number, value: number): Buffer {
  return value === 0 ? Buffer.alloc(0) : Buffer.from([...varint(field << 3), ...varint(value)]);
}

function bytesField(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([...varint((field << 3) | 2), ...varint(bytes.length)]), bytes]);
}

/** ttrpc.Request {service = 1, method = 2, payload = 3}. */
export function encodeTtrpcRequest(service: string, method: string, payload: Uint8Array): Buffer {
  return Buffer.concat([bytesField(1, Buffer.from(service)), bytesField(2, Buffer.from(method)), bytesField(3, payload)]);
}

/** The status code of a ttrpc.Response {status = 1 (google.rpc.Status {code = 1}), payload = 2}; 0 when none. */
export function ttrpcResponseCode(response: Uint8Array): number {
  const status = readField(response, 1);
  if (!status || typeof status === 'number') return 0;
  const code = readField(status, 1);
  return typeof code === 'number' ? code : 0;
}

/** containerd.task.v2.DeleteResponse {pid = 1, exit_status = 2, exited_at = 3 (Timestamp {seconds, nanos})}. */
export function encodeDeleteResponse(pid: number, exitStatus: number, exitedAt: Date): Buffer {
  const ms = exitedAt.getTime();
  const timestamp = Buffer.concat([varintField(1, Math.floor(ms / 1000)), varintField(2, (ms % 1000) * 1e6)]);
  return Buffer.concat([varintField(1, pid), varintField(2, exitStatus), bytesField(3, timestamp)]);
}

/** The first occurrence of a field: a number (varint) or the bytes (length-delimited); others are skipped. */
export function readField(message: Uint8Array, wanted: number): number | Uint8Array | undefined {
  let offset = 0;
  const readVarint = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (offset >= message.length) throw new Error('protobuf: truncated varint');
      const byte = message[offset++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  };
  while (offset < message.length) {
    const key = readVarint();
    const field = Math.floor(key / 8);
    const type = key & 7;
    let value: number | Uint8Array;
    if (type === 0) value = readVarint();
    else if (type === 2) {
      const length = readVarint();
      value = message.subarray(offset, offset + length);
      offset += length;
    } else if (type === 1) {
      offset += 8;
      continue;
    } else if (type === 5) {
      offset += 4;
      continue;
    } else throw new Error(`protobuf: wire type ${type} is not supported here`);
    if (field === wanted) return value;
  }
  return undefined;
}
