// Which linux.sysctl keys a container may set: only those that live in a namespace the container has, as
// runc's validator (libcontainer/configs/validate). The helper writes /proc/sys/<key> after the container's
// namespaces exist; a key that no namespace scopes (vm.swappiness, kernel.panic) would be written to the
// host's kernel, for every process on the machine.

import { RuntimeError } from '../errors.js';
import type { PlannedNamespace } from './container-plan.js';

/** The System V IPC and POSIX message queue keys scoped by an ipc namespace (runc's list). */
const IPC_KEYS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

export function checkSysctls(sysctls: Record<string, string>, namespaces: readonly PlannedNamespace[]): void {
  const has = (type: PlannedNamespace['type']) => namespaces.some((ns) => ns.type === type);
  for (const key of Object.keys(sysctls)) {
    const refuse = (why: string) => new RuntimeError('invalid-config', `config.json: linux.sysctl ${JSON.stringify(key)} ${why}`);
    // The key becomes a path under /proc/sys (dots to slashes): a "/" or an empty part could climb out of the
    // subtree its prefix names ("net.x/../../vm.swappiness").
    if (key.includes('/') || key.split('.').some((part) => part === '')) throw refuse('is not a sysctl name');
    if (IPC_KEYS.has(key) || key.startsWith('fs.mqueue.')) {
      if (!has('ipc')) throw refuse('is not allowed in the host\'s ipc namespace');
      continue;
    }
    if (key.startsWith('net.')) {
      if (!has('net')) throw refuse('is not allowed in the host\'s network namespace');
      continue;
    }
    if (key === 'kernel.hostname') throw refuse('is not allowed; the config\'s hostname value must be used instead');
    if (key === 'kernel.domainname' && has('uts')) continue;
    throw refuse('is not in a separate kernel namespace');
  }
}
