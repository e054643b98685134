// Container ids name directories (state, layers, cgroups), so they are checked before any is made.

import { RuntimeError } from '../errors.js';
import { randomHex } from '../host/random-hex.js';

export const MAX_CONTAINER_ID_LENGTH = 128;
const CONTAINER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Throws a usage error naming what is wrong with `id`. */
export function validateContainerId(id: string): string {
  if (id === '') throw new RuntimeError('usage', 'container id must not be empty');
  if (id.length > MAX_CONTAINER_ID_LENGTH) {
    throw new RuntimeError('usage', `container id ${id.slice(0, 20)}... is ${id.length} characters; at most ${MAX_CONTAINER_ID_LENGTH} are allowed`);
  }
  // The pattern already excludes "/" and a leading "."; ".." inside (a..b) is refused too, so an id can
  // never be read as a path step by anything that joins it loosely.
  if (!CONTAINER_ID_PATTERN.test(id) || id.includes('..')) {
    throw new RuntimeError('usage', `container id ${JSON.stringify(id)} is not valid: use letters, digits, _ . - (starting with a letter or digit), no "/" or ".."`);
  }
  return id;
}

/** A docker-style id: 64 hex digits. */
export function generateContainerId(): string {
  return randomHex(32);
}
