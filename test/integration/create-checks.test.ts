// runc's create-time checks that callers rely on: a process binary that is missing or not executable fails
// `create` (and `run`) with runc's words, on stderr and in the --log file in both formats, and leaves nothing.
// The lookup happens inside the container's root, with the process's PATH.

import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shimToFiles, withoutWarnings } from '../support/files-stdio.js';
import { makeBundle, makeRoots, settledLeaks, shim, type Roots } from '../support/shim.js';

let roots: Roots;

beforeEach(async () => {
  roots = await makeRoots();
});

afterEach(async () => {
  try {
    for (const id of await readdir(roots.root).catch(() => [] as string[])) {
      if (!id.startsWith('.')) await shim(roots, ['delete', '--force', id]);
    }
    expect(await settledLeaks(roots)).toEqual([]);
  } finally {
    await roots.dispose();
  }
});

async function bundle(args: string[], mutate: (config: any) => void = () => {}): Promise<string> {
  return makeBundle(join(roots.base, `bundle-${Math.random().toString(36).slice(2, 8)}`), (config) => {
    config.process.args = args;
    mutate(config);
  });
}

async function expectNothingLeft(): Promise<void> {
  expect((await readdir(roots.root)).filter((entry) => !entry.startsWith('.'))).toEqual([]);
}

describe('create-time lookup of the process binary', () => {
  it('fails create for a bare name in no PATH entry, in runc\'s words, on stderr and in a --log text file', async () => {
    const dir = await bundle(['no-such-program']);
    const log = join(roots.base, 'shim.log');
    const result = await shimToFiles(roots, ['create', '--bundle', dir, 'c1'], { globalArgs: ['--log', log] });
    expect(result.exitCode).toBe(1);
    expect(withoutWarnings(result.stderr)).toBe('shim: create c1: exec: "no-such-program": executable file not found in $PATH (ENOENT)\n');
    const errors = (await readFile(log, 'utf8')).split('\n').filter((line) => line.includes('level=error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^time="[^"]+" level=error msg="create c1: exec: \\"no-such-program\\": executable file not found in \$PATH \(ENOENT\)"$/);
    await expectNothingLeft();
  });

  it('fails create for a missing absolute path, with a JSON line in --log --log-format json', async () => {
    const dir = await bundle(['/nonexistent']);
    const log = join(roots.base, 'shim.json');
    const result = await shimToFiles(roots, ['create', '--bundle', dir, 'c2'], { globalArgs: ['--log', log, '--log-format', 'json'] });
    expect(result.exitCode).toBe(1);
    expect(withoutWarnings(result.stderr)).toBe('shim: create c2: exec: "/nonexistent": stat /nonexistent: no such file or directory (ENOENT)\n');
    const lines = (await readFile(log, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    const errors = lines.filter((line) => line.level === 'error');
    expect(errors).toHaveLength(1);
    expect(Object.keys(errors[0])).toEqual(['level', 'msg', 'time']);
    expect(errors[0].msg).toContain('exec: "/nonexistent": stat /nonexistent: no such file or directory');
    expect(new Date(errors[0].time).getTime()).not.toBeNaN();
    await expectNothingLeft();
  });

  it('fails create for a file without execute bits and for a directory: permission denied', async () => {
    const dir = await bundle(['/etc/passwd']);
    const file = await shimToFiles(roots, ['create', '--bundle', dir, 'c3']);
    expect(file.exitCode).toBe(1);
    expect(withoutWarnings(file.stderr)).toBe('shim: create c3: exec: "/etc/passwd": permission denied (EACCES)\n');
    const directory = await shimToFiles(roots, ['create', '--bundle', await bundle(['/etc']), 'c4']);
    expect(withoutWarnings(directory.stderr)).toBe('shim: create c4: exec: "/etc": permission denied (EACCES)\n');
    await expectNothingLeft();
  });

  it('looks inside the container\'s root: a host-only program fails, a container-only one is found', async () => {
    // /usr/bin/runc exists on the host, not in the busybox rootfs.
    const hostOnly = await shimToFiles(roots, ['create', '--bundle', await bundle(['/usr/bin/runc']), 'c5']);
    expect(withoutWarnings(hostOnly.stderr)).toBe('shim: create c5: exec: "/usr/bin/runc": stat /usr/bin/runc: no such file or directory (ENOENT)\n');
    const dir = await bundle(['only-here'], (config) => {
      config.process.env = ['PATH=/opt/tools'];
    });
    await mkdir(join(dir, 'rootfs/opt/tools'), { recursive: true });
    await writeFile(join(dir, 'rootfs/opt/tools/only-here'), '#!/bin/sh\necho found in the container\n');
    await chmod(join(dir, 'rootfs/opt/tools/only-here'), 0o755);
    const created = await shimToFiles(roots, ['create', '--bundle', dir, 'c6']);
    expect(created.exitCode, created.stderr).toBe(0);
    expect((await shim(roots, ['start', 'c6'])).exitCode).toBe(0);
    await shim(roots, ['delete', '--force', 'c6']);
  });

  it('fails a runc-style run --bundle before anything runs, exit 127, and leaves nothing', async () => {
    const result = await shim(roots, ['run', '--bundle', await bundle(['no-such-program']), 'r1']);
    expect(result.exitCode).toBe(127);
    expect(withoutWarnings(result.stderr)).toBe('shim: run r1: exec: "no-such-program": executable file not found in $PATH (ENOENT)\n');
    await expectNothingLeft();
  });
});
