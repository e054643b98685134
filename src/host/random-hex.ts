// Random ids and temporary names, read from the kernel's generator. node:crypto's randomBytes would do the
// same (it draws on getrandom(2) underneath), but loading node:crypto costs ~5 ms, on every command that makes
// a container, for OpenSSL bindings nothing on that path needs; one read of /dev/urandom costs microseconds.

import { closeSync, openSync, readSync } from 'node:fs';
import { systemError } from '../errors.js';

/** `bytes` random bytes as 2×bytes hex digits. */
export function randomHex(bytes: number): string {
  const buffer = Buffer.alloc(bytes);
  let fd: number;
  try {
    fd = openSync('/dev/urandom', 'r');
  } catch (error) {
    throw systemError(error, 'read random bytes', { path: '/dev/urandom' });
  }
  try {
    // The kernel never returns short from /dev/urandom for reads this small; the loop is for form's sake.
    for (let offset = 0; offset < bytes; ) offset += readSync(fd, buffer, offset, bytes - offset, null);
  } finally {
    closeSync(fd);
  }
  return buffer.toString('hex');
}
