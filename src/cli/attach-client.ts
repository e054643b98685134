// The client end of a terminal container's attach socket (Spec.attach_socket): the local terminal in raw
// mode, what is typed sent as 'd' frames (held back while it could be the start of the detach keys), the
// window size as 'w' frames at once and on every resize, the container's output written as it comes.
// Reads process.stdin and process.stdout directly: only run -it, start -a and attach load this file.

import { closeSync, openSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { basename, dirname } from 'node:path';
import { RuntimeError } from '../errors.js';

/** "ctrl-p,ctrl-q" -> [0x10, 0x11]; plain characters stand for themselves (docker's --detach-keys). */
export function parseDetachKeys(text: string): number[] {
  const keys = text.split(',').map((key) => {
    const ctrl = /^ctrl-(.)$/i.exec(key);
    if (ctrl) {
      const char = ctrl[1]!;
      if (/[a-z]/i.test(char)) return char.toLowerCase().charCodeAt(0) - 96;
      const special: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };
      if (special[char] !== undefined) return special[char]!;
    } else if (key.length === 1) {
      return key.charCodeAt(0);
    }
    throw new RuntimeError('usage', `--detach-keys ${text}: cannot read ${key}`, { hint: 'e.g. ctrl-p,ctrl-q or ctrl-a,d' });
  });
  if (keys.length === 0) throw new RuntimeError('usage', '--detach-keys: no keys');
  return keys;
}

/** Splits typed input around the detach sequence: what to send, and whether the sequence is complete. */
export class DetachMatcher {
  readonly #keys: number[];
  #held: number[] = [];

  constructor(keys: number[]) {
    this.#keys = keys;
  }

  feed(chunk: Uint8Array): { send: number[]; detach: boolean } {
    const send: number[] = [];
    for (const byte of chunk) {
      if (byte === this.#keys[this.#held.length]) {
        this.#held.push(byte);
        if (this.#held.length === this.#keys.length) return { send, detach: true };
        continue;
      }
      send.push(...this.#held);
      this.#held = [];
      if (byte === this.#keys[0]) this.#held.push(byte);
      else send.push(byte);
    }
    return { send, detach: false };
  }
}

function frame(type: 'd' | 'w', payload: Uint8Array): Buffer {
  const header = Buffer.from([type.charCodeAt(0), payload.length & 0xff, payload.length >> 8]);
  return Buffer.concat([header, payload]);
}

export function windowFrame(rows: number, columns: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt16LE(rows, 0);
  payload.writeUInt16LE(columns, 2);
  return frame('w', payload);
}

export function inputFrames(bytes: Uint8Array): Buffer[] {
  const frames: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 4096) frames.push(frame('d', bytes.subarray(at, at + 4096)));
  return frames;
}

/**
 * Straight to descriptor 1, as the rest of the CLI writes (shim.ts): process.stdout on a terminal writes
 * through a descriptor of its own that libuv reopened, and what it still held when the container's end
 * came was seen lost on the way out.
 */
function writeAll(data: Buffer): void {
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(1, data, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
    }
  }
}

/**
 * sun_path holds 107 bytes, and a state root plus a 64-character id can pass that: then the socket is reached
 * through its directory's descriptor, /proc/self/fd/N/NAME, the way the helper bound it (helper-c/attach.c).
 */
function connectAttach(socketPath: string, allowHalfOpen: boolean): Socket {
  if (Buffer.byteLength(socketPath) < 108) return connect({ path: socketPath, allowHalfOpen });
  const directory = openSync(dirname(socketPath), 'r');
  const socket = connect({ path: `/proc/self/fd/${directory}/${basename(socketPath)}`, allowHalfOpen });
  // connect(2) has resolved the path once it answers; a socket that never connects still closes.
  let held = true;
  const closeDirectory = () => {
    if (held) closeSync(directory);
    held = false;
  };
  socket.once('connect', closeDirectory);
  socket.once('close', closeDirectory);
  return socket;
}

/** Relays until the container's end closes the socket ('ended') or the detach keys are typed ('detached'). */
export async function attachTerminal(socketPath: string, options: { stdin: boolean; detachKeys: string }): Promise<'ended' | 'detached'> {
  const keys = parseDetachKeys(options.detachKeys);
  // Half-open, and read from the first moment: a container that ends at once sends its output and EOF
  // before we are set up, and a socket that is not half-open turns our window-size write after that EOF
  // into EPIPE and drops what it had not handed us yet.
  const socket = connectAttach(socketPath, true);
  let onEnd: (() => void) | undefined;
  let endedEarly = false;
  socket.on('data', (data: Buffer) => writeAll(data));
  socket.on('end', () => (onEnd ? onEnd() : (endedEarly = true)));
  socket.on('close', () => (onEnd ? onEnd() : (endedEarly = true)));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (error) =>
      reject(new RuntimeError('system', `attach: connect to ${socketPath}: ${(error as NodeJS.ErrnoException).code ?? error.message}`, { hint: 'is the container running with -t?' })),
    );
  });
  // A write the monitor no longer reads (it has ended) is not an error of ours.
  socket.on('error', () => onEnd?.());
  const stdin = process.stdin;
  const stdout = process.stdout;
  const raw = options.stdin && stdin.isTTY;
  const send = (frame: Buffer) => {
    if (!socket.destroyed && socket.writable) socket.write(frame);
  };
  const sendSize = () => {
    if (stdout.isTTY) send(windowFrame(stdout.rows, stdout.columns));
  };
  const matcher = new DetachMatcher(keys);
  return await new Promise<'ended' | 'detached'>((resolve) => {
    let done = false;
    const finish = (how: 'ended' | 'detached') => {
      if (done) return;
      done = true;
      stdout.off('resize', sendSize);
      if (options.stdin) {
        if (raw) stdin.setRawMode(false);
        stdin.pause();
        stdin.removeAllListeners('data');
      }
      socket.destroy();
      resolve(how);
    };
    onEnd = () => finish('ended');
    if (endedEarly) return finish('ended');
    sendSize();
    stdout.on('resize', sendSize);
    if (options.stdin) {
      if (raw) stdin.setRawMode(true);
      stdin.on('data', (chunk: Buffer) => {
        const { send: bytes, detach } = matcher.feed(chunk);
        for (const piece of inputFrames(Uint8Array.from(bytes))) send(piece);
        if (detach) finish('detached');
      });
      stdin.resume();
    }
  });
}

/**
 * run -d -i without -t: what this process reads on stdin goes to the container's stdin as 'd' frames (the
 * output is followed in the log meanwhile). Until stdin ends or the returned stop is called; the container's
 * stdin stays open either way, as docker's does for a container it did not start attached.
 */
export function sendInput(socketPath: string): () => void {
  const socket = connectAttach(socketPath, false);
  const stdin = process.stdin;
  const onData = (chunk: Buffer) => {
    for (const piece of inputFrames(chunk)) if (!socket.destroyed) socket.write(piece);
  };
  // A container that has ended, or a write it no longer reads: nothing of ours to report.
  socket.on('error', () => {});
  stdin.on('data', onData);
  stdin.once('end', () => socket.end());
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    stdin.pause();
    socket.end();
  };
}
