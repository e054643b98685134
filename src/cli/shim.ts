// The process entry: gathers what main() needs from the real process and sets the exit status. The only file
// that reads process.argv/env or sets process.exitCode.

import { main } from './main.js';
import { FORWARDED_SIGNALS } from './signals.js';

const exitCode = await main({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  cliPath: process.argv[1],
  columns: process.stdout.columns,
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
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
});
// exitCode rather than exit(): pending stdout writes (a long --dry-run piped somewhere) still get flushed.
process.exitCode = exitCode;
