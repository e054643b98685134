// dist/containerd-shim-shim-v2 answers containerd's `delete` of a container with nothing left in the shell
// (src/containerd/containerd-shim-shim-v2.sh), without a Node start. Its answer must be the Node entry's
// (shim-v2-main.ts with wire.ts's encodeDeleteResponse) for the same call: both run here, on the built dist/.

import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readField } from '../../src/containerd/wire.js';
import { repoRoot } from '../support/shim.js';

const root = mkdtempSync(join(tmpdir(), 'shim-launcher-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function deleteAnswer(command: string[], id: string): Promise<{ pid: unknown; exitStatus: unknown; seconds: number; bytes: Buffer }> {
  const args = ['-namespace', 'ns1', '-address', '/run/x.sock', '-publish-binary', '/usr/bin/containerd', '-id', id, '-bundle', root, 'delete'];
  const result = await execa(command[0]!, [...command.slice(1), ...args], { env: { SHIM_CONTAINERD_ROOT: root }, encoding: 'buffer', stdin: 'ignore' });
  expect(result.exitCode).toBe(0);
  const bytes = Buffer.from(result.stdout);
  const timestamp = readField(bytes, 3) as Uint8Array;
  return { pid: readField(bytes, 1), exitStatus: readField(bytes, 2), seconds: readField(timestamp, 1) as number, bytes };
}

describe('the launcher script', () => {
  it("answers `delete` of a container with nothing left as the Node entry does: no pid, 137, now", async () => {
    const script = await deleteAnswer([join(repoRoot, 'dist/containerd-shim-shim-v2')], 'gone1');
    const node = await deleteAnswer([process.execPath, join(repoRoot, 'dist/containerd-shim-shim-v2.cjs')], 'gone1');
    expect(script.pid).toBeUndefined();
    expect(script.exitStatus).toBe(137);
    expect(script).toMatchObject({ pid: node.pid, exitStatus: node.exitStatus });
    expect(Math.abs(script.seconds - Date.now() / 1000)).toBeLessThan(30);
    // The same fields in the same order: the same length but for the time's varint lengths.
    expect(script.bytes.subarray(0, 3)).toEqual(node.bytes.subarray(0, 3));
  });

  it('hands anything else to Node: another action, or an id that is not a plain name', async () => {
    const other = await execa(join(repoRoot, 'dist/containerd-shim-shim-v2'), ['-namespace', 'ns1', '-id', 'x', 'frobnicate'], { reject: false, env: { SHIM_CONTAINERD_ROOT: root } });
    expect(other.stderr).toContain('unknown action frobnicate');
    const dotted = await execa(join(repoRoot, 'dist/containerd-shim-shim-v2'), ['-namespace', 'ns1', '-id', '../x', 'delete'], { reject: false, env: { SHIM_CONTAINERD_ROOT: root }, encoding: 'buffer' });
    // Node's answer to it (the shell's would say nothing about ../x): the same nothing-left response here.
    expect(readField(Buffer.from(dotted.stdout), 2)).toBe(137);
  });
});
