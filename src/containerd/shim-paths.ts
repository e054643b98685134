// Where the runtime v2 server keeps things, and which containers share one server.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The state root for a namespace: shim's own state store, so `shim --root <this> list` shows the containers. */
export function stateRootOf(namespace: string, env: NodeJS.ProcessEnv): string {
  return join(env.SHIM_CONTAINERD_ROOT || '/run/shim-containerd', namespace);
}

/** The CRI's annotation that names a pod's sandbox: every container of one pod shares its server. */
export const SANDBOX_ANNOTATION = 'io.kubernetes.cri.sandbox-id';

/**
 * The group a container's server is chosen by. Containers of one pod (the CRI's sandbox annotation) share a
 * server, as they do with runc's shim. Plain `ctr` containers have no pod: shim puts every container of one
 * namespace of one containerd into one server, which is where one Node process serving many containers pays
 * off (one process and its ~40 MB instead of a Go shim of ~13 MB per container). A server failing takes
 * down no container, only the reporting of their exits (containerd's `delete` clean-up then runs for them).
 */
export function groupOf(bundle: string, namespace: string): string {
  try {
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { annotations?: Record<string, string> };
    const sandbox = config.annotations?.[SANDBOX_ANNOTATION];
    if (sandbox) return `sandbox:${sandbox}`;
  } catch {
    // No readable config: the namespace's group (create reports the config's problem by name).
  }
  return `namespace:${namespace}`;
}

/**
 * The server's socket: beside containerd's own socket, in its s/ directory, where containerd keeps its shims'
 * sockets (/run/containerd/s/ for the default address), named by a hash of the containerd, the namespace and
 * the group. A private containerd's sockets stay in its own directory. A unix socket path is at most 107
 * bytes: a deeper directory falls back to /run/shim-containerd/s/.
 */
export function socketPathOf(containerdAddress: string, namespace: string, group: string): string {
  const digest = createHash('sha256').update(`${containerdAddress}\0${namespace}\0${group}`).digest('hex').slice(0, 32);
  const beside = join(dirname(containerdAddress.replace(/^unix:\/\//, '')), 's', digest);
  return Buffer.byteLength(beside) <= 107 ? beside : join('/run/shim-containerd/s', digest);
}

/**
 * What a running server of a namespace's group publishes for the C launcher (launcher.c),
 * which answers `start` without Node when that server is alive:
 *   DIR/s/shim+NS+NAME.server  (DIR/NAME: containerd's socket; the server's socket is in DIR/s/ too)
 *                   "PID STARTTIME NAMESPACE ADDRESS SOCKET\n", STARTTIME being /proc/PID/stat's field 22.
 *                   Present only while the server takes new containers: withdrawn before it decides to leave.
 *   SOCKET.joining/ a file per container whose `start` the launcher answered, named by its id, until its Create
 *                   comes (or JOIN_GRACE_MS after its mtime): the server counts it as a container joined.
 * The launcher reads the socket from the record instead of computing socketPathOf() itself: one rule, Node's.
 * undefined: no record (the server's socket is elsewhere, or the names are not plain): Node answers.
 */
export function serverRecordOf(containerdAddress: string, namespace: string, socket: string): string | undefined {
  const path = containerdAddress.replace(/^unix:\/\//, '');
  const dir = join(dirname(path), 's');
  if (dirname(socket) !== dir || !/^[\w.-]+$/.test(namespace) || !/^[\w.-]+$/.test(basename(path))) return undefined;
  return join(dir, `shim+${namespace}+${basename(path)}.server`);
}

export function joiningDirOf(socket: string): string {
  return `${socket}.joining`;
}

/** An id the launcher and the server use as a file name: a plain name (the launcher hands others to Node). */
export function isPlainName(name: string): boolean {
  return name !== '' && !name.includes('/') && !name.startsWith('.');
}
