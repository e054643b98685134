// Which cgroup hierarchies the host has mounted, and where this process sits in each: read from
// /proc/self/mountinfo and /proc/self/cgroup. The parsing is pure; readCgroupHierarchies does the reading.

import { readFile } from '../host/fs-async.js';
import type { CgroupHierarchy } from '../plan/container-plan.js';

interface MountinfoEntry {
  root: string;
  mountPoint: string;
  fstype: string;
  superOptions: string[];
}

export function parseMountinfo(text: string): MountinfoEntry[] {
  const entries: MountinfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    // The optional fields between field 6 and " - " vary in number; the separator is what is fixed.
    const [head, tail] = splitOnce(line, ' - ');
    if (tail === undefined) continue;
    const fields = head.split(' ');
    const [fstype, , superOptions = ''] = tail.split(' ');
    if (fields.length < 5 || !fstype) continue;
    entries.push({
      root: unescapeMountField(fields[3]!),
      mountPoint: unescapeMountField(fields[4]!),
      fstype,
      superOptions: superOptions.split(','),
    });
  }
  return entries;
}

/** "4:memory:/a/b" lines; controllers "" for the cgroup2 line (0::/path). */
export function parseProcCgroup(text: string): { controllers: string[]; path: string }[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const first = line.indexOf(':');
      const second = line.indexOf(':', first + 1);
      const controllers = line.slice(first + 1, second);
      return { controllers: controllers ? controllers.split(',') : [], path: line.slice(second + 1) };
    });
}

export function planCgroupHierarchies(mountinfo: string, procCgroup: string): CgroupHierarchy[] {
  const own = parseProcCgroup(procCgroup);
  const hierarchies: CgroupHierarchy[] = [];
  for (const entry of parseMountinfo(mountinfo)) {
    if (entry.fstype === 'cgroup2') {
      // One cgroup2 hierarchy exists; a second mount of it adds nothing.
      if (hierarchies.some((h) => h.version === 2)) continue;
      const line = own.find((l) => l.controllers.length === 0);
      hierarchies.push({ version: 2, controllers: [], mountPoint: entry.mountPoint, root: entry.root, ownCgroup: line?.path ?? '/' });
    } else if (entry.fstype === 'cgroup') {
      // The hierarchy is the /proc/self/cgroup line whose controllers all appear in the mount's options.
      const options = new Set(entry.superOptions);
      const line = own.find((l) => l.controllers.length > 0 && l.controllers.every((c) => options.has(c)));
      if (!line) continue;
      if (hierarchies.some((h) => h.version === 1 && sameControllers(h.controllers, line.controllers))) continue;
      hierarchies.push({ version: 1, controllers: line.controllers, mountPoint: entry.mountPoint, root: entry.root, ownCgroup: line.path });
    }
  }
  return hierarchies;
}

export async function readCgroupHierarchies(): Promise<CgroupHierarchy[]> {
  const [mountinfo, procCgroup] = await Promise.all([
    readFile('/proc/self/mountinfo', 'utf8'),
    readFile('/proc/self/cgroup', 'utf8'),
  ]);
  return planCgroupHierarchies(mountinfo, procCgroup);
}

function sameControllers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c) => b.includes(c));
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length)];
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
