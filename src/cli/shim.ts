// The process entry: gathers what main() needs from the real process and sets the exit status. The only file
// that reads process.argv/env or sets process.exitCode. No top-level await: dist/ is CommonJS.

import { writeSync } from 'node:fs';
import { main } from './main.js';
import { splitArgv } from './split-argv.js';
import { FORWARDED_SIGNALS } from './signals.js';

/**
 * Writes straight to the descriptor. process.stdout and process.stderr are streams whose first use loads
 * Node's whole stream machinery (~3 ms, more than a `shim state` does otherwise); for a short command's few
 * lines a write(2) is all it takes, as it is for process.stdout on Linux anyway (files and pipes are written
 * synchronously). A descriptor someone made non-blocking can say EAGAIN: the stream, which waits, takes over.
 */
function writeOut(fd: 1 | 2, text: string): void {
  const stream = () => (fd === 1 ? process.stdout : process.stderr);
  if (readerGone[fd]) return;
  if (streamInUse[fd]) {
    stream().write(text);
    return;
  }
  const bytes = Buffer.from(text);
  let offset = 0;
  try {
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // `shim list | head -1`: the reader is gone; the rest of the output has nowhere to go (as with SIGPIPE).
    if (code === 'EPIPE') {
      readerGone[fd] = true;
      return;
    }
    if (code !== 'EAGAIN') throw error;
    streamInUse[fd] = true;
    stream().write(bytes.subarray(offset));
  }
}
const streamInUse: Record<1 | 2, boolean> = { 1: false, 2: false };
const readerGone: Record<1 | 2, boolean> = { 1: false, 2: false };

/** Verbs that never use Node's streams and leave nothing running behind their promise (see below). */
const EXIT_AT_ONCE = new Set(['create', 'state', 'kill', 'delete']);

const argv = process.argv.slice(2);
void main({
  argv,
  env: process.env,
  cwd: process.cwd(),
  cliPath: process.argv[1],
  // Getters: only --help and image import ask, and reading process.stdout or process.stderr (or loading
  // node:tty) brings in Node's streams, for every command.
  get columns() {
    return process.stdout.columns;
  },
  get stderrIsTTY() {
    return process.stderr.isTTY;
  },
  stdout: (text) => writeOut(1, text),
  stderr: (text) => writeOut(2, text),
  onSignal(listener, signals = FORWARDED_SIGNALS) {
    const handlers = signals.map((signal) => {
      const handler = () => listener(signal);
      process.on(signal, handler);
      return [signal, handler] as const;
    });
    return () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };
  },
}).then((exitCode) => {
  // exitCode rather than exit(): pending stdout writes (a long --dry-run piped somewhere) still get flushed.
  process.exitCode = exitCode;
  // The runc verbs an orchestrator calls for every container end at once: Node's own orderly teardown (the
  // heap unmapped piece by piece, the platform's threads joined) took 15-18 ms after create had done all its
  // work, a tenth of the call. Only where nothing can be pending: these verbs write through write(2) and
  // appendFileSync alone, and have awaited everything they started; a stream that took over after EAGAIN
  // keeps the orderly way. 'exit' listeners (the code cache) still run.
  if (EXIT_AT_ONCE.has(splitArgv(argv).verb ?? '') && !streamInUse[1] && !streamInUse[2]) process.exit(exitCode);
});
