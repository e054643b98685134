// linux.seccomp -> the plan's seccomp part: the compiled program (base64, so the plan stays JSON for the state
// directory and --dry-run), its flags, and for SCMP_ACT_NOTIFY the listener path and the message that goes
// with the descriptor. Pure: the kernel's actions come in through the host facts.

import type { HostFacts } from '../plan/container-plan.js';
import { hostFamily } from './archs.js';
import { seccompCacheKey, type SeccompCache } from './filter-cache.js';
import { loadSeccompCompiler } from './load-compiler.js';
import { SECCOMP_FILTER_FLAG_NEW_LISTENER, type OciSeccomp } from './profile.js';

export interface PlannedSeccomp {
  /** struct sock_filter[], base64. */
  program: string;
  instructions: number;
  /** SECCOMP_FILTER_FLAG_*. */
  flags: number;
  /** The archs the program answers for. */
  archs: string[];
  defaultAction: string;
  /**
   * Names in the profile no arch's table knows, skipped. Not a plan warning: runc only logs them at debug
   * level, and podman's own profile names a few (other arches' syscalls), which would warn on every run.
   */
  unknownSyscalls?: string[] | undefined;
  listenerPath?: string | undefined;
  /** The state JSON sent with the listener, in parts the helper joins with the process's pid. */
  listenerState?: string[] | undefined;
}

export interface SeccompRequest {
  containerId: string;
  bundleDir: string;
  annotations?: Record<string, string> | undefined;
  host: HostFacts;
  where?: string | undefined;
  /** Compiled filters of earlier runs (filter-cache.ts); the plan stays a function of its inputs. */
  cache?: SeccompCache | undefined;
}

/** The OCI state version the listener message carries (runc sends its own, 1.0.2-dev for 1.1). */
const LISTENER_OCI_VERSION = '1.0.2';

export function planSeccomp(raw: OciSeccomp | undefined, request: SeccompRequest, warnings: string[]): PlannedSeccomp | undefined {
  if (!raw) return undefined;
  const where = request.where ?? 'config.json: linux.seccomp';
  if (!raw.defaultAction && (raw.syscalls ?? []).length === 0) return undefined;
  // The cache first: a hit is one small file read, where the prebuilt table and the compiler are a file of
  // their own to load (load-compiler.ts). A miss, the prebuilt default profile included, fills the cache.
  const key = request.cache ? seccompCacheKey(raw, hostFamily(), request.host.seccompActions) : undefined;
  let planned: PlannedSeccomp | undefined = key ? request.cache!.get(key) : undefined;
  if (!planned) {
    planned = loadSeccompCompiler().compileOnMiss(raw, request.host.seccompActions, where, warnings);
    if (key) request.cache!.set(key, planned);
  }
  // The listener's message names this container: never from the cache.
  if (raw.listenerPath && (planned.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) !== 0) {
    planned = { ...planned, listenerPath: raw.listenerPath, listenerState: listenerState(request, raw.listenerMetadata || undefined) };
  }
  return planned;
}

/** runc's ContainerProcessState (runtime-spec specs-go/state.go), with a hole for the pid at both places. */
function listenerState(request: SeccompRequest, metadata: string | undefined): string[] {
  const PID = '\u0000pid\u0000';
  const message = {
    ociVersion: LISTENER_OCI_VERSION,
    fds: ['seccompFd'],
    pid: PID,
    ...(metadata ? { metadata } : {}),
    state: {
      ociVersion: LISTENER_OCI_VERSION,
      id: request.containerId,
      status: 'creating',
      pid: PID,
      bundle: request.bundleDir,
      ...(request.annotations && Object.keys(request.annotations).length > 0 ? { annotations: request.annotations } : {}),
    },
  };
  return JSON.stringify(message).split(JSON.stringify(PID));
}
