// docker run's security and filesystem flags (--user, --cap-add/--cap-drop, --privileged, --read-only,
// --tmpfs, --ulimit), applied to the OCI config planDockerConfig made. Pure: the host facts it needs (the
// last capability, the host's device nodes for --privileged) come in as arguments.

import { RuntimeError } from '../errors.js';
import { CAPABILITY_NUMBERS, RLIMIT_NUMBERS } from './kernel-constants.js';
import type { OciConfig, OciDevice } from './oci-config.js';

export interface DockerRunFlags {
  /** -u, resolved to ids (resolveUser in images.ts). */
  user?: { uid: number; gid: number; additionalGids?: number[] | undefined } | undefined;
  /** --group-add, resolved to GIDs: added to the user's own groups. */
  groupAdd?: number[] | undefined;
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  readOnly: boolean;
  /** --tmpfs PATH[:OPTIONS]. */
  tmpfs: string[];
  /** --ulimit NAME=SOFT[:HARD]. */
  ulimits: string[];
}

export interface PrivilegedHost {
  /** /proc/sys/kernel/cap_last_cap. */
  capLast: number;
  /**
   * The capabilities this process may hand on (its bounding set, CapBnd in /proc/self/status), bit N for
   * capability N; undefined: all up to capLast. A capability outside it cannot be raised by anyone here
   * (capset fails with EPERM), so --privileged means every one of these, as podman's does.
   */
  bounding?: bigint | undefined;
  /** The host's device nodes (--privileged gives the container all of them). */
  devices: OciDevice[];
}

export function hasDockerRunFlags(flags: DockerRunFlags): boolean {
  return flags.user !== undefined || (flags.groupAdd?.length ?? 0) > 0 || flags.capAdd.length > 0 || flags.capDrop.length > 0 || flags.privileged || flags.readOnly ||
    flags.tmpfs.length > 0 || flags.ulimits.length > 0;
}

export function applyDockerRunFlags(config: OciConfig, flags: DockerRunFlags, host?: PrivilegedHost): OciConfig {
  const process = config.process!;
  // -u replaces the image's user with its own groups (docker's); --group-add adds to whichever user it is.
  if (flags.user) process.user = { ...process.user, uid: flags.user.uid, gid: flags.user.gid, additionalGids: flags.user.additionalGids };
  if (flags.groupAdd?.length) {
    const user = process.user ?? { uid: 0, gid: 0 };
    process.user = { ...user, additionalGids: [...new Set([...(user.additionalGids ?? []), ...flags.groupAdd])] };
  }
  if (process.user && !process.user.additionalGids?.length) delete process.user.additionalGids;
  if (flags.privileged) {
    if (!host) throw new RuntimeError('system', '--privileged: the host facts were not read');
    applyPrivileged(config, host);
  }
  if (flags.capAdd.length > 0 || flags.capDrop.length > 0) {
    const all = Object.keys(CAPABILITY_NUMBERS).filter((name) => host === undefined || CAPABILITY_NUMBERS[name]! <= host.capLast);
    let caps = new Set(process.capabilities?.bounding ?? []);
    for (const name of flags.capDrop.map(capabilityName)) {
      if (name === 'ALL') caps = new Set();
      else caps.delete(name);
    }
    for (const name of flags.capAdd.map(capabilityName)) {
      if (name === 'ALL') for (const cap of all) caps.add(cap);
      else caps.add(name);
    }
    const list = [...caps];
    process.capabilities = { bounding: list, effective: [...list], permitted: [...list] };
  }
  if (flags.readOnly) config.root = { ...config.root!, readonly: true };
  for (const value of flags.tmpfs) config.mounts!.push(planTmpfs(value));
  for (const value of flags.ulimits) {
    const rlimit = parseUlimit(value);
    process.rlimits = [...(process.rlimits ?? []).filter((existing) => existing.type !== rlimit.type), rlimit];
  }
  return config;
}

/** NET_ADMIN, net_admin, CAP_NET_ADMIN -> CAP_NET_ADMIN; ALL stays ALL. */
export function capabilityName(value: string): string {
  const upper = value.toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (CAPABILITY_NUMBERS[name] === undefined) {
    throw new RuntimeError('usage', `unknown capability ${value}`, { hint: 'names as in capabilities(7), e.g. NET_ADMIN or CAP_SYS_PTRACE' });
  }
  return name;
}

/**
 * docker's --privileged, all but seccomp: every capability, no masked or read-only /proc paths, /sys and the
 * cgroup mount writable, every host device node made and allowed.
 */
function applyPrivileged(config: OciConfig, host: PrivilegedHost): void {
  const all = Object.keys(CAPABILITY_NUMBERS).filter((name) => CAPABILITY_NUMBERS[name]! <= host.capLast &&
    (host.bounding === undefined || ((host.bounding >> BigInt(CAPABILITY_NUMBERS[name]!)) & 1n) === 1n));
  config.process!.capabilities = { bounding: [...all], effective: [...all], permitted: [...all] };
  config.process!.noNewPrivileges = false;
  const linux = (config.linux ??= {});
  linux.maskedPaths = [];
  linux.readonlyPaths = [];
  linux.devices = host.devices;
  linux.resources = { ...linux.resources, devices: [{ allow: true, access: 'rwm' }] };
  for (const mount of config.mounts ?? []) {
    if (mount.type === 'sysfs' || mount.type === 'cgroup') mount.options = (mount.options ?? []).filter((option) => option !== 'ro');
  }
  // Hook for the seccomp branch: --privileged runs with no seccomp filter (docker's "unconfined"); that
  // branch clears the filter here, e.g. `linux.seccomp = undefined`.
}

/** --tmpfs /run or /run:rw,size=64m,mode=1777, with docker's defaults in front (noexec, nosuid, nodev). */
export function planTmpfs(value: string) {
  const colon = value.indexOf(':');
  const destination = colon === -1 ? value : value.slice(0, colon);
  const options = colon === -1 ? [] : value.slice(colon + 1).split(',').filter(Boolean);
  if (!destination.startsWith('/')) throw new RuntimeError('usage', `--tmpfs ${value}: the path must be absolute`, { hint: '--tmpfs /tmp or --tmpfs /tmp:size=64m' });
  return { destination, type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', ...options] };
}

/** --ulimit nofile=1024:2048, nproc=512 (soft = hard when one number), unlimited or -1 for no limit. */
export function parseUlimit(value: string) {
  const match = /^([a-z_]+)=(-?\d+|unlimited)(?::(-?\d+|unlimited))?$/i.exec(value);
  if (!match) throw new RuntimeError('usage', `--ulimit ${value}: expected NAME=SOFT[:HARD]`, { hint: 'e.g. --ulimit nofile=1024:2048' });
  const type = `RLIMIT_${match[1]!.toUpperCase()}`;
  if (RLIMIT_NUMBERS[type] === undefined) throw new RuntimeError('usage', `--ulimit ${value}: unknown limit ${match[1]}`, { hint: 'nofile, nproc, core, memlock, stack, ...' });
  const number = (text: string) => (text === 'unlimited' || text === '-1' ? -1 : Number(text));
  const soft = number(match[2]!);
  const hard = match[3] === undefined ? soft : number(match[3]);
  if (hard !== -1 && (soft === -1 || soft > hard)) throw new RuntimeError('usage', `--ulimit ${value}: the soft limit is above the hard one`);
  return { type, soft, hard };
}

export type RestartPolicy = { name: 'no' } | { name: 'always' } | { name: 'unless-stopped' } | { name: 'on-failure'; maximum: number };

/** --restart no | on-failure[:N] | always | unless-stopped. */
export function parseRestartPolicy(value: string): RestartPolicy {
  const match = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(value);
  if (!match || (match[2] !== undefined && match[1] !== 'on-failure')) {
    throw new RuntimeError('usage', `--restart ${value}: expected no, on-failure[:N], always or unless-stopped`);
  }
  if (match[1] === 'on-failure') return { name: 'on-failure', maximum: match[2] === undefined ? 0 : Number(match[2]) };
  return { name: match[1] as 'no' | 'always' | 'unless-stopped' };
}

/** docker's --env-file: KEY=VALUE lines; # comments and blank lines skipped; a bare KEY takes the caller's. */
export function parseEnvFile(text: string, path: string): string[] {
  const entries: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.replace(/^\s+/, '');
    if (trimmed === '' || trimmed.startsWith('#')) return;
    if (trimmed.startsWith('=')) throw new RuntimeError('usage', `--env-file ${path}:${index + 1}: no variable name`);
    entries.push(trimmed);
  });
  return entries;
}

/** --label KEY=VALUE (or KEY, with an empty value). */
export function parseLabels(values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const value of values) {
    const equals = value.indexOf('=');
    if (equals === 0) throw new RuntimeError('usage', `--label ${value}: no key`);
    labels[equals === -1 ? value : value.slice(0, equals)] = equals === -1 ? '' : value.slice(equals + 1);
  }
  return labels;
}

/** The stop signal as a name (SIGTERM); numbers and names without SIG are accepted. */
export function checkStopSignal(value: string, parse: (text: string) => number): string {
  parse(value);
  return /^\d+$/.test(value) ? value : value.toUpperCase().startsWith('SIG') ? value.toUpperCase() : `SIG${value.toUpperCase()}`;
}
