// Compiled filters kept on disk, one small file per profile: podman sends the same profile with every
// container, and docker-style runs mostly use the built-in one, so after the first run a container's filter
// is one file read instead of a compile (which a fresh Node process runs cold, in V8's interpreter).
// The key covers everything the program depends on: the profile's JSON, the host's arch family and seccomp
// actions, the syscall tables and the compiler's version. A file that cannot be read or parsed is a miss.
//
// The key's text is stored in the file and compared whole on every read, so the file name only has to spread
// keys out, not tell them apart: a cheap hash does, and a collision is a miss, never another profile's filter.
// (A sha256 of the key needed node:crypto, ~5 ms to load in every `run` and podman `create`.)
// The directory is bounded: at most MAX_ENTRIES files, the least recently used removed first (a hit touches
// its file), so a host that sees many distinct profiles does not grow it without end.

import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TABLES_ID } from './generated/syscall-tables.js';
import type { CompiledFilter } from './compile.js';
import type { OciSeccomp } from './profile.js';

/** Bumped whenever the compiler would make a different program from the same inputs. */
const COMPILER_VERSION = 2;

/** Files kept in the cache directory; each is a few KB to a few tens of KB. */
export const MAX_ENTRIES = 32;

const SUFFIX = '.json';

export interface CachedFilter {
  program: string;
  instructions: number;
  flags: number;
  archs: string[];
  defaultAction: string;
  unknownSyscalls?: string[] | undefined;
}

/** What the cache (and the prebuilt table) keeps of a compiled filter: the program as base64, and what it was made for. */
export function cachedFilterOf(filter: CompiledFilter, defaultAction: string): CachedFilter {
  return {
    program: Buffer.from(filter.program).toString('base64'),
    instructions: filter.instructions.length,
    flags: filter.flags,
    archs: filter.archs,
    defaultAction,
    ...(filter.unknownSyscalls.length > 0 ? { unknownSyscalls: filter.unknownSyscalls } : {}),
  };
}

export interface SeccompCache {
  get(key: string): CachedFilter | undefined;
  set(key: string, filter: CachedFilter): void;
}

/** The whole key, as text: two keys are the same cache entry exactly when their texts are equal. */
export function seccompCacheKey(profile: OciSeccomp, family: string, actions: readonly string[] | undefined): string {
  let json: string;
  try {
    // V8's own serializer: a replacer function runs once per value, interpreted (~0.3 ms against ~0.05 ms).
    json = JSON.stringify(profile);
  } catch {
    // BigInt values (a profile built in code, not read from JSON).
    json = JSON.stringify(profile, (_key, value) => (typeof value === 'bigint' ? value.toString() : value));
  }
  return `${COMPILER_VERSION}\0${TABLES_ID}\0${family}\0${(actions ?? []).join(' ')}\0${json}`;
}

/** How many characters of the key the file name is made from (spread over the whole key, with its length). */
const NAME_SAMPLE = 512;

/**
 * 64 bits of two 32-bit FNV-1a lanes over the key's length and at most NAME_SAMPLE of its characters, spread
 * evenly, as 16 hex digits: a file name, not an identity (get compares the whole key). Not every character:
 * this runs in a cold process, in V8's interpreter, where a loop over a 7-30 KB profile took 5-30 ms here;
 * two profiles that differ only between the sampled characters share a file and take turns in it.
 */
export function cacheFileName(key: string): string {
  let a = 0x811c9dc5 ^ key.length;
  let b = 0x050c5d1f;
  const step = Math.max(1, Math.floor(key.length / NAME_SAMPLE));
  for (let index = key.length - 1; index >= 0; index -= step) {
    const code = key.charCodeAt(index);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x01000193) ^ (a >>> 15);
  }
  return `${(a >>> 0).toString(16).padStart(8, '0')}${(b >>> 0).toString(16).padStart(8, '0')}${SUFFIX}`;
}

interface StoredFilter extends CachedFilter {
  key: string;
}

/** The cache in a directory of its own (data-root/seccomp-cache). Failures only cost a compile. */
export function diskSeccompCache(dir: string, maxEntries = MAX_ENTRIES): SeccompCache {
  return {
    get(key) {
      const path = join(dir, cacheFileName(key));
      try {
        const { key: storedKey, ...cached } = JSON.parse(readFileSync(path, 'utf8')) as StoredFilter;
        if (storedKey !== key || typeof cached.program !== 'string' || typeof cached.flags !== 'number') return undefined;
        touch(path);
        return cached;
      } catch {
        return undefined;
      }
    },
    set(key, filter) {
      const name = cacheFileName(key);
      const path = join(dir, name);
      const temporary = `${path}.${process.pid}.tmp`;
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        writeFileSync(temporary, JSON.stringify({ ...filter, key } satisfies StoredFilter), { mode: 0o600 });
        renameSync(temporary, path);
      } catch {
        // A read-only or full data root: the next run compiles again.
        try {
          unlinkSync(temporary);
        } catch {
          // Never written.
        }
        return;
      }
      evict(dir, maxEntries, name);
    },
  };
}

/** A hit makes its entry the most recently used. */
function touch(path: string): void {
  try {
    const now = new Date();
    utimesSync(path, now, now);
  } catch {
    // A read-only data root: eviction order only gets less exact.
  }
}

/** Down to maxEntries files, the least recently used first; never the one just written. Runs after a miss only. */
function evict(dir: string, maxEntries: number, keep: string): void {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith(SUFFIX));
  } catch {
    return;
  }
  if (names.length <= maxEntries) return;
  const entries: { name: string; used: number }[] = [];
  for (const name of names) {
    if (name === keep) continue;
    try {
      entries.push({ name, used: statSync(join(dir, name)).mtimeMs });
    } catch {
      // Removed meanwhile by another shim.
    }
  }
  entries.sort((left, right) => left.used - right.used);
  for (const { name } of entries.slice(0, Math.max(0, entries.length + 1 - maxEntries))) {
    try {
      unlinkSync(join(dir, name));
    } catch {
      // Removed meanwhile by another shim.
    }
  }
}
