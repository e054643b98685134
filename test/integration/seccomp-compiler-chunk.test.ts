// The seccomp compiler, its syscall tables and the prebuilt default filters are a file of their own in dist/
// (lib/seccomp-compiler.cjs, src/seccomp/load-compiler.ts), loaded only when the filter cache has no entry for
// the profile: podman's create, whose profile the cache answers after the first container, must not load it.
// The evidence is the launcher's code cache (src/cli/launcher.ts): it writes lib/<file>.v8cache for every file
// of lib/ a command loads and has no cache for yet. So on a copy of dist/ with no caches, the compiler's cache
// file appears exactly when a command loaded the compiler. `run --dry-run --bundle` plans as create does
// (prepareBundleRun, planSeccomp with the data root's cache) without making a container.

import { execa } from 'execa';
import { cp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSeccompProfile } from '../../src/seccomp/default-profile.js';
import { DEFAULT_CAPABILITIES } from '../../src/plan/runtime-defaults.js';
import { makeBundle, makeRoots, repoRoot, testPrefix, type Roots } from '../support/shim.js';

let copy: string;
let roots: Roots;

beforeEach(async () => {
  roots = await makeRoots();
  copy = join('/tmp', `${testPrefix}seccomp-chunk-${process.pid}-${Date.now()}`);
  await cp(join(repoRoot, 'dist'), copy, { recursive: true });
  await removeCaches();
});

afterEach(async () => {
  await rm(copy, { recursive: true, force: true });
  await roots.dispose();
});

async function removeCaches(): Promise<void> {
  for (const entry of await readdir(join(copy, 'lib'))) {
    if (entry.endsWith('.v8cache')) await rm(join(copy, 'lib', entry));
  }
}

/** Plans the bundle as create would; returns the plan text and whether the compiler's file was loaded. */
async function plan(bundle: string, id: string): Promise<{ text: string; seccomp: { program: string } | undefined; compilerLoaded: boolean }> {
  const result = await execa(join(copy, 'shim'), ['--root', roots.root, '--data-root', roots.dataRoot, 'run', '--dry-run', '--format', 'json', '--bundle', bundle, id], {
    reject: false,
    env: roots.env,
  });
  expect(result.exitCode, result.stderr).toBe(0);
  const lib = await readdir(join(copy, 'lib'));
  expect(lib.some((entry) => entry.startsWith('create.cjs.') || entry.startsWith('run.cjs.'))).toBe(true);
  const compilerLoaded = lib.some((entry) => entry.startsWith('seccomp-compiler.cjs.') && entry.endsWith('.v8cache'));
  await removeCaches();
  const text = result.stdout.replaceAll(id, 'ID');
  return { text, seccomp: (JSON.parse(text) as { seccomp?: { program: string } }).seccomp, compilerLoaded };
}

async function seccompCacheEntries(): Promise<string[]> {
  return readdir(join(roots.dataRoot, 'seccomp-cache')).catch(() => []);
}

describe('the seccomp compiler file', () => {
  it('is loaded on a filter-cache miss only, and the plan is the same either way', async () => {
    const bundle = await makeBundle(join(roots.base, 'bundle'), (config) => {
      config.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdirat', 'mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] };
    });
    const miss = await plan(bundle, 'chunk1');
    expect(miss.compilerLoaded).toBe(true);
    expect(miss.seccomp?.program).toMatch(/^[A-Za-z0-9+/]{20,}=*$/);
    expect(await seccompCacheEntries()).toHaveLength(1);

    const hit = await plan(bundle, 'chunk2');
    expect(hit.compilerLoaded).toBe(false);
    expect(hit.text).toBe(miss.text);

    // No profile at all: nothing to compile, nothing loaded.
    const none = await makeBundle(join(roots.base, 'none'));
    const unconfined = await plan(none, 'chunk3');
    expect(unconfined.seccomp).toBeUndefined();
    expect(unconfined.compilerLoaded).toBe(false);
  });

  it('answers the built-in default profile from the prebuilt table once, then from the cache', async () => {
    const family = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
    const bundle = await makeBundle(join(roots.base, 'bundle'), (config) => {
      config.linux.seccomp = defaultSeccompProfile(family, DEFAULT_CAPABILITIES);
    });
    const first = await plan(bundle, 'chunk4');
    expect(first.compilerLoaded).toBe(true);
    expect(first.seccomp?.program).toMatch(/^[A-Za-z0-9+/]{20,}=*$/);
    expect(await seccompCacheEntries()).toHaveLength(1);
    const second = await plan(bundle, 'chunk5');
    expect(second.compilerLoaded).toBe(false);
    expect(second.text).toBe(first.text);
  });
});
