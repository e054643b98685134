// The command line containerd gives a runtime v2 shim (Go flag syntax: -name value, -name=value, --name),
// shared by the cold entry (shim-v2.ts) and the server (server.ts).

export const GROUP_SERVICE = 'shim.containerd.v1.Group';
/** How long a server waits for the Create of a container whose `start` chose it. */
export const JOIN_GRACE_MS = 30_000;
/** The descriptor the server tells `start` it is listening on. */
export const READY_FD = 3;
/**
 * How long a server with no container left stays for the next one. Back-to-back `ctr run`s on a loaded machine
 * were measured 2-3 s apart (from one container's Shutdown to the next `start`), so 2 s made every one of them
 * start a server of its own; an idle server costs its RSS (about 50 MB) for this long.
 */
export const DEFAULT_LINGER_MS = 10_000;

export interface ShimFlags {
  namespace: string;
  address: string;
  publishBinary: string;
  id: string;
  bundle: string;
  socket: string;
  debug: boolean;
  action: string | undefined;
}

export function parseFlags(argv: readonly string[]): ShimFlags {
  const flags: ShimFlags = { namespace: '', address: '', publishBinary: '', id: '', bundle: '', socket: '', debug: false, action: undefined };
  const valued: Record<string, keyof ShimFlags> = {
    namespace: 'namespace',
    address: 'address',
    'publish-binary': 'publishBinary',
    id: 'id',
    bundle: 'bundle',
    socket: 'socket',
  };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    const match = /^--?([\w-]+)(?:=(.*))?$/.exec(arg);
    if (!match) {
      flags.action ??= arg;
      continue;
    }
    const [, name, inline] = match;
    if (name === 'debug' || name === 'v') {
      flags.debug = inline === undefined || inline === 'true';
      continue;
    }
    const key = valued[name!];
    const value = inline ?? argv[++index];
    // Unknown flags with a value are skipped (containerd adds some, e.g. -systemd-cgroup in older versions).
    if (key && value !== undefined) (flags as unknown as Record<string, string>)[key] = value;
  }
  return flags;
}

