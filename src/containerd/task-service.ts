// containerd's Task service (runtime/v2/task, 1.6) over shim's container library: the same prepareRun /
// createPrepared / startContainer / killContainer / deleteContainer / prepareExec / execPrepared the CLI's
// verbs call, in this process, with no runc and no shim CLI process per call. Each RPC finds the container
// and calls one library function, as containerd's runc shim calls one runc verb; the state machine, refusals
// and state files are the library's, so `shim --root ROOT state|list|ps` see these containers too.
//
// Every process (a container's init, an exec) has the helper as its monitor (MONITOR_WAIT): the helper waits
// for it and reports its exit over the status pipe, so exits arrive here at once without this process being
// a subreaper (which Node cannot become). If this server dies, the helpers and containers go on, as runc's
// containers outlive its shim; containerd's `delete` clean-up then removes them.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkUpdateResources, pauseContainer, readContainerMetrics, resumeContainer, updateContainer } from '../container/container-cgroups.js';
import { createPrepared } from '../container/create-container.js';
import { execPrepared, prepareExec, type ExecContext } from '../container/exec-container.js';
import { deleteContainer, killContainer, observeContainer, startContainer } from '../container/lifecycle.js';
import { parseOciProcess } from '../container/process-file.js';
import { prepareRun, type RuntimeContext } from '../container/run-container.js';
import { readCgroupPids } from '../cgroups/cgroup-v1-manager.js';
import { isRuntimeError } from '../errors.js';
import { formatErrorLine } from '../cli/report-error.js';
import type { HelperOutcome } from '../helper/run-helper.js';
import { signalProcess } from '../host/signal-process.js';
import { StateStore } from '../state/state-store.js';
import { EventPublisher, timestampOf } from './events.js';
import { containerd } from './generated/containerd.js';
import { metricsAny } from './metrics.js';
import { OomWatch } from './oom-watch.js';
import { planRootfsMounts } from './rootfs-mounts.js';
import { createOptionsOf } from './runtime-options.js';
import type { ShimLog } from './shim-log.js';
import { openStdio, type StdioPaths } from './stdio.js';
import { Code, TtrpcError, type MethodHandler } from './ttrpc.js';

const pb = containerd.task.v2;
const Status = containerd.v1.types.Status;
const EMPTY = new Uint8Array(0);

interface ProcessEntry {
  /** '' for the init, the exec id otherwise. */
  execId: string;
  pid: number;
  stdio: StdioPaths;
  status: 'created' | 'running' | 'stopped';
  exitStatus: number;
  exitedAt?: Date | undefined;
  /** Resolves once the exit is recorded (Wait). */
  exited: Promise<void>;
  markExited: () => void;
  /** An exec's process spec, kept from Exec until Start. */
  spec?: unknown;
  /** With a terminal: the helper relaying it, and the file it reads the size from on SIGWINCH. */
  monitorPid?: number | undefined;
  windowSizePath?: string | undefined;
}

interface ContainerEntry {
  id: string;
  bundle: string;
  init: ProcessEntry;
  execs: Map<string, ProcessEntry>;
  /** Whether the init has its own pid namespace: without one, its processes are killed when it ends, as runc's shim does. */
  ownPidNamespace: boolean;
  cgroupDirs: string[];
}

export interface TaskServiceOptions {
  context: RuntimeContext;
  events: EventPublisher;
  /** Each container's lines go to its bundle's `log` FIFO, which containerd copies into its own log. */
  shimLog: ShimLog;
  /** Called whenever the last container is gone (and on Shutdown with none left). */
  onEmpty: () => void;
  onShutdown: () => void;
}

function newProcess(execId: string, stdio: StdioPaths): ProcessEntry {
  let markExited: () => void = () => {};
  const exited = new Promise<void>((resolvePromise) => {
    markExited = resolvePromise;
  });
  return { execId, pid: 0, stdio, status: 'created', exitStatus: 0, exited, markExited };
}

export class TaskService {
  readonly #options: TaskServiceOptions;
  readonly #containers = new Map<string, ContainerEntry>();
  readonly #store: StateStore;
  readonly #oom: OomWatch;

  constructor(options: TaskServiceOptions) {
    this.#options = options;
    this.#store = new StateStore(options.context.root);
    this.#oom = new OomWatch((id) => options.events.publish('TaskOOM', { containerId: id }), options.context.log);
  }

  get containerCount(): number {
    return this.#containers.size;
  }

  /** The ttrpc method table: "Create" -> decode, call, encode. */
  methods(): Map<string, MethodHandler> {
    const table = new Map<string, MethodHandler>();
    const add = <Req, Res>(
      name: string,
      request: { decode(bytes: Uint8Array): Req },
      response: { encode(message: Res): { finish(): Uint8Array } } | undefined,
      handler: (req: Req) => Promise<Res | undefined>,
    ) => {
      table.set(name, async (payload) => {
        try {
          const result = await handler(request.decode(payload));
          return response && result !== undefined ? response.encode(result).finish() : EMPTY;
        } catch (error) {
          throw toTtrpcError(error);
        }
      });
    };
    add('State', pb.StateRequest, pb.StateResponse, (req) => this.state(req));
    add('Create', pb.CreateTaskRequest, pb.CreateTaskResponse, (req) => this.create(req));
    add('Start', pb.StartRequest, pb.StartResponse, (req) => this.start(req));
    add('Delete', pb.DeleteRequest, pb.DeleteResponse, (req) => this.delete(req));
    add('Pids', pb.PidsRequest, pb.PidsResponse, (req) => this.pids(req));
    add('Pause', pb.PauseRequest, undefined, (req) => this.pause(req));
    add('Resume', pb.ResumeRequest, undefined, (req) => this.resume(req));
    add('Checkpoint', pb.CheckpointTaskRequest, undefined, async () => {
      throw new TtrpcError(Code.UNIMPLEMENTED, 'checkpoint: shim cannot checkpoint containers yet');
    });
    add('Kill', pb.KillRequest, undefined, (req) => this.kill(req));
    add('Exec', pb.ExecProcessRequest, undefined, (req) => this.exec(req));
    add('ResizePty', pb.ResizePtyRequest, undefined, (req) => this.resizePty(req));
    add('CloseIO', pb.CloseIORequest, undefined, (req) => this.closeIO(req));
    add('Update', pb.UpdateTaskRequest, undefined, (req) => this.update(req));
    add('Wait', pb.WaitRequest, pb.WaitResponse, (req) => this.wait(req));
    add('Stats', pb.StatsRequest, pb.StatsResponse, (req) => this.stats(req));
    add('Connect', pb.ConnectRequest, pb.ConnectResponse, (req) => this.connect(req));
    add('Shutdown', pb.ShutdownRequest, undefined, (req) => this.shutdown(req));
    return table;
  }

  #container(id: string): ContainerEntry {
    const entry = this.#containers.get(id);
    if (!entry) throw new TtrpcError(Code.NOT_FOUND, `container ${id}: not found`);
    return entry;
  }

  #process(id: string, execId: string): ProcessEntry {
    const container = this.#container(id);
    if (!execId) return container.init;
    const process = container.execs.get(execId);
    if (!process) throw new TtrpcError(Code.NOT_FOUND, `process ${execId} of container ${id}: not found`);
    return process;
  }

  async create(req: containerd.task.v2.CreateTaskRequest): Promise<containerd.task.v2.ICreateTaskResponse> {
    if (this.#containers.has(req.id)) throw new TtrpcError(Code.ALREADY_EXISTS, `container ${req.id}: already exists`);
    if (req.checkpoint) throw new TtrpcError(Code.UNIMPLEMENTED, 'create: restoring a checkpoint is not supported');
    const { shimLog } = this.#options;
    shimLog.attach(req.id, req.bundle);
    try {
      return await this.#create(req);
    } catch (error) {
      shimLog.logger(req.id).warn(`create: ${error instanceof Error ? error.message : String(error)}`);
      shimLog.detach(req.id);
      throw error;
    }
  }

  async #create(req: containerd.task.v2.CreateTaskRequest): Promise<containerd.task.v2.ICreateTaskResponse> {
    const options = createOptionsOf(req.options);
    const log = this.#options.shimLog.logger(req.id);
    for (const note of options.notes) log.warn(note);
    // The runc options that apply are the CLI's global flags (--systemd-cgroup) and create's (--no-pivot).
    const context: RuntimeContext = { ...this.#options.context, log, systemdCgroup: options.systemdCgroup || this.#options.context.systemdCgroup };
    // runc's shim makes it too: config.json's root.path, the mount point of the rootfs (here, inside the
    // container's mount namespace only).
    const mountPoint = join(req.bundle, 'rootfs');
    mkdirSync(mountPoint, { recursive: true, mode: 0o711 });
    const rootfs = planRootfsMounts(
      req.rootfs.map((mount) => ({ type: mount.type ?? '', source: mount.source ?? '', options: mount.options ?? [] })),
      mountPoint,
    );
    const prepared = await prepareRun({ kind: 'bundle', bundleDir: req.bundle, id: req.id, keep: true, noPivot: options.noPivot, rootfs }, context);
    const stdio: StdioPaths = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal };
    if (req.terminal !== prepared.plan.process.terminal) {
      throw new TtrpcError(Code.INVALID_ARGUMENT, `create ${req.id}: the request's terminal (${req.terminal}) and config.json's process.terminal disagree`);
    }
    const opened = openStdio(stdio, options.ioOwner);
    const windowSizePath = req.terminal ? join(this.#store.dirOf(req.id), 'window-size') : undefined;
    let result;
    try {
      result = await createPrepared(prepared, context, { mode: 'monitored', stdio: opened.fds, windowSizePath });
    } finally {
      opened.close();
    }
    const init = newProcess('', stdio);
    init.pid = result.pid;
    init.monitorPid = result.monitorPid;
    init.windowSizePath = windowSizePath;
    const state = await this.#store.readState(req.id);
    const entry: ContainerEntry = {
      id: req.id,
      bundle: req.bundle,
      init,
      execs: new Map(),
      ownPidNamespace: prepared.plan.namespaces.some((ns) => ns.type === 'pid' && ns.path === undefined),
      cgroupDirs: state.cgroupDirs,
    };
    this.#containers.set(req.id, entry);
    await this.#oom.add(req.id, state.cgroupDirs);
    void this.#watchInit(entry, result.exited!);
    this.#options.events.publish('TaskCreate', {
      containerId: req.id,
      bundle: req.bundle,
      rootfs: req.rootfs,
      io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
      checkpoint: req.checkpoint,
      pid: result.pid,
    });
    return { pid: result.pid };
  }

  async #watchInit(entry: ContainerEntry, exited: Promise<HelperOutcome>): Promise<void> {
    let outcome: HelperOutcome | undefined;
    try {
      outcome = await exited;
    } catch (error) {
      this.#options.context.log.warn(`container ${entry.id}: its monitor failed: ${(error as Error).message}`);
    }
    const exit = outcome?.exited;
    const status = exit ? (exit.termSignal ? 128 + exit.termSignal : exit.exitCode) : 255;
    const exitedAt = new Date();
    if (exit) {
      const ms = exitedAt.getTime();
      await this.#store
        .writeExitStatus(entry.id, { exitCode: exit.exitCode, termSignal: exit.termSignal, coreDumped: exit.coreDumped, finishedSec: Math.floor(ms / 1000), finishedNsec: (ms % 1000) * 1e6 })
        .catch((error) => this.#options.context.log.warn(`container ${entry.id}: record exit: ${(error as Error).message}`));
    }
    // An OOM kill of the init itself: its TaskOOM before its TaskExit, as runc's shim orders them.
    await this.#oom.check(entry.id);
    this.#oom.remove(entry.id);
    // Without its own pid namespace nothing else ends the container's other processes (runc's shim kills them).
    if (!entry.ownPidNamespace) {
      for (const pid of await readCgroupPids(entry.cgroupDirs).catch(() => [])) {
        try {
          signalProcess(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
    }
    this.#recordExit(entry, entry.init, status, exitedAt);
  }

  #recordExit(entry: ContainerEntry, process: ProcessEntry, status: number, exitedAt: Date): void {
    process.status = 'stopped';
    process.exitStatus = status;
    process.exitedAt = exitedAt;
    this.#options.events.publish('TaskExit', {
      containerId: entry.id,
      id: process.execId || entry.id,
      pid: process.pid,
      exitStatus: status,
      exitedAt: timestampOf(exitedAt),
    });
    process.markExited();
  }

  async start(req: containerd.task.v2.StartRequest): Promise<containerd.task.v2.IStartResponse> {
    const entry = this.#container(req.id);
    if (!req.execId) {
      await startContainer(this.#options.context.root, req.id);
      // The init may have ended already (its exit raced this answer): stopped stays stopped.
      if (entry.init.status === 'created') entry.init.status = 'running';
      this.#options.events.publish('TaskStart', { containerId: req.id, pid: entry.init.pid });
      return { pid: entry.init.pid };
    }
    const process = this.#process(req.id, req.execId);
    if (process.status !== 'created') throw new TtrpcError(Code.FAILED_PRECONDITION, `cannot start a ${process.status} process`);
    const pid = await this.#startExec(entry, process);
    this.#options.events.publish('TaskExecStarted', { containerId: req.id, execId: req.execId, pid });
    return { pid };
  }

  async #startExec(entry: ContainerEntry, process: ProcessEntry): Promise<number> {
    const { context } = this.#options;
    const execContext: ExecContext = { root: context.root, helperPath: context.helperPath, debug: context.debug, log: context.log, cwd: '/' };
    const processSpec = parseOciProcess(process.spec, `exec ${process.execId}`);
    const plan = await prepareExec(
      {
        containerId: entry.id,
        args: [],
        processFile: processSpec,
        env: [],
        addCapabilities: [],
        noNewPrivileges: false,
        tty: process.stdio.terminal,
        detach: false,
        preserveFds: 0,
      },
      execContext,
    );
    const opened = openStdio(process.stdio);
    let started: (pid: number) => void = () => {};
    const startedPid = new Promise<number>((resolvePromise) => {
      started = resolvePromise;
    });
    if (process.stdio.terminal) process.windowSizePath = join(this.#store.dirOf(entry.id), `window-size-${process.execId.replace(/[^\w.-]/g, '_')}`);
    const running = execPrepared(plan, execContext, {
      stdio: opened.fds,
      onStarted: (pid) => started(pid),
      windowSizePath: process.windowSizePath,
      onMonitor: (pid) => {
        process.monitorPid = pid;
      },
    });
    try {
      // Started, or failed before it could (a missing binary, a stopped container): the RPC says which.
      process.pid = await Promise.race([startedPid, running.then((result) => result.pid)]);
    } finally {
      opened.close();
    }
    process.status = 'running';
    void running.then(
      (result) => this.#recordExit(entry, process, result.exitCode, new Date()),
      (error) => {
        context.log.warn(`exec ${process.execId} in ${entry.id}: ${(error as Error).message}`);
        this.#recordExit(entry, process, 255, new Date());
      },
    );
    return process.pid;
  }

  async delete(req: containerd.task.v2.DeleteRequest): Promise<containerd.task.v2.IDeleteResponse> {
    const entry = this.#container(req.id);
    if (req.execId) {
      const process = this.#process(req.id, req.execId);
      if (process.status === 'running') throw new TtrpcError(Code.FAILED_PRECONDITION, `cannot delete a running process`);
      entry.execs.delete(req.execId);
      return { pid: process.pid, exitStatus: process.exitStatus, exitedAt: timestampOf(process.exitedAt ?? new Date()) };
    }
    const init = entry.init;
    if (init.status === 'running') throw new TtrpcError(Code.FAILED_PRECONDITION, `cannot delete a running container`);
    // A created container (never started) is deleted as runc deletes it: its init is killed, nothing ran.
    await deleteContainer(this.#options.context.root, req.id, { force: init.status === 'created' }, this.#options.context.log);
    // Its monitor reports the killed init's end; bounded, so a monitor that is gone cannot hold Delete up.
    if (init.status === 'created') await Promise.race([init.exited, new Promise((resolvePromise) => setTimeout(resolvePromise, 5_000).unref())]);
    this.#containers.delete(req.id);
    this.#oom.remove(req.id);
    this.#options.shimLog.detach(req.id);
    const exitedAt = init.exitedAt ?? new Date();
    this.#options.events.publish('TaskDelete', {
      containerId: req.id,
      pid: init.pid,
      exitStatus: init.exitStatus,
      exitedAt: timestampOf(exitedAt),
    });
    if (this.#containers.size === 0) this.#options.onEmpty();
    return { pid: init.pid, exitStatus: init.exitStatus, exitedAt: timestampOf(exitedAt) };
  }

  async state(req: containerd.task.v2.StateRequest): Promise<containerd.task.v2.IStateResponse> {
    const entry = this.#container(req.id);
    const process = this.#process(req.id, req.execId);
    let status: containerd.v1.types.Status;
    if (process.status === 'stopped') status = Status.STOPPED;
    else if (process.status === 'created') status = Status.CREATED;
    else {
      // Paused is the cgroup's: read as `shim state` reads it.
      const observed = await observeContainer(this.#store, req.id).catch(() => undefined);
      status = observed?.status === 'paused' ? Status.PAUSED : Status.RUNNING;
    }
    return {
      id: process.execId || entry.id,
      bundle: entry.bundle,
      pid: process.pid,
      status,
      stdin: process.stdio.stdin,
      stdout: process.stdio.stdout,
      stderr: process.stdio.stderr,
      terminal: process.stdio.terminal,
      exitStatus: process.exitStatus,
      exitedAt: process.exitedAt ? timestampOf(process.exitedAt) : undefined,
      execId: process.execId,
    };
  }

  async pids(req: containerd.task.v2.PidsRequest): Promise<containerd.task.v2.IPidsResponse> {
    const entry = this.#container(req.id);
    const pids = await readCgroupPids(entry.cgroupDirs);
    return { processes: pids.map((pid) => ({ pid })) };
  }

  async pause(req: containerd.task.v2.PauseRequest): Promise<undefined> {
    this.#container(req.id);
    await pauseContainer(this.#options.context.root, req.id, this.#options.context.log);
    this.#options.events.publish('TaskPaused', { containerId: req.id });
    return undefined;
  }

  async resume(req: containerd.task.v2.ResumeRequest): Promise<undefined> {
    this.#container(req.id);
    await resumeContainer(this.#options.context.root, req.id, this.#options.context.log);
    this.#options.events.publish('TaskResumed', { containerId: req.id });
    return undefined;
  }

  async kill(req: containerd.task.v2.KillRequest): Promise<undefined> {
    const entry = this.#container(req.id);
    const process = this.#process(req.id, req.execId);
    // containerd reads NOT_FOUND as "already finished", as from runc's shim.
    if (process.status === 'stopped') throw new TtrpcError(Code.NOT_FOUND, `process already finished`);
    if (req.execId) {
      try {
        signalProcess(process.pid, req.signal);
      } catch {
        throw new TtrpcError(Code.NOT_FOUND, `process already finished`);
      }
      return undefined;
    }
    await killContainer(this.#options.context.root, entry.id, String(req.signal), { all: req.all });
    return undefined;
  }

  async exec(req: containerd.task.v2.ExecProcessRequest): Promise<undefined> {
    const entry = this.#container(req.id);
    if (entry.execs.has(req.execId)) throw new TtrpcError(Code.ALREADY_EXISTS, `exec ${req.execId}: already exists`);
    if (entry.init.status === 'stopped') throw new TtrpcError(Code.FAILED_PRECONDITION, `cannot exec in a stopped container`);
    if (!req.spec) throw new TtrpcError(Code.INVALID_ARGUMENT, `exec ${req.execId}: no process spec`);
    let spec: unknown;
    try {
      spec = JSON.parse(Buffer.from(req.spec.value ?? new Uint8Array(0)).toString('utf8'));
    } catch (error) {
      throw new TtrpcError(Code.INVALID_ARGUMENT, `exec ${req.execId}: the process spec is not JSON (${(error as Error).message})`);
    }
    // Checked now, so that a bad spec fails Exec rather than Start.
    parseOciProcess(spec, `exec ${req.execId}`);
    const process = newProcess(req.execId, { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal });
    process.spec = spec;
    entry.execs.set(req.execId, process);
    this.#options.events.publish('TaskExecAdded', { containerId: req.id, execId: req.execId });
    return undefined;
  }

  async resizePty(req: containerd.task.v2.ResizePtyRequest): Promise<undefined> {
    const process = this.#process(req.id, req.execId);
    if (!process.stdio.terminal) throw new TtrpcError(Code.FAILED_PRECONDITION, `resize pty: ${req.execId || req.id} has no terminal`);
    if (process.status === 'stopped' || !process.monitorPid || !process.windowSizePath) return undefined;
    // The helper's monitor relays the terminal: it reads the size from this file when told by SIGWINCH.
    writeFileSync(process.windowSizePath, `${req.height} ${req.width}\n`, { mode: 0o600 });
    try {
      signalProcess(process.monitorPid, 'SIGWINCH');
    } catch {
      // The monitor has gone with its process: nothing to size.
    }
    return undefined;
  }

  async closeIO(req: containerd.task.v2.CloseIORequest): Promise<undefined> {
    // The process holds the stdin FIFO itself (stdio.ts) and sees EOF when containerd's writer closes it,
    // which containerd does before it asks this: there is no copy of ours to close.
    this.#process(req.id, req.execId);
    return undefined;
  }

  async update(req: containerd.task.v2.UpdateTaskRequest): Promise<undefined> {
    this.#container(req.id);
    if (!req.resources) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(req.resources.value ?? new Uint8Array(0)).toString('utf8'));
    } catch (error) {
      throw new TtrpcError(Code.INVALID_ARGUMENT, `update: the resources are not JSON (${(error as Error).message})`);
    }
    await updateContainer(this.#options.context.root, req.id, checkUpdateResources(parsed, 'update'), this.#options.context.log);
    return undefined;
  }

  async wait(req: containerd.task.v2.WaitRequest): Promise<containerd.task.v2.IWaitResponse> {
    const process = this.#process(req.id, req.execId);
    await process.exited;
    return { exitStatus: process.exitStatus, exitedAt: timestampOf(process.exitedAt ?? new Date()) };
  }

  async stats(req: containerd.task.v2.StatsRequest): Promise<containerd.task.v2.IStatsResponse> {
    this.#container(req.id);
    const { version, stats } = await readContainerMetrics(this.#options.context.root, req.id, this.#options.context.log);
    return { stats: metricsAny(version, stats) };
  }

  async connect(req: containerd.task.v2.ConnectRequest): Promise<containerd.task.v2.IConnectResponse> {
    const entry = this.#containers.get(req.id);
    return { shimPid: process.pid, taskPid: entry?.init.pid ?? 0, version: 'shim-v2' };
  }

  async shutdown(_req: containerd.task.v2.ShutdownRequest): Promise<undefined> {
    // One server serves many containers: it goes only once none is left (runc's shim does the same).
    if (this.#containers.size === 0) this.#options.onShutdown();
    return undefined;
  }
}

/** The library's errors as the codes containerd's errdefs reads. */
function toTtrpcError(error: unknown): TtrpcError {
  if (error instanceof TtrpcError) return error;
  if (isRuntimeError(error)) {
    const code =
      error.code === 'not-found'
        ? Code.NOT_FOUND
        : error.code === 'already-exists'
          ? Code.ALREADY_EXISTS
          : error.code === 'invalid-state'
            ? Code.FAILED_PRECONDITION
            : error.code === 'usage' || error.code === 'invalid-config'
              ? Code.INVALID_ARGUMENT
              : error.code === 'unsupported'
                ? Code.UNIMPLEMENTED
                : Code.UNKNOWN;
    return new TtrpcError(code, formatErrorLine(undefined, error));
  }
  return new TtrpcError(Code.UNKNOWN, error instanceof Error ? error.message : String(error));
}

