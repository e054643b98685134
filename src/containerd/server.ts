// The runtime v2 server (what `start` leaves running), and the clean-up of a container whose server died.
// Loaded by shim-v2-main.ts only for those: with it come protobufjs, containerd's API and the container library.

import { closeSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { deleteContainer, observeContainer } from '../container/lifecycle.js';
import type { RuntimeContext } from '../container/run-container.js';
import { formatErrorLine } from '../cli/report-error.js';
import { locateHelper } from '../helper/locate-helper.js';
import type { Logger } from '../log.js';
import { parseStartTime } from '../state/process-start-time.js';
import { StateStore } from '../state/state-store.js';
import { EventPublisher } from './events.js';
import { DEFAULT_LINGER_MS, GROUP_SERVICE, JOIN_GRACE_MS, READY_FD, type ShimFlags } from './flags.js';
import { containerd } from './generated/containerd.js';
import { isPlainName, joiningDirOf, serverRecordOf, socketPathOf, stateRootOf } from './shim-paths.js';
import { ShimLog } from './shim-log.js';
import { TaskService } from './task-service.js';
import { TtrpcServer } from './ttrpc.js';
import { encodeDeleteResponse } from './wire.js';

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

function runtimeContext(flags: ShimFlags, env: NodeJS.ProcessEnv, launcherPath: string, log: Logger): RuntimeContext {
  return {
    root: stateRootOf(flags.namespace, env),
    dataRoot: env.SHIM_DATA_ROOT || '/var/lib/shim',
    helperPath: locateHelper(launcherPath, env.SHIM_HELPER),
    cgroupParent: env.SHIM_CGROUP_PARENT,
    // The helper's stage reports, with timings, in the log (SHIM_CONTAINERD_DEBUG=2: they cost a frame each).
    debug: env.SHIM_CONTAINERD_DEBUG === '2',
    log,
    cwd: '/',
  };
}

// --- serve ---------------------------------------------------------------------------------------------------

export async function serve(flags: ShimFlags, env: NodeJS.ProcessEnv, launcherPath: string): Promise<number> {
  const shimLog = new ShimLog({ namespace: flags.namespace, debug: flags.debug || env.SHIM_CONTAINERD_DEBUG === '1' || env.SHIM_CONTAINERD_DEBUG === '2', file: env.SHIM_CONTAINERD_LOG });
  const log = shimLog.logger();
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
  // Containers whose `start` chose this server and whose Create has not come yet (or is under way: no timer).
  const joining = new Map<string, NodeJS.Timeout | undefined>();
  let leaving = false;
  let socketInode: number | undefined;
  const server: { current?: TtrpcServer } = {};

  const joinGraceMs = env.SHIM_CONTAINERD_JOIN_GRACE_MS !== undefined && /^\d+$/.test(env.SHIM_CONTAINERD_JOIN_GRACE_MS) ? Number(env.SHIM_CONTAINERD_JOIN_GRACE_MS) : JOIN_GRACE_MS;
  // Only the namespace's group is the launcher's to answer (a pod's group is chosen by its config: Node's).
  const record = flags.socket === socketPathOf(flags.address, flags.namespace, `namespace:${flags.namespace}`) ? serverRecordOf(flags.address, flags.namespace, flags.socket) : undefined;
  const joiningDir = joiningDirOf(flags.socket);
  let recheck: NodeJS.Timeout | undefined;

  const leaveIfIdle = () => {
    if (leaving || service.containerCount > 0 || joining.size > 0) return;
    // The C launcher (launcher.c) answers a `start` by (1) writing its marker in joiningDir, then (2) finding the
    // record alive. Here, in the other order: (a) the record goes, then (b) the markers are read. Either the
    // launcher's (2) comes after (a) and it hands the start to Node, or our (b) comes after its (1) and we stay.
    if (record) rmSync(record, { force: true });
    const waitMs = pendingMarkersWait();
    if (waitMs !== undefined) {
      writeRecord();
      clearTimeout(recheck);
      recheck = setTimeout(leaveIfIdle, waitMs);
      return;
    }
    leaving = true;
    rmSync(joiningDir, { recursive: true, force: true });
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
  /** How long until the youngest launcher-answered marker without its Create expires; stale ones go here. */
  const pendingMarkersWait = (): number | undefined => {
    let longest: number | undefined;
    let names: string[] = [];
    try {
      names = readdirSync(joiningDir);
    } catch {
      return undefined;
    }
    for (const name of names) {
      const path = join(joiningDir, name);
      try {
        const left = statSync(path).mtimeMs + joinGraceMs - Date.now();
        if (left > 0 && isPlainName(name)) longest = Math.max(longest ?? 0, left);
        else unlinkSync(path);
      } catch {
        // Removed meanwhile (its Create came).
      }
    }
    return longest === undefined ? undefined : Math.ceil(longest) + 10;
  };
  const writeRecord = () => {
    // The start time tells this process from a later one with the same pid (process-start-time.ts).
    if (!record) return;
    try {
      const startTime = parseStartTime(readFileSync('/proc/self/stat', 'utf8'));
      if (!startTime) throw new Error('no start time in /proc/self/stat');
      writeFileSync(`${record}.tmp`, `${process.pid} ${startTime} ${flags.namespace} ${flags.address} ${flags.socket}\n`, { mode: 0o600 });
      renameSync(`${record}.tmp`, record);
    } catch (error) {
      // Without its record the server still serves: every start then goes through Node's Join.
      log.warn(`server record ${record}: ${(error as Error).message}`);
    }
  };
  const expect = (id: string) => {
    clearTimeout(joining.get(id));
    const timer = setTimeout(() => {
      joining.delete(id);
      leaveIfIdle();
    }, joinGraceMs);
    joining.set(id, timer);
  };
  const service: TaskService = new TaskService({
    context,
    events,
    shimLog,
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
    // A Create under way holds the server however long it takes (a loaded machine), whoever answered its start.
    clearTimeout(joining.get(id));
    joining.set(id, undefined);
    try {
      return await create(payload);
    } finally {
      joining.delete(id);
      if (isPlainName(id)) rmSync(join(joiningDir, id), { force: true });
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
  // From here the C launcher (launcher.c) answers this group's `start`s itself (shim-paths.ts serverRecordOf).
  mkdirSync(joiningDir, { recursive: true, mode: 0o700 });
  writeRecord();
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
export async function cleanUp(flags: ShimFlags, env: NodeJS.ProcessEnv, launcherPath: string): Promise<number> {
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
  writeSync(1, encodeDeleteResponse(pid, exitStatus, new Date()));
  return 0;
}
