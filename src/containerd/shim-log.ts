// The server's log lines, where containerd's shims put theirs: containerd makes a FIFO named `log` in each
// bundle, reads it, and copies what it reads into its own log (runtime/v2/binary.go, 1.6). runc's shim dup2s
// that FIFO onto its stderr; this server serves many containers, so it holds each container's FIFO from
// Create to Delete, writes that container's lines there and its other lines to the FIFO it opened last, in
// logrus's text format as containerd's shims write them. SHIM_CONTAINERD_LOG (a file) gets every line too.
//
// The FIFO is opened O_WRONLY|O_NONBLOCK (and close-on-exec, as libuv opens everything): the open fails at once when containerd has no reader (then there is
// nowhere to log), and a write to a full FIFO is dropped rather than stopping the server.

import { closeSync, constants, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';

export interface ShimLogOptions {
  namespace: string;
  debug: boolean;
  /** SHIM_CONTAINERD_LOG */
  file?: string | undefined;
}

/** logrus's quoting: bare when the text is plain, a Go-quoted string otherwise. */
function logfmtValue(text: string): string {
  return /^[\w./:@-]+$/.test(text) ? text : JSON.stringify(text);
}

export class ShimLog {
  readonly #options: ShimLogOptions;
  readonly #fifos = new Map<string, number>();

  constructor(options: ShimLogOptions) {
    this.#options = options;
  }

  /** The logger for one container's lines (its FIFO), or for the server's own (undefined). */
  logger(id?: string): Logger {
    return {
      debugEnabled: this.#options.debug,
      debug: (message) => {
        if (this.#options.debug) this.#write('debug', message, id);
      },
      warn: (message) => this.#write('warning', message, id),
    };
  }

  info(message: string, id?: string): void {
    this.#write('info', message, id);
  }

  /** Opens the bundle's `log` FIFO for this container's lines; without a reader there, its lines go elsewhere. */
  attach(id: string, bundle: string): void {
    this.detach(id);
    try {
      this.#fifos.set(id, openSync(join(bundle, 'log'), constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // No FIFO (not run by containerd) or nobody reading it.
    }
  }

  /** Closes the container's FIFO: containerd's copy of it ends. */
  detach(id: string): void {
    const fd = this.#fifos.get(id);
    if (fd === undefined) return;
    this.#fifos.delete(id);
    try {
      closeSync(fd);
    } catch {
      // Closed already.
    }
  }

  #write(level: string, message: string, id: string | undefined): void {
    const time = new Date().toISOString();
    const fields = id ? ` id=${logfmtValue(id)}` : '';
    const line = `time="${time}" level=${level} msg=${JSON.stringify(message)}${fields} namespace=${logfmtValue(this.#options.namespace)} pid=${process.pid} runtime=shim-v2\n`;
    const fd = (id !== undefined ? this.#fifos.get(id) : undefined) ?? [...this.#fifos.values()].at(-1);
    if (fd !== undefined) {
      try {
        writeSync(fd, line);
      } catch {
        // Full (dropped) or containerd's reader is gone: logging never fails a call.
      }
    }
    if (this.#options.file) {
      try {
        writeFileSync(this.#options.file, line, { flag: 'a' });
      } catch {
        // As above.
      }
    }
  }
}
