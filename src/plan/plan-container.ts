// The planner: a validated OCI config + facts about the host -> the container plan. Pure: it reads nothing and
// changes nothing, so --dry-run, the tests and a real run all see the same decisions. Both `run IMAGE` (which
// first builds a config, docker-style) and `run --bundle` come through here.

import { posix } from 'node:path';
import { RuntimeError } from '../errors.js';
import { planCgroupDirs } from '../cgroups/cgroup-paths.js';
import { planDeviceRules } from '../cgroups/device-rules.js';
import { planResources } from '../cgroups/resources.js';
import type { SeccompCache } from '../seccomp/filter-cache.js';
import { planSeccomp } from '../seccomp/plan-seccomp.js';
import { planCgroupMounts } from './cgroup-mounts.js';
import { planOtherFields } from './other-fields.js';
import { HOOK_STATE_OCI_VERSION, planHooks } from '../hooks/oci-hooks.js';
import * as k from './kernel-constants.js';
import { planMountOptions, planRootfsPropagation } from './mount-options.js';
import type { OciCapabilities, OciConfig, OciDevice, OciNamespaceType, OciProcess } from './oci-config.js';
import { OCI_NAMESPACE_TYPES } from './oci-config.js';
import { DEFAULT_DEVICES, DEV_SYMLINKS } from './runtime-defaults.js';
import { planUserNamespace, type PlannedUserNamespace } from '../userns/plan-user-namespace.js';
import { planIdmappedMount, planUserNamespaceMounts } from '../userns/plan-userns-mounts.js';
import type {
  ContainerPlan,
  HostFacts,
  NamespaceKind,
  PlannedCapabilities,
  PlannedDevice,
  PlannedMount,
  PlannedNamespace,
  PlannedProcess,
  PlannedRlimit,
  PlannedRootfs,
  PlannedSymlink,
  RlimitValue,
} from './container-plan.js';

export interface PlanRequest {
  containerId: string;
  /** Validated by readOciConfig (or built by planDockerConfig). */
  config: OciConfig;
  /** Relative root.path and bind sources are taken from here. */
  bundleDir: string;
  /**
   * Docker-style runs: config.root.path is the read-only lower layer of an overlay mounted at mountPoint,
   * with the container's own upper and work dirs; or, with lowerDirs (topmost first), those layers.
   */
  overlay?:
    | { mountPoint: string; upperDir: string; workDir: string; lowerDirs?: string[] | undefined; idmapLayers?: boolean | undefined }
    | undefined;
  /** runc --no-pivot. */
  noPivot?: boolean | undefined;
  /** Parent of the default cgroup path; SHIM_CGROUP_PARENT, "shim" when unset. */
  cgroupParent?: string | undefined;
  /** --systemd-cgroup: a slice:prefix:name cgroupsPath is mapped onto a plain path (with a warning). */
  systemdCgroup?: boolean | undefined;
  host: HostFacts;
  /** Compiled seccomp filters of earlier runs (src/seccomp/filter-cache.ts). */
  seccompCache?: SeccompCache | undefined;
}

const NAMESPACE_KINDS: Record<OciNamespaceType, NamespaceKind> = {
  pid: 'pid',
  network: 'net',
  mount: 'mount',
  ipc: 'ipc',
  uts: 'uts',
  user: 'user',
  cgroup: 'cgroup',
  time: 'time',
};

export function planContainer(request: PlanRequest): ContainerPlan {
  const { config, host } = request;
  const linux = config.linux ?? {};

  const namespaces = planNamespaces(config);
  const isNew = (type: NamespaceKind) => namespaces.some((ns) => ns.type === type && ns.path === undefined);
  const userNamespace = planUserNamespace(config);

  const cgroupDirs = planCgroupDirs({
    containerId: request.containerId,
    cgroupsPath: linux.cgroupsPath || undefined,
    parent: request.cgroupParent,
    hierarchies: host.cgroupHierarchies,
    systemdCgroup: request.systemdCgroup,
  });
  const deviceRules = planDeviceRules(linux.resources?.devices ?? [], linux.devices ?? []);
  const other = planOtherFields(config, host);
  const resources = { ...planResources(linux.resources), ...(other.unified ? { unified: other.unified } : {}), ...other.resources };

  const mounts: PlannedMount[] = [];
  const symlinks: PlannedSymlink[] = [];
  for (const [index, mount] of (config.mounts ?? []).entries()) {
    const where = `config.json: mounts[${index}] (${mount.destination})`;
    const destination = cleanContainerPath(mount.destination);
    const options = planMountOptions(mount.options ?? [], where);
    if (mount.type === 'cgroup' && !options.bind) {
      const expanded = planCgroupMounts({ destination, options, dirs: cgroupDirs, cgroupNamespace: isNew('cgroup') });
      mounts.push(...expanded.mounts);
      symlinks.push(...expanded.symlinks);
      continue;
    }
    const bind = options.bind || mount.type === 'bind';
    if (bind && !mount.source) throw new RuntimeError('invalid-config', `${where}: a bind mount needs a source`);
    mounts.push({
      source: bind ? posix.resolve(request.bundleDir, mount.source!) : (mount.source ?? mount.type ?? 'none'),
      target: destination,
      fstype: bind ? 'bind' : (mount.type ?? ''),
      flags: bind ? options.flags | k.MS_BIND : options.flags,
      data: options.data,
      propagation: options.propagation,
      origin: 'config',
      idmap: planIdmappedMount(mount, where, bind, options, userNamespace),
    });
  }

  // As runc: when /dev comes from a bind mount it is the caller's /dev, left exactly as it is.
  const devIsBound = mounts.some((mount) => mount.target === '/dev' && (mount.flags & k.MS_BIND) !== 0);
  const devices = devIsBound ? [] : planDevices(linux.devices ?? []);
  const warnings: string[] = userNamespace?.warning ? [userNamespace.warning] : [];
  if (userNamespace) planUserNamespaceMounts({ mounts, devices, netNamespaceIsNew: isNew('net'), warnings });
  if (!devIsBound) {
    symlinks.push(...DEV_SYMLINKS.map((link) => ({ ...link })));
    symlinks.push({ target: 'pts/ptmx', path: '/dev/ptmx' });
    if (host.procKcore) symlinks.push({ target: '/proc/kcore', path: '/dev/core' });
  }

  if (linux.cgroupsPath?.includes(':')) {
    warnings.push(
      `linux.cgroupsPath ${linux.cgroupsPath}: shim does not ask systemd for a unit; the container's cgroup is the plain path ${cgroupDirs[0]?.cgroupPath} in each hierarchy`,
    );
  }
  const process = planProcess(config.process, host, warnings);

  const seccomp = planSeccomp(
    linux.seccomp,
    { containerId: request.containerId, bundleDir: request.bundleDir, annotations: config.annotations, host, cache: request.seccompCache },
    warnings,
  );

  // runc's validator asks only that a uts namespace be listed (configs.Namespaces.Contains(NEWUTS)), new or
  // joined by path: in a joined one the names are set there, as runc does.
  if ((config.hostname || config.domainname) && !namespaces.some((ns) => ns.type === 'uts')) {
    throw new RuntimeError('invalid-config', 'config.json: unable to set hostname without a private UTS namespace');
  }

  return {
    containerId: request.containerId,
    namespaces,
    userNamespace,
    rootfs: planRootfs(request, userNamespace !== undefined && userNamespace.path === undefined),
    mounts,
    devices,
    symlinks,
    maskedPaths: linux.maskedPaths ?? [],
    readonlyPaths: linux.readonlyPaths ?? [],
    hostname: config.hostname ?? '',
    domainname: config.domainname ?? '',
    sysctls: Object.entries(linux.sysctl ?? {}).map(([key, value]) => ({ key, value })),
    loopbackUp: isNew('net'),
    process,
    cgroup: {
      dirs: cgroupDirs,
      deviceRules,
      removableParentDirs: linux.cgroupsPath ? [] : cgroupDirs.map((dir) => posix.dirname(dir.dir)),
      resources,
      ownerUid: cgroupOwner(config, userNamespace, isNew('cgroup')),
    },
    seccomp,
    warnings,
    hooks: planHooks(config.hooks, {
      ociVersion: HOOK_STATE_OCI_VERSION,
      id: request.containerId,
      bundle: request.bundleDir,
      annotations: config.annotations,
    }),
    personality: other.personality,
    consoleSize: other.consoleSize,
    ioPriority: other.ioPriority,
    scheduler: other.scheduler,
    memoryPolicy: other.memoryPolicy,
    timeOffsets: other.timeOffsets,
    netDevices: other.netDevices,
    notes: other.notes.length > 0 ? other.notes : undefined,
  };
}

/**
 * runc's specconv: with a new cgroup namespace and a read-write cgroupfs at /sys/fs/cgroup, the container's
 * cgroup belongs to the host uid of the process's user (OwnerUID). Unmapped, or no new user namespace: nobody.
 */
function cgroupOwner(config: OciConfig, userNamespace: PlannedUserNamespace | undefined, newCgroupNamespace: boolean): number | undefined {
  if (!userNamespace || userNamespace.path !== undefined || !newCgroupNamespace) return undefined;
  const rwCgroupfs = (config.mounts ?? []).some(
    (mount) => mount.source === 'cgroup' && posix.normalize(mount.destination) === '/sys/fs/cgroup' && !(mount.options ?? []).includes('ro'),
  );
  if (!rwCgroupfs) return undefined;
  const uid = config.process?.user.uid ?? 0;
  const line = userNamespace.uidMappings.find((map) => uid >= map.containerId && uid < map.containerId + map.size);
  return line ? line.hostId + (uid - line.containerId) : undefined;
}

function planNamespaces(config: OciConfig): PlannedNamespace[] {
  const planned: PlannedNamespace[] = [];
  for (const [index, namespace] of (config.linux?.namespaces ?? []).entries()) {
    const type = namespace.type as OciNamespaceType;
    if (!OCI_NAMESPACE_TYPES.includes(type)) {
      throw new RuntimeError('invalid-config', `config.json: linux.namespaces[${index}].type ${namespace.type} is not a namespace type`);
    }
    const kind = NAMESPACE_KINDS[type];
    if (planned.some((ns) => ns.type === kind)) {
      throw new RuntimeError('invalid-config', `config.json: linux.namespaces lists ${namespace.type} twice`);
    }
    if (namespace.path !== undefined && namespace.path !== '' && !posix.isAbsolute(namespace.path)) {
      throw new RuntimeError('invalid-config', `config.json: linux.namespaces[${index}].path must be absolute`);
    }
    planned.push({ type: kind, path: namespace.path || undefined });
  }
  // Without a new mount namespace runc (libcontainer's prepareRootfs, run whatever the namespaces) makes the
  // caller's "/" rslave, bind-mounts the rootfs onto itself and makes every config mount and /dev there, in the
  // caller's namespace, then chroots instead of pivot_root; `runc delete` never takes those mounts down. Its
  // validator refuses only masked/readonly paths then. shim refuses the whole case, with runc's words where runc
  // refuses too: following runc would change the caller's propagation and leak mounts on every run.
  if (!planned.some((ns) => ns.type === 'mount' && ns.path === undefined)) {
    const linux = config.linux ?? {};
    if ((linux.maskedPaths?.length ?? 0) > 0 || (linux.readonlyPaths?.length ?? 0) > 0) {
      throw new RuntimeError('invalid-config', 'config.json: linux.namespaces: unable to restrict sys entries without a private MNT namespace');
    }
    const joined = planned.some((ns) => ns.type === 'mount');
    throw new RuntimeError(
      'unsupported',
      joined
        ? "config.json: linux.namespaces: a mount namespace joined by path is not supported: the rootfs would be set up and pivot_root'ed in that namespace, for every process in it"
        : "config.json: linux.namespaces: running without a new mount namespace is not supported: as runc does it, the caller's / would become rslave and the rootfs, /dev and every mount of the config would stay mounted in the caller's namespace after the container is gone",
      { hint: 'add {"type": "mount"} to linux.namespaces' },
    );
  }
  return planned;
}

function planRootfs(request: PlanRequest, newUserNamespace: boolean): PlannedRootfs {
  const root = request.config.root!;
  const rootPath = posix.resolve(request.bundleDir, root.path);
  const propagation = planRootfsPropagation(request.config.linux?.rootfsPropagation);
  const noPivot = request.noPivot ?? false;
  if (request.overlay) {
    return {
      path: request.overlay.mountPoint,
      lowerDirs: request.overlay.lowerDirs ?? [rootPath],
      // shim's own layers are owned by the host's root: seen through the container's maps they would be nobody's.
      ...(newUserNamespace && request.overlay.idmapLayers !== false ? { idmapLayers: true } : {}),
      upperDir: request.overlay.upperDir,
      workDir: request.overlay.workDir,
      readonly: root.readonly ?? false,
      propagation,
      noPivot,
    };
  }
  return { path: rootPath, lowerDirs: [], upperDir: '', workDir: '', readonly: root.readonly ?? false, propagation, noPivot };
}

function planDevices(configDevices: readonly OciDevice[]): PlannedDevice[] {
  const byPath = new Map<string, PlannedDevice>();
  for (const device of DEFAULT_DEVICES) {
    byPath.set(device.path, { path: device.path, type: 'c', mode: k.S_IFCHR | 0o666, major: device.major, minor: device.minor, uid: 0, gid: 0 });
  }
  for (const [index, device] of configDevices.entries()) {
    const where = `config.json: linux.devices[${index}]`;
    const path = cleanContainerPath(device.path);
    const type = device.type === 'u' ? 'c' : device.type;
    if (type !== 'c' && type !== 'b' && type !== 'p') {
      throw new RuntimeError('invalid-config', `${where}.type ${device.type} is not c, b, u or p`);
    }
    if (type !== 'p' && (device.major === undefined || device.minor === undefined)) {
      throw new RuntimeError('invalid-config', `${where}: a ${type} device needs major and minor`);
    }
    const fileType = type === 'c' ? k.S_IFCHR : type === 'b' ? k.S_IFBLK : k.S_IFIFO;
    byPath.set(path, {
      path,
      type,
      mode: fileType | ((device.fileMode ?? 0o666) & 0o7777),
      major: device.major ?? 0,
      minor: device.minor ?? 0,
      uid: device.uid ?? 0,
      gid: device.gid ?? 0,
    });
  }
  // runc makes /dev/ptmx a link to the devpts instance's ptmx, never a node.
  byPath.delete('/dev/ptmx');
  return [...byPath.values()];
}

export function planProcess(process: OciProcess | undefined, host: HostFacts, warnings: string[]): PlannedProcess {
  if (!process) throw new RuntimeError('invalid-config', 'config.json: process is required to run a container');
  if (!process.args || process.args.length === 0) {
    throw new RuntimeError('invalid-config', 'config.json: process.args must name the program to run');
  }
  if (!posix.isAbsolute(process.cwd)) {
    throw new RuntimeError('invalid-config', `config.json: process.cwd ${process.cwd} must be an absolute path`);
  }
  return {
    args: [...process.args],
    env: [...(process.env ?? [])],
    cwd: posix.normalize(process.cwd),
    uid: process.user.uid,
    gid: process.user.gid,
    additionalGids: [...(process.user.additionalGids ?? [])],
    umask: process.user.umask,
    capabilities: planCapabilities(process.capabilities ?? {}, host, warnings),
    noNewPrivileges: process.noNewPrivileges ?? false,
    rlimits: planRlimits(process),
    oomScoreAdj: process.oomScoreAdj,
    // The init leads its own session: it must not share the caller's terminal job control.
    newSession: true,
    terminal: process.terminal ?? false,
  };
}

function planCapabilities(capabilities: OciCapabilities, host: HostFacts, warnings: string[]): PlannedCapabilities {
  const maskOf = (set: keyof OciCapabilities): number =>
    k.capabilityMask(
      (capabilities[set] ?? []).map((name) => {
        const number = k.CAPABILITY_NUMBERS[name];
        if (number === undefined) {
          throw new RuntimeError('invalid-config', `config.json: process.capabilities.${set}: ${name} is not a capability`);
        }
        if (number > host.lastCapability) {
          throw new RuntimeError('unsupported', `config.json: process.capabilities.${set}: ${name} is not known to this kernel`);
        }
        return number;
      }),
    );
  const planned = {
    bounding: maskOf('bounding'),
    effective: maskOf('effective'),
    inheritable: maskOf('inheritable'),
    permitted: maskOf('permitted'),
    ambient: maskOf('ambient'),
  };
  // The kernel raises an ambient capability only if it is both permitted and inheritable. `runc spec` lists
  // ambient capabilities with no inheritable set at all; runc's raise fails quietly and the process runs
  // without them. Same outcome here, but said out loud.
  const raisable = k.intersectMasks(k.intersectMasks(planned.ambient, planned.permitted), planned.inheritable);
  if (raisable !== planned.ambient) {
    const dropped = k.capabilityNamesOfMask(planned.ambient - raisable);
    warnings.push(`process.capabilities.ambient: ${dropped.join(', ')} left out: an ambient capability must also be permitted and inheritable`);
    planned.ambient = raisable;
  }
  return planned;
}

function planRlimits(process: OciProcess): PlannedRlimit[] {
  const seen = new Set<string>();
  return (process.rlimits ?? []).map((rlimit) => {
    const resource = k.RLIMIT_NUMBERS[rlimit.type];
    if (resource === undefined) {
      throw new RuntimeError('invalid-config', `config.json: process.rlimits: ${rlimit.type} is not a resource limit`);
    }
    if (seen.has(rlimit.type)) throw new RuntimeError('invalid-config', `config.json: process.rlimits lists ${rlimit.type} twice`);
    seen.add(rlimit.type);
    return { name: rlimit.type, resource, soft: rlimitValue(rlimit.soft), hard: rlimitValue(rlimit.hard) };
  });
}

function rlimitValue(value: number): RlimitValue {
  if (value < 0) throw new RuntimeError('invalid-config', `config.json: process.rlimits: ${value} is negative`);
  // JSON cannot carry a uint64 this large exactly; the only such value with a meaning is RLIM_INFINITY.
  return value > Number.MAX_SAFE_INTEGER ? 'unlimited' : value;
}

/** An absolute, normalized path inside the container; runc takes relative destinations from "/". */
function cleanContainerPath(path: string): string {
  return posix.normalize(posix.join('/', path));
}
