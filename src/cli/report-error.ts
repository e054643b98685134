// How a failure reaches the user: one lowercase line, "shim: VERB ID: what: reason (ERRNO)", plus the stack
// with --debug; and which exit status it becomes.

import { RuntimeError, isRuntimeError } from '../errors.js';

export const EXIT_USAGE = 2;
/** A runtime failure in run, as docker run reports it. */
export const EXIT_RUN_FAILED = 125;
export const EXIT_CANNOT_EXECUTE = 126;
export const EXIT_NOT_FOUND = 127;
/** Any other verb's failure. */
export const EXIT_FAILED = 1;

export function formatErrorLine(verb: string | undefined, error: unknown): string {
  const runtimeError = toRuntimeError(error);
  const subject = [verb, runtimeError.containerId && displayId(runtimeError.containerId)].filter(Boolean).join(' ');
  const hint = runtimeError.hint ? ` (${runtimeError.hint})` : '';
  return `shim: ${subject ? `${subject}: ` : ''}${runtimeError.message}${hint}`;
}

export function exitCodeFor(verb: string | undefined, error: unknown): number {
  const runtimeError = toRuntimeError(error);
  if (runtimeError.code === 'usage') return EXIT_USAGE;
  // exec reports like run: the process's own 126/127 when it could not be started, 125 for the runtime's.
  if (verb === 'run' || verb === 'exec') {
    if (runtimeError.code === 'exec-failed') return runtimeError.errnoName === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
    return EXIT_RUN_FAILED;
  }
  return EXIT_FAILED;
}

export function toRuntimeError(error: unknown): RuntimeError {
  if (isRuntimeError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RuntimeError('system', `internal error: ${message}`, { cause: error });
}

/** Generated ids are 64 hex digits; messages show the first 12, as docker does. */
function displayId(id: string): string {
  return /^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id;
}
