// `run`, as a library call: prepare (read the request into a config and a plan, touching nothing), then run
// (acquire the state dir, layer dirs and cgroup, each with its undo registered at once; hand the spec to the
// helper; wait; keep or remove what stays). No process-global state: everything comes in through the request
// and the RuntimeContext, so a long-lived caller can run any number of containers.

import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { rm, stat } from '../host/fs-async.js';
import { join, posix, resolve } from 'node:path';
import { RuntimeError, errnoText, hasErrnoCode, isRuntimeError, systemError } from '../errors.js';
import { randomHex } from '../host/random-hex.js';
import { elapsedMs, type Logger, nowMs } from '../log.js';
import { createCgroupManager, freezeStateFile, type CgroupManager } from '../cgroups/cgroup-manager.js';
import { runHelper, type HelperOutcome } from '../helper/run-helper.js';
import { readHostFactsSync } from '../host/read-host-facts.js';
import { startAttachWarmup, type AttachWarmup } from '../cgroups/attach-warmup.js';
import { describeImage, ensureImage, type ImageInfo } from '../images/images.js';
import type { ContainerPlan, HostFacts } from '../plan/container-plan.js';
import { planDockerConfig, type VolumeBind } from '../plan/docker-config.js';
import type { OciConfig, OciResources } from '../plan/oci-config.js';
import { planContainer, type PlanRequest } from '../plan/plan-container.js';
import type { IdMapping } from '../userns/plan-user-namespace.js';
import { readOciConfig } from '../plan/read-oci-config.js';
import { parseConfigJson } from '../seccomp/exact-json.js';
import { chooseSeccompProfile } from '../seccomp/run-profile.js';
import { diskSeccompCache } from '../seccomp/filter-cache.js';
import { encodeRunSpec, type HelperStatus } from '../spec/encode-spec.js';
import { generateContainerId, validateContainerId } from '../state/container-id.js';
import { readProcessStartTime } from '../state/process-start-time.js';
import { StateStore, removeTree, type ContainerState } from '../state/state-store.js';
import { UndoStack } from '../undo-stack.js';
import { HookPause, helperHookFailure, hooksForLater, runPoststartHooks, runPoststopHooks } from '../hooks/container-hooks.js';
import { parseVolumeSpec, type VolumeRequest } from '../volumes/parse-volume.js';
import { VolumeStore } from '../volumes/volume-store.js';
import { signalProcess } from '../host/signal-process.js';
import { acquireNetwork, planNetwork, releaseNetwork, type NetworkFlags, type PlannedNetwork } from '../network/container-network.js';
import { applyDockerRun, dockerStateOf, type DockerRunOptions } from './docker-run.js';
import { planRunDevices } from '../live/run-devices.js';
import { isoTimestamp } from '../host/utc-timestamp.js';

export const STATE_OCI_VERSION = '1.2.0';

export interface RuntimeContext {
  /** --root: state directories. */
  root: string;
  /** --data-root: images and containers' layers. */
  dataRoot: string;
  helperPath: string;
  /** SHIM_CGROUP_PARENT; "shim" when unset. */
  cgroupParent?: string | undefined;
  /** --systemd-cgroup: accept linux.cgroupsPath in systemd's slice:prefix:name form. */
  systemdCgroup?: boolean | undefined;
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
  /** --device and --device-cgroup-rule values as typed. */
  devices?: string[] | undefined;
  deviceCgroupRules?: string[] | undefined;
  remove: boolean;
  /** --entrypoint: replaces the image's Entrypoint ('' clears it). */
  entrypoint?: string | undefined;
  /** --memory, --cpus, --pids-limit, as linux.resources. */
  resources?: OciResources | undefined;
  /** --net, -p, --ip, --dns, --add-host (src/network/); without them the default bridge network. */
  network?: NetworkFlags | undefined;
  /** --security-opt values; seccomp=unconfined|FILE (src/seccomp/run-profile.ts). */
  securityOpt?: string[] | undefined;
  /** docker run's other flags: -i, -t, -u, --cap-add, --init, --restart, ... (src/container/docker-run.ts). */
  docker?: DockerRunOptions | undefined;
  /** --uidmap/--gidmap: a new user namespace with these maps; undefined shares the host's. */
  userNamespace?: { uidMappings: IdMapping[]; gidMappings: IdMapping[] } | undefined;
}

/** `run --bundle DIR ID` */
export interface BundleRunRequest {
  kind: 'bundle';
  bundleDir: string;
  id: string;
  /** runc run --keep: keep the stopped container's state (runc removes it by default). */
  keep: boolean;
  noPivot: boolean;
  /**
   * The rootfs the caller mounts for us, over config.json's root.path: containerd hands its snapshot to the
   * runtime as mounts (an overlay's layers, or one directory to bind), which the helper then makes inside the
   * container's own mount namespace, so the host never sees them.
   */
  rootfs?: { overlay: NonNullable<PlanRequest['overlay']> } | { directory: string } | undefined;
}

export type RunRequest = ImageRunRequest | BundleRunRequest;

export interface PreparedRun {
  containerId: string;
  config: OciConfig;
  plan: ContainerPlan;
  bundleDir: string;
  image?: ImageInfo | undefined;
  volumes: VolumeBind[];
  /** Named and anonymous volumes of the store, by name, beside their binds in `volumes`. */
  storeVolumes: { name: string; anonymous: boolean; destination: string }[];
  /** To plan again once a pending (built-in) image is made. */
  request?: ImageRunRequest | undefined;
  host?: HostFacts | undefined;
  /** data-root/containers/<id> for overlay runs. */
  containerDir?: string | undefined;
  autoRemove: boolean;
  /** Started by prepareRun, stopped once the helper has placed the container's process (attach-warmup.ts). */
  attachWarmup?: AttachWarmup | undefined;
  /** Docker-style runs: the network mode and the record its setup starts from. */
  network?: PlannedNetwork | undefined;
  /** docker run's options (image runs only). */
  docker?: DockerRunOptions | undefined;
  /** Image runs: what acquireContainer does for them alone (ImageRunSteps). */
  imageSteps?: ImageRunSteps | undefined;
}

/**
 * What only image runs do in acquireContainer: make a pending image and plan again, the store's volumes, the
 * network. prepareImageRun hands them over on the PreparedRun rather than acquireContainer calling them by
 * name, so that code which only ever runs bundles carries none of it: esbuild leaves out what nothing
 * references, and `create` (whose file podman loads for every container) thus loads no image store, volume or
 * network code. Loading is mostly fresh memory, and a page fault costs ~20 us on the benchmark host.
 */
interface ImageRunSteps {
  ensureImage: typeof ensureImage;
  prepareImageRun: typeof prepareImageRun;
  acquireVolumes: typeof acquireVolumes;
  acquireNetwork: typeof acquireNetwork;
  releaseNetwork: typeof releaseNetwork;
}

const imageRunSteps: ImageRunSteps = { ensureImage, prepareImageRun, acquireVolumes, acquireNetwork, releaseNetwork };

function imageStepsOf(prepared: PreparedRun): ImageRunSteps {
  if (!prepared.imageSteps) throw new RuntimeError('system', 'internal error: an image run prepared without its steps', { stage: 'prepare' });
  return prepared.imageSteps;
}

/**
 * Turns a request into its plan. Reads the host (facts, config.json), creates nothing: the dry run stops here.
 * Unless `dryRun`, it also starts the attach warm-up (attach-warmup.ts) for the run that follows; a dry run
 * writes to no cgroup, and would otherwise wait at exit for the warm-up's write to end.
 */
export async function prepareRun(request: RunRequest, context: RuntimeContext, options: { dryRun?: boolean } = {}): Promise<PreparedRun> {
  const knownId = request.kind === 'bundle' ? request.id : request.name;
  return prepareWith(knownId, context, options, (host) => (request.kind === 'image' ? prepareImageRun(request, context, host) : prepareBundleRun(request, context, host)));
}

/** prepareRun for a bundle: what `create` calls, so that its file holds none of the image-run code (ImageRunSteps). */
export async function prepareBundle(request: BundleRunRequest, context: RuntimeContext): Promise<PreparedRun> {
  return prepareWith(request.id, context, {}, (host) => prepareBundleRun(request, context, host));
}

async function prepareWith(
  knownId: string | undefined,
  context: RuntimeContext,
  options: { dryRun?: boolean },
  plan: (host: HostFacts) => Promise<PreparedRun>,
): Promise<PreparedRun> {
  const started = nowMs();
  // Name the container in every error from here on, once its id is known (knownId).
  let prepared: PreparedRun;
  let attachWarmup: AttachWarmup | undefined;
  try {
    const host = readHostFactsSync();
    // First thing: the grace period it waits out runs while we plan and acquire.
    if (!options.dryRun) attachWarmup = startAttachWarmup(host.cgroupHierarchies, context.log);
    prepared = await plan(host);
    prepared.attachWarmup = attachWarmup;
  } catch (error) {
    attachWarmup?.stop();
    // A bug of the planner (a TypeError on a shape no check caught) keeps its own words: "plan container"
    // alone would say nothing of what went wrong.
    const runtimeError = isRuntimeError(error) ? error : (error as NodeJS.ErrnoException)?.code ? systemError(error, 'plan container') : systemError(error, `plan container: internal error: ${error instanceof Error ? error.message : String(error)}`);
    throw knownId && runtimeError.code !== 'usage' ? runtimeError.forContainer(knownId) : runtimeError;
  }
  for (const warning of prepared.plan.warnings) context.log.warn(`config.json: ${warning}`);
  for (const note of prepared.plan.notes ?? []) context.log.debug(`config.json: ${note}`);
  const unknownSyscalls = prepared.plan.seccomp?.unknownSyscalls;
  if (unknownSyscalls) context.log.debug(`linux.seccomp: syscalls no arch knows, skipped: ${unknownSyscalls.join(', ')}`);
  context.log.debug(`prepare: planned ${prepared.containerId} in ${elapsedMs(started)}`);
  return prepared;
}

async function prepareImageRun(
  request: ImageRunRequest,
  context: RuntimeContext,
  host: HostFacts,
  known?: { image: ImageInfo; containerId: string; anonymousNames: string[] },
): Promise<PreparedRun> {
  const containerId = known?.containerId ?? (request.name !== undefined ? validateContainerId(request.name) : generateContainerId());
  const image = known?.image ?? (await describeImage(request.image, context.dataRoot, context.cwd));
  const requests = request.volumes.map(parseVolumeSpec);
  for (const destination of image.volumes) {
    const normalized = posix.normalize(destination);
    if (!requests.some((volume) => volume.destination === normalized)) {
      requests.push({ anonymous: true, destination: normalized, readonly: false });
    }
  }
  const { volumes, storeVolumes } = planVolumeSources(requests, context.dataRoot, known?.anonymousNames);
  if (request.command.length === 0 && image.defaultCommand.length === 0 && image.entrypoint.length === 0 && !request.entrypoint) {
    throw new RuntimeError('usage', `no command given and ${image.reference} has no default command`);
  }
  const containerDir = join(context.dataRoot, 'containers', containerId);
  const bundleDir = join(context.root, containerId);
  const network = await planNetwork(
    request.network ?? { publish: [], dns: [], addHost: [] },
    context,
    containerId,
    bundleDir,
    request.hostname ?? containerId.slice(0, 12),
  );
  const config = planDockerConfig({
    containerId,
    rootfs: image.layerDirs[0]!,
    command: request.command,
    imageCommand: image.defaultCommand,
    imageEnv: image.env,
    imageEntrypoint: image.entrypoint,
    entrypoint: request.entrypoint,
    imageWorkdir: image.workingDir,
    imageUser: image.user,
    env: request.env,
    workdir: request.workdir,
    hostname: request.hostname ?? (network.namespace === 'host' ? network.record.hostname : undefined),
    volumes,
    cgroupNamespace: host.cgroupNamespaces,
    resources: request.resources,
    networkNamespace: network.namespace,
    tty: request.docker?.tty,
    ...planRunDevices(request.devices ?? [], request.deviceCgroupRules ?? []),
    userNamespace: request.userNamespace,
  });
  if (request.docker) await applyDockerRun(config, request.docker, image);
  // The built-in profile unless told otherwise: docker's habit, and what podman does for its callers. After the
  // docker flags: --cap-add widens what the profile allows, --privileged drops it.
  const seccomp = chooseSeccompProfile({
    securityOpts: request.securityOpt ?? [],
    privileged: request.docker?.privileged ?? false,
    capabilities: config.process?.capabilities?.bounding ?? [],
    cwd: context.cwd,
  });
  if (seccomp) config.linux = { ...config.linux, seccomp };
  const plan = planContainer({
    containerId,
    config,
    bundleDir,
    overlay: {
      mountPoint: join(containerDir, 'rootfs'),
      upperDir: join(containerDir, 'upper'),
      workDir: join(containerDir, 'work'),
      // docker's -init layer: between the image's layers and the container's own writes.
      lowerDirs: [join(containerDir, 'init'), ...image.layerDirs],
    },
    cgroupParent: context.cgroupParent,
    systemdCgroup: context.systemdCgroup,
    host,
    seccompCache: diskSeccompCache(join(context.dataRoot, 'seccomp-cache')),
  });
  // A namespace shim made for a bridge network has lo down until the helper brings it up, as in a new one.
  if (network.namespace !== 'host' && network.namespace !== 'new') plan.loopbackUp = network.loopbackUp;
  return {
    containerId, config, plan, bundleDir, image, volumes, storeVolumes, containerDir, autoRemove: request.remove, request, host, network, docker: request.docker,
    imageSteps: imageRunSteps,
  };
}

/** Host paths for every -v: named and anonymous volumes live in the volume store (created at run time). */
function planVolumeSources(requests: VolumeRequest[], dataRoot: string, anonymousNames?: string[]) {
  const store = new VolumeStore(dataRoot);
  const volumes: VolumeBind[] = [];
  const storeVolumes: PreparedRun['storeVolumes'] = [];
  let anonymousIndex = 0;
  for (const request of requests) {
    let source = request.hostPath;
    if (source === undefined) {
      const name = request.name ?? anonymousNames?.[anonymousIndex++] ?? randomHex(32);
      storeVolumes.push({ name, anonymous: request.anonymous, destination: request.destination });
      source = store.dataDir(name);
    }
    volumes.push({ source, destination: request.destination, readonly: request.readonly, propagation: request.propagation });
  }
  return { volumes, storeVolumes };
}

async function prepareBundleRun(request: BundleRunRequest, context: RuntimeContext, host: HostFacts): Promise<PreparedRun> {
  const containerId = validateContainerId(request.id);
  const bundleDir = resolve(context.cwd, request.bundleDir);
  const configPath = join(bundleDir, 'config.json');
  // Synchronous, as the other small files of run, create and exec: one read of a few KB costs less than the
  // threadpool's round trips (open, fstat, read, close) and the event-loop turns between them, and on a
  // loaded host those turns wait for the threadpool's threads to be scheduled.
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (error) {
    throw systemError(error, 'read bundle config', { path: configPath });
  }
  let raw: unknown;
  try {
    raw = parseConfigJson(text);
  } catch (error) {
    throw new RuntimeError('invalid-config', `config.json: not valid JSON (${(error as Error).message})`, { path: configPath });
  }
  const { config, warnings } = readOciConfig(raw);
  for (const warning of warnings) context.log.warn(warning);
  const overlay = request.rootfs && 'overlay' in request.rootfs ? request.rootfs.overlay : undefined;
  const plan = planContainer({
    containerId, config, bundleDir, noPivot: request.noPivot, cgroupParent: context.cgroupParent, systemdCgroup: context.systemdCgroup, host,
    seccompCache: diskSeccompCache(join(context.dataRoot, 'seccomp-cache')),
    overlay,
  });
  if (request.rootfs && 'directory' in request.rootfs) plan.rootfs.path = request.rootfs.directory;
  // Here, by name, rather than as a mount failure deep in the helper.
  let rootInfo: Stats;
  try {
    rootInfo = statSync(plan.rootfs.path);
  } catch (error) {
    throw systemError(error, 'rootfs', { path: plan.rootfs.path, hint: 'config.json root.path names it, relative to the bundle' });
  }
  if (!rootInfo.isDirectory()) throw new RuntimeError('invalid-config', `rootfs ${plan.rootfs.path} is not a directory`);
  if (config.mounts?.some((mount) => mount.options?.includes('tmpcopyup'))) {
    const { checkCopyUpMounts } = await import('./check-copy-up.js');
    await checkCopyUpMounts(config, plan.rootfs.path);
  }
  return { containerId, config, plan, bundleDir, volumes: [], storeVolumes: [], autoRemove: !request.keep };
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
  /** The OOM killer took a process of the container (read from the cgroup before it was removed). */
  oomKilled?: { count: number; memoryLimit?: number | undefined } | undefined;
}

export interface AcquireOptions {
  /** Keep the state directory, the layer directories and named volumes when the caller succeeds. */
  keepLayers: boolean;
  /** Keep the cgroup when the caller succeeds (create, run -d); a foreground run removes it when it ends. */
  keepCgroup: boolean;
  /** Recorded in the state: remove everything when the container ends (run --rm). */
  autoRemove: boolean;
  /**
   * Called with the final plan and state once everything but the cgroup is in place, just before the
   * cgroup is made. That mkdir can wait for the grace period the attach warm-up started (the warm-up's
   * write holds cgroup_mutex until it ends), so work that needs the plan but not the cgroup goes here.
   */
  beforeCgroup?: ((prepared: PreparedRun, state: ContainerState) => void) | undefined;
}

export interface AcquiredContainer {
  /** The plan as run: made again with the real layer directories when the built-in image was made just now. */
  prepared: PreparedRun;
  state: ContainerState;
  stateDir: string;
  cgroups: CgroupManager;
}

/**
 * What run, create and run -d do before the helper: the image (the built-in one is made on first use, then the
 * container is planned again with its real layers), the state directory, the layer directories and the init
 * layer, volumes, the config, plan and state files, and the cgroup. Each step registers its undo on `undo` as
 * it is taken, so a failure anywhere, here or in the caller, leaves nothing. The state is written before
 * anything outside the state directory exists, so `delete --force` finds every path.
 */
export async function acquireContainer(
  preparedFirst: PreparedRun,
  context: RuntimeContext,
  undo: UndoStack,
  options: AcquireOptions,
): Promise<AcquiredContainer> {
  const { log } = context;
  let prepared = preparedFirst;
  const { containerId } = prepared;
  const store = new StateStore(context.root);
  if (prepared.image?.pending && prepared.request && prepared.host) {
    const steps = imageStepsOf(prepared);
    const image = await steps.ensureImage(prepared.image, context.dataRoot, { hostBusybox: context.hostBusybox, helperPath: context.helperPath, log });
    const anonymousNames = prepared.storeVolumes.filter((volume) => volume.anonymous).map((volume) => volume.name);
    prepared = { ...(await steps.prepareImageRun(prepared.request, context, prepared.host, { image, containerId, anonymousNames })), attachWarmup: prepared.attachWarmup };
  }
  const plan = prepared.plan;
  await checkVolumeSources(prepared.volumes.filter((volume) => !prepared.storeVolumes.some((stored) => stored.destination === volume.destination)));

  const stateDir = await store.claim(containerId);
  undo.push('remove state directory', () => store.remove(containerId), { keepOnSuccess: options.keepLayers });

  const state: ContainerState = {
    ociVersion: STATE_OCI_VERSION,
    id: containerId,
    status: 'creating',
    pid: 0,
    bundle: prepared.bundleDir,
    rootfs: plan.rootfs.path,
    created: isoTimestamp(),
    annotations: prepared.config.annotations,
    image: prepared.image?.reference,
    imageId: prepared.image?.imageId,
    volumes: prepared.storeVolumes.length > 0 ? prepared.storeVolumes.map((volume) => volume.name) : undefined,
    anonymousVolumes: prepared.storeVolumes.some((volume) => volume.anonymous)
      ? prepared.storeVolumes.filter((volume) => volume.anonymous).map((volume) => volume.name)
      : undefined,
    cgroupDirs: plan.cgroup.dirs.map((dir) => dir.dir),
    cgroupParentDirs: plan.cgroup.removableParentDirs,
    freezeStateFile: freezeStateFile(plan.cgroup),
    containerDir: prepared.containerDir,
    autoRemove: options.autoRemove,
    network: prepared.network && structuredClone(prepared.network.record),
    hooks: hooksForLater(plan.hooks),
    startContainerHooks: plan.hooks?.hooks.startContainer ? true : undefined,
    docker: prepared.docker && dockerStateOf(prepared.docker),
  };
  // Bundle runs too: exec takes the process defaults from the config the container was started with, not
  // from a bundle that may have changed since; inspect shows the plan.
  await store.writeConfig(containerId, prepared.config);
  await store.writePlan(containerId, plan);
  await store.writeState(state);

  // Only now, with every path they occupy on record in state.json: a shim killed from here on leaves a state
  // that `delete --force` reads and removes whole (killed before the record, it would find a bare state dir
  // and leave the layer directory behind).
  if (prepared.containerDir) {
    const containerDir = prepared.containerDir;
    makeContainerDirs(plan, containerDir);
    undo.push('remove container directory', () => removeTree(containerDir), { keepOnSuccess: options.keepLayers });
    writeInitLayer(join(containerDir, 'init'), plan.hostname);
  }
  if (prepared.storeVolumes.length > 0) await imageStepsOf(prepared).acquireVolumes(prepared, context.dataRoot, undo, log);

  // The network is set up while the cgroup is made (its mkdir may wait out a grace period); the helper gets
  // its spec only after both, so the container's process never runs before its eth0 is there. The undo is
  // registered now, before anything of the network exists, and waits for the setup to settle first.
  let networkReady: Promise<void> | undefined;
  if (state.network) {
    const { acquireNetwork, releaseNetwork } = imageStepsOf(prepared);
    const initDir = prepared.containerDir ? join(prepared.containerDir, 'init') : undefined;
    const ready = acquireNetwork({ root: context.root, dataRoot: context.dataRoot, state, initDir, log }, () => store.writeState(state));
    ready.catch(() => {});
    networkReady = ready;
    undo.push(
      'release network',
      async () => {
        await ready.catch(() => {});
        await releaseNetwork(context.root, state, log);
        // A kept container's record says the network is gone (its state directory goes after this, if at all).
        await store.writeState(state).catch(() => {});
      },
      // It lives as long as the container's layers: until `delete`/`rm` for create, run -d and a kept foreground
      // run (so that `start` of a stopped container joins the same namespace again), to the end of a --rm run.
      { keepOnSuccess: options.keepLayers },
    );
  }

  const cgroups = createCgroupManager(plan.cgroup, log);
  undo.push('remove cgroup', () => cgroups.destroy(), { keepOnSuccess: options.keepCgroup });
  options.beforeCgroup?.(prepared, state);
  await cgroups.apply();
  if (networkReady) await networkReady;
  return { prepared, state, stateDir, cgroups };
}

export async function runPrepared(preparedFirst: PreparedRun, context: RuntimeContext, options: RunOptions = {}): Promise<RunResult> {
  const { log } = context;
  const { containerId, autoRemove } = preparedFirst;
  const store = new StateStore(context.root);
  const undo = new UndoStack(log);
  const forwarder = new SignalForwarder(options.signals, log);
  let succeeded = false;
  const started = nowMs();
  // First on the stack, so last to run: poststop hooks once a failed run's container is gone.
  const hooks = preparedFirst.plan.hooks;
  if (hooks?.hooks.poststop) undo.push('poststop hooks', () => runPoststopHooks(hooks, log), { keepOnSuccess: true });
  const hookPause = HookPause.forPlan(preparedFirst.plan, log);
  let poststartFailure: RuntimeError | undefined;
  try {
    // The helper is started just before the cgroup is made and handed its spec once it is: the spec's
    // encoding and the helper's exec overlap the cgroup mkdirs' wait for the grace period the attach warm-up
    // started. The helper blocks reading the spec until then.
    let spec: Uint8Array | undefined;
    let sendSpec: (spec: Uint8Array | undefined) => void = () => {};
    let helper: Promise<HelperOutcome> | undefined;
    const startHelper = (prepared: PreparedRun, runState: ContainerState) => {
      spec = encodeRunSpec(prepared.plan, { debug: context.debug, runtimeEnv: runtimeEnvironment(), initReaper: prepared.docker?.init });
      helper = runHelper({
        onPause: hookPause?.onPause,
        helperPath: context.helperPath,
        spec: new Promise<Uint8Array | undefined>((resolve) => {
          sendSpec = resolve;
        }),
        log,
        onStatus: async (status) => {
          logStatus(log, status);
          if (status.kind !== 'stage') preparedFirst.attachWarmup?.stop();
          if (status.kind === 'started') {
            forwarder.attach(status.pid);
            runState.status = 'running';
            runState.pid = status.pid;
            // The helper read it before it could reap the process: a container that exits at once is still
            // named by pid + start time. Reading /proc here would race that exit.
            runState.pidStartTime = status.pidStartTime ?? (await readProcessStartTime(status.pid));
            await store.writeState(runState);
            // poststart: the program runs; a failure stops the container (runc kills it) and fails the run.
            await runPoststartHooks(hooks, status.pid, log).catch((error: unknown) => {
              poststartFailure = error as RuntimeError;
              killQuietly(status.pid);
            });
          } else if (status.kind === 'exited') {
            forwarder.detach();
          }
        },
      });
      // Awaited below, or by this undo when setup fails first, so never an unhandled rejection. It runs
      // before the cgroup's: a helper still waiting is told there is no spec, and exits having done nothing.
      const running = helper;
      running.catch(() => {});
      undo.push('stop the helper', async () => {
        sendSpec(undefined);
        await running.catch(() => {});
      });
    };
    // The cgroup never outlives a foreground container, whatever --rm says; the rest stays without --rm.
    const { prepared, state, cgroups } = await acquireContainer(preparedFirst, context, undo, {
      keepLayers: !autoRemove,
      keepCgroup: false,
      autoRemove,
      beforeCgroup: startHelper,
    });
    log.debug(`run: state, layers and cgroup ready at ${elapsedMs(started)}`);
    if (!helper) throw new RuntimeError('system', 'the helper was not started', { stage: 'spawn helper' });
    sendSpec(spec);
    const outcome = await helper;
    forwarder.detach();

    if (outcome.error) throw hookPause?.failure ?? helperFailure(outcome.error);
    if (poststartFailure) throw poststartFailure;
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
      oomKilled: await readOomKills(cgroups, log),
    };
    if (!prepared.autoRemove) {
      state.status = 'stopped';
      state.pid = 0;
      state.finished = isoTimestamp();
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
    preparedFirst.attachWarmup?.stop();
    forwarder.close();
    await undo.unwind(succeeded);
    // A run that removes its container (runc run without --keep) is its delete: poststop now that it is gone.
    if (succeeded && autoRemove) await runPoststopHooks(hooks, log);
  }
}

/** The shim's environment as KEY=VALUE strings: what a hook without env gets, as runc's hooks get runc's. */
export function runtimeEnvironment(): string[] {
  return Object.entries(process.env).map(([key, value]) => `${key}=${value ?? ''}`);
}

function killQuietly(pid: number): void {
  try {
    signalProcess(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Before the foreground run's cgroup goes: afterwards nobody can tell an OOM kill from any other SIGKILL. */
async function readOomKills(cgroups: CgroupManager, log: Logger): Promise<RunResult['oomKilled']> {
  try {
    const count = await cgroups.oomKillCount();
    if (!count) return undefined;
    return { count, memoryLimit: await cgroups.memoryLimit() };
  } catch (error) {
    log.debug(`run: read the OOM kill count: ${(error as Error).message}`);
    return undefined;
  }
}

export function helperFailure(report: { stage: string; errno: number; message: string; path: string }): RuntimeError {
  if (report.stage === 'lookup') return lookupFailure(report);
  const hookFailure = helperHookFailure(report);
  if (hookFailure) return hookFailure;
  return new RuntimeError(report.stage === 'exec' ? 'exec-failed' : 'setup-failed', report.message || `stage ${report.stage} failed`, {
    stage: report.stage,
    errno: report.errno,
    path: report.path,
  });
}

const EACCES = 13;

/**
 * The program was not found (or is no executable file) before READY, where runc's init looks it up: worded as
 * runc 1.1 words it (Go's exec.LookPath error), since that line is what podman and containerd pass on and what
 * their users search for. `exec: "x": executable file not found in $PATH`, `exec: "/x": stat /x: no such
 * file or directory`, `exec: "/etc/passwd": permission denied`; the errno name follows, as on every line.
 */
function lookupFailure(report: { errno: number; path: string }): RuntimeError {
  const name = report.path;
  const quoted = JSON.stringify(name);
  let words: string;
  if (!name.includes('/')) words = `exec: ${quoted}: executable file not found in $PATH`;
  else if (report.errno === EACCES) words = `exec: ${quoted}: permission denied`;
  else words = `exec: ${quoted}: stat ${name}: ${errnoText(report.errno)}`;
  return new RuntimeError('exec-failed', words, { stage: 'lookup', errno: report.errno, reasonInWords: true });
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
    case 'paused':
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

// The layer directories, the init layer and the checks of volume sources are made and read synchronously: a
// handful of mkdirs and small writes, each cheaper than the threadpool round trip of its fs/promises form.
export function makeContainerDirs(plan: ContainerPlan, containerDir: string): void {
  try {
    mkdirSync(containerDir, { recursive: true, mode: 0o700 });
    for (const dir of [plan.rootfs.upperDir, plan.rootfs.workDir, plan.rootfs.path]) {
      if (dir) mkdirSync(dir, { recursive: true });
    }
  } catch (error) {
    throw systemError(error, 'create container directory', { stage: 'layers', path: containerDir });
  }
}

/**
 * The init layer: the files the runtime itself provides (docker's <id>-init layer). It is a lower layer of its
 * own, so the container sees them but `commit` never takes them (they are not in the read-write layer unless
 * the container changes them, and commit leaves those three paths out even then).
 */
export const INIT_LAYER_FILES = ['etc/hostname', 'etc/hosts', 'etc/resolv.conf'];

function writeInitLayer(dir: string, hostname: string): void {
  try {
    // Two mkdirs: a recursive mkdir of init/etc would first try etc and fail (ENOENT) before making init.
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    mkdirSync(join(dir, 'etc'), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, 'etc/hostname'), `${hostname}\n`, { mode: 0o644 });
    writeFileSync(
      join(dir, 'etc/hosts'),
      `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`,
      { mode: 0o644 },
    );
    try {
      copyFileSync('/etc/resolv.conf', join(dir, 'etc/resolv.conf'));
    } catch {
      // No usable host file (or a dangling systemd-resolved link): public resolvers, as docker falls back to.
      writeFileSync(join(dir, 'etc/resolv.conf'), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n', { mode: 0o644 });
    }
  } catch (error) {
    throw systemError(error, 'create init layer', { stage: 'layers', path: dir });
  }
}

/**
 * Named volumes are created on first use, with the image's content at the mount point copied in (as docker);
 * anonymous ones are always new, and go with the container when it is removed (--rm).
 */
async function acquireVolumes(prepared: PreparedRun, dataRoot: string, undo: UndoStack, log: Logger): Promise<void> {
  const store = new VolumeStore(dataRoot);
  for (const volume of prepared.storeVolumes) {
    const { info, created } = await store.ensure(volume.name, volume.anonymous);
    if (!created) continue;
    undo.push(`remove volume ${volume.name}`, () => store.destroy(volume.name), { keepOnSuccess: !(volume.anonymous && prepared.autoRemove) });
    if (!volume.anonymous || prepared.image) await copyImageContent(prepared.image?.layerDirs ?? [], volume.destination, info.mountpoint, log);
  }
}

/** The image's directory at dest, layer by layer from the bottom, whiteouts applied, into a new volume. */
async function copyImageContent(layerDirs: readonly string[], destination: string, target: string, log: Logger): Promise<void> {
  const { execa } = await import('execa');
  let copied = false;
  for (const layer of [...layerDirs].reverse()) {
    const source = join(layer, destination);
    if (!(await stat(source).then((info) => info.isDirectory(), () => false))) continue;
    // cp -a keeps owners, modes, links and times; one process per layer that has the directory.
    await execa('cp', ['-a', '--remove-destination', `${source}/.`, `${target}/`]);
    copied = true;
  }
  if (!copied) return;
  // A whiteout copied from an upper layer deletes what a lower one put there.
  const { stdout } = await execa('find', [target, '-type', 'c', '-print0']);
  for (const path of String(stdout).split('\0').filter(Boolean)) {
    const info = await stat(path).catch(() => undefined);
    if (info && info.rdev === 0) await rm(path, { force: true });
  }
  log.debug(`volume: copied the image's ${destination} into ${target}`);
}

/** A volume whose host directory is missing fails here, by name, rather than deep in the helper. */
export async function checkVolumeSources(volumes: readonly VolumeBind[]): Promise<void> {
  for (const volume of volumes) {
    try {
      statSync(volume.source);
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
      signalProcess(this.#pid, signal);
      this.#log.debug(`forwarded ${signal} to ${this.#pid}`);
    } catch (error) {
      this.#log.debug(`forward ${signal} to ${this.#pid}: ${(error as Error).message}`);
    }
  }
}
