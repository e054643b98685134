// Reading and writing cgroup control files, with errors that name the file. Synchronous: a control file is
// read or written in microseconds, less than an fs/promises threadpool round trip.

import { chownSync, readFileSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeError, hasErrnoCode, systemError } from '../errors.js';
import type { PlannedCgroup } from '../plan/container-plan.js';

/** The file's trimmed text, or undefined when the kernel does not offer it (ENOENT). */
export async function readCgroupFile(dir: string, file: string): Promise<string | undefined> {
  try {
    return readFileSync(posix.join(dir, file), 'utf8').trim();
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT')) return undefined;
    throw systemError(error, `read ${file}`, { stage: 'cgroup', path: posix.join(dir, file) });
  }
}

export async function readCgroupNumber(dir: string, file: string): Promise<number> {
  const text = await readCgroupFile(dir, file);
  if (text === undefined || text === 'max') return 0;
  const value = Number(text);
  return Number.isFinite(value) ? value : 0;
}

/** "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control) as a map. */
export async function readKeyedFile(dir: string, file: string): Promise<Map<string, number> | undefined> {
  const text = await readCgroupFile(dir, file);
  if (text === undefined) return undefined;
  const entries = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) entries.set(key, Number(value));
  }
  return entries;
}

/** A keyed file as a plain object (for JSON and protobuf alike); undefined when the kernel has no such file. */
export async function readKeyedRecord(dir: string, file: string): Promise<Record<string, number> | undefined> {
  const entries = await readKeyedFile(dir, file);
  return entries ? Object.fromEntries(entries) : undefined;
}

/** v1's blkio files: "MAJ:MIN Op value" lines; the closing "Total N" line is not a device's. */
export function parseBlkioLines(text: string | undefined): { major: number; minor: number; op: string; value: number }[] {
  const entries = [];
  for (const line of (text ?? '').split('\n')) {
    const match = /^(\d+):(\d+)\s+(\S+)\s+(\d+)$/.exec(line.trim());
    if (match) entries.push({ major: Number(match[1]), minor: Number(match[2]), op: match[3]!, value: Number(match[4]) });
  }
  return entries;
}

/** v2's io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N …", as runc maps it onto v1's Read/Write entries. */
export function parseIoStat(text: string | undefined): { bytes: ReturnType<typeof parseBlkioLines>; ios: ReturnType<typeof parseBlkioLines> } {
  const bytes = [];
  const ios = [];
  for (const line of (text ?? '').split('\n')) {
    const [device, ...pairs] = line.trim().split(/\s+/);
    const match = /^(\d+):(\d+)$/.exec(device ?? '');
    if (!match) continue;
    const major = Number(match[1]);
    const minor = Number(match[2]);
    const values = new Map(pairs.map((pair) => pair.split('=') as [string, string]));
    for (const [key, op] of [['rbytes', 'Read'], ['wbytes', 'Write']] as const) if (values.has(key)) bytes.push({ major, minor, op, value: Number(values.get(key)) });
    for (const [key, op] of [['rios', 'Read'], ['wios', 'Write']] as const) if (values.has(key)) ios.push({ major, minor, op, value: Number(values.get(key)) });
  }
  return { bytes, ios };
}

/** One write. A missing file means the kernel lacks that knob: said as such rather than as ENOENT. */
export async function writeCgroupFile(dir: string, file: string, value: string): Promise<void> {
  const path = posix.join(dir, file);
  try {
    writeFileSync(path, value);
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT')) {
      throw new RuntimeError('unsupported', `set ${file} to ${value}: this kernel's cgroup has no ${file}`, { stage: 'cgroup', path });
    }
    throw systemError(error, `set ${file} to ${value}`, { stage: 'cgroup', path });
  }
}

/** Polls `check` until it holds; false after `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, pauseMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(pauseMs);
  }
}

/**
 * The file a container's freeze state is read from: v1's freezer.state, or v2's cgroup.events (its "frozen"
 * line). Recorded in the state so that `state` can say "paused" without loading the plan.
 */
export function freezeStateFile(plan: PlannedCgroup): string | undefined {
  const v1 = plan.dirs.find((dir) => dir.version === 1 && dir.controllers.includes('freezer'));
  if (v1) return `${v1.dir}/freezer.state`;
  if (plan.dirs.some((dir) => dir.version === 1)) return undefined;
  const v2 = plan.dirs.find((dir) => dir.version === 2);
  return v2 ? `${v2.dir}/cgroup.events` : undefined;
}

/** True when the text of a freezeStateFile says frozen. */
export function isFrozenText(file: string, text: string): boolean {
  if (file.endsWith('freezer.state')) return text.trim() === 'FROZEN';
  return /^frozen 1$/m.test(text);
}

/**
 * How many processes the OOM killer took in a container's cgroup, from its directories alone (no manager, no
 * plan): v1's memory.oom_control (kernel 4.13+) or v2's memory.events, whichever of the dirs has one.
 * undefined when none does. A detached container keeps its cgroup until `delete`, so its stopped state can say
 * whether an exit by SIGKILL was the OOM killer's.
 */
export async function readOomKillCount(dirs: readonly string[]): Promise<number | undefined> {
  for (const dir of dirs) {
    const counters = (await readKeyedFile(dir, 'memory.oom_control')) ?? (await readKeyedFile(dir, 'memory.events'));
    const count = counters?.get('oom_kill');
    if (count !== undefined) return count;
  }
  return undefined;
}

/**
 * Hands a cgroup v2 directory to the container's root (PlannedCgroup.ownerUid), as runc's cgroup manager does
 * with OwnerUID: the directory and the files the kernel lists in /sys/kernel/cgroup/delegate (cgroups(7)'s
 * three before 4.15), owner only (gid left). A file this kernel does not have is skipped.
 */
export async function chownDelegated(dir: string, uid: number): Promise<void> {
  let files = ['cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads'];
  try {
    files = readFileSync('/sys/kernel/cgroup/delegate', 'utf8').split('\n').filter(Boolean);
  } catch {
    // Before 4.15 there is no list: cgroups(7)'s files above.
  }
  for (const path of [dir, ...files.map((file) => posix.join(dir, file))]) {
    try {
      chownSync(path, uid, -1);
    } catch (error) {
      if (path === dir || !hasErrnoCode(error, 'ENOENT')) throw systemError(error, 'chown the cgroup to the container\'s root', { stage: 'cgroup', path });
    }
  }
}
