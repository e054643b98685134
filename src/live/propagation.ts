// Mount propagation as people read it: the kernel's flags by name, and what /proc/PID/mountinfo says each of a
// container's mounts really has now (its optional fields: shared:N, master:N, unbindable).

import { readFileSync } from 'node:fs';
import * as k from '../plan/kernel-constants.js';

/** MS_* propagation (with MS_REC for the r- forms) to its name; undefined for 0 (left as inherited). */
export function propagationName(flags: number): string | undefined {
  const recursive = (flags & k.MS_REC) !== 0 ? 'r' : '';
  if (flags & k.MS_SHARED) return `${recursive}shared`;
  if (flags & k.MS_SLAVE) return `${recursive}slave`;
  if (flags & k.MS_PRIVATE) return `${recursive}private`;
  if (flags & k.MS_UNBINDABLE) return `${recursive}unbindable`;
  return undefined;
}

/** `mount add --propagation`: the kernel value mount_setattr takes. */
export const LIVE_PROPAGATIONS: Readonly<Record<string, number>> = {
  private: k.MS_PRIVATE,
  slave: k.MS_SLAVE,
  shared: k.MS_SHARED,
  unbindable: k.MS_UNBINDABLE,
};

/** One mountinfo line's propagation: "shared", "slave", "shared,slave", "unbindable" or "private". */
export function propagationOfFields(optional: readonly string[]): string {
  const shared = optional.some((field) => field.startsWith('shared:'));
  const slave = optional.some((field) => field.startsWith('master:'));
  if (optional.includes('unbindable')) return 'unbindable';
  if (shared && slave) return 'shared,slave';
  if (shared) return 'shared';
  if (slave) return 'slave';
  return 'private';
}

/** Mount point -> propagation of the topmost mount there, as seen by the process (its mount namespace). */
export function readMountPropagation(pid: number): Map<string, string> {
  const found = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  } catch {
    return found;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    if (separator < 6) continue;
    const mountPoint = fields[4]!.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    found.set(mountPoint, propagationOfFields(fields.slice(6, separator)));
  }
  return found;
}
