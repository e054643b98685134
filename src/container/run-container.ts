// `run`, as a library call: prepare (read the request into a config and a plan, touching nothing), then run
// (acquire the state dir, layer dirs and cgroup, each with its undo registered at once; hand the spec to the
// helper; wait; keep or remove what stays). No process-global state: everything comes in through the request
// and the RuntimeContext, so a long-lived caller can run any number of containers.

import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RuntimeError, hasErrnoCode, isRuntimeError, systemError } from '../errors.js';
import { elapsedMs, type Logger } from '../log.js';
import { createCgroupManager } from '../cgroups/cgroup-manager.js';
import { runHelper } from '../helper/run-helper.js';
import { readHostFacts } from '../host/read-host-facts.js';
import { describeImage, ensureImage, type ImageInfo } from '../images/images.js';
import type { ContainerPlan, HostFacts } from '../plan/container-plan.js';
import { planDockerConfig, type VolumeBind } from '../plan/docker-config.js';
import type { OciConfig } from '../plan/oci-config.js';
import { planContainer } from '../plan/plan-container.js';
import { readOciConfig } from '../plan/read-oci-config.js';
import { encodeRunSpec, type HelperStatus } from '../spec/encode-spec.js';
import { generateContainerId, validateContainerId } from '../state/container-id.js';
import { readProcessStartTime } from '../state/process-start-time.js';
import { StateStore, type ContainerState } from '../state/state-store.js';
import { UndoStack } from '../undo-stack.js';
import { parseVolumeSpec } from '../volumes/parse-volume.js';

export const STATE_OCI_VERSION = '1.2.0';

export interface RuntimeContext {
  /** --root: state directories. */
  root: string;
  /** --data-root: images and containers' layers. */
  dataRoot: string;
  helperPath: string;
  /** SHIM_CGROUP_PARENT; "shim" when unset. */
  cgroupParent?: string | undefined;
  /** Asks the helper for stage reports and logs them with timings. */
  debug: boolean;
  log: Logger;
  /** Source of the built-in busybox image. */
  hostBusybox?: string | undefined;
  /** Relative paths in requests (a rootfs directory, a bundle) are taken from here. */
  cwd: string;
}

/** `run [flags] IMAGE [CMD...]` */
export interface ImageRunRequest {
  kind: 'image';
  image: string;
  command: string[];
  name?: string | undefined;
  /** KEY=VALUE each. */
  env: string[];
  workdir?: string | undefined;
  hostname?: string | undefined;
  /** -v values as typed. */
  volumes: string[];
  remove: boolean;
}

/** `run --bundle DIR ID` */
export interface BundleRunRequest {
  kind: 'bundle';
  bundleDir: string;
  id: string;
  /** runc run --keep: keep the stopped container's state (runc removes it by default). */
  keep: boolean;
  noPivot: boolean;
}

export type RunRequest = ImageRunRequest | BundleRunRequest;

export interface PreparedRun {
  containerId: string;
  config: OciConfig;
  plan: ContainerPlan;
  bundleDir: string;
  image?: ImageInfo | undefined;
  volumes: VolumeBind[];
  /** data-root/containers/<id> for overlay runs. */
  containerDir?: string | undefined;
  autoRemove: boolean;
}

/** Turns a request into its plan. Reads the host (facts, config.json), creates nothing: the dry run stops here. */
export async function prepareRun(request: RunRequest, context: RuntimeContext): Promise<PreparedRun> {
  const started = performance.now();
  // Name the container in every error from here on, once its id is known.
  const knownId = request.kind === 'bundle' ? request.id : request.name;
  let prepared: PreparedRun;
  try {
    const host = await readHostFacts();
    prepared = request.kind === 'image' ? prepareImageRun(request, context, host) : await prepareBundleRun(request, context, host);
  } catch (error) {
    const runtimeError = isRuntimeError(error) ? error : systemError(error, 'plan container');
    throw knownId && runtimeError.code !== 'usage' ? runtimeError.forContainer(knownId) : runtimeError;
  }
  for (const warning of prepared.plan.warnings) context.log.warn(`config.json: ${warning}`);
  context.log.debug(`prepare: planned ${prepared.containerId} in ${elapsedMs(started)}`);
  return prepared;
}

function prepareImageRun(request: ImageRunRequest, context: RuntimeContext, host: HostFacts): PreparedRun {
  const containerId = request.name !== undefined ? validateContainerId(request.name) : generateContainerId();
  const image = describeImage(request.image, context.dataRoot, context.cwd);
  const volumes = request.volumes.map(parseVolumeSpec);
  if (request.command.length === 0 && image.defaultCommand.length === 0) {
    throw new RuntimeError('usage', `no command given and ${image.reference} has no default command`);
  }
  const config = planDockerConfig({
    containerId,
    rootfs: image.rootfs,
    command: request.command,
    imageCommand: image.defaultCommand,
    imageEnv: image.env,
    env: request.env,
    workdir: request.workdir,
    hostname: request.hostname,
    volumes,
    cgroupNamespace: host.cgroupNamespaces,
  });
  const containerDir = join(context.dataRoot, 'containers', containerId);
  const bundleDir = join(context.root, containerId);
  const plan = planContainer({
    containerId,
    config,
    bundleDir,
    overlay: { mountPoint: join(containerDir, 'rootfs'), upperDir: join(containerDir, 'upper'), workDir: join(containerDir, 'work') },
    cgroupParent: context.cgroupParent,
    host,
  });
  return { containerId, config, plan, bundleDir, image, volumes, containerDir, autoRemove: request.remove };
}

async function prepareBundleRun(request: BundleRunRequest, context: RuntimeContext, host: HostFacts): Promise<PreparedRun> {
  const containerId = validateContainerId(request.id);
  const bundleDir = resolve(context.cwd, request.bundleDir);
  const configPath = join(bundleDir, 'config.json');
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (error) {
    throw systemError(error, 'read bundle config', { path: configPath });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new RuntimeError('invalid-config', `config.json: not valid JSON (${(error as Error).message})`, { path: configPath });
  }
  const { config, warnings } = readOciConfig(raw);
  for (const warning of warnings) context.log.warn(warning);
  const plan = planContainer({ containerId, config, bundleDir, noPivot: request.noPivot, cgroupParent: context.cgroupParent, host });
  // Here, by name, rather than as a mount failure deep in the helper.
  const rootInfo = await stat(plan.rootfs.path).catch((error) => {
    throw systemError(error, 'rootfs', { path: plan.rootfs.path, hint: 'config.json root.path names it, relative to the bundle' });
  });
  if (!rootInfo.isDirectory()) throw new RuntimeError('invalid-config', `rootfs ${plan.rootfs.path} is not a directory`);
  return { containerId, config, plan, bundleDir, volumes: [], autoRemove: !request.keep };
}

export type SignalListener = (signal: NodeJS.Signals) => void;

/** Where forwarded signals come from: the CLI wires process signals in; a library caller anything it likes. */
export interface SignalSource {
  subscribe(listener: SignalListener): () => void;
}

export interface RunOptions {
  /** Signals to forward to the container's init once it runs. */
  signals?: SignalSource | undefined;
}

export interface RunResult {
  containerId: string;
  /** The container's exit code, 128+N when signal N killed it (as a shell reports it). */
  exitCode: number;
  /** The signal that killed the init, if one did. */
  signal?: number | undefined;
  pid: number;
}

export async function runPrepared(prepared: PreparedRun, context: RuntimeContext, options: RunOptions = {}): Promise<RunResult> {
  const { log } = context;
  const { containerId, plan } = prepared;
  const store = new StateStore(context.root);
  const undo = new UndoStack(log);
  const keepOnSuccess = !prepared.autoRemove;
  const forwarder = new SignalForwarder(options.signals, log);
  let succeeded = false;
  const started = performance.now();
  try {
    if (prepared.image) await ensureImage(prepared.image, { hostBusybox: context.hostBusybox, log });
    await checkVolumeSources(prepared.volumes);

    await store.claim(containerId);
    undo.push('remove state directory', () => store.remove(containerId), { keepOnSuccess });

    if (prepared.containerDir) {
      const containerDir = prepared.containerDir;
      await makeContainerDirs(plan, containerDir);
      undo.push('remove container directory', () => rm(containerDir, { recursive: true, force: true }), { keepOnSuccess });
    }

    const state: ContainerState = {
      ociVersion: STATE_OCI_VERSION,
      id: containerId,
      status: 'creating',
      pid: 0,
      bundle: prepared.bundleDir,
      rootfs: plan.rootfs.path,
      created: new Date().toISOString(),
      annotations: prepared.config.annotations,
      image: prepared.image?.reference,
      cgroupDirs: plan.cgroup.dirs.map((dir) => dir.dir),
      cgroupParentDirs: plan.cgroup.removableParentDirs,
      containerDir: prepared.containerDir,
      autoRemove: prepared.autoRemove,
    };
    // Bundle runs too: exec takes the process defaults from the config the container was started with,
    // not from a bundle that may have changed since.
    await store.writeConfig(containerId, prepared.config);
    await store.writeState(state);

    // The cgroup never outlives the container, whatever --rm says.
    const cgroups = createCgroupManager(plan.cgroup, log);
    undo.push('remove cgroup', () => cgroups.destroy());
    await cgroups.apply();
    log.debug(`run: state, layers and cgroup ready at ${elapsedMs(started)}`);

    const outcome = await runHelper({
      helperPath: context.helperPath,
      spec: encodeRunSpec(plan, { debug: context.debug }),
      log,
      onStatus: async (status) => {
        logStatus(log, status);
        if (status.kind === 'started') {
          forwarder.attach(status.pid);
          state.status = 'running';
          state.pid = status.pid;
          state.pidStartTime = await readProcessStartTime(status.pid);
          await store.writeState(state);
        } else if (status.kind === 'exited') {
          forwarder.detach();
        }
      },
    });
    forwarder.detach();

    if (outcome.error) throw helperFailure(outcome.error);
    if (!outcome.exited) {
      const how = outcome.helperSignal ? `was killed by ${outcome.helperSignal}` : `exited with code ${outcome.helperExitCode}`;
      throw new RuntimeError('helper-failed', `helper ${how} without reporting the container's exit`, { stage: 'wait' });
    }
    const { exitCode, termSignal } = outcome.exited;
    const result: RunResult = {
      containerId,
      exitCode: termSignal ? 128 + termSignal : exitCode,
      signal: termSignal || undefined,
      pid: outcome.pid ?? 0,
    };
    if (!prepared.autoRemove) {
      state.status = 'stopped';
      state.pid = 0;
      state.finished = new Date().toISOString();
      state.exitCode = result.exitCode;
      state.exitSignal = result.signal;
      await store.writeState(state);
    }
    succeeded = true;
    log.debug(`run: container exited with ${result.exitCode} after ${elapsedMs(started)}`);
    return result;
  } catch (error) {
    throw (isRuntimeError(error) ? error : systemError(error, 'run container')).forContainer(containerId);
  } finally {
    forwarder.close();
    await undo.unwind(succeeded);
  }
}

export function helperFailure(report: { stage: string; errno: number; message: string; path: string }): RuntimeError {
  return new RuntimeError(report.stage === 'exec' ? 'exec-failed' : 'setup-failed', report.message || `stage ${report.stage} failed`, {
    stage: report.stage,
    errno: report.errno,
    path: report.path,
  });
}

export function logStatus(log: Logger, status: HelperStatus): void {
  if (!log.debugEnabled) return;
  const at = `+${(status.elapsedNs / 1e6).toFixed(2)}ms`;
  switch (status.kind) {
    case 'stage':
      log.debug(`helper: ${status.stage} ${at}`);
      return;
    case 'ready':
    case 'started':
      log.debug(`helper: ${status.kind} pid ${status.pid} ${at}`);
      return;
    case 'exited':
      log.debug(`helper: exited ${status.termSignal ? `signal ${status.termSignal}` : `code ${status.exitCode}`} ${at}`);
      return;
    case 'error':
      log.debug(`helper: error in ${status.error.stage}: ${status.error.message} ${status.error.path} errno ${status.error.errno} ${at}`);
      return;
  }
}

export async function makeContainerDirs(plan: ContainerPlan, containerDir: string): Promise<void> {
  try {
    await mkdir(containerDir, { recursive: true, mode: 0o700 });
    for (const dir of [plan.rootfs.upperDir, plan.rootfs.workDir, plan.rootfs.path]) {
      if (dir) await mkdir(dir, { recursive: true });
    }
  } catch (error) {
    throw systemError(error, 'create container directory', { stage: 'layers', path: containerDir });
  }
}

/** A volume whose host directory is missing fails here, by name, rather than deep in the helper. */
export async function checkVolumeSources(volumes: readonly VolumeBind[]): Promise<void> {
  for (const volume of volumes) {
    try {
      await stat(volume.source);
    } catch (error) {
      throw systemError(error, `volume ${volume.source}`, {
        path: undefined,
        hint: hasErrnoCode(error, 'ENOENT') ? 'create it first' : undefined,
      });
    }
  }
}

/**
 * Forwards signals to the container's init. Signals that arrive before the init's pid is known wait and are
 * delivered as soon as it is; after the init has exited nothing is sent (the pid may belong to someone else).
 */
export class SignalForwarder {
  readonly #log: Logger;
  readonly #unsubscribe: (() => void) | undefined;
  #pid = 0;
  #done = false;
  readonly #pending: NodeJS.Signals[] = [];

  constructor(source: SignalSource | undefined, log: Logger) {
    this.#log = log;
    this.#unsubscribe = source?.subscribe((signal) => this.#receive(signal));
  }

  attach(pid: number): void {
    this.#pid = pid;
    for (const signal of this.#pending.splice(0)) this.#send(signal);
  }

  detach(): void {
    this.#done = true;
  }

  close(): void {
    this.#done = true;
    this.#unsubscribe?.();
  }

  #receive(signal: NodeJS.Signals): void {
    if (this.#done) return;
    if (this.#pid === 0) this.#pending.push(signal);
    else this.#send(signal);
  }

  #send(signal: NodeJS.Signals): void {
    try {
      process.kill(this.#pid, signal);
      this.#log.debug(`forwarded ${signal} to ${this.#pid}`);
    } catch (error) {
      this.#log.debug(`forward ${signal} to ${this.#pid}: ${(error as Error).message}`);
    }
  }
}
