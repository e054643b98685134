// The host facts --privileged needs: the last capability the kernel knows, and its device nodes (docker
// gives a privileged container every one of them).

import { readdirSync, readFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { PrivilegedHost } from '../plan/docker-run-flags.js';
import type { OciDevice } from '../plan/oci-config.js';

// Kernel filesystems of their own inside the container's /dev: not copied from the host's.
const SKIPPED = new Set(['/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/console', '/dev/ptmx']);

export function readPrivilegedHost(): PrivilegedHost {
  let capLast = 40;
  try {
    capLast = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  } catch {
    // No /proc here: CAP_CHECKPOINT_RESTORE (40), the last of Linux 5.9+.
  }
  const devices: OciDevice[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (SKIPPED.has(path)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isCharacterDevice() || entry.isBlockDevice()) {
        const info = lstatSync(path);
        devices.push({
          type: entry.isCharacterDevice() ? 'c' : 'b',
          path,
          major: Math.floor(info.rdev / 256) & 0xfff,
          minor: (info.rdev & 0xff) | ((info.rdev >> 12) & 0xfff00),
          fileMode: info.mode & 0o777,
          uid: info.uid,
          gid: info.gid,
        });
      }
    }
  };
  walk('/dev');
  return { capLast, devices };
}
