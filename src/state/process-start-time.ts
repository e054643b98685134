// A pid alone does not identify a process: once it exits the number can be given to another. Field 22 of
// /proc/PID/stat (start time in clock ticks since boot) together with the pid does.

import { readFileSync } from 'node:fs';

export interface ProcStat {
  /** Field 3: R, S, D, Z (zombie), ... */
  state: string;
  /** Field 4. */
  ppid: number;
  /** Field 22, as text (it can exceed 2^53 in theory). */
  startTime: string;
}

export function parseProcStat(statLine: string): ProcStat | undefined {
  // Field 2 (comm) is in parentheses and may itself hold spaces and ")"; fields resume after the last ")".
  const afterComm = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  // afterComm[0] is field 3 (state), so field 22 is at index 19.
  const [state, ppid] = afterComm;
  const startTime = afterComm[19];
  if (!state || !ppid || !startTime) return undefined;
  return { state, ppid: Number(ppid), startTime };
}

export function parseStartTime(statLine: string): string | undefined {
  return parseProcStat(statLine)?.startTime;
}

// Synchronous: one read of a /proc file is cheaper than a threadpool round trip.
export async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export async function readProcessStartTime(pid: number): Promise<string | undefined> {
  return (await readProcStat(pid))?.startTime;
}

/** True while `pid` is still the process that had `startTime`. */
export async function isSameProcess(pid: number, startTime: string): Promise<boolean> {
  return (await readProcessStartTime(pid)) === startTime;
}

/**
 * True while `pid` is the process that had `startTime` and has not ended: a zombie has ended, even though
 * its parent (a subreaper that has not reaped yet) keeps its entry.
 */
export async function isLiveProcess(pid: number, startTime: string | undefined): Promise<boolean> {
  if (pid <= 0 || !startTime) return false;
  const stat = await readProcStat(pid);
  return stat !== undefined && stat.startTime === startTime && stat.state !== 'Z' && stat.state !== 'X';
}
