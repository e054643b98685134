// Every case of the bad-input catalogue (bad-input-cases.ts, printed in docs/bad-input.md) against the real
// CLI: exactly one line on stderr, the one the table gives, no stack trace, the exit status, and nothing left
// behind (state, mounts, cgroups, processes, containers' dirs, temp dirs of the image store, half images,
// volumes). Most cases are refusals that never start a container, so they run several at a time, each with
// roots of its own.

import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shimToFiles } from '../support/files-stdio.js';
import { makeBusyboxRootfs, makeRoots, settledLeaks, type Roots } from '../support/shim.js';
import { hostileOciArchive } from '../support/hostile-tar.js';
import { CASES, expectedLinePattern, writeBundle, type BadInputCase, type CaseContext } from './bad-input-cases.js';

let shared: Roots;
let rootfs: string;
let baseConfig: any;

beforeAll(async () => {
  shared = await makeRoots();
  rootfs = await makeBusyboxRootfs(join(shared.base, 'rootfs'));
  await execa('runc', ['spec', '--bundle', shared.base]);
  baseConfig = JSON.parse(await readFile(join(shared.base, 'config.json'), 'utf8'));
  baseConfig.root = { path: rootfs, readonly: true };
  baseConfig.process.terminal = false;
  baseConfig.process.args = ['true'];
  // runc spec's ambient capabilities are not in its inheritable set: shim warns about that on every run, and
  // a case's stderr must hold only its own line.
  delete baseConfig.process.capabilities.ambient;
});

afterAll(async () => {
  await shared?.dispose();
});

/** Files under the image store's temp dir and the volume store: a refused import or run leaves none. */
async function storeResidue(roots: Roots, testCase: BadInputCase): Promise<string[]> {
  const residue: string[] = [];
  for (const dir of ['images/tmp', 'volumes']) {
    for (const entry of await readdir(join(roots.dataRoot, dir)).catch(() => [] as string[])) residue.push(`${dir}/${entry}`);
  }
  if (testCase.area === 'images' && testCase.exitCode !== 0) {
    // No half image: no blob, no unpacked layer, no name.
    for (const dir of ['images/blobs/sha256', 'images/layers/sha256']) {
      for (const entry of await readdir(join(roots.dataRoot, dir)).catch(() => [] as string[])) residue.push(`${dir}/${entry}`);
    }
    if (existsSync(join(roots.dataRoot, 'images/repositories.json'))) {
      const names = await readFile(join(roots.dataRoot, 'images/repositories.json'), 'utf8');
      if (names.includes('bad')) residue.push(`images/repositories.json names ${names}`);
    }
  }
  return residue;
}

async function runStep(roots: Roots, ctx: CaseContext, step: string[]): Promise<void> {
  if (step[0] === 'wait-stopped') {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const state = await shimToFiles(roots, ['state', step[1]!]);
      if (state.exitCode === 0 && JSON.parse(state.stdout).status === 'stopped') return;
      if (Date.now() > deadline) throw new Error(`${step[1]} did not stop: ${state.stdout}${state.stderr}`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }
  const result = await shimToFiles(roots, step.map((arg) => arg.replaceAll('{bundle}', ctx.bundle)));
  expect(result.exitCode, `${step.join(' ')}: ${result.stderr}`).toBe(0);
}

describe.concurrent('bad input: one clear line, the exit status, nothing left behind', () => {
  for (const testCase of CASES) {
    it(`${testCase.area}: ${testCase.name}`, async () => {
      const roots = await makeRoots();
      const ctx: CaseContext = {
        roots,
        bundle: join(roots.base, 'bundle'),
        async file(name, data) {
          const path = join(roots.base, 'files', name);
          await mkdir(join(roots.base, 'files'), { recursive: true });
          await writeFile(path, data);
          return path;
        },
      };
      try {
        await writeBundle(ctx.bundle, baseConfig, testCase);
        for (const step of testCase.before ?? []) await runStep(roots, ctx, step);
        const result = await shimToFiles(roots, await testCase.args(ctx));
        const lines = result.stderr.split('\n').filter(Boolean);
        if (process.env.BAD_INPUT_SHOW) {
          console.log(`CASE ${JSON.stringify({ name: testCase.name, exitCode: result.exitCode, stderr: result.stderr, base: roots.base, bundle: ctx.bundle, cgroup: roots.cgroupParent })}`);
        }
        expect(result.stderr, 'no stack trace').not.toMatch(/^\s+at /m);
        if (testCase.line === '') {
          // An input shim takes (it says why in the doc): nothing on stderr.
          expect(lines).toEqual([]);
        } else {
          expect(lines, 'exactly one line on stderr').toHaveLength(1);
          expect(lines[0]).toMatch(expectedLinePattern(testCase.line, { bundle: ctx.bundle, base: roots.base, cgroup: roots.cgroupParent }));
        }
        expect(result.exitCode).toBe(testCase.exitCode);
        for (const step of testCase.after ?? []) await runStep(roots, ctx, step);
        // A container's init killed by `delete --force` is gone from the state at once but exits a moment later
        // (no exe, no cmdline yet not a zombie); on a loaded machine that moment can pass 2 s. The wait ends as
        // soon as nothing is left, so a clean case pays nothing for the longer bound.
        expect(await settledLeaks(roots, testCase.before ? 15_000 : 2_000)).toEqual([]);
        expect(await storeResidue(roots, testCase)).toEqual([]);
      } finally {
        // A case that failed may have left a container: remove it so the roots can go.
        for (const id of await readdir(roots.root).catch(() => [] as string[])) {
          if (!id.startsWith('.')) await shimToFiles(roots, ['delete', '--force', id]);
        }
        await roots.dispose();
      }
    });
  }
});

describe('a device node in an image layer', () => {
  it('is made on import, as docker makes it, and the device cgroup keeps the container from opening it', async () => {
    const roots = await makeRoots();
    try {
      const busybox = await readFile('/bin/busybox');
      const archive = join(roots.base, 'devices.tar');
      await writeFile(archive, hostileOciArchive([
        { type: 'dir', name: 'bin/' },
        { type: 'file', name: 'bin/busybox', data: busybox, mode: 0o755 },
        { type: 'symlink', name: 'bin/sh', target: 'busybox' },
        { type: 'symlink', name: 'bin/ls', target: 'busybox' },
        { type: 'symlink', name: 'bin/head', target: 'busybox' },
        // /dev is a fresh tmpfs in the container: the node goes where the container can see it.
        { type: 'char', name: 'mem', major: 1, minor: 1, mode: 0o666 },
      ]));
      expect(await shimToFiles(roots, ['image', 'import', archive, 'devices:1'])).toMatchObject({ exitCode: 0, stderr: '' });
      const result = await shimToFiles(roots, ['run', '--rm', 'devices:1', 'sh', '-c', 'ls -l /mem; head -c 1 /mem']);
      expect(result.stdout).toMatch(/^crw-rw-rw- +1 0 +0 +1, +1 .* \/mem\n$/);
      expect(result.stderr).toMatch(/head: \/mem: Operation not permitted/);
      expect(result.exitCode).toBe(1);
      expect((await shimToFiles(roots, ['image', 'rm', 'devices:1'])).exitCode).toBe(0);
      expect(await settledLeaks(roots)).toEqual([]);
    } finally {
      await roots.dispose();
    }
  });
});
