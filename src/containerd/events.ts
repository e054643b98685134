// Task events to containerd, as its own shims send them (runtime/v2/shim/publisher.go in 1.6): each event is
// an Any (type URL = the message's full name, "containerd.events.TaskExit") in an Envelope with the
// namespace, the topic and the time it happened, forwarded over ttrpc to containerd's Events service at
// TTRPC_ADDRESS. Without that address, `containerd publish --topic T --namespace NS` (the -publish-binary)
// takes the Any on stdin, one process per event.
//
// One queue, sent in order. An event that cannot be sent (containerd restarting) stays at the head and is
// tried again with a growing pause, for up to a minute: an exit that happens while containerd is down still
// reaches it once it is back.

import { spawn } from 'node:child_process';
import type { Logger } from '../log.js';
import { containerd, google } from './generated/containerd.js';
import { TtrpcClient } from './ttrpc.js';

const EVENTS_SERVICE = 'containerd.services.events.ttrpc.v1.Events';
const GIVE_UP_AFTER_MS = 60_000;

export const TOPICS = {
  TaskCreate: '/tasks/create',
  TaskStart: '/tasks/start',
  TaskExit: '/tasks/exit',
  TaskDelete: '/tasks/delete',
  TaskOOM: '/tasks/oom',
  TaskExecAdded: '/tasks/exec-added',
  TaskExecStarted: '/tasks/exec-started',
  TaskPaused: '/tasks/paused',
  TaskResumed: '/tasks/resumed',
} as const;

export type EventName = keyof typeof TOPICS;

type EventMessages = {
  TaskCreate: containerd.events.ITaskCreate;
  TaskStart: containerd.events.ITaskStart;
  TaskExit: containerd.events.ITaskExit;
  TaskDelete: containerd.events.ITaskDelete;
  TaskOOM: containerd.events.ITaskOOM;
  TaskExecAdded: containerd.events.ITaskExecAdded;
  TaskExecStarted: containerd.events.ITaskExecStarted;
  TaskPaused: containerd.events.ITaskPaused;
  TaskResumed: containerd.events.ITaskResumed;
};

export interface PublisherOptions {
  namespace: string;
  /** containerd's ttrpc socket (TTRPC_ADDRESS). */
  ttrpcAddress?: string | undefined;
  /** -publish-binary and -address: the fallback. */
  publishBinary?: string | undefined;
  containerdAddress?: string | undefined;
  log: Logger;
}

interface QueuedEvent {
  topic: string;
  any: { type_url: string; value: Uint8Array };
  timestamp: { seconds: number; nanos: number };
  queuedAt: number;
}

export function timestampOf(date: Date): { seconds: number; nanos: number } {
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

export class EventPublisher {
  readonly #options: PublisherOptions;
  readonly #queue: QueuedEvent[] = [];
  #client: TtrpcClient | undefined;
  #sending = false;
  #idle: (() => void)[] = [];

  constructor(options: PublisherOptions) {
    this.#options = options;
  }

  publish<N extends EventName>(name: N, event: EventMessages[N]): void {
    const type = containerd.events[name] as unknown as { encode(message: unknown): { finish(): Uint8Array } };
    this.#queue.push({
      topic: TOPICS[name],
      any: { type_url: `containerd.events.${name}`, value: type.encode(event).finish() },
      timestamp: timestampOf(new Date()),
      queuedAt: Date.now(),
    });
    void this.#drain();
  }

  /** Resolves once every queued event is sent or given up on (before the server exits). */
  flushed(): Promise<void> {
    if (!this.#sending && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolvePromise) => this.#idle.push(resolvePromise));
  }

  close(): void {
    this.#client?.close();
  }

  async #drain(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    let pause = 50;
    while (this.#queue.length > 0) {
      const event = this.#queue[0]!;
      try {
        await this.#send(event);
        this.#queue.shift();
        pause = 50;
      } catch (error) {
        if (Date.now() - event.queuedAt > GIVE_UP_AFTER_MS) {
          this.#options.log.warn(`events: dropped ${event.topic} after ${GIVE_UP_AFTER_MS / 1000}s: ${(error as Error).message}`);
          this.#queue.shift();
          continue;
        }
        this.#options.log.debug(`events: ${event.topic}: ${(error as Error).message}; trying again in ${pause} ms`);
        await new Promise((resolvePromise) => setTimeout(resolvePromise, pause));
        pause = Math.min(pause * 2, 2_000);
      }
    }
    this.#sending = false;
    for (const resolvePromise of this.#idle.splice(0)) resolvePromise();
  }

  async #send(event: QueuedEvent): Promise<void> {
    const { ttrpcAddress } = this.#options;
    if (ttrpcAddress) {
      if (!this.#client || this.#client.closed) this.#client = await TtrpcClient.connect(ttrpcAddress.replace(/^unix:\/\//, ''));
      const request = containerd.events.ForwardRequest.encode({
        envelope: { timestamp: event.timestamp, namespace: this.#options.namespace, topic: event.topic, event: event.any },
      }).finish();
      await this.#client.call(EVENTS_SERVICE, 'Forward', request);
      return;
    }
    await this.#sendWithBinary(event);
  }

  #sendWithBinary(event: QueuedEvent): Promise<void> {
    const { publishBinary, containerdAddress, namespace } = this.#options;
    if (!publishBinary) return Promise.reject(new Error('no TTRPC_ADDRESS and no -publish-binary to send events with'));
    const anyBytes = google.protobuf.Any.encode(event.any).finish();
    return new Promise((resolvePromise, reject) => {
      const child = spawn(publishBinary, ['--address', containerdAddress ?? '', 'publish', '--topic', event.topic, '--namespace', namespace], {
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`containerd publish exited ${code}: ${stderr.trim()}`))));
      child.stdin?.on('error', () => {});
      child.stdin?.end(anyBytes);
    });
  }
}
