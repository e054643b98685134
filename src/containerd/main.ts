// containerd-shim-shim-v2: the runtime v2 contract (containerd runtime/v2/README.md, 1.6).
//
//   containerd-shim-shim-v2 -namespace NS -address SOCK -publish-binary BIN -id ID start     (cwd: the bundle)
//     prints the ttrpc address of the server that is to serve ID: a running one of its group, or a new one
//     started here (this process exits; the server stays). Writes it to the bundle's `address` file too,
//     which containerd reads when it restarts.
//   containerd-shim-shim-v2 -namespace NS -address SOCK -id ID -bundle DIR delete
//     the clean-up after a server died: removes what is left of ID (process, cgroup, state) and prints a
//     DeleteResponse.
//   containerd-shim-shim-v2 ... -socket PATH       (no action: what start runs) the server itself.

import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { deleteContainer, observeContainer } from '../container/lifecycle.js';
import type { RuntimeContext } from '../container/run-container.js';
import { formatErrorLine } from '../cli/report-error.js';
import { locateHelper } from '../helper/locate-helper.js';
import type { Logger } from '../log.js';
import { StateStore } from '../state/state-store.js';
import { EventPublisher, timestampOf } from './events.js';
import { containerd } from './generated/containerd.js';
import { groupOf, socketPathOf, stateRootOf } from './shim-paths.js';
import { TaskService } from './task-service.js';
import { TtrpcClient, TtrpcServer } from './ttrpc.js';

const GROUP_SERVICE = 'shim.containerd.v1.Group';
/** How long a server waits for the Create of a container whose `start` chose it. */
const JOIN_GRACE_MS = 30_000;
/** The descriptor the server tells `start` it is listening on. */
const READY_FD = 3;
const DEFAULT_LINGER_MS = 2_000;

interface ShimFlags {
  namespace: string;
  address: string;
  publishBinary: string;
  id: string;
  bundle: string;
  socket: string;
  debug: boolean;
  action: string | undefined;
}

function parseFlags(argv: readonly string[]): ShimFlags {
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

function fileLogger(env: NodeJS.ProcessEnv, debug: boolean): Logger {
  const path = env.SHIM_CONTAINERD_LOG;
  const write = (level: string, message: string) => {
    if (!path) return;
    try {
      writeFileSync(path, `${new Date().toISOString()} ${process.pid} ${level} ${message}\n`, { flag: 'a' });
    } catch {
      // Logging never fails a call.
    }
  };
  return { debugEnabled: debug && Boolean(path), debug: (message) => debug && write('debug', message), warn: (message) => write('warn', message) };
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, launcherPath: string): Promise<number> {
  const flags = parseFlags(argv);
  if (!flags.namespace) flags.namespace = env.NAMESPACE ?? '';
  if (!flags.namespace || !flags.id) {
    process.stderr.write('containerd-shim-shim-v2: -namespace and -id are required (containerd passes them)\n');
    return 2;
  }
  switch (flags.action) {
    case 'start':
      return startServer(flags, argv, launcherPath);
    case 'delete':
      return cleanUp(flags, env, launcherPath);
    case undefined:
      return serve(flags, env, launcherPath);
    default:
      process.stderr.write(`containerd-shim-shim-v2: unknown action ${flags.action} (start, delete)\n`);
      return 2;
  }
}

function runtimeContext(flags: ShimFlags, env: NodeJS.ProcessEnv, launcherPath: string, log: Logger): RuntimeContext {
  return {
    root: stateRootOf(flags.namespace, env),
    dataRoot: env.SHIM_DATA_ROOT || '/var/lib/shim',
    helperPath: locateHelper(launcherPath, env.SHIM_HELPER),
    cgroupParent: env.SHIM_CGROUP_PARENT,
    debug: false,
    log,
    cwd: '/',
  };
}

// --- start ---------------------------------------------------------------------------------------------------

async function startServer(flags: ShimFlags, argv: readonly string[], launcherPath: string): Promise<number> {
  const bundle = process.cwd();
  const socket = socketPathOf(flags.address, flags.namespace, groupOf(bundle, flags.namespace));
  let joined = await joinServer(socket, flags.id);
  if (!joined) {
    const answer = await spawnServer(argv, socket, launcherPath);
    // Another start won the race to listen: its server serves this container too.
    joined = answer === 'listening' || (await joinServer(socket, flags.id));
    if (!joined) {
      process.stderr.write(`containerd-shim-shim-v2: start ${flags.id}: the server did not start (${answer})\n`);
      return 1;
    }
  }
  const address = `unix://${socket}`;
  writeFileSync(join(bundle, 'address'), address, { mode: 0o600 });
  process.stdout.write(address);
  return 0;
}

/** Asks a running server to keep itself for this container; false when there is none (or it is leaving). */
async function joinServer(socket: string, id: string): Promise<boolean> {
  let client: TtrpcClient | undefined;
  try {
    client = await TtrpcClient.connect(socket);
    await client.call(GROUP_SERVICE, 'Join', Buffer.from(id), 5_000);
    return true;
  } catch {
    return false;
  } finally {
    client?.close();
  }
}

/** Starts a server in a session of its own, detached from containerd and from us; says what it reported. */
function spawnServer(argv: readonly string[], socket: string, launcherPath: string): Promise<string> {
  const args = argv.filter((arg) => arg !== 'start');
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [launcherPath, ...args, '-socket', socket], {
      // The server's stdout and stderr must not be ours: containerd reads our output to its end.
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
      detached: true,
      cwd: '/',
    });
    let answer = '';
    const readiness = child.stdio[READY_FD] as NodeJS.ReadableStream | null;
    readiness?.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    readiness?.on('end', () => {
      child.unref();
      resolvePromise(answer.trim() || 'it exited without a word');
    });
    child.on('error', (error) => resolvePromise(error.message));
  });
}

// --- serve ---------------------------------------------------------------------------------------------------

async function serve(flags: ShimFlags, env: NodeJS.ProcessEnv, launcherPath: string): Promise<number> {
  const log = fileLogger(env, flags.debug || env.SHIM_CONTAINERD_DEBUG === '1');
  const tell = (word: string) => {
    try {
      writeSync(READY_FD, `${word}\n`);
      closeSync(READY_FD);
    } catch {
      // Run by hand, without start's pipe.
    }
  };
  process.chdir('/');
  process.on('uncaughtException', (error) => log.warn(`uncaught: ${error.stack ?? error.message}`));
  process.on('unhandledRejection', (error) => log.warn(`unhandled: ${(error as Error)?.stack ?? String(error)}`));
  const context = runtimeContext(flags, env, launcherPath, log);
  mkdirSync(context.root, { recursive: true, mode: 0o711 });
  const lingerMs = env.SHIM_CONTAINERD_LINGER_MS !== undefined && /^\d+$/.test(env.SHIM_CONTAINERD_LINGER_MS) ? Number(env.SHIM_CONTAINERD_LINGER_MS) : DEFAULT_LINGER_MS;

  const events = new EventPublisher({
    namespace: flags.namespace,
    ttrpcAddress: env.TTRPC_ADDRESS,
    publishBinary: flags.publishBinary,
    containerdAddress: flags.address,
    log,
  });
  // Containers whose `start` chose this server and whose Create has not come yet.
  const joining = new Map<string, NodeJS.Timeout>();
  let leaving = false;
  let socketInode: number | undefined;
  const server: { current?: TtrpcServer } = {};

  const leaveIfIdle = () => {
    if (leaving || service.containerCount > 0 || joining.size > 0) return;
    leaving = true;
    void (async () => {
      await server.current?.close();
      try {
        // Only our own socket: a server started after we stopped listening may have bound the path anew.
        if (socketInode !== undefined && statSync(flags.socket).ino === socketInode) unlinkSync(flags.socket);
      } catch {
        // Gone already.
      }
      await Promise.race([events.flushed(), new Promise((resolvePromise) => setTimeout(resolvePromise, 5_000))]);
      events.close();
      process.exit(0);
    })();
  };
  const expect = (id: string) => {
    clearTimeout(joining.get(id));
    const timer = setTimeout(() => {
      joining.delete(id);
      leaveIfIdle();
    }, JOIN_GRACE_MS);
    joining.set(id, timer);
  };
  const service: TaskService = new TaskService({
    context,
    events,
    onEmpty: () => {},
    // containerd sends Shutdown after each Delete; the server leaves with its last container, after a short
    // linger: a container started meanwhile (the next `ctr run` of a script) joins it instead of paying a
    // new server's start-up. SHIM_CONTAINERD_LINGER_MS=0 leaves at once.
    onShutdown: () => setTimeout(leaveIfIdle, lingerMs),
  });
  const taskMethods = service.methods();
  if (log.debugEnabled) {
    for (const [name, handler] of taskMethods) {
      taskMethods.set(name, async (payload) => {
        const started = Date.now();
        try {
          return await handler(payload);
        } finally {
          log.debug(`${name} took ${Date.now() - started} ms`);
        }
      });
    }
  }
  const create = taskMethods.get('Create')!;
  taskMethods.set('Create', async (payload) => {
    const id = containerd.task.v2.CreateTaskRequest.decode(payload).id;
    try {
      return await create(payload);
    } finally {
      clearTimeout(joining.get(id));
      joining.delete(id);
    }
  });
  const groupMethods = new Map([
    [
      'Join',
      async (payload: Uint8Array) => {
        if (leaving) throw new Error('this server is leaving');
        expect(Buffer.from(payload).toString());
        return new Uint8Array(0);
      },
    ],
  ]);
  expect(flags.id);
  server.current = new TtrpcServer({
    services: new Map([
      ['containerd.task.v2.Task', taskMethods],
      [GROUP_SERVICE, groupMethods],
    ]),
    onError: (error) => log.warn(`ttrpc: ${(error as Error).message}`),
  });
  mkdirSync(dirname(flags.socket), { recursive: true, mode: 0o711 });
  try {
    await server.current.listen(flags.socket);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
      tell(`listen ${flags.socket}: ${(error as Error).message}`);
      return 1;
    }
    // A live server there: it serves this group. A dead one's socket file: taken over.
    if (await isListening(flags.socket)) {
      tell('exists');
      return 0;
    }
    unlinkSync(flags.socket);
    await server.current.listen(flags.socket);
  }
  socketInode = statSync(flags.socket).ino;
  log.debug(`serving ${flags.namespace} on ${flags.socket} with root ${context.root}`);
  tell('listening');
  // Runs until leaveIfIdle exits the process.
  return new Promise<number>(() => {});
}

function isListening(path: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

// --- delete --------------------------------------------------------------------------------------------------

/**
 * containerd's clean-up after a server it cannot reach: whatever is left of the container goes (its
 * processes are killed, its cgroup and state removed), and the DeleteResponse says how it ended: the exit
 * status the state recorded, or 137 (SIGKILL) when it was still running and is killed here, as runc's shim
 * reports it.
 */
async function cleanUp(flags: ShimFlags, env: NodeJS.ProcessEnv, launcherPath: string): Promise<number> {
  const log = fileLogger(env, flags.debug);
  const context = runtimeContext(flags, env, launcherPath, log);
  const store = new StateStore(context.root);
  let pid = 0;
  let exitStatus = 128 + 9;
  try {
    if (await store.exists(flags.id)) {
      const observed = await observeContainer(store, flags.id).catch(() => undefined);
      if (observed) {
        pid = observed.state.pid;
        if (observed.status === 'stopped' && observed.exitCode !== undefined) exitStatus = observed.exitCode;
      }
      await deleteContainer(context.root, flags.id, { force: true }, log);
    }
  } catch (error) {
    process.stderr.write(`${formatErrorLine('delete', error)}\n`);
    return 1;
  }
  const response = containerd.task.v2.DeleteResponse.encode({ pid, exitStatus, exitedAt: timestampOf(new Date()) }).finish();
  writeSync(1, response);
  return 0;
}
