// Checks a parsed config.json against what this runtime implements. A field we know but do not implement is
// refused by name ("config.json: linux.seccomp is not supported yet") when it carries anything; a field the
// spec does not define is ignored as the spec requires, but with a warning, so nothing is dropped silently.

import { RuntimeError } from '../errors.js';
import type { OciConfig } from './oci-config.js';

type Rule =
  | 'string'
  | 'boolean'
  | 'number'
  | 'string[]'
  | 'number[]'
  | 'string-map'
  /** A number, or the decimal digits of an integer beyond 2^53 (parseOciConfigText keeps those exact). */
  | 'uint64'
  /** Known to the spec, not implemented: refused unless empty. */
  | 'refuse'
  /** Known to the spec; taken or refused by the planner, which knows the host (src/plan/other-fields.ts). */
  | 'planner'
  | { object: Schema }
  | { array: Schema };

type Schema = Record<string, Rule>;

const USER: Schema = {
  uid: 'number',
  gid: 'number',
  umask: 'number',
  additionalGids: 'number[]',
  // Windows only (config.md); noted with --debug (other-fields.ts).
  username: 'string',
};

const CAPABILITIES: Schema = {
  bounding: 'string[]',
  effective: 'string[]',
  inheritable: 'string[]',
  permitted: 'string[]',
  ambient: 'string[]',
};

const PROCESS: Schema = {
  terminal: 'boolean',
  consoleSize: { object: { height: 'number', width: 'number' } },
  user: { object: USER },
  args: 'string[]',
  // Windows only; noted with --debug.
  commandLine: 'string',
  env: 'string[]',
  cwd: 'string',
  capabilities: { object: CAPABILITIES },
  rlimits: { array: { type: 'string', soft: 'number', hard: 'number' } },
  noNewPrivileges: 'boolean',
  // Ignored on a host without AppArmor, as crun; refused where it is (other-fields.ts).
  apparmorProfile: 'string',
  oomScoreAdj: 'number',
  // runtime-spec 1.2; runc 1.2 and crun apply both in the init (src/plan/other-fields.ts).
  scheduler: {
    object: { policy: 'string', nice: 'number', priority: 'number', flags: 'string[]', runtime: 'number', deadline: 'number', period: 'number' },
  },
  selinuxLabel: 'string',
  ioPriority: { object: { class: 'string', priority: 'number' } },
  // runtime-spec 1.2: for exec'd processes only, as runc 1.2 (other-fields.ts, plan-exec.ts).
  execCPUAffinity: { object: { initial: 'string', final: 'string' } },
};

const RESOURCES: Schema = {
  devices: { array: { allow: 'boolean', type: 'string', major: 'number', minor: 'number', access: 'string' } },
  memory: {
    object: {
      limit: 'number', reservation: 'number', swap: 'number', swappiness: 'number', disableOOMKiller: 'boolean',
      kernel: 'refuse', kernelTCP: 'refuse', useHierarchy: 'refuse', checkBeforeUpdate: 'refuse',
    },
  },
  cpu: {
    object: {
      shares: 'number', quota: 'number', period: 'number', cpus: 'string', mems: 'string',
      burst: 'refuse', realtimeRuntime: 'refuse', realtimePeriod: 'refuse', idle: 'refuse',
    },
  },
  // Only the weight: the per-device weights and throttles are not implemented.
  blockIO: {
    object: {
      weight: 'number', leafWeight: 'refuse', weightDevice: 'refuse', throttleReadBpsDevice: 'refuse',
      throttleWriteBpsDevice: 'refuse', throttleReadIOPSDevice: 'refuse', throttleWriteIOPSDevice: 'refuse',
    },
  },
  // Refused in runc's words where the host has no such controller (other-fields.ts).
  hugepageLimits: { array: { pageSize: 'string', limit: 'number' } },
  network: { object: { classID: 'number', priorities: { array: { name: 'string', priority: 'number' } } } },
  pids: { object: { limit: 'number' } },
  rdma: 'planner',
  // Pure cgroup v2: written into the container's cgroup; elsewhere runc's "cannot use unified on cgroup v1".
  unified: 'string-map',
};

/** One line of a uid_map or gid_map (linux.uidMappings, mounts[].uidMappings). */
const ID_MAPPING: Schema = { containerID: 'number', hostID: 'number', size: 'number' };

const LINUX: Schema = {
  namespaces: { array: { type: 'string', path: 'string' } },
  uidMappings: { array: ID_MAPPING },
  gidMappings: { array: ID_MAPPING },
  // runtime-spec 1.2: { monotonic|boottime: { secs, nanosecs } }, checked by other-fields.ts.
  timeOffsets: 'planner',
  devices: {
    array: { type: 'string', path: 'string', major: 'number', minor: 'number', fileMode: 'number', uid: 'number', gid: 'number' },
  },
  // runtime-spec 1.2: { hostName: { name } }, checked by other-fields.ts, moved by src/network/net-devices.ts.
  netDevices: 'planner',
  cgroupsPath: 'string',
  resources: { object: RESOURCES },
  intelRdt: 'planner',
  sysctl: 'string-map',
  // Checked field by field by readSeccompProfile (src/seccomp/profile.ts) when planned.
  seccomp: { object: { defaultAction: 'string', defaultErrnoRet: 'number', architectures: 'string[]', flags: 'string[]', listenerPath: 'string', listenerMetadata: 'string', syscalls: { array: { names: 'string[]', action: 'string', errnoRet: 'number', comment: 'string', args: { array: { index: 'number', value: 'uint64', valueTwo: 'uint64', op: 'string' } } } } } },
  rootfsPropagation: 'string',
  maskedPaths: 'string[]',
  readonlyPaths: 'string[]',
  mountLabel: 'string',
  personality: { object: { domain: 'string', flags: 'string[]' } },
  // runtime-spec 1.2, set_mempolicy(2) as runc 1.4 (other-fields.ts).
  memoryPolicy: { object: { mode: 'string', nodes: 'string', flags: 'string[]' } },
};

const HOOK: Schema = { path: 'string', args: 'string[]', env: 'string[]', timeout: 'number' };

const CONFIG: Schema = {
  ociVersion: 'string',
  root: { object: { path: 'string', readonly: 'boolean' } },
  mounts: {
    array: { destination: 'string', source: 'string', type: 'string', options: 'string[]', uidMappings: { array: ID_MAPPING }, gidMappings: { array: ID_MAPPING } },
  },
  process: { object: PROCESS },
  hostname: 'string',
  domainname: 'string',
  // Each kind is run where and when runtime-spec 1.3 says (src/hooks/oci-hooks.ts); paths and timeouts are checked there.
  hooks: {
    object: {
      prestart: { array: HOOK },
      createRuntime: { array: HOOK },
      createContainer: { array: HOOK },
      startContainer: { array: HOOK },
      poststart: { array: HOOK },
      poststop: { array: HOOK },
    },
  },
  annotations: 'string-map',
  linux: { object: LINUX },
  solaris: 'refuse',
  windows: 'refuse',
  vm: 'refuse',
  zos: 'refuse',
};

export interface ReadConfigResult {
  config: OciConfig;
  /** Fields the spec does not define, ignored. */
  warnings: string[];
}

/**
 * Validates a parsed config.json (pure). `source` names it in messages ("config.json"). Throws RuntimeError
 * 'invalid-config' or 'unsupported'.
 */
export function readOciConfig(raw: unknown, source = 'config.json'): ReadConfigResult {
  const warnings: string[] = [];
  if (!isPlainObject(raw)) throw invalid(source, '', 'must be a JSON object');
  checkObject(raw, CONFIG, '', source, warnings);
  const config = raw as unknown as OciConfig;
  checkVersion(config.ociVersion, source);
  if (!config.root || typeof config.root.path !== 'string' || config.root.path === '') {
    throw invalid(source, 'root.path', 'is required');
  }
  if (config.process) {
    if (!config.process.user) throw invalid(source, 'process.user', 'is required');
    if (typeof config.process.cwd !== 'string') throw invalid(source, 'process.cwd', 'is required');
  }
  for (const [index, rule] of (config.linux?.resources?.devices ?? []).entries()) {
    if (typeof rule.allow !== 'boolean') throw invalid(source, `linux.resources.devices[${index}].allow`, 'is required');
  }
  return { config, warnings };
}

function checkVersion(version: string | undefined, source: string): void {
  if (typeof version !== 'string') throw invalid(source, 'ociVersion', 'is required');
  // 1.0.2-dev (what runc 1.1 writes) and 1.3.0 are in; 1.4 may change what fields mean.
  if (!/^1\.[0-3]\.\d+(?:[-+].*)?$/.test(version)) {
    throw new RuntimeError('unsupported', `${source}: ociVersion ${version} is not supported (1.0.x to 1.3.x are)`);
  }
}

function checkObject(value: Record<string, unknown>, schema: Schema, path: string, source: string, warnings: string[]): void {
  for (const [key, child] of Object.entries(value)) {
    const childPath = path ? `${path}.${key}` : key;
    const rule = schema[key];
    if (rule === undefined) {
      warnings.push(`${source}: unknown field ${childPath} ignored`);
      continue;
    }
    checkValue(child, rule, childPath, source, warnings);
  }
}

function checkValue(value: unknown, rule: Rule, path: string, source: string, warnings: string[]): void {
  if (value === undefined || value === null) return;
  if (rule === 'planner') {
    if (!isPlainObject(value)) throw invalid(source, path, 'must be an object');
    return;
  }
  if (rule === 'refuse') {
    if (!isEmpty(value)) throw new RuntimeError('unsupported', `${source}: ${path} is not supported yet`);
    return;
  }
  if (typeof rule === 'object') {
    if ('object' in rule) {
      if (!isPlainObject(value)) throw invalid(source, path, 'must be an object');
      checkObject(value, rule.object, path, source, warnings);
    } else {
      if (!Array.isArray(value)) throw invalid(source, path, 'must be an array');
      value.forEach((item, index) => {
        if (!isPlainObject(item)) throw invalid(source, `${path}[${index}]`, 'must be an object');
        checkObject(item, rule.array, `${path}[${index}]`, source, warnings);
      });
    }
    return;
  }
  switch (rule) {
    case 'string':
      if (typeof value !== 'string') throw invalid(source, path, 'must be a string');
      return;
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(source, path, 'must be true or false');
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(source, path, 'must be a number');
      return;
    case 'string[]':
      if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
        throw invalid(source, path, 'must be an array of strings');
      }
      return;
    case 'number[]':
      if (!Array.isArray(value) || value.some((item) => typeof item !== 'number')) {
        throw invalid(source, path, 'must be an array of numbers');
      }
      return;
    case 'uint64':
      if (!(typeof value === 'number' && Number.isFinite(value)) && !(typeof value === 'string' && /^\d+$/.test(value))) {
        throw invalid(source, path, 'must be a number');
      }
      return;
    case 'string-map':
      if (!isPlainObject(value) || Object.values(value).some((item) => typeof item !== 'string')) {
        throw invalid(source, path, 'must be an object of strings');
      }
      return;
  }
}

/** Empty values carry no request: {}, [], "", false, 0, or objects of only those. */
function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === false || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isPlainObject(value)) return Object.values(value).every(isEmpty);
  return false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(source: string, path: string, problem: string): RuntimeError {
  return new RuntimeError('invalid-config', path ? `${source}: ${path} ${problem}` : `${source} ${problem}`);
}
