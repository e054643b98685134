// The one error type of the TypeScript half. Every failure the user can see is a RuntimeError: the CLI prints
// it as one lowercase line ("shim: run web1: mount overlay on /x: invalid argument (EINVAL)") and picks the
// exit code from `code`, never from the text.

import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

export type ErrorCode =
  /** The command line was wrong (exit 2). */
  | 'usage'
  /** config.json (or the request built from flags) is malformed. */
  | 'invalid-config'
  /** A field or option the runtime does not implement yet. */
  | 'unsupported'
  /** A container, image, bundle or file that was named does not exist. */
  | 'not-found'
  /** The container id is taken. */
  | 'already-exists'
  /** The container's status does not allow the verb ("cannot start a running container", "cannot exec in a
   * stopped container"). */
  | 'invalid-state'
  /** The helper failed while setting the container up (before exec). */
  | 'setup-failed'
  /** The container's program could not be executed (126/127 in run). */
  | 'exec-failed'
  /** The helper itself misbehaved: died, spoke garbage, or could not be started. */
  | 'helper-failed'
  /** A host operation of the shim failed (files, cgroups). */
  | 'system';

export interface ErrorDetails {
  /** Where the failure happened: a helper stage ("mounts", "exec") or a shim step ("cgroup", "state"). */
  stage?: string | undefined;
  errno?: number | undefined;
  path?: string | undefined;
  hint?: string | undefined;
  containerId?: string | undefined;
  cause?: unknown;
  /** The operation's words already say why (runc's exec messages, which callers know): only the errno name is added. */
  reasonInWords?: boolean | undefined;
}

/**
 * Marks every RuntimeError, whichever copy of this module made it: dist/ bundles each verb in a file of its own
 * (scripts/bundle.mjs), so the error a verb throws comes from another copy of this class than the one the
 * CLI's error line checks it against. `instanceof RuntimeError` looks for the mark, not the class.
 */
const RUNTIME_ERROR_MARK = Symbol.for('shim.RuntimeError');

export class RuntimeError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[RUNTIME_ERROR_MARK] === true;
  }

  readonly [RUNTIME_ERROR_MARK] = true;
  readonly code: ErrorCode;
  /** What was being done, lowercase, without the path or the reason ("mount overlay"). */
  readonly operation: string;
  readonly stage: string | undefined;
  readonly errno: number | undefined;
  readonly errnoName: string | undefined;
  readonly path: string | undefined;
  readonly hint: string | undefined;
  containerId: string | undefined;

  constructor(code: ErrorCode, operation: string, details: ErrorDetails = {}) {
    super(describeFailure(operation, details), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'RuntimeError';
    this.code = code;
    this.operation = operation;
    this.stage = details.stage;
    this.errno = details.errno || undefined;
    this.errnoName = this.errno === undefined ? undefined : errnoName(this.errno);
    this.path = details.path || undefined;
    this.hint = details.hint;
    this.containerId = details.containerId;
  }

  /** The same error, tagged with the container it concerns (first tag wins). */
  forContainer(id: string): this {
    this.containerId ??= id;
    return this;
  }
}

/**
 * Wraps an error thrown by a Node fs/process call into a RuntimeError. `operation` says what was being done
 * ("create state dir"); the path and errno come from the Node error when it has them.
 */
export function systemError(cause: unknown, operation: string, details: ErrorDetails = {}): RuntimeError {
  if (cause instanceof RuntimeError) return cause;
  const nodeError = cause as NodeJS.ErrnoException | undefined;
  const errnoValue = typeof nodeError?.errno === 'number' ? Math.abs(nodeError.errno) : errnoFromName(nodeError?.code);
  const code: ErrorCode = errnoValue === osConstants.errno.ENOENT ? 'not-found' : 'system';
  return new RuntimeError(code, operation, {
    path: nodeError?.path,
    errno: errnoValue,
    ...details,
    cause,
  });
}

export function isRuntimeError(value: unknown): value is RuntimeError {
  return value instanceof RuntimeError;
}

/** True for a Node error carrying this errno name (ENOENT, EEXIST, ...). */
export function hasErrnoCode(error: unknown, name: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === name;
}

// --- errno names and texts -----------------------------------------------------------------------------------

// Several errno names share a value on Linux; these are the ones strerror(3) and the kernel headers lead with.
const PREFERRED_NAMES: Record<number, string> = { 11: 'EAGAIN', 35: 'EDEADLK', 95: 'EOPNOTSUPP' };

let namesByNumber: Map<number, string> | undefined;

export function errnoName(value: number): string {
  if (!namesByNumber) {
    namesByNumber = new Map();
    for (const [name, number] of Object.entries(osConstants.errno)) {
      if (!namesByNumber.has(number)) namesByNumber.set(number, name);
    }
    for (const [number, name] of Object.entries(PREFERRED_NAMES)) namesByNumber.set(Number(number), name);
  }
  return namesByNumber.get(value) ?? `errno ${value}`;
}

function errnoFromName(name: string | undefined): number | undefined {
  if (!name) return undefined;
  return (osConstants.errno as Record<string, number>)[name];
}

// strerror(3)'s wording, lowercased, for the errnos a runtime meets; libuv's table words a few of these
// differently ("resource busy or locked") and lacks others, so it is only the fallback.
const ERRNO_TEXTS: Record<string, string> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ESRCH: 'no such process',
  EINTR: 'interrupted system call',
  EIO: 'input/output error',
  ENXIO: 'no such device or address',
  E2BIG: 'argument list too long',
  ENOEXEC: 'exec format error',
  EBADF: 'bad file descriptor',
  ECHILD: 'no child processes',
  EAGAIN: 'resource temporarily unavailable',
  ENOMEM: 'cannot allocate memory',
  EACCES: 'permission denied',
  EFAULT: 'bad address',
  ENOTBLK: 'block device required',
  EBUSY: 'device or resource busy',
  EEXIST: 'file exists',
  EXDEV: 'invalid cross-device link',
  ENODEV: 'no such device',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EINVAL: 'invalid argument',
  ENFILE: 'too many open files in system',
  EMFILE: 'too many open files',
  ENOTTY: 'inappropriate ioctl for device',
  ETXTBSY: 'text file busy',
  EFBIG: 'file too large',
  ENOSPC: 'no space left on device',
  ESPIPE: 'illegal seek',
  EROFS: 'read-only file system',
  EMLINK: 'too many links',
  EPIPE: 'broken pipe',
  ERANGE: 'numerical result out of range',
  ENAMETOOLONG: 'file name too long',
  ENOSYS: 'function not implemented',
  ENOTEMPTY: 'directory not empty',
  ELOOP: 'too many levels of symbolic links',
  EOPNOTSUPP: 'operation not supported',
  EPROTO: 'protocol error',
  EOVERFLOW: 'value too large for defined data type',
  EUSERS: 'too many users',
};

export function errnoText(value: number): string {
  const name = errnoName(value);
  return ERRNO_TEXTS[name] ?? lookUpLibuvText(value) ?? name.toLowerCase();
}

function lookUpLibuvText(value: number): string | undefined {
  return getSystemErrorMap().get(-value)?.[1];
}

/** "mount overlay on /x: invalid argument (EINVAL)" */
function describeFailure(operation: string, details: ErrorDetails): string {
  if (details.reasonInWords) return details.errno ? `${operation} (${errnoName(details.errno)})` : operation;
  let text = operation;
  if (details.path && !operation.includes(details.path)) {
    // A mount is made "on" its target; every other operation names its object directly.
    text += /^(mount|bind mount|remount)\b/.test(operation) ? ` on ${details.path}` : ` ${details.path}`;
  }
  if (details.errno) text += `: ${errnoText(details.errno)} (${errnoName(details.errno)})`;
  return text;
}
