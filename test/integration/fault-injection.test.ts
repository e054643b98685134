// Fault injection from outside the process: `shim run --debug` is SIGKILLed as each of its stage lines appears
// (no test hook is compiled into the product), then `delete --force` must recover and leave nothing: no state
// or layer directory, mount, cgroup or process. The stage lines are read from a full run first, so a new stage
// is covered without editing this file.

import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeRoots, settledLeaks, shim, shimBin, type Roots } from '../support/shim.js';

let roots: Roots;

beforeEach(async () => {
  roots = await makeRoots();
});

afterEach(async () => {
  await roots.dispose();
});

/** The text of a --debug line without its timings, e.g. "helper: clone". */
const stageOf = (line: string) => line.replace(/^shim: debug: /, '').replace(/\s*(\+|at |in )[\d.]+ms.*$/, '').replace(/pid \d+/, 'pid N');

/** Runs `shim --debug run ...` and SIGKILLs it when its stderr has shown `lines` lines; resolves with them. */
async function runKilledAfter(lines: number, id: string, delayMs = 0): Promise<string[]> {
  const child = spawn(shimBin, ['--root', roots.root, '--data-root', roots.dataRoot, '--debug', 'run', '--name', id, 'busybox', 'sleep', '30'], {
    env: { ...process.env, ...roots.env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let seen = '';
  // 'exit', not 'close': the container (and the helper watching it) inherit the pipe and outlive the CLI.
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  child.stderr!.on('data', (chunk: Buffer) => {
    seen += String(chunk);
    // The lines' order varies a little between runs (the warm-up's lines interleave with the helper's): the
    // exec line ends the count whatever it is.
    if (seen.split('\n').length - 1 >= lines || / started pid /.test(seen)) {
      if (delayMs === 0) child.kill('SIGKILL');
      else setTimeout(() => child.kill('SIGKILL'), delayMs);
    }
  });
  await exited;
  child.stderr!.destroy();
  return seen.split('\n').filter(Boolean);
}

describe('shim run killed at each stage', () => {
  it('is recovered by delete --force with nothing left, whatever stage it died at', async () => {
    const full = await shim(roots, ['--debug', 'run', '--rm', '--name', 'whole', 'busybox', 'true']);
    expect(full.exitCode).toBe(0);
    const lines = full.stderr.split('\n').filter((line) => line.startsWith('shim: debug: '));
    // Up to the exec: the lines after it wait on the container's own end (a `sleep 30` below).
    const stages = lines.slice(0, lines.findIndex((line) => / started pid /.test(line)) + 1);
    expect(stages.length).toBeGreaterThan(10);
    // The image is built on the first run: the loop below starts from a store that has it, as a user's would.
    const killedAt: string[] = [];
    for (let lines = 1; lines <= stages.length; lines++) {
      const id = `killed-${lines}`;
      const seen = await runKilledAfter(lines, id);
      killedAt.push(stageOf(seen[seen.length - 1] ?? ''));
      if (process.env.SHIM_TEST_VERBOSE) console.log(`killed at ${killedAt.at(-1)}`);
      const removed = await shim(roots, ['delete', '--force', id]);
      // Killed before its state directory was claimed, the container never existed.
      if (removed.exitCode !== 0) expect(removed.stderr).toMatch(new RegExp(`container ${id} does not exist`));
      expect({ stage: killedAt.at(-1), leaks: await settledLeaks(roots, 5000) }).toEqual({ stage: killedAt.at(-1), leaks: [] });
    }
    expect(killedAt.length).toBe(stages.length);
  }, 180_000);
});
