// The helper binary itself: statically linked (no loader, nothing to resolve at exec), stripped, and small.

import { execa } from 'execa';
import { stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { helperBin } from '../support/shim.js';

describe('dist/shim-helper', () => {
  it('is a static, stripped executable of at most 128 KiB', async () => {
    const { stdout } = await execa('file', ['-b', helperBin]);
    expect(stdout).toMatch(/statically linked/);
    expect(stdout).toMatch(/, stripped/);
    expect((await stat(helperBin)).size).toBeLessThanOrEqual(128 * 1024);
  });

  it('has no program interpreter and no dynamic section', async () => {
    const { stdout } = await execa('readelf', ['-l', '-d', helperBin]);
    expect(stdout).not.toMatch(/INTERP/);
    expect(stdout).toMatch(/There is no dynamic section/);
  });
});
