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

/**
 * A monotonic clock in milliseconds, for debug timings. Not performance.now(): the `performance` global loads
 * node:perf_hooks on first use (~0.5-1 ms), on every run and exec, for timings that --debug alone prints.
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Milliseconds since `start` (a nowMs() value), for debug timings. */
export function elapsedMs(start: number): string {
  return `${(nowMs() - start).toFixed(1)}ms`;
}
