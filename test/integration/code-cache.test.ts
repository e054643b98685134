// dist/shim keeps V8's compiled code for each file of dist/lib beside it (src/cli/launcher.ts). A cache must
// be made, be used again (V8 accepts it), never be trusted blindly (garbage means compiling as usual), and
// belong to one version of its file. Run on a copy of dist/, so the suite's other commands never see these
// caches being damaged on purpose.

import { execa } from 'execa';
import { cp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot, testPrefix } from '../support/shim.js';

let copy: string;

beforeEach(async () => {
  copy = join('/tmp', `${testPrefix}code-cache-${process.pid}-${Date.now()}`);
  await cp(join(repoRoot, 'dist'), copy, { recursive: true });
  for (const entry of await readdir(join(copy, 'lib'))) {
    if (entry.endsWith('.v8cache')) await rm(join(copy, 'lib', entry));
  }
});

afterEach(async () => {
  await rm(copy, { recursive: true, force: true });
});

async function features(env: Record<string, string> = {}): Promise<string> {
  const result = await execa(join(copy, 'shim'), ['features'], { env, reject: false });
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout;
}

async function caches(): Promise<string[]> {
  return (await readdir(join(copy, 'lib'))).filter((entry) => entry.endsWith('.v8cache')).sort();
}

describe('the code cache', () => {
  it('is written for the files a command loads, and used as it is the next time', async () => {
    const first = await features();
    const written = await caches();
    expect(written.some((entry) => entry.startsWith('main.cjs.'))).toBe(true);
    expect(written.some((entry) => entry.startsWith('spec.cjs.'))).toBe(true);
    expect(written.some((entry) => entry.startsWith('run.cjs.'))).toBe(false);
    const before = await Promise.all(written.map(async (entry) => (await stat(join(copy, 'lib', entry))).mtimeMs));

    // Accepted: nothing is written again (a rejected cache would be replaced at exit).
    expect(await features()).toBe(first);
    expect(await caches()).toEqual(written);
    expect(await Promise.all(written.map(async (entry) => (await stat(join(copy, 'lib', entry))).mtimeMs))).toEqual(before);
  });

  it('compiles as usual from a damaged cache, and replaces it', async () => {
    const expected = await features();
    const specCache = (await caches()).find((entry) => entry.startsWith('spec.cjs.'))!;
    await writeFile(join(copy, 'lib', specCache), 'not a code cache');
    expect(await features()).toBe(expected);
    expect(await readFile(join(copy, 'lib', specCache), 'utf8')).not.toBe('not a code cache');
  });

  it('never meets a file other than the one it was made from', async () => {
    await features();
    const old = (await caches()).find((entry) => entry.startsWith('spec.cjs.'))!;
    // A rebuilt or reinstalled file: same length, another modification time.
    const later = new Date(Date.now() + 60_000);
    await utimes(join(copy, 'lib', 'spec.cjs'), later, later);
    await features();
    const now = (await caches()).filter((entry) => entry.startsWith('spec.cjs.'));
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(old);
  });

  it('is not used when SHIM_NO_CODE_CACHE is set', async () => {
    await features({ SHIM_NO_CODE_CACHE: '1' });
    expect(await caches()).toEqual([]);
  });
});
