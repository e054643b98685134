// The config fields beyond the core that real callers send, each taken or refused as runc (1.1, and 1.2+ where
// it added the field) and crun do, with the source of each decision beside it. Pure: the host's facts come in.
// What is ignored is said with --debug (ContainerPlan.notes), never silently.

import { RuntimeError } from '../errors.js';
import type { CgroupHierarchy, HostFacts, PlannedScheduler } from './container-plan.js';
import type { OciConfig } from './oci-config.js';

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
  // A limit for a controller the host does not have: runc fails its write with "cannot set <controller> limit:
  // container could not join or create cgroup". Where the controller exists, shim does not write it yet.
  const controllerLimit = (value: unknown, field: string, controllers: string[], runcName: string) => {
    if (isEmpty(value)) return;
    if (!controllers.some((controller) => hasController(host, controller))) {
      throw new RuntimeError('unsupported', `config.json: linux.resources.${field}: cannot set ${runcName} limit: container could not join or create cgroup (this host has no ${controllers.join(' or ')} controller)`);
    }
    throw new RuntimeError('unsupported', `config.json: linux.resources.${field} is not supported yet`);
  };
  controllerLimit(resources.hugepageLimits, 'hugepageLimits', ['hugetlb'], 'hugetlb');
  controllerLimit(resources.network?.classID, 'network.classID', ['net_cls'], 'net_cls');
  controllerLimit(resources.network?.priorities, 'network.priorities', ['net_prio'], 'net_prio');
  controllerLimit(resources.rdma, 'rdma', ['rdma'], 'rdma');

  // runc 1.2's validator: "intelRdt is specified in config, but Intel RDT is not supported or enabled" when
  // /sys/fs/resctrl is not there. Where it is, shim does not make resctrl groups yet.
  if (!isEmpty(linux.intelRdt)) {
    if (!host.resctrl) throw new RuntimeError('unsupported', 'config.json: linux.intelRdt: intelRdt is specified in config, but Intel RDT is not supported or enabled');
    throw new RuntimeError('unsupported', 'config.json: linux.intelRdt is not supported yet');
  }
  return planned;
}
