import type { OciHooks } from '../hooks/oci-hooks.js';
import type { OciSeccomp } from '../seccomp/profile.js';

// The part of the OCI runtime-spec config (config.json, 1.0–1.3) the planner reads. Fields the runtime does
// not implement are still named here so that readOciConfig can refuse them by name.

export interface OciConfig {
  ociVersion: string;
  process?: OciProcess;
  root?: OciRoot;
  hostname?: string;
  domainname?: string;
  mounts?: OciMount[];
  annotations?: Record<string, string>;
  linux?: OciLinux;
  hooks?: OciHooks;
}

export interface OciRoot {
  path: string;
  readonly?: boolean;
}

export interface OciProcess {
  terminal?: boolean;
  user: OciUser;
  args?: string[];
  env?: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  consoleSize?: { height: number; width: number };
  commandLine?: string;
  apparmorProfile?: string;
  selinuxLabel?: string;
  scheduler?: { policy: string; nice?: number; priority?: number; flags?: string[]; runtime?: number; deadline?: number; period?: number };
  ioPriority?: { class: string; priority: number };
  execCPUAffinity?: { initial?: string; final?: string };
}

export interface OciUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

export interface OciCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface OciRlimit {
  type: string;
  soft: number;
  hard: number;
}

export interface OciMount {
  destination: string;
  source?: string;
  type?: string;
  options?: string[];
  /** An idmapped mount: files owned by containerID on disk are seen as owned by hostID. */
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
}

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciNamespace {
  type: string;
  path?: string;
}

export interface OciDevice {
  type: string;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciDeviceRule {
  allow: boolean;
  type?: string;
  major?: number | null;
  minor?: number | null;
  access?: string;
}

export interface OciResources {
  devices?: OciDeviceRule[];
  memory?: { limit?: number; reservation?: number; swap?: number; swappiness?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit?: number };
  blockIO?: { weight?: number };
  unified?: Record<string, string>;
  hugepageLimits?: { pageSize: string; limit: number }[];
  network?: { classID?: number; priorities?: { name: string; priority: number }[] };
  rdma?: Record<string, unknown>;
}

export interface OciLinux {
  namespaces?: OciNamespace[];
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
  devices?: OciDevice[];
  cgroupsPath?: string;
  resources?: OciResources;
  sysctl?: Record<string, string>;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  personality?: { domain: string; flags?: string[] };
  memoryPolicy?: { mode: string; nodes?: string; flags?: string[] };
  timeOffsets?: Record<string, unknown>;
  netDevices?: Record<string, unknown>;
  mountLabel?: string;
  intelRdt?: Record<string, unknown>;
  seccomp?: OciSeccomp;
}

/** The namespace types of config-linux.md. */
export const OCI_NAMESPACE_TYPES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;
export type OciNamespaceType = (typeof OCI_NAMESPACE_TYPES)[number];
