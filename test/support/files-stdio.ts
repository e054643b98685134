// The real CLI with its stdout and stderr in files: `create` (and `run --bundle -d`) leave an init behind that
// inherits them, and a pipe it held would keep the caller waiting until the container ends (containerd hands
// runc fifos for the same reason).

import { execa } from 'execa';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { shimBin, type Roots, type ShimResult } from './shim.js';

/** options.bin: another way to run the CLI (a symlink to dist/shim, or a bare name found on env.PATH). */
export async function shimToFiles(
  roots: Roots,
  args: string[],
  options: { globalArgs?: string[]; env?: Record<string, string>; bin?: string } = {},
): Promise<ShimResult> {
  const out = join(roots.base, `stdio-${Math.random().toString(36).slice(2, 8)}`);
  const stdout = openSync(`${out}.out`, 'w');
  const stderr = openSync(`${out}.err`, 'w');
  try {
    const result = await execa(options.bin ?? shimBin, ['--root', roots.root, '--data-root', roots.dataRoot, ...(options.globalArgs ?? []), ...args], {
      reject: false,
      env: { ...roots.env, ...options.env },
      stdio: ['ignore', stdout, stderr] as unknown as ['ignore', 'inherit', 'inherit'],
      timeout: 60_000,
    });
    return { exitCode: result.exitCode ?? -1, stdout: await readFile(`${out}.out`, 'utf8'), stderr: await readFile(`${out}.err`, 'utf8') };
  } finally {
    closeSync(stdout);
    closeSync(stderr);
  }
}

/** stderr without the warnings `runc spec`'s config draws (its ambient capabilities). */
export const withoutWarnings = (stderr: string): string =>
  stderr
    .split('\n')
    .filter((line) => line && !line.startsWith('shim: warning:'))
    .map((line) => `${line}\n`)
    .join('');
