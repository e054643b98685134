// The OCI state `shim state` prints (runtime-spec's State, in runc's field order), from a container's stored
// state and its observed status. One definition for Node's `state` (cli/state.ts, through lifecycle.ts) and
// for the template dist/shim fills in for a plain container (fast-path-record.ts).

import type { ContainerState, ContainerStatus } from './state-store.js';

export interface OciState {
  ociVersion: string;
  id: string;
  pid: number;
  status: ContainerStatus;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string> | undefined;
  owner: string;
}

export function ociStateOfStored(state: ContainerState, status: ContainerStatus, owner = ''): OciState {
  return {
    ociVersion: state.ociVersion,
    id: state.id,
    // As runc: 0 once the process is gone, so nobody signals a pid that may be someone else's by now.
    pid: status === 'created' || status === 'running' || status === 'paused' ? state.pid : 0,
    status,
    bundle: state.bundle,
    rootfs: state.rootfs,
    created: state.created,
    ...(state.annotations && Object.keys(state.annotations).length > 0 ? { annotations: state.annotations } : {}),
    owner,
  };
}

/** As `shim state` prints it: runc's MarshalIndent with two spaces, and no newline after the closing brace. */
export function formatOciState(state: OciState): string {
  return JSON.stringify(state, null, 2);
}
