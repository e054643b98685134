// The only module that touches the generated protobuf code: the plan becomes one Spec for the helper, and the
// helper's Status frames become plain HelperStatus values for the rest of the shim.
// Two generated modules (Makefile): the encoders of every message without their decoders, and the decoders
// of Status frames alone, so that a create loads no code it never runs; tests decode Specs with the full
// generated module (test/support/decode-spec.ts).

import protobuf from 'protobufjs/minimal.js';
import { RuntimeError } from '../errors.js';
import type { ContainerPlan, NamespaceKind, PlannedProcess, RlimitValue } from '../plan/container-plan.js';
import type { ExecPlan } from '../plan/plan-exec.js';
import { hookEnvironment, hookStateTemplate, type HookStatus, type OciHook, type PlannedHooks } from '../hooks/oci-hooks.js';
import type { IdMapping } from '../userns/plan-user-namespace.js';
import type { PlannedSeccomp } from '../seccomp/plan-seccomp.js';
import { shim } from './generated/spec-encode.js';
import { shim as statusFrames } from './generated/status-decode.js';

// protobufjs decodes 64-bit fields as Long objects whenever it can load the `long` package, which depends on
// where the bundle happens to sit (inside a checkout it finds node_modules, once installed it does not).
// Numbers always: every 64-bit value in the contract fits in 53 bits, except RLIM_INFINITY, which is only
// ever encoded (see uint64Limit).
protobuf.util.Long = undefined as never;
protobuf.configure();

const pb = shim.v1;

const NAMESPACE_TYPES: Record<NamespaceKind, shim.v1.NamespaceType> = {
  mount: pb.NamespaceType.NAMESPACE_TYPE_MOUNT,
  pid: pb.NamespaceType.NAMESPACE_TYPE_PID,
  uts: pb.NamespaceType.NAMESPACE_TYPE_UTS,
  ipc: pb.NamespaceType.NAMESPACE_TYPE_IPC,
  net: pb.NamespaceType.NAMESPACE_TYPE_NET,
  cgroup: pb.NamespaceType.NAMESPACE_TYPE_CGROUP,
  user: pb.NamespaceType.NAMESPACE_TYPE_USER,
  time: pb.NamespaceType.NAMESPACE_TYPE_TIME,
};

export interface SpecOptions {
  /** Ask the helper for a STAGE frame at each stage. */
  debug: boolean;
  /**
   * How the helper ends: 'wait' (foreground run: it waits and reports the exit), 'detach' (create: READY,
   * then it exits and the init is the caller's subreaper's), 'background' (run -d: it daemonizes and waits).
   */
  monitor?: 'wait' | 'detach' | 'background' | undefined;
  /** FINISH_WAIT_FOR_START on this FIFO (create). */
  startFifo?: string | undefined;
  /** The helper makes startFifo with these permission bits (0: the caller made it). */
  startFifoMode?: number | undefined;
  /** With process.terminal: where the pty master is sent. */
  consoleSocket?: string | undefined;
  /** 'background': the container's stdout/stderr and the exit status file. */
  logPath?: string | undefined;
  exitStatusPath?: string | undefined;
  preserveFds?: number | undefined;
  /** The shim's own environment: what a createContainer hook without env gets (runc: the runtime's). */
  runtimeEnv?: readonly string[] | undefined;
  /** A relayed terminal's size, read by the monitor on SIGWINCH when its stdin is no terminal. */
  windowSizePath?: string | undefined;
  /** docker-style runs (src/container/docker-run.ts): the reaper as PID 1, the terminal's attach socket,
   * the pid file of each start, the restart policy as numbers. */
  initReaper?: boolean | undefined;
  attachSocket?: string | undefined;
  attachWaitFirst?: boolean | undefined;
  pidPath?: string | undefined;
  restart?: { enabled: boolean; onlyOnFailure: boolean; maximum: number; delayMs: number; maxDelayMs: number; resetAfterMs: number } | undefined;
  /** Spec.log_records: the log gets a timed record per line (docker-style containers). */
  logRecords?: boolean | undefined;
  /** Spec.attach_stdin: run -d -i without -t, stdin through the attach socket. */
  attachStdin?: boolean | undefined;
}

const MONITORS = {
  wait: pb.Monitor.MONITOR_WAIT,
  detach: pb.Monitor.MONITOR_DETACH,
  background: pb.Monitor.MONITOR_BACKGROUND,
} as const;

/** The plan as the helper's Spec message (without the frame header). */
export function encodeRunSpec(plan: ContainerPlan, options: SpecOptions): Uint8Array {
  const { process } = plan;
  // In a new user namespace a lower oom_score_adj needs CAP_SYS_RESOURCE over the host: the monitor writes it
  // from outside before the init runs, as runc's nsexec does before it unshares.
  const oomByMonitor = process.oomScoreAdj !== undefined && plan.userNamespace !== undefined && plan.userNamespace.path === undefined;
  const spec: shim.v1.ISpec = {
    action: pb.Action.ACTION_RUN_CONTAINER,
    containerId: plan.containerId,
    debug: options.debug,
    namespaces: plan.namespaces.map((ns) => ({ type: NAMESPACE_TYPES[ns.type], path: ns.path ?? '' })),
    uidMappings: encodeMappings(plan.userNamespace?.uidMappings),
    gidMappings: encodeMappings(plan.userNamespace?.gidMappings),
    cgroupProcs: plan.cgroup.dirs.map((dir) => `${dir.dir}/cgroup.procs`),
    rootfs: {
      path: plan.rootfs.path,
      lowerDirs: plan.rootfs.lowerDirs,
      upperDir: plan.rootfs.upperDir,
      workDir: plan.rootfs.workDir,
      readonly: plan.rootfs.readonly,
      propagation: plan.rootfs.propagation,
      noPivot: plan.rootfs.noPivot,
      idmapLayers: plan.rootfs.idmapLayers ?? false,
    },
    mounts: plan.mounts.map((mount) => ({
      source: mount.source,
      target: mount.target,
      fstype: mount.fstype,
      flags: mount.flags,
      data: mount.data,
      propagation: mount.propagation,
      uidMappings: encodeMappings(mount.idmap?.uidMappings),
      gidMappings: encodeMappings(mount.idmap?.gidMappings),
      idmapRecursive: mount.idmap?.recursive ?? false,
      fallbackBindSource: mount.fallbackBindSource ?? '',
    })),
    devices: plan.devices.map((device) => ({
      path: device.path,
      mode: device.mode,
      major: device.major,
      minor: device.minor,
      uid: device.uid,
      gid: device.gid,
      bindFromHost: device.bindFromHost ?? false,
    })),
    symlinks: plan.symlinks.map((link) => ({ target: link.target, path: link.path })),
    maskedPaths: plan.maskedPaths,
    readonlyPaths: plan.readonlyPaths,
    hostname: plan.hostname,
    domainname: plan.domainname,
    sysctls: plan.sysctls.map((sysctl) => ({ key: sysctl.key, value: sysctl.value })),
    loopbackUp: plan.loopbackUp,
    process: { ...encodeProcess(process, options.preserveFds ?? 0), ...(oomByMonitor ? { hasOomScoreAdj: false } : {}) },
    hasMonitorOomScoreAdj: oomByMonitor,
    monitorOomScoreAdj: oomByMonitor ? process.oomScoreAdj! : 0,
    ...encodeMemoryPolicy(plan.memoryPolicy),
    timeOffsets: plan.timeOffsets ?? '',
    finish: options.startFifo ? pb.Finish.FINISH_WAIT_FOR_START : pb.Finish.FINISH_EXEC_NOW,
    startFifo: options.startFifo ?? '',
    startFifoMode: options.startFifo ? (options.startFifoMode ?? 0) : 0,
    monitor: MONITORS[options.monitor ?? 'wait'],
    consoleSocket: options.consoleSocket ?? '',
    logPath: options.logPath ?? '',
    exitStatusPath: options.exitStatusPath ?? '',
    ...encodeHooks(plan.hooks, plan.process.env, options.runtimeEnv ?? []),
    // netDevices are moved during the same pause (src/hooks/container-hooks.ts HookPause).
    ...((plan.netDevices?.length ?? 0) > 0 ? { pauseForHooks: true } : {}),
    hasPersonality: plan.personality !== undefined,
    personality: plan.personality ?? 0,
    consoleHeight: plan.consoleSize?.height ?? 0,
    consoleWidth: plan.consoleSize?.width ?? 0,
    ioPriority: plan.ioPriority ?? 0,
    scheduler: plan.scheduler ? { ...plan.scheduler } : undefined,
    windowSizePath: options.windowSizePath ?? '',
    ...encodeSeccomp(plan.seccomp),
    initReaper: options.initReaper ?? false,
    attachSocket: options.attachSocket ?? '',
    attachWaitFirst: options.attachWaitFirst ?? false,
    pidPath: options.pidPath ?? '',
    restart: options.restart,
    logRecords: options.logRecords ?? false,
    attachStdin: options.attachStdin ?? false,
  };
  return pb.Spec.encode(spec).finish();
}

/** docker cp (ACTION_COPY_IN / ACTION_COPY_OUT): rootDir is /proc/PID/root, or empty with the plan's overlay. */
export function encodeCopySpec(
  direction: 'in' | 'out',
  copy: { root: string; containerPath: string; keepOwners: boolean; uid: number; gid: number; args?: string[] },
  plan?: ContainerPlan,
): Uint8Array {
  const spec: shim.v1.ISpec = {
    action: direction === 'in' ? pb.Action.ACTION_COPY_IN : pb.Action.ACTION_COPY_OUT,
    containerId: plan?.containerId ?? '',
    copy: { root: copy.root, containerPath: copy.containerPath, keepOwners: copy.keepOwners, uid: copy.uid, gid: copy.gid },
    process: copy.args ? { args: copy.args } : undefined,
    rootfs: copy.root
      ? undefined
      : plan && {
          path: plan.rootfs.path,
          lowerDirs: plan.rootfs.lowerDirs,
          upperDir: plan.rootfs.upperDir,
          workDir: plan.rootfs.workDir,
          propagation: plan.rootfs.propagation,
        },
  };
  return pb.Spec.encode(spec).finish();
}

/**
 * The hooks' part of the spec: a pause for the shim's prestart and createRuntime hooks, and the two kinds the
 * helper runs inside the container, each with its state split around the pid the helper fills in.
 */
function encodeHooks(planned: PlannedHooks | undefined, processEnv: readonly string[], runtimeEnv: readonly string[]): shim.v1.ISpec {
  if (!planned) return {};
  const { hooks, state } = planned;
  const stage = (list: OciHook[] | undefined, status: HookStatus, defaultEnv: readonly string[]): shim.v1.IHookStage | undefined => {
    if (!list || list.length === 0) return undefined;
    const template = hookStateTemplate(state, status);
    return {
      commands: list.map((hook) => ({
        path: hook.path,
        args: hook.args ?? [],
        env: hookEnvironment(hook, defaultEnv),
        timeoutSec: hook.timeout ?? 0,
      })),
      stateBeforePid: Buffer.from(template.before),
      stateAfterPid: Buffer.from(template.after),
    };
  };
  return {
    pauseForHooks: (hooks.prestart?.length ?? 0) + (hooks.createRuntime?.length ?? 0) > 0,
    createContainerHooks: stage(hooks.createContainer, 'creating', runtimeEnv),
    // runc: a startContainer hook without env gets the container process's (a "de facto historical thing").
    startContainerHooks: stage(hooks.startContainer, 'created', processEnv),
  };
}

/** The compiled seccomp filter, for the container's init and for every process exec'd into it. */
function encodeSeccomp(seccomp: PlannedSeccomp | undefined): shim.v1.ISpec {
  if (!seccomp) return {};
  return {
    seccompFilter: Buffer.from(seccomp.program, 'base64'),
    seccompFlags: seccomp.flags,
    seccompListenerPath: seccomp.listenerPath ?? '',
    seccompListenerState: seccomp.listenerState ?? [],
  };
}

/** An exec: the helper joins every namespace and the root of targetPid and runs one more process there. */
export function encodeExecSpec(plan: ExecPlan, options: SpecOptions): Uint8Array {
  const spec: shim.v1.ISpec = {
    action: pb.Action.ACTION_EXEC,
    containerId: plan.containerId,
    debug: options.debug,
    targetPid: plan.targetPid,
    cgroupProcs: plan.cgroupProcs,
    process: encodeProcess(plan.process, plan.preserveFds),
    finish: pb.Finish.FINISH_EXEC_NOW,
    monitor: plan.detach ? pb.Monitor.MONITOR_DETACH : pb.Monitor.MONITOR_WAIT,
    consoleSocket: plan.consoleSocket ?? '',
    windowSizePath: options.windowSizePath ?? '',
    ...encodeSeccomp(plan.seccomp),
    ...encodeMemoryPolicy(plan.memoryPolicy),
    execCpuAffinityInitial: plan.cpuAffinity?.initial ? Buffer.from(plan.cpuAffinity.initial, 'base64') : undefined,
    execCpuAffinityFinal: plan.cpuAffinity?.final ? Buffer.from(plan.cpuAffinity.final, 'base64') : undefined,
  };
  return pb.Spec.encode(spec).finish();
}

function encodeMemoryPolicy(policy: { mode: number; nodes: string } | undefined): shim.v1.ISpec {
  if (!policy) return {};
  return { hasMemoryPolicy: true, memoryPolicyMode: policy.mode, memoryPolicyNodes: policy.nodes ? Buffer.from(policy.nodes, 'base64') : undefined };
}

function encodeMappings(mappings: readonly IdMapping[] | undefined): shim.v1.IIdMapping[] {
  return (mappings ?? []).map((mapping) => ({ containerId: mapping.containerId, hostId: mapping.hostId, size: mapping.size }));
}

function encodeProcess(process: PlannedProcess, preserveFds: number): shim.v1.IProcess {
  return {
    args: process.args,
    env: process.env,
    cwd: process.cwd,
    uid: process.uid,
    gid: process.gid,
    additionalGids: process.additionalGids,
    hasUmask: process.umask !== undefined,
    umask: process.umask ?? 0,
    capabilities: { ...process.capabilities },
    noNewPrivileges: process.noNewPrivileges,
    rlimits: process.rlimits.map((rlimit) => ({
      resource: rlimit.resource,
      soft: uint64Limit(rlimit.soft),
      hard: uint64Limit(rlimit.hard),
    })),
    hasOomScoreAdj: process.oomScoreAdj !== undefined,
    oomScoreAdj: process.oomScoreAdj ?? 0,
    preserveFds,
    newSession: process.newSession,
    terminal: process.terminal,
  };
}

// protobufjs writes a negative number to a uint64 field as its two's complement, so -1 goes on the wire as
// 0xffffffffffffffff: RLIM_INFINITY exactly, which no positive JS number can express.
function uint64Limit(value: RlimitValue): number {
  return value === 'unlimited' ? -1 : value;
}

/**
 * Spec.stdin_null alone, encoded: appended to an encoded Spec it sets that field (protobuf merges a message
 * written in parts), for a helper started with the caller's stdin when the run wants none (run-helper.ts).
 */
export function encodeStdinNull(): Uint8Array {
  return pb.Spec.encode({ stdinNull: true }).finish();
}

/** The shim's answer to a PAUSED status (Spec.pause_for_hooks), sent as one frame on the spec descriptor. */
export function encodeHookResume(proceed: boolean): Uint8Array {
  return pb.HookResume.encode({ proceed }).finish();
}

// --- status frames --------------------------------------------------------------------------------------

export interface HelperErrorReport {
  /** The stage's name without the prefix, lowercase: "mounts", "exec". */
  stage: string;
  errno: number;
  message: string;
  path: string;
}

interface StatusBase {
  /** Since the helper started (CLOCK_MONOTONIC). */
  elapsedNs: number;
}

export type HelperStatus =
  | (StatusBase & { kind: 'stage'; stage: string })
  | (StatusBase & { kind: 'ready'; pid: number; pidStartTime: string | undefined })
  | (StatusBase & { kind: 'started'; pid: number; pidStartTime: string | undefined })
  /** Spec.pause_for_hooks: the mounts are made; the helper waits for a HookResume frame (src/hooks/). */
  | (StatusBase & { kind: 'paused'; pid: number; pidStartTime: string | undefined })
  | (StatusBase & { kind: 'exited'; exitCode: number; termSignal: number; coreDumped: boolean })
  | (StatusBase & { kind: 'error'; error: HelperErrorReport });

/** Field 22 of /proc/PID/stat as the helper read it before the process could be reaped; 0 means unreadable. */
function startTime(status: statusFrames.v1.Status): string | undefined {
  const ticks = Number(status.pidStartTime ?? 0);
  return ticks > 0 ? String(ticks) : undefined;
}

export function decodeStatus(bytes: Uint8Array): HelperStatus {
  const kinds = statusFrames.v1.StatusKind;
  let status: statusFrames.v1.Status;
  try {
    status = statusFrames.v1.Status.decode(bytes);
  } catch (error) {
    throw new RuntimeError('helper-failed', 'read status: malformed status frame', { cause: error });
  }
  const elapsedNs = Number(status.elapsedNs ?? 0);
  switch (status.kind) {
    case kinds.STATUS_KIND_STAGE:
      return { kind: 'stage', stage: stageName(status.stage), elapsedNs };
    case kinds.STATUS_KIND_READY:
      return { kind: 'ready', pid: status.pid, pidStartTime: startTime(status), elapsedNs };
    case kinds.STATUS_KIND_STARTED:
      return { kind: 'started', pid: status.pid, pidStartTime: startTime(status), elapsedNs };
    case kinds.STATUS_KIND_PAUSED:
      return { kind: 'paused', pid: status.pid, pidStartTime: startTime(status), elapsedNs };
    case kinds.STATUS_KIND_EXITED:
      return { kind: 'exited', exitCode: status.exitCode, termSignal: status.termSignal, coreDumped: status.coreDumped, elapsedNs };
    case kinds.STATUS_KIND_ERROR: {
      const error = status.error;
      return {
        kind: 'error',
        error: {
          stage: stageName(error?.stage ?? status.stage),
          errno: error?.errnoValue ?? 0,
          message: error?.message ?? '',
          path: error?.path ?? '',
        },
        elapsedNs,
      };
    }
    default:
      throw new RuntimeError('helper-failed', `read status: expected a status kind, got ${status.kind}`);
  }
}

/** STAGE_PIVOT_ROOT -> "pivot_root"; unknown numbers stay visible as "stage 42". */
export function stageName(stage: number | null | undefined): string {
  const name = (pb.Stage as unknown as Record<number, string | undefined>)[stage ?? 0];
  return name ? name.replace(/^STAGE_/, '').toLowerCase() : `stage ${stage}`;
}

/** The status encoder, for tests that play the helper's part. */
export function encodeStatusForTest(status: shim.v1.IStatus): Uint8Array {
  return pb.Status.encode(status).finish();
}

export const STATUS_KINDS = pb.StatusKind;
export const STAGES = pb.Stage;

/** One special entry of an image layer, for the helper to make (ACTION_APPLY_NODES). */
export interface LayerNode {
  /** Relative to the layer directory. */
  path: string;
  kind: 'char' | 'block' | 'fifo' | 'existing';
  mode: number;
  major: number;
  minor: number;
  uid: number;
  gid: number;
  xattrs: { name: string; value: Uint8Array }[];
}

const NODE_KINDS: Record<LayerNode['kind'], shim.v1.FsNodeKind> = {
  char: pb.FsNodeKind.FS_NODE_KIND_CHAR,
  block: pb.FsNodeKind.FS_NODE_KIND_BLOCK,
  fifo: pb.FsNodeKind.FS_NODE_KIND_FIFO,
  existing: pb.FsNodeKind.FS_NODE_KIND_EXISTING,
};

export function encodeApplyNodesSpec(layerDir: string, nodes: readonly LayerNode[]): Uint8Array {
  return pb.Spec.encode({
    action: pb.Action.ACTION_APPLY_NODES,
    layerDir,
    nodes: nodes.map((node) => ({
      path: node.path,
      kind: NODE_KINDS[node.kind],
      mode: node.mode,
      major: node.major,
      minor: node.minor,
      uid: node.uid,
      gid: node.gid,
      xattrs: node.xattrs.map((xattr) => ({ name: xattr.name, value: xattr.value })),
    })),
  }).finish();
}

// --- live changes (ACTION_LIVE_DEVICE, ACTION_LIVE_MOUNT) ------------------------------------------------

/** One device node to make (or remove) in a running container, and the cgroup2 device program to put in place. */
export interface LiveDeviceRequest {
  containerId: string;
  targetPid: number;
  node: { path: string; mode: number; major: number; minor: number; uid: number; gid: number };
  remove: boolean;
  /** Attach these instructions to programCgroup (replacing what is there), or detach what is there. */
  program?: { bytes: Uint8Array; name: string; cgroup: string } | { detach: true; cgroup: string } | undefined;
}

export function encodeLiveDeviceSpec(request: LiveDeviceRequest): Uint8Array {
  const program = request.program;
  return pb.Spec.encode({
    action: pb.Action.ACTION_LIVE_DEVICE,
    containerId: request.containerId,
    targetPid: request.targetPid,
    liveDevice: {
      node: { ...request.node },
      remove: request.remove,
      program: program && 'bytes' in program ? program.bytes : new Uint8Array(0),
      programName: program && 'name' in program ? program.name : '',
      programCgroup: program?.cgroup ?? '',
      detachProgram: program !== undefined && 'detach' in program,
    },
  }).finish();
}

export interface LiveMountRequest {
  containerId: string;
  targetPid: number;
  remove: boolean;
  source: string;
  target: string;
  recursive: boolean;
  readonly: boolean;
  /** MS_PRIVATE / MS_SLAVE / MS_SHARED / MS_UNBINDABLE, or 0. */
  propagation: number;
  createTarget: boolean;
}

export function encodeLiveMountSpec(request: LiveMountRequest): Uint8Array {
  return pb.Spec.encode({
    action: pb.Action.ACTION_LIVE_MOUNT,
    containerId: request.containerId,
    targetPid: request.targetPid,
    liveMount: {
      source: request.source,
      target: request.target,
      remove: request.remove,
      recursive: request.recursive,
      readonly: request.readonly,
      propagation: request.propagation,
      createTarget: request.createTarget,
    },
  }).finish();
}
