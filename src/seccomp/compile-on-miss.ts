// What planSeccomp needs only when no cached filter answers a profile: the build-time table of the default
// profile's filters and the compiler, with the syscall tables it reads. In dist/ this file and everything it
// imports is a file of its own, lib/seccomp-compiler.cjs (scripts/bundle.mjs; load-compiler.ts), so that the
// common case, podman's profile found in the filter cache, neither parses nor initialises ~65 KB of code and
// tables it does not run.

import { hostFamily } from './archs.js';
import { compileSeccomp } from './compile.js';
import { cachedFilterOf, seccompCacheKey, type CachedFilter } from './filter-cache.js';
import { PREBUILT_FILTERS } from './generated/prebuilt-filters.js';
import { readSeccompProfile, type OciSeccomp } from './profile.js';

/**
 * The filter of a profile no cache entry answered: the prebuilt one when it is exactly the default profile,
 * otherwise a compile (with its warnings, worded for prepareRun's "config.json: " prefix).
 */
export function compileOnMiss(raw: OciSeccomp, actionsAvailable: readonly string[] | undefined, where: string, warnings: string[]): CachedFilter {
  const prebuilt = prebuiltFilter(raw, actionsAvailable);
  if (prebuilt) return prebuilt;
  const profile = readSeccompProfile(raw, where)!;
  const filter = compileSeccomp(profile, { actionsAvailable, where });
  warnings.push(...filter.warnings.filter((warning) => !warning.startsWith('unknown syscalls')).map((warning) => `linux.seccomp: ${warning}`));
  return cachedFilterOf(filter, profile.defaultActionName);
}

/**
 * The built-in default profile compiled at build time (scripts/gen-prebuilt-filters.mjs), when this profile is
 * exactly that one (the same serialised key) and the kernel has the actions it uses; undefined otherwise.
 * A profile that only looks like it (another capability set, another arch family) is compiled as usual.
 */
export function prebuiltFilter(raw: OciSeccomp, actionsAvailable: readonly string[] | undefined): CachedFilter | undefined {
  const family = hostFamily();
  const prebuilt = PREBUILT_FILTERS.find((entry) => entry.family === family);
  // Cheap refusals first: the key is the whole profile serialised.
  if (!prebuilt || raw.defaultAction !== prebuilt.filter.defaultAction) return undefined;
  if (actionsAvailable && !prebuilt.actions.every((action) => actionsAvailable.includes(action))) return undefined;
  return seccompCacheKey(raw, family, undefined) === prebuilt.key ? prebuilt.filter : undefined;
}
