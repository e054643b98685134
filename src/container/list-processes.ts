// `ps`, as a library call: the host pids in the container's cgroups (the init and every exec'd process and
// their children), read from its cgroup.procs files. A minimal form; the lifecycle branch brings the full verb.

import { readFile } from 'node:fs/promises';
import { hasErrnoCode, isRuntimeError, systemError } from '../errors.js';
import { StateStore } from '../state/state-store.js';

export interface ContainerProcess {
  pid: number;
  /** The command line from /proc/PID/cmdline; empty for a process that has just gone. */
  command: string;
}

export async function listContainerProcesses(root: string, id: string): Promise<ContainerProcess[]> {
  try {
    const state = await new StateStore(root).readState(id);
    const pids = new Set<number>();
    // Every hierarchy holds the same processes; reading them all also covers one that is missing.
    for (const dir of state.cgroupDirs) {
      let text: string;
      try {
        text = await readFile(`${dir}/cgroup.procs`, 'utf8');
      } catch (error) {
        if (hasErrnoCode(error, 'ENOENT')) continue;
        throw systemError(error, 'read cgroup.procs', { path: `${dir}/cgroup.procs` });
      }
      for (const line of text.split('\n')) if (line) pids.add(Number(line));
    }
    const processes: ContainerProcess[] = [];
    for (const pid of [...pids].sort((a, b) => a - b)) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      processes.push({ pid, command: cmdline.split('\0').join(' ').trim() });
    }
    return processes;
  } catch (error) {
    throw (isRuntimeError(error) ? error : systemError(error, 'list processes')).forContainer(id);
  }
}
