// The exec planner: a running container's state + the config it was started from + the exec request -> what
// the helper is to do. Pure, like planContainer: the caller reads the state, the config and the host facts,
// and checks the init is still alive; this only decides.

import { posix } from 'node:path';
import { RuntimeError } from '../errors.js';
import type { PlannedSeccomp } from '../seccomp/plan-seccomp.js';
import type { ContainerState } from '../state/state-store.js';
import type { HostFacts, PlannedProcess } from './container-plan.js';
import { mergeEnv } from './docker-config.js';
import * as k from './kernel-constants.js';
import type { OciConfig, OciProcess } from './oci-config.js';
import { planProcess } from './plan-container.js';
import { planExecCpuAffinity, planMemoryPolicy } from './other-fields.js';

export interface ExecRequest {
  containerId: string;
  /** The command; may be empty with a process file, which then names it. */
  args: string[];
  /** --process FILE, already parsed and validated: the whole process, as runc takes it. */
  processFile?: OciProcess | undefined;
  /** KEY=VALUE each, set over the container's environment. */
  env: string[];
  cwd?: string | undefined;
  user?: { uid: number; gid?: number | undefined } | undefined;
  /** Capability names to add (runc exec --cap). */
  addCapabilities: string[];
  noNewPrivileges: boolean;
  tty: boolean;
  detach: boolean;
  consoleSocket?: string | undefined;
  preserveFds: number;
}

export interface ExecPlan {
  containerId: string;
  /** Host pid of the container's init: every namespace and the root of this process are joined. */
  targetPid: number;
  /** The container's cgroup.procs files, one per hierarchy. */
  cgroupProcs: string[];
  process: PlannedProcess;
  preserveFds: number;
  /** The helper leaves right after READY (MONITOR_DETACH) instead of waiting for the process. */
  detach: boolean;
  consoleSocket?: string | undefined;
  /** The container's own seccomp filter: an exec'd process gets it too (as runc). */
  seccomp?: PlannedSeccomp | undefined;
  /** process.execCPUAffinity (the process file's, else the container's): base64 cpumasks (other-fields.ts). */
  cpuAffinity?: { initial?: string | undefined; final?: string | undefined } | undefined;
  /** The container's linux.memoryPolicy: runc's setns_init sets it for every exec'd process too. */
  memoryPolicy?: { mode: number; nodes: string } | undefined;
  warnings: string[];
}

export function planExec(state: ContainerState, config: OciConfig, request: ExecRequest, host: HostFacts, seccomp?: PlannedSeccomp): ExecPlan {
  if (state.status === 'stopped' || state.pid <= 0) {
    throw new RuntimeError('invalid-state', 'cannot exec in a stopped container', { containerId: state.id });
  }
  if (state.status === 'creating') {
    throw new RuntimeError('invalid-state', 'cannot exec in a container that is still being created', { containerId: state.id });
  }
  if (request.tty && request.detach && !request.consoleSocket) {
    // The helper's monitor relays a terminal only while it stays; a detached one has no one to relay to.
    throw new RuntimeError('usage', 'a detached exec with a terminal needs --console-socket');
  }
  if (!request.tty && request.consoleSocket) {
    throw new RuntimeError('usage', '--console-socket is for a process with a terminal (--tty)');
  }

  if (request.processFile === undefined && request.args.length === 0) {
    throw new RuntimeError('usage', 'exec needs a command', { hint: 'shim exec ID CMD [ARGS...] or --process FILE' });
  }
  const warnings: string[] = [];
  // A process file is the whole process, as in runc (the CLI refuses the process flags beside it), except
  // that a command given on the command line still wins over the file's args.
  let base = request.processFile ?? baseProcess(config, request);
  if (request.processFile !== undefined && request.args.length > 0) base = { ...base, args: [...request.args] };
  const process = planProcess(base, host, warnings);
  // Every exec leads a session of its own: it must not share the helper's job control, and a terminal can
  // only become the controlling terminal of a session leader.
  process.newSession = true;
  return {
    containerId: state.id,
    targetPid: state.pid,
    cgroupProcs: state.cgroupDirs.map((dir) => `${dir}/cgroup.procs`),
    process,
    preserveFds: request.preserveFds,
    detach: request.detach,
    consoleSocket: request.consoleSocket,
    seccomp,
    // runc: the process's own execCPUAffinity, else the container's (config.json's process).
    cpuAffinity: planExecCpuAffinity(request.processFile?.execCPUAffinity ? request.processFile : config.process, 'process'),
    memoryPolicy: config.linux?.memoryPolicy ? planMemoryPolicy(config.linux.memoryPolicy) : undefined,
    warnings,
  };
}

/** The container's own process (environment, user, capabilities, no_new_privs, rlimits) with the flags over it. */
function baseProcess(config: OciConfig, request: ExecRequest): OciProcess {
  const own = config.process;
  if (!own) throw new RuntimeError('invalid-config', 'config.json of the container has no process to take defaults from');
  const capabilities = { ...own.capabilities };
  for (const name of request.addCapabilities) {
    const capName = name.toUpperCase().startsWith('CAP_') ? name.toUpperCase() : `CAP_${name.toUpperCase()}`;
    if (k.CAPABILITY_NUMBERS[capName] === undefined) throw new RuntimeError('usage', `--cap ${name}: not a capability`);
    // As runc exec --cap: into bounding, effective and permitted; ambient only where inheritable is set.
    for (const set of ['bounding', 'effective', 'permitted'] as const) capabilities[set] = addName(capabilities[set], capName);
    if ((capabilities.inheritable ?? []).length > 0) capabilities.ambient = addName(capabilities.ambient, capName);
  }
  const cwd = request.cwd ?? own.cwd;
  if (!posix.isAbsolute(cwd)) throw new RuntimeError('usage', `--cwd ${cwd}: must be an absolute path`);
  return {
    ...own,
    args: [...request.args],
    env: mergeEnv([...(own.env ?? []), ...request.env]),
    cwd,
    user: request.user ? { ...own.user, uid: request.user.uid, gid: request.user.gid ?? own.user.gid } : own.user,
    capabilities,
    noNewPrivileges: request.noNewPrivileges || own.noNewPrivileges,
    terminal: request.tty,
  };
}

function addName(list: string[] | undefined, name: string): string[] {
  return (list ?? []).includes(name) ? [...(list ?? [])] : [...(list ?? []), name];
}

/** -u UID[:GID], numbers only (names would need the container's /etc/passwd, read from the host). */
export function parseUserFlag(value: string): { uid: number; gid?: number | undefined } {
  const match = /^(\d+)(?::(\d+))?$/.exec(value);
  if (!match) throw new RuntimeError('usage', `--user ${value}: expected UID or UID:GID (numbers)`);
  return { uid: Number(match[1]), gid: match[2] === undefined ? undefined : Number(match[2]) };
}
