// ttrpc, written from its protocol (containerd/ttrpc PROTOCOL.md, channel.go): a unary RPC over a stream socket.
// Every message is a frame: a 10-byte header, then the data.
//
//   length    uint32, big-endian: the data's size (not the header's); at most 4 MiB
//   stream id uint32, big-endian: the client's odd numbers, one per call; the response carries the request's
//   type      byte: 1 request, 2 response (data frames, 3, belong to streaming, which containerd 1.6 never uses)
//   flags     byte: 0 for unary calls
//
// A request's data is a ttrpc.Request (service, method, payload, timeout, metadata); the response's a
// ttrpc.Response (a google.rpc.Status, and the payload when the status is OK). Both ends use one socket for
// any number of calls at once: responses go out in the order handlers finish, matched by stream id.

import { connect, createServer, type Server, type Socket } from 'node:net';
import { ttrpc } from './generated/containerd.js';

export { Code, FrameDecoder, HEADER_SIZE, MAX_MESSAGE_SIZE, MESSAGE_TYPE_REQUEST, MESSAGE_TYPE_RESPONSE, TtrpcError, encodeFrameHeader, type Frame } from './ttrpc-frames.js';
import { Code, FrameDecoder, MESSAGE_TYPE_REQUEST, MESSAGE_TYPE_RESPONSE, TtrpcError, encodeFrameHeader, type Frame } from './ttrpc-frames.js';

/** One method: the request's payload in, the response's payload out (or a TtrpcError). */
export type MethodHandler = (payload: Uint8Array) => Promise<Uint8Array>;

export interface TtrpcServerOptions {
  /** "containerd.task.v2.Task" -> "Create" -> handler. */
  services: Map<string, Map<string, MethodHandler>>;
  onError?: ((error: unknown) => void) | undefined;
  /** Every connection accepted and closed: the server counts them to know when nobody is talking to it. */
  onConnection?: ((open: number) => void) | undefined;
}

export class TtrpcServer {
  readonly #options: TtrpcServerOptions;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(options: TtrpcServerOptions) {
    this.#options = options;
    this.#server = createServer((socket) => this.#serve(socket));
  }

  /** Listens on a unix socket path; rejects with the listen error (EADDRINUSE when someone is there). */
  listen(path: string): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      const onError = (error: Error) => reject(error);
      this.#server.once('error', onError);
      this.#server.listen(path, () => {
        this.#server.off('error', onError);
        resolvePromise();
      });
    });
  }

  /** Stops accepting, and closes every connection (their calls in flight are answered nowhere). */
  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolvePromise) => this.#server.close(() => resolvePromise()));
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    this.#options.onConnection?.(this.#sockets.size);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        this.#options.onError?.(error);
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        if (frame.type !== MESSAGE_TYPE_REQUEST) continue; // a client sends nothing else in unary ttrpc
        void this.#answer(socket, frame);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#sockets.delete(socket);
      this.#options.onConnection?.(this.#sockets.size);
    });
  }

  async #answer(socket: Socket, frame: Frame): Promise<void> {
    let response: ttrpc.IResponse;
    try {
      const request = ttrpc.Request.decode(frame.data);
      const handler = this.#options.services.get(request.service)?.get(request.method);
      if (!handler) throw new TtrpcError(Code.UNIMPLEMENTED, `${request.service}/${request.method} is not implemented`);
      const payload = await handler(request.payload);
      response = { status: { code: Code.OK }, payload };
    } catch (error) {
      if (!(error instanceof TtrpcError)) this.#options.onError?.(error);
      response = { status: statusOf(error) };
    }
    if (socket.destroyed) return;
    const data = ttrpc.Response.encode(response).finish();
    socket.write(Buffer.concat([encodeFrameHeader(data.length, frame.streamId, MESSAGE_TYPE_RESPONSE), data]));
  }
}

function statusOf(error: unknown): ttrpc.IStatus {
  if (error instanceof TtrpcError) return { code: error.code, message: error.message };
  return { code: Code.UNKNOWN, message: error instanceof Error ? error.message : String(error) };
}

/** A ttrpc client over one connection: calls in flight are matched to responses by stream id. */
export class TtrpcClient {
  readonly #socket: Socket;
  readonly #pending = new Map<number, { resolve: (payload: Uint8Array) => void; reject: (error: Error) => void }>();
  #nextStreamId = 1;
  #closed: Error | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of decoder.push(chunk)) this.#settle(frame);
      } catch (error) {
        this.#fail(error as Error);
      }
    });
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new TtrpcError(Code.UNAVAILABLE, 'ttrpc: connection closed')));
  }

  static connect(path: string): Promise<TtrpcClient> {
    return new Promise((resolvePromise, reject) => {
      const socket = connect(path);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolvePromise(new TtrpcClient(socket));
      });
    });
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  call(service: string, method: string, payload: Uint8Array, timeoutMs = 10_000): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(this.#closed);
    const streamId = this.#nextStreamId;
    this.#nextStreamId += 2;
    const data = ttrpc.Request.encode({ service, method, payload, timeoutNano: timeoutMs * 1e6 }).finish();
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(streamId);
        reject(new TtrpcError(Code.DEADLINE_EXCEEDED, `ttrpc: ${service}/${method}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(streamId, {
        resolve: (value) => {
          clearTimeout(timer);
          resolvePromise(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#socket.write(Buffer.concat([encodeFrameHeader(data.length, streamId, MESSAGE_TYPE_REQUEST), data]));
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #settle(frame: Frame): void {
    if (frame.type !== MESSAGE_TYPE_RESPONSE) return;
    const waiter = this.#pending.get(frame.streamId);
    if (!waiter) return;
    this.#pending.delete(frame.streamId);
    const response = ttrpc.Response.decode(frame.data);
    const code = response.status?.code ?? Code.OK;
    if (code !== Code.OK) waiter.reject(new TtrpcError(code, response.status?.message ?? `ttrpc status ${code}`));
    else waiter.resolve(response.payload);
  }

  #fail(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    for (const waiter of this.#pending.values()) waiter.reject(error);
    this.#pending.clear();
    this.#socket.destroy();
  }
}
