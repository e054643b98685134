// The short, bounded fuzz run of `make test`: every libFuzzer harness of helper-c/fuzz/ for FUZZ_SECONDS
// (default 10, two at a time, so about 20 s for the four) from the committed seeds, and every committed crash
// input replayed through its harness. Any sanitizer report, trap or leak fails the test with the harness's log.
// The long campaign is `make fuzz` (helper-c/fuzz/README.md).

import { execa } from 'execa';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, testPrefix } from '../support/shim.js';

const seconds = Number(process.env.FUZZ_SECONDS ?? 10);
const harnesses = (await readdir(join(repoRoot, 'helper-c/fuzz')))
  .filter((name) => /^fuzz-.*\.c$/.test(name))
  .map((name) => name.slice('fuzz-'.length, -'.c'.length));
let work: string;

beforeAll(async () => {
  // A no-op after `make test`, which builds them; a fresh clone's vitest run builds them here (clang, ~1 min).
  await execa('make', ['fuzz-build'], { cwd: repoRoot });
  work = await mkdtemp(`/tmp/${testPrefix}fuzz-`);
}, 300_000);
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('fuzzing the helper (short run)', () => {
  it('has a harness for the spec, the status frames, the tar reader and the id maps', () => {
    expect(harnesses.sort()).toEqual(expect.arrayContaining(['idmap', 'spec', 'status', 'tar']));
  });

  it(`every harness runs ${seconds} s from the seeds without a crash`, async () => {
    const run = await execa('bash', ['scripts/fuzz.sh', String(seconds), ...harnesses], {
      cwd: repoRoot, reject: false, env: { FUZZ_JOBS: '2', FUZZ_WORK: work },
    });
    const logs = run.exitCode === 0 ? '' : (await Promise.all(harnesses.map((h) =>
      readFile(join(work, `log-${h}.txt`), 'utf8').then((text) => `--- ${h}\n${text.slice(-3000)}`, () => '')))).join('\n');
    expect(run.exitCode, `${run.stdout}\n${run.stderr}\n${logs}`).toBe(0);
    for (const harness of harnesses) {
      const line = run.stdout.split('\n').find((l) => l.startsWith(`fuzz-${harness} `));
      const executions = Number(/: (\d+) executions/.exec(line ?? '')?.[1] ?? 0);
      // It really ran: the slowest harness (tar) does over a thousand a second even on a loaded machine.
      expect(executions, line).toBeGreaterThan(500);
    }
  }, 30_000 + seconds * 1000 * Math.ceil(harnesses.length / 2) * 2);

  it('every committed crash input passes its harness (test/helper/fuzz-crashes/HARNESS-*)', async () => {
    const crashes = await readdir(join(repoRoot, 'test/helper/fuzz-crashes'));
    expect(crashes.length).toBeGreaterThan(0);
    for (const input of crashes) {
      const harness = input.split('-')[0]!;
      expect(harnesses, input).toContain(harness);
      const run = await execa(join(repoRoot, `build/fuzz/fuzz-${harness}`), [join(repoRoot, 'test/helper/fuzz-crashes', input)], { reject: false, all: true });
      expect(run.exitCode, run.all).toBe(0);
    }
  });
});
