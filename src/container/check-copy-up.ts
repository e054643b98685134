// tmpcopyup (runc's mount option; podman puts it on the tmpfs mounts of --read-only: /tmp, /var/tmp, /run, ...)
// asks for the tmpfs to start with a copy of the directory it covers. shim does not copy: it takes the option
// where the directory is empty or absent in the rootfs, which gives exactly the same container, and refuses it
// by name elsewhere instead of silently hiding the image's files.

import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { RuntimeError } from '../errors.js';
import type { OciConfig } from '../plan/oci-config.js';

/** The longest symlink chain followed, as the kernel's MAXSYMLINKS. */
const MAX_SYMLINKS = 40;

/**
 * `path` (absolute, inside the container) resolved as the container would see it: every symlink is followed
 * with the rootfs as `/`, and `..` never leaves it (the lexical twin of openat2's RESOLVE_IN_ROOT).
 * Returns the host path, which may not exist.
 */
export async function resolveInRootfs(rootfs: string, path: string): Promise<string> {
  const pending = path.split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const hostPath = join(rootfs, ...resolved, part);
    const info = await lstat(hostPath).catch(() => null);
    if (info?.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw new RuntimeError('invalid-config', `${path}: too many levels of symbolic links in the rootfs`);
      const target = await readlink(hostPath);
      if (posix.isAbsolute(target)) resolved.length = 0;
      pending.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    resolved.push(part);
  }
  return join(rootfs, ...resolved);
}

/** Refuses a tmpcopyup mount whose directory in the rootfs holds anything; the others need no copy. */
export async function checkCopyUpMounts(config: OciConfig, rootfs: string): Promise<void> {
  for (const [index, mount] of (config.mounts ?? []).entries()) {
    if (!mount.options?.includes('tmpcopyup')) continue;
    const where = `config.json: mounts[${index}] (${mount.destination})`;
    if (mount.type !== 'tmpfs') throw new RuntimeError('invalid-config', `${where}: tmpcopyup applies to tmpfs mounts only`);
    const dir = await resolveInRootfs(rootfs, mount.destination);
    const entries = await readdir(dir).catch(() => [] as string[]);
    if (entries.length > 0) {
      throw new RuntimeError('unsupported', `${where}: tmpcopyup over a directory that is not empty is not supported yet`, {
        hint: `the rootfs holds ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} there (${entries.slice(0, 3).join(', ')})`,
      });
    }
  }
}
