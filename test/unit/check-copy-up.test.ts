// tmpcopyup: the directory under the tmpfs, resolved as the container sees it, must be empty or absent.

import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkCopyUpMounts, resolveInRootfs } from '../../src/container/check-copy-up.js';

let rootfs: string;
beforeEach(async () => {
  rootfs = await mkdtemp(join(tmpdir(), 'copy-up-'));
  await mkdir(join(rootfs, 'tmp'));
  await mkdir(join(rootfs, 'etc'));
  await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0::/:/bin/sh\n');
  await mkdir(join(rootfs, 'var'));
  await symlink('/etc', join(rootfs, 'var/run'));
  await symlink('../../../../etc', join(rootfs, 'escape'));
});
afterEach(() => rm(rootfs, { recursive: true, force: true }));

const tmpfs = (destination: string) => ({ mounts: [{ destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'tmpcopyup'] }] });

describe('resolveInRootfs', () => {
  it('follows symlinks with the rootfs as /, and .. never leaves it', async () => {
    expect(await resolveInRootfs(rootfs, '/var/run')).toBe(join(rootfs, 'etc'));
    expect(await resolveInRootfs(rootfs, '/escape/passwd')).toBe(join(rootfs, 'etc/passwd'));
    expect(await resolveInRootfs(rootfs, '/../../tmp/x')).toBe(join(rootfs, 'tmp/x'));
  });
});

describe('checkCopyUpMounts', () => {
  it('takes an empty or absent directory (the copy would be empty)', async () => {
    await expect(checkCopyUpMounts(tmpfs('/tmp') as never, rootfs)).resolves.toBeUndefined();
    await expect(checkCopyUpMounts(tmpfs('/run') as never, rootfs)).resolves.toBeUndefined();
  });

  it('refuses one over files, by name, through a symlink too', async () => {
    await expect(checkCopyUpMounts(tmpfs('/etc') as never, rootfs)).rejects.toThrow(
      'config.json: mounts[0] (/etc): tmpcopyup over a directory that is not empty is not supported yet',
    );
    await expect(checkCopyUpMounts(tmpfs('/var/run') as never, rootfs)).rejects.toThrow(/not empty/);
  });
});
