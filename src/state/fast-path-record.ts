// The fast-path record: what dist/shim (src/cli/shim-launcher.c, a small static program) needs to answer `start`,
// `kill`, `delete` and `state` of a runc-style container without starting Node.
//
// podman calls three runtime verbs per container (create, start, delete --force), and containerd's runc shim
// the same ones. Each cold Node start costs 40-60 ms here before shim does anything, while `start` itself is
// one FIFO handshake and `delete` of a stopped container a few rmdirs: runc does each in under 10 ms. So the
// decisions stay here, in TypeScript, and dist/shim only carries out what this record says, for the one case
// that is nearly always the one at hand:
//   start:  the container is created (its start FIFO exists) and its init is alive; nothing else runs at
//           start (no poststart or startContainer hooks, whose failures need Node to report);
//   delete: the container's init is gone; what is left is its cgroup directories, the parents shim made for
//           them, and the state directory (no network, no layers, no monitor, no poststop hooks).
//   state:  the OCI state, which for such a container is its stored fields and a status read from the
//           init (alive, its start time), the start FIFO and the freezer: lifecycle.ts's observeState, for a
//           container with no docker state and no exit status file. podman asks for it whenever it syncs a
//           container (ps, inspect, stop). The record carries the JSON as `state` prints it, with the pid
//           and the status left for dist/shim to fill in.
// Anything else (no record, a busy lock, a live init at delete, an rmdir the kernel refuses, a FIFO that gives
// no "0") sends the call to Node unchanged, which then does and says what it always did.
//
// The record is a pure function of the state, rewritten (or removed) by every StateStore.writeState, so it
// can never describe a container that has changed since. It is text: one key and its words per line (a dash
// script read it with `read` before dist/shim was C, hence the plain layout). Paths go in only when they are plain (no white space, quotes, globs or newlines);
// a state with any other path gets no record.

import { formatOciState, ociStateOfStored } from './oci-state.js';
import type { ContainerState } from './state-store.js';

export const FAST_PATH_FILE = 'fast-path';
/** The placeholders in the state template, each alone on its line's value (see ociStateTemplate). */
export const PID_PLACEHOLDER = '@PID@';
export const STATUS_PLACEHOLDER = '@STATUS@';
export const FAST_PATH_VERSION = 1;

/** A path dist/shim may split on spaces and hand to rmdir unchanged: absolute, plain characters only. */
const PLAIN_PATH = /^\/[A-Za-z0-9._/:@%+=,-]*$/;

/**
 * The record for this state, or undefined when dist/shim must leave every call on this container to Node.
 *   version 1
 *   init PID STARTTIME
 *   fifo PATH          (the start FIFO; it exists exactly while the container is created)
 *   cgroups DIR...     (removed with rmdir at delete; any failure goes to Node, which empties busy ones)
 *   parents DIR...     (removed with rmdir when empty, failures ignored: other containers may be in them)
 *   freeze FILE        (the freezer's state file, FROZEN or "frozen 1" while paused; absent: no freezer)
 *   oci-state          (the last key: every line after it is the state template)
 */
export function fastPathRecord(state: ContainerState): string | undefined {
  if (state.status !== 'created' && state.status !== 'running') return undefined;
  if (!(state.pid > 0) || !state.pidStartTime || !state.startFifo) return undefined;
  // What start or delete would have to do besides the FIFO, the cgroups and the state directory.
  if (state.hooks || state.startContainerHooks || state.network || state.containerDir || state.monitorPid || state.docker || state.autoRemove) {
    return undefined;
  }
  const cgroups = state.cgroupDirs ?? [];
  const parents = state.cgroupParentDirs ?? [];
  const freeze = state.freezeStateFile ? [state.freezeStateFile] : [];
  if (![state.startFifo, ...cgroups, ...parents, ...freeze].every((path) => PLAIN_PATH.test(path))) return undefined;
  if (!/^\d+$/.test(state.pidStartTime)) return undefined;
  const template = ociStateTemplate(state);
  if (!template.includes(`"pid": ${PID_PLACEHOLDER},`) || !template.includes(`"status": "${STATUS_PLACEHOLDER}",`)) return undefined;
  return [
    `version ${FAST_PATH_VERSION}`,
    `init ${state.pid} ${state.pidStartTime}`,
    `fifo ${state.startFifo}`,
    `cgroups ${cgroups.join(' ')}`,
    `parents ${parents.join(' ')}`,
    ...freeze.map((file) => `freeze ${file}`),
    'oci-state',
    template,
    '',
  ].join('\n');
}

/**
 * `shim state`'s output for this container with the pid and the status as placeholders, each the whole value
 * of its own line: `  "pid": @PID@,` and `  "status": "@STATUS@",` (JSON.stringify's layout puts every field
 * of this flat object on a line of its own; annotations, the one nested object, come after both). dist/shim
 * prints the lines in order and fills in those two, so its output is byte for byte Node's.
 */
export function ociStateTemplate(state: ContainerState): string {
  const text = formatOciState({ ...ociStateOfStored(state, 'created'), pid: -1, status: 'created' });
  return text.replace(/^ {2}"pid": -1,$/m, `  "pid": ${PID_PLACEHOLDER},`).replace(/^ {2}"status": "created",$/m, `  "status": "${STATUS_PLACEHOLDER}",`);
}
