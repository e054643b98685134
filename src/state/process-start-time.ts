// A pid alone does not identify a process: once it exits the number can be given to another. Field 22 of
// /proc/PID/stat (start time in clock ticks since boot) together with the pid does.

import { readFile } from 'node:fs/promises';

export function parseStartTime(statLine: string): string | undefined {
  // Field 2 (comm) is in parentheses and may itself hold spaces and ")"; fields resume after the last ")".
  const afterComm = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  // afterComm[0] is field 3 (state), so field 22 is at index 19.
  return afterComm[19];
}

export async function readProcessStartTime(pid: number): Promise<string | undefined> {
  try {
    return parseStartTime(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** True while `pid` is still the process that had `startTime`. */
export async function isSameProcess(pid: number, startTime: string): Promise<boolean> {
  return (await readProcessStartTime(pid)) === startTime;
}
