// The library never writes to the terminal itself: it reports through a Logger its caller hands in, so a
// long-lived process can route (or silence) every run's messages separately. `--log FILE` and
// `--log-format json` (lifecycle issue) become Logger implementations in the CLI.

export interface Logger {
  /** True when debug messages are wanted; lets callers skip building expensive ones. */
  readonly debugEnabled: boolean;
  debug(message: string): void;
  warn(message: string): void;
}

export const silentLogger: Logger = {
  debugEnabled: false,
  debug() {},
  warn() {},
};

/** Milliseconds since `start` (a performance.now() value), for debug timings. */
export function elapsedMs(start: number): string {
  return `${(performance.now() - start).toFixed(1)}ms`;
}
