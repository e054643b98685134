// The config fields beyond the core that real callers send, each taken or refused as runc (1.1, and 1.2+ where
// it added the field) and crun do, with the source of each decision beside it. Pure: the host's facts come in.
// What is ignored is said with --debug (ContainerPlan.notes), never silently.

import { RuntimeError } from '../errors.js';
import type { CgroupHierarchy, HostFacts, PlannedScheduler } from './container-plan.js';
import type { OciConfig, OciProcess } from './oci-config.js';
import type { PlannedResources } from '../cgroups/resources.js';

export interface OtherFields {
  /** personality(2) value: the domain with its flags. */
  personality?: number | undefined;
  /** process.consoleSize, with a terminal. */
  consoleSize?: { height: number; width: number } | undefined;
  /** linux.resources.unified, pure cgroup v2 only: file -> value, written into the container's cgroup. */
  unified?: Record<string, string> | undefined;
  /** process.ioPriority: class << 13 | priority. */
  ioPriority?: number | undefined;
  /** process.scheduler. */
  scheduler?: PlannedScheduler | undefined;
  /** linux.resources' controllers beyond the core (hugetlb, net_cls/net_prio, rdma), where this host has them. */
  resources?: Pick<PlannedResources, 'hugepageLimits' | 'netClassId' | 'netPriorities' | 'rdma'> | undefined;
  /** linux.memoryPolicy: set_mempolicy(2)'s mode | flags and the nodemask (little-endian longs). */
  memoryPolicy?: { mode: number; nodes: string } | undefined;
  /** linux.timeOffsets, as runc writes /proc/PID/timens_offsets: "monotonic S NS\nboottime S NS\n". */
  timeOffsets?: string | undefined;
  /** linux.netDevices: host name -> name in the container (src/plan/net-devices.ts moves them). */
  netDevices?: { hostName: string; name: string }[] | undefined;
  /** Said with --debug: fields ignored, and why. */
  notes: string[];
}

// runtime-spec 1.2 scheduler policies and flags, numbered as runc 1.2's ToSchedAttr (linux/sched.h).
const SCHED_POLICIES: Record<string, number> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};
const SCHED_FLAGS: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};
// linux/ioprio.h classes.
const IOPRIO_CLASSES: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };

// linux/personality.h. runc 1.2+ takes LINUX and LINUX32 and warns that it ignores flags; crun applies the flags
// too, which is what a caller asking for ADDR_NO_RANDOMIZE wants, so shim does as crun.
const PERSONALITY_DOMAINS: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };
const PERSONALITY_FLAGS: Record<string, number> = {
  UNAME26: 0x0020000,
  ADDR_NO_RANDOMIZE: 0x0040000,
  FDPIC_FUNCPTRS: 0x0080000,
  MMAP_PAGE_ZERO: 0x0100000,
  ADDR_COMPAT_LAYOUT: 0x0200000,
  READ_IMPLIES_EXEC: 0x0400000,
  ADDR_LIMIT_32BIT: 0x0800000,
  SHORT_INODE: 0x1000000,
  WHOLE_SECONDS: 0x2000000,
  STICKY_TIMEOUTS: 0x4000000,
  ADDR_LIMIT_3GB: 0x8000000,
};

// linux/mempolicy.h, as runc 1.4's specconv maps runtime-spec 1.2's names.
const MPOL_MODES: Record<string, number> = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};
const MPOL_FLAGS: Record<string, number> = { MPOL_F_NUMA_BALANCING: 1 << 13, MPOL_F_RELATIVE_NODES: 1 << 14, MPOL_F_STATIC_NODES: 1 << 15 };
/** For `shim features`, sorted as runc's KnownMemoryPolicyModes and KnownMemoryPolicyFlags. */
export const MEMORY_POLICY_MODES = Object.keys(MPOL_MODES).sort();
export const MEMORY_POLICY_FLAGS = Object.keys(MPOL_FLAGS).sort();
/** runc's configs.MaxCPU: the highest CPU or NUMA node id a list may name. */
const MAX_CPU = 64 * 1024;

/**
 * runc's configs.ToCPUSet: "0-3,5, 7-9" (spaces and empty elements allowed) as a mask of little-endian 64-bit
 * words in base64, the bytes sched_setaffinity(2) and set_mempolicy(2) take; undefined for "". Throws the
 * reason in runc's words (the caller prefixes the field).
 */
export function cpuListMask(list: string): string | undefined {
  if (list === '') return undefined;
  const ranges: [number, number][] = [];
  const id = (text: string): number => {
    if (!/^\d+$/.test(text)) throw new Error(`strconv.ParseUint: parsing "${text}": invalid syntax`);
    const value = Number(text);
    if (value > MAX_CPU) throw new Error(`values larger than ${MAX_CPU} are not supported`);
    return value;
  };
  for (const raw of list.split(',')) {
    const element = raw.trim();
    if (element === '') continue;
    const dash = element.indexOf('-');
    const start = id(dash < 0 ? element : element.slice(0, dash));
    const end = dash < 0 ? start : id(element.slice(dash + 1));
    if (start > end) throw new Error(`invalid range: ${element}`);
    ranges.push([start, end]);
  }
  if (ranges.length === 0) throw new Error(`no members found in set "${list}"`);
  const highest = Math.max(...ranges.map(([, end]) => end));
  // Whole 64-bit words (the kernel's unsigned long), at least 1024 bits as glibc's cpu_set_t.
  const mask = Buffer.alloc(Math.max(128, Math.ceil((highest + 1) / 64) * 8));
  for (const [start, end] of ranges) for (let bit = start; bit <= end; bit++) mask[bit >> 3]! |= 1 << (bit & 7);
  return mask.toString('base64');
}

/** process.execCPUAffinity for an exec'd process (runc's ConvertCPUAffinity), as the two masks; undefined: none. */
export function planExecCpuAffinity(process: Pick<OciProcess, 'execCPUAffinity'> | undefined, where: string): { initial?: string | undefined; final?: string | undefined } | undefined {
  const affinity = process?.execCPUAffinity;
  if (!affinity) return undefined;
  const mask = (list: string | undefined, name: 'Initial' | 'Final') => {
    try {
      return cpuListMask(list ?? '');
    } catch (error) {
      throw new RuntimeError('invalid-config', `${where}.execCPUAffinity: bad CPUAffinity.${name}: ${(error as Error).message}`);
    }
  };
  const initial = mask(affinity.initial, 'Initial');
  const final = mask(affinity.final, 'Final');
  return initial || final ? { initial, final } : undefined;
}

/** A network device name the kernel takes (runc's devValidName, after net/core/dev.c). */
function validDeviceName(name: string): boolean {
  // The kernel's limit (IFNAMSIZ with its NUL: 15 characters), one tighter than runc's check, which the
  // kernel would refuse anyway at the move.
  return name.length > 0 && name.length < 16 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

const hasController = (host: HostFacts, controller: string): boolean =>
  host.cgroupHierarchies.some((hierarchy: CgroupHierarchy) => hierarchy.controllers.includes(controller));
/** runc's IsCgroup2UnifiedMode: every hierarchy is cgroup2 (a hybrid host's v1 controllers make it v1). */
const pureV2 = (host: HostFacts): boolean => host.cgroupHierarchies.length > 0 && host.cgroupHierarchies.every((hierarchy) => hierarchy.version === 2);
const isEmpty = (value: unknown): boolean =>
  value === undefined || value === null || (Array.isArray(value) ? value.length === 0 : typeof value === 'object' ? Object.keys(value).length === 0 : false);

export function planOtherFields(config: OciConfig, host: HostFacts): OtherFields {
  const planned: OtherFields = { notes: [] };
  const linux = config.linux ?? {};
  const process = config.process;

  if (linux.personality) {
    const domain = PERSONALITY_DOMAINS[linux.personality.domain];
    // runc's specconv: "invalid personality domain X".
    if (domain === undefined) throw new RuntimeError('invalid-config', `config.json: linux.personality: invalid personality domain ${linux.personality.domain}`);
    let flags = 0;
    for (const flag of linux.personality.flags ?? []) {
      const bit = PERSONALITY_FLAGS[flag];
      if (bit === undefined) throw new RuntimeError('invalid-config', `config.json: linux.personality.flags: ${flag} is not a personality flag`);
      flags |= bit;
    }
    planned.personality = domain | flags;
  }

  // process.scheduler and process.ioPriority (runtime-spec 1.2): applied by the init as runc 1.2 and crun do,
  // refused in the words of runc 1.2's validator.
  if (process?.scheduler) {
    const s = process.scheduler;
    const invalid = (text: string) => new RuntimeError('invalid-config', `config.json: process.scheduler: ${text}`);
    if (!s.policy) throw invalid('scheduler policy is required');
    const policy = SCHED_POLICIES[s.policy];
    if (policy === undefined) throw invalid(`invalid scheduler policy: ${s.policy}`);
    const nice = s.nice ?? 0;
    if ((s.policy === 'SCHED_OTHER' || s.policy === 'SCHED_BATCH') && (nice < -20 || nice > 19)) {
      throw invalid(`invalid scheduler.nice: ${nice} when scheduler.policy is ${s.policy}`);
    }
    if ((s.priority ?? 0) !== 0 && s.policy !== 'SCHED_FIFO' && s.policy !== 'SCHED_RR') {
      throw invalid('scheduler.priority can only be specified for SchedFIFO or SchedRR policy');
    }
    if (s.policy !== 'SCHED_DEADLINE' && (s.runtime || s.deadline || s.period)) {
      throw invalid('scheduler runtime/deadline/period can only be specified for SchedDeadline policy');
    }
    let flags = 0;
    for (const flag of s.flags ?? []) {
      const bit = SCHED_FLAGS[flag];
      if (bit === undefined) throw invalid(`invalid scheduler flag: ${flag}`);
      flags |= bit;
    }
    planned.scheduler = { policy, flags, nice, priority: s.priority ?? 0, runtime: s.runtime ?? 0, deadline: s.deadline ?? 0, period: s.period ?? 0 };
  }
  if (process?.ioPriority) {
    const { priority } = process.ioPriority;
    if (!Number.isInteger(priority) || priority < 0 || priority > 7) {
      throw new RuntimeError('invalid-config', `config.json: process.ioPriority: invalid ioPriority.Priority: ${priority}`);
    }
    const ioClass = IOPRIO_CLASSES[process.ioPriority.class];
    if (ioClass === undefined) throw new RuntimeError('invalid-config', `config.json: process.ioPriority: invalid ioPriority.Class: "${process.ioPriority.class}"`);
    planned.ioPriority = (ioClass << 13) | priority;
  }

  // process.execCPUAffinity is for exec'd processes (plan-exec.ts); runc's specconv parses it at create, so a
  // bad list fails create, not the first exec.
  planExecCpuAffinity(process, 'config.json: process');

  // runc applies consoleSize to the pty it makes (before the process runs); without a terminal there is none.
  if (process?.consoleSize && process.terminal && process.consoleSize.height > 0 && process.consoleSize.width > 0) {
    planned.consoleSize = { height: process.consoleSize.height, width: process.consoleSize.width };
  }

  // SELinux and AppArmor labels on a host without them: crun ignores them; runc 1.1 refuses a process label
  // ("selinux label is specified in config, but selinux is disabled or not supported") and fails to apply an
  // AppArmor profile. The issue asks for crun's way: ignore, and say so with --debug. On a host that has the
  // LSM, shim cannot apply the label yet, and refuses rather than run the container unconfined.
  const lsmField = (value: string | undefined, field: string, lsm: 'selinux' | 'apparmor', name: string) => {
    if (!value) return;
    if (host[lsm]) throw new RuntimeError('unsupported', `config.json: ${field} is not supported yet (this host has ${name}, and shim does not apply its labels)`);
    planned.notes.push(`${field} ${value} ignored: this host has no ${name} (as crun)`);
  };
  lsmField(process?.selinuxLabel, 'process.selinuxLabel', 'selinux', 'SELinux');
  lsmField(linux.mountLabel, 'linux.mountLabel', 'selinux', 'SELinux');
  lsmField(process?.apparmorProfile, 'process.apparmorProfile', 'apparmor', 'AppArmor');

  // Windows-only fields (config.md: user.username and process.commandLine are for Windows): runc and crun
  // never look at them on Linux.
  if (process?.user.username) planned.notes.push(`process.user.username ${process.user.username} ignored: it is for Windows`);
  if (process?.commandLine) planned.notes.push('process.commandLine ignored: it is for Windows');

  const resources = linux.resources ?? {};
  // runc's validator: "invalid configuration: cannot use unified on cgroup v1" unless the host is pure cgroup2
  // (a hybrid host counts as v1); runc's specconv drops an empty map first, so {} is no request.
  if (!isEmpty(resources.unified)) {
    if (!pureV2(host)) throw new RuntimeError('invalid-config', 'config.json: linux.resources.unified: invalid configuration: cannot use unified on cgroup v1');
    for (const key of Object.keys(resources.unified!)) {
      // A file of the container's own cgroup directory, nothing else (runc: "unified resource ... must not contain '/'").
      if (key.includes('/') || key.startsWith('.') || !key.includes('.')) {
        throw new RuntimeError('invalid-config', `config.json: linux.resources.unified: ${key} is not a cgroup file name`);
      }
    }
    planned.unified = { ...resources.unified };
  }
  planned.resources = planControllerResources(resources, host, planned.notes);

  // runc 1.2's validator: "intelRdt is specified in config, but Intel RDT is not supported or enabled" when
  // /sys/fs/resctrl is not there. Where it is, shim does not make resctrl groups: refused, never ignored, since a
  // cache or bandwidth allocation the caller asked for would silently not hold.
  if (!isEmpty(linux.intelRdt)) {
    if (!host.resctrl) throw new RuntimeError('unsupported', 'config.json: linux.intelRdt: intelRdt is specified in config, but Intel RDT is not supported or enabled');
    throw new RuntimeError('unsupported', 'config.json: linux.intelRdt is not supported yet (this host has resctrl, and shim does not make its groups)');
  }

  if (linux.memoryPolicy) planned.memoryPolicy = planMemoryPolicy(linux.memoryPolicy);
  planned.timeOffsets = planTimeOffsets(config, host);
  planned.netDevices = planNetDevices(config);
  return planned;
}

/**
 * hugepageLimits, network and rdma, as runc decides per backend:
 * - cgroup v1 (and a hybrid host, whose limits are all v1): written where the controller's hierarchy is mounted;
 *   where it is not, runc's fs manager fails with "cannot set <controller> limit: container could not join or
 *   create cgroup", and so does shim.
 * - pure cgroup v2: hugetlb and rdma are written (the manager fails, naming the controller, where the kernel has
 *   not got it); network is ignored, as runc's fs2 never looks at it (v2 has no net_cls or net_prio), with a note.
 */
function planControllerResources(resources: NonNullable<OciConfig['linux']>['resources'] & object, host: HostFacts, notes: string[]): OtherFields['resources'] {
  const planned: NonNullable<OtherFields['resources']> = {};
  const v2 = pureV2(host);
  const needV1 = (field: string, controller: string) => {
    if (!v2 && !hasController(host, controller)) {
      throw new RuntimeError('unsupported', `config.json: linux.resources.${field}: cannot set ${controller} limit: container could not join or create cgroup (this host has no ${controller} hierarchy mounted)`);
    }
  };
  if (!isEmpty(resources.hugepageLimits)) {
    needV1('hugepageLimits', 'hugetlb');
    planned.hugepageLimits = resources.hugepageLimits!.map(({ pageSize, limit }, index) => {
      // The page size is part of a file name (hugetlb.2MB.max): runc takes it as given; shim keeps it a size.
      if (!/^\d+[KMG]B$/.test(pageSize)) throw new RuntimeError('invalid-config', `config.json: linux.resources.hugepageLimits[${index}].pageSize ${pageSize} is not a page size like 2MB`);
      if (!Number.isInteger(limit) || limit < 0) throw new RuntimeError('invalid-config', `config.json: linux.resources.hugepageLimits[${index}].limit ${limit} is not a whole number of bytes`);
      return { pageSize, limit };
    });
  }
  const network = resources.network;
  if (network && (network.classID || !isEmpty(network.priorities))) {
    if (v2) notes.push('linux.resources.network ignored: cgroup v2 has no net_cls or net_prio controller (as runc)');
    else {
      if (network.classID) {
        needV1('network.classID', 'net_cls');
        if (!Number.isInteger(network.classID) || network.classID < 0 || network.classID > 0xffffffff) {
          throw new RuntimeError('invalid-config', `config.json: linux.resources.network.classID ${network.classID} is not a 32-bit class id`);
        }
        planned.netClassId = network.classID;
      }
      if (!isEmpty(network.priorities)) {
        needV1('network.priorities', 'net_prio');
        planned.netPriorities = network.priorities!.map(({ name, priority }, index) => {
          if (!validDeviceName(name) || !Number.isInteger(priority) || priority < 0) {
            throw new RuntimeError('invalid-config', `config.json: linux.resources.network.priorities[${index}]: ${name} ${priority} is not an interface and a priority`);
          }
          return { name, priority };
        });
      }
    }
  }
  if (!isEmpty(resources.rdma)) {
    needV1('rdma', 'rdma');
    planned.rdma = {};
    for (const [device, limits] of Object.entries(resources.rdma!)) {
      // runc's createCmdString: "hca_handle=N hca_object=N", each only when given.
      const { hcaHandles, hcaObjects } = (limits ?? {}) as { hcaHandles?: unknown; hcaObjects?: unknown };
      const parts: string[] = [];
      for (const [key, value] of [['hca_handle', hcaHandles], ['hca_object', hcaObjects]] as const) {
        if (value === undefined || value === null) continue;
        if (!Number.isInteger(value) || (value as number) < 0) throw new RuntimeError('invalid-config', `config.json: linux.resources.rdma.${device}: ${key} ${String(value)} is not a count`);
        parts.push(`${key}=${value as number}`);
      }
      if (!validDeviceName(device) || parts.length === 0) throw new RuntimeError('invalid-config', `config.json: linux.resources.rdma.${device}: needs a device name and hcaHandles or hcaObjects`);
      planned.rdma[device] = parts.join(' ');
    }
  }
  return Object.keys(planned).length > 0 ? planned : undefined;
}

/** linux.memoryPolicy in runc 1.4's words (specconv, then the validator's node counts). */
export function planMemoryPolicy(policy: NonNullable<NonNullable<OciConfig['linux']>['memoryPolicy']>): OtherFields['memoryPolicy'] {
  const invalid = (text: string) => new RuntimeError('invalid-config', `config.json: linux.memoryPolicy: ${text}`);
  const mode = MPOL_MODES[policy.mode];
  if (mode === undefined) throw invalid(`invalid memory policy mode "${policy.mode}"`);
  let nodes: string | undefined;
  try {
    nodes = cpuListMask(policy.nodes ?? '');
  } catch (error) {
    throw invalid(`invalid memory policy nodes "${policy.nodes}": ${(error as Error).message}`);
  }
  let flags = 0;
  for (const flag of policy.flags ?? []) {
    const bit = MPOL_FLAGS[flag];
    if (bit === undefined) throw invalid(`invalid memory policy flag "${flag}"`);
    flags |= bit;
  }
  const count = nodes ? [...Buffer.from(nodes, 'base64')].reduce((sum, byte) => sum + bitCount(byte), 0) : 0;
  if ((policy.mode === 'MPOL_DEFAULT' || policy.mode === 'MPOL_LOCAL') && count !== 0) throw invalid(`memory policy mode requires 0 nodes but got ${count}`);
  if (['MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_PREFERRED_MANY', 'MPOL_WEIGHTED_INTERLEAVE'].includes(policy.mode) && count === 0) {
    throw invalid('memory policy mode requires at least one node but got 0');
  }
  return { mode: mode | flags, nodes: nodes ?? '' };
}

function bitCount(byte: number): number {
  let count = 0;
  for (let b = byte; b; b &= b - 1) count++;
  return count;
}

/**
 * linux.timeOffsets, with runc 1.2's checks: a new time namespace must be asked for (one joined by path brings
 * its own offsets), and the kernel must have time namespaces. Only the two clocks the kernel offsets.
 */
function planTimeOffsets(config: OciConfig, host: HostFacts): string | undefined {
  const offsets = config.linux?.timeOffsets;
  const time = config.linux?.namespaces?.find((ns) => ns.type === 'time');
  if (time && host.timeNamespaces === false) throw new RuntimeError('unsupported', 'config.json: linux.namespaces: time namespaces aren\'t enabled in the kernel');
  if (offsets === undefined || offsets === null) return undefined;
  if (!time) throw new RuntimeError('invalid-config', 'config.json: linux.timeOffsets: time namespace offsets specified, but time namespace isn\'t enabled in the config');
  if (time.path) throw new RuntimeError('invalid-config', 'config.json: linux.timeOffsets: time namespace enabled, but both namespace path and time offsets specified -- you may only provide one');
  let text = '';
  for (const [clock, value] of Object.entries(offsets)) {
    if (clock !== 'monotonic' && clock !== 'boottime') throw new RuntimeError('invalid-config', `config.json: linux.timeOffsets.${clock}: only monotonic and boottime have offsets`);
    const { secs = 0, nanosecs = 0 } = (value ?? {}) as { secs?: unknown; nanosecs?: unknown };
    if (!Number.isSafeInteger(secs) || !Number.isInteger(nanosecs) || (nanosecs as number) < 0 || (nanosecs as number) > 999_999_999) {
      throw new RuntimeError('invalid-config', `config.json: linux.timeOffsets.${clock}: secs must be a whole number and nanosecs 0..999999999`);
    }
    text += `${clock} ${secs as number} ${nanosecs as number}\n`;
  }
  return text || undefined;
}

/**
 * linux.netDevices (runtime-spec 1.2) with runc 1.3's validator: a new network namespace to move them into,
 * a root runtime, names the kernel takes; two devices must not end up with one name.
 */
function planNetDevices(config: OciConfig): OtherFields['netDevices'] {
  const devices = config.linux?.netDevices;
  if (isEmpty(devices)) return undefined;
  const net = config.linux?.namespaces?.find((ns) => ns.type === 'network');
  if (!net) throw new RuntimeError('invalid-config', 'config.json: linux.netDevices: unable to move network devices without a NET namespace');
  const planned: { hostName: string; name: string }[] = [];
  for (const [hostName, value] of Object.entries(devices!)) {
    if (!validDeviceName(hostName)) throw new RuntimeError('invalid-config', `config.json: linux.netDevices: invalid network device name "${hostName}"`);
    const wanted = (value ?? {}) as { name?: unknown };
    if (wanted.name !== undefined && typeof wanted.name !== 'string') throw new RuntimeError('invalid-config', `config.json: linux.netDevices.${hostName}.name must be a string`);
    const name = wanted.name || hostName;
    if (!validDeviceName(name)) throw new RuntimeError('invalid-config', `config.json: linux.netDevices: invalid network device name "${name}"`);
    if (planned.some((device) => device.name === name)) throw new RuntimeError('invalid-config', `config.json: linux.netDevices: two devices would be named ${name} in the container`);
    planned.push({ hostName, name });
  }
  return planned;
}
