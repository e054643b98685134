// The kill matrix for the verbs that write the image store, and for a run on a bridge network: `commit` and
// `image import` SIGKILLed at each of their --debug stage lines (then `image rm NAME`, what a user does about a
// half-made image, must leave the store exactly as it was: no tmp/ entry, blob, layer or name more), and
// `run -d` on a bridge network of the test's own, killed at every stage (then `delete --force` must leave no
// veth, no lease, no netns). Driven from outside the process: test/support/faults.ts.
//
// Budget: commit and import have five or six lines each, all taken; the bridge run every third stage up to
// the last few, all of which are taken (the CNI plugins make each kill and recovery a second or more).

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { debugLines, everyLeak, runKilledAfter, stageOf, storeSnapshot, type TestNetwork } from '../support/faults.js';
import { makeRoots, shim, type Roots } from '../support/shim.js';

let roots: Roots;

beforeEach(async () => {
  roots = await makeRoots();
});

afterEach(async () => {
  await roots.dispose();
});

const verbose = (text: string) => process.env.SHIM_TEST_VERBOSE && console.log(text);

async function ok(args: string[]): Promise<string> {
  const result = await shim(roots, args);
  if (result.exitCode !== 0) throw new Error(`shim ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

describe('commit and image import killed at each stage', () => {
  it('commit: image rm NAME leaves the store as it was', async () => {
    await ok(['run', '-d', '--name', 'box', 'busybox', 'sh', '-c', 'head -c 300000 /dev/urandom > /big; echo hi > /f; sleep 60']);
    const whole = await shim(roots, ['--debug', 'commit', 'box', 'whole:1']);
    expect(whole.exitCode, whole.stderr).toBe(0);
    const stages = debugLines(whole.stderr);
    expect(stages.map(stageOf)).toEqual(expect.arrayContaining(['commit: layer packed', 'commit: layer unpacked', 'commit: blobs stored']));
    await ok(['image', 'rm', 'whole:1']);
    const store = await storeSnapshot(roots.dataRoot);
    for (let n = 1; n <= stages.length; n++) {
      const run = await runKilledAfter(roots, ['commit', 'box', `killed:${n}`], n, 'cli');
      verbose(`commit killed at ${run.stage}`);
      // The name may or may not have been written before the kill: either way `image rm` ends it.
      const removed = await shim(roots, ['image', 'rm', `killed:${n}`]);
      expect(removed.stderr).toMatch(/^$|image killed:\d+ not found/);
      expect({ stage: run.stage, store: await storeSnapshot(roots.dataRoot) }).toEqual({ stage: run.stage, store });
    }
    await ok(['delete', '--force', 'box']);
    expect(await everyLeak(roots, store)).toEqual([]);
  }, 120_000);

  it('image import: image rm NAME leaves the store as it was', async () => {
    // An archive with a layer the store does not have: busybox plus a committed layer, exported, then removed.
    await ok(['run', '-d', '--name', 'box', 'busybox', 'sh', '-c', 'head -c 300000 /dev/urandom > /big; sleep 60']);
    await ok(['commit', 'box', 'layered:1']);
    await ok(['delete', '--force', 'box']);
    const archive = join(roots.base, 'layered.tar');
    await ok(['image', 'export', 'layered:1', archive]);
    await ok(['image', 'rm', 'layered:1']);
    const store = await storeSnapshot(roots.dataRoot);
    const whole = await shim(roots, ['--debug', 'image', 'import', archive, 'whole:1']);
    expect(whole.exitCode, whole.stderr).toBe(0);
    const stages = debugLines(whole.stderr);
    expect(stages.map(stageOf)).toEqual(expect.arrayContaining(['import: blobs stored']));
    await ok(['image', 'rm', 'whole:1']);
    for (let n = 1; n <= stages.length; n++) {
      const run = await runKilledAfter(roots, ['image', 'import', archive, `killed:${n}`], n, 'cli');
      verbose(`import killed at ${run.stage}`);
      const removed = await shim(roots, ['image', 'rm', `killed:${n}`]);
      expect(removed.stderr).toMatch(/^$|image killed:\d+ not found/);
      expect({ stage: run.stage, store: await storeSnapshot(roots.dataRoot) }).toEqual({ stage: run.stage, store });
    }
    // And a whole import after all that still gives a good image.
    await ok(['image', 'import', archive, 'again:1']);
    expect(await ok(['run', '--rm', 'again:1', 'sh', '-c', 'test -s /big && echo yes'])).toBe('yes\n');
  }, 120_000);
});

describe('run on a bridge network killed at each stage', () => {
  it('delete --force leaves no veth, lease, netns, mount or cgroup', async () => {
    let net: TestNetwork | undefined;
    for (let attempt = 0; !net; attempt++) {
      const bytes = randomBytes(3);
      const candidate = { name: `fk${bytes.toString('hex')}`, bridge: `shf${bytes.toString('hex')}`, prefix: `10.${200 + (bytes[0]! % 50)}.${bytes[1]}.` };
      const created = await shim(roots, ['network', 'create', '--subnet', `${candidate.prefix}0/24`, '--bridge', candidate.bridge, candidate.name]);
      if (created.exitCode === 0) net = candidate;
      else if (attempt > 5 || !/overlaps|exists/.test(created.stderr)) throw new Error(`network create: ${created.stderr}`);
    }
    try {
      const args = (id: string) => ['run', '-d', '--net', net!.name, '--name', id, 'busybox', 'sleep', '60'];
      const whole = await shim(roots, ['--debug', ...args('whole')]);
      expect(whole.exitCode, whole.stderr).toBe(0);
      await ok(['delete', '--force', 'whole']);
      const stages = debugLines(whole.stderr);
      const last = stages.findIndex((line) => / started pid /.test(line));
      const store = await storeSnapshot(roots.dataRoot);
      for (let n = 1; n <= last + 1; n += n + 3 <= last ? 3 : 1) {
        const id = `b${n}`;
        const run = await runKilledAfter(roots, args(id), n, 'cli', { until: / started pid / });
        verbose(`bridge run killed at ${run.stage}`);
        const removed = await shim(roots, ['delete', '--force', id]);
        expect({ stage: run.stage, exitCode: removed.exitCode }).toEqual({ stage: run.stage, exitCode: 0 });
        expect({ stage: run.stage, leaks: await everyLeak(roots, store, net) }).toEqual({ stage: run.stage, leaks: [] });
      }
    } finally {
      const removed = await shim(roots, ['network', 'rm', net.name]);
      expect(removed.stderr).toBe('');
    }
  }, 180_000);
});
