// Compiled filters kept on disk, one small file per profile: podman sends the same profile with every
// container, and docker-style runs mostly use the built-in one, so after the first run a container's filter
// is one file read instead of a compile (which a fresh Node process runs cold, in V8's interpreter).
// The key covers everything the program depends on: the profile's JSON, the host's arch family and seccomp
// actions, the syscall tables and the compiler's version. A file that cannot be read or parsed is a miss.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TABLES_ID } from './generated/syscall-tables.js';
import type { OciSeccomp } from './profile.js';

/** Bumped whenever the compiler would make a different program from the same inputs. */
const COMPILER_VERSION = 1;

export interface CachedFilter {
  program: string;
  instructions: number;
  flags: number;
  archs: string[];
  defaultAction: string;
  unknownSyscalls?: string[] | undefined;
}

export interface SeccompCache {
  get(key: string): CachedFilter | undefined;
  set(key: string, filter: CachedFilter): void;
}

export function seccompCacheKey(profile: OciSeccomp, family: string, actions: readonly string[] | undefined): string {
  return createHash('sha256')
    .update(`${COMPILER_VERSION}\0${TABLES_ID}\0${family}\0${(actions ?? []).join(' ')}\0`)
    .update(JSON.stringify(profile, (_key, value) => (typeof value === 'bigint' ? value.toString() : value)))
    .digest('hex')
    .slice(0, 32);
}

/** The cache in a directory of its own (data-root/seccomp-cache). Failures only cost a compile. */
export function diskSeccompCache(dir: string): SeccompCache {
  return {
    get(key) {
      try {
        const cached = JSON.parse(readFileSync(join(dir, `${key}.json`), 'utf8')) as CachedFilter;
        return typeof cached.program === 'string' && typeof cached.flags === 'number' ? cached : undefined;
      } catch {
        return undefined;
      }
    },
    set(key, filter) {
      const path = join(dir, `${key}.json`);
      const temporary = `${path}.${process.pid}.tmp`;
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        writeFileSync(temporary, JSON.stringify(filter), { mode: 0o600 });
        renameSync(temporary, path);
      } catch {
        // A read-only or full data root: the next run compiles again.
      }
    },
  };
}
