// kill(2) for exactly one process. A pid of 0 or below names a process group (0: the caller's own, -1: every
// process the caller may signal), and a stopped container's state holds pid 0: one unguarded kill there
// takes down the shim's caller (a shell, conmon, containerd's shim). Every signal the runtime sends goes
// through here.

import { RuntimeError } from '../errors.js';

export function signalProcess(pid: number, signal: NodeJS.Signals | number): void {
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new RuntimeError('system', `refusing to signal pid ${pid}: not one process`, { stage: 'kill' });
  }
  process.kill(pid, signal);
}
