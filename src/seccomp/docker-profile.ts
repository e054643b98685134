// docker's and containers-common's seccomp profile files (`--security-opt seccomp=FILE`,
// /usr/share/containers/seccomp.json) -> linux.seccomp, the way docker and podman write it into config.json:
// archMap picks the host's arch and its sub-arches; a rule stays only if the container holds every
// capability in includes.caps and none in excludes.caps, and the host's arch passes includes/excludes.arches
// (Go's arch names: amd64, arm64, ...); includes.minKernel is compared with the running kernel.

import { RuntimeError } from '../errors.js';
import type { ArchFamily } from './archs.js';
import type { OciSeccomp, OciSeccompArg } from './profile.js';

interface DockerFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

interface DockerSyscall {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: OciSeccompArg[] | null;
  comment?: string;
  includes?: DockerFilter;
  excludes?: DockerFilter;
}

export interface DockerProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: DockerSyscall[];
}

/** A docker-format file has archMap, or rules with includes/excludes; linux.seccomp has neither. */
export function isDockerProfile(raw: Record<string, unknown>): boolean {
  if ('archMap' in raw) return true;
  return Array.isArray(raw.syscalls) && raw.syscalls.some((rule) => typeof rule === 'object' && rule !== null && ('includes' in rule || 'excludes' in rule || 'name' in rule));
}

const GO_ARCH: Record<ArchFamily, string> = { x86_64: 'amd64', aarch64: 'arm64' };
const NATIVE_SCMP: Record<ArchFamily, string> = { x86_64: 'SCMP_ARCH_X86_64', aarch64: 'SCMP_ARCH_AARCH64' };

export interface DockerProfileContext {
  family: ArchFamily;
  /** The container's capabilities (its bounding set), CAP_* names. */
  capabilities: readonly string[];
  /** `uname -r` of the host, for includes.minKernel. */
  kernelRelease: string;
}

export function dockerProfileToOci(profile: DockerProfile, context: DockerProfileContext, where = 'seccomp profile'): OciSeccomp {
  checkDockerShapes(profile, where);
  const goArch = GO_ARCH[context.family];
  let architectures = profile.architectures ?? [];
  for (const entry of profile.archMap ?? []) {
    if (entry.architecture === NATIVE_SCMP[context.family]) architectures = [entry.architecture, ...(entry.subArchitectures ?? [])];
  }
  const syscalls: NonNullable<OciSeccomp['syscalls']> = [];
  for (const rule of profile.syscalls ?? []) {
    const includes = rule.includes ?? {};
    const excludes = rule.excludes ?? {};
    if ((includes.caps ?? []).some((cap) => !context.capabilities.includes(cap))) continue;
    if ((excludes.caps ?? []).some((cap) => context.capabilities.includes(cap))) continue;
    if ((includes.arches ?? []).length > 0 && !includes.arches!.includes(goArch)) continue;
    if ((excludes.arches ?? []).includes(goArch)) continue;
    if (includes.minKernel && compareKernel(context.kernelRelease, includes.minKernel) < 0) continue;
    const names = rule.names ?? (rule.name ? [rule.name] : []);
    syscalls.push({
      names,
      action: rule.action,
      ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}),
      ...(rule.args && rule.args.length > 0 ? { args: rule.args } : {}),
    });
  }
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    ...(architectures.length > 0 ? { architectures } : {}),
    ...(profile.flags ? { flags: profile.flags } : {}),
    ...(profile.listenerPath ? { listenerPath: profile.listenerPath } : {}),
    ...(profile.listenerMetadata ? { listenerMetadata: profile.listenerMetadata } : {}),
    syscalls,
  };
}

/**
 * The docker format's own fields (archMap, name, includes, excludes) are read here before readSeccompProfile
 * sees the result, so their shapes are checked here: a profile file is untrusted input, and a wrong shape must
 * be one line naming the field, not a TypeError. The fields both formats share (actions, args, errnoRet) are
 * left to readSeccompProfile, which names them in the converted profile.
 */
function checkDockerShapes(profile: DockerProfile, where: string): void {
  const invalid = (field: string, want: string) => new RuntimeError('invalid-config', `${where}: ${field} must be ${want}`);
  const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  const stringList = (value: unknown, field: string) => {
    if (value === undefined || value === null) return;
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw invalid(field, 'an array of strings');
  };
  if (!isObject(profile)) throw new RuntimeError('invalid-config', `${where} must be an object`);
  if (profile.archMap !== undefined && profile.archMap !== null) {
    if (!Array.isArray(profile.archMap)) throw invalid('archMap', 'an array');
    profile.archMap.forEach((entry, index) => {
      if (!isObject(entry) || typeof entry.architecture !== 'string') throw invalid(`archMap[${index}]`, 'an object with an architecture');
      stringList(entry.subArchitectures, `archMap[${index}].subArchitectures`);
    });
  }
  stringList(profile.architectures, 'architectures');
  stringList(profile.flags, 'flags');
  if (profile.syscalls === undefined || profile.syscalls === null) return;
  if (!Array.isArray(profile.syscalls)) throw invalid('syscalls', 'an array');
  profile.syscalls.forEach((rule, index) => {
    const field = `syscalls[${index}]`;
    if (!isObject(rule)) throw invalid(field, 'an object');
    stringList(rule.names, `${field}.names`);
    if (rule.name !== undefined && typeof rule.name !== 'string') throw invalid(`${field}.name`, 'a string');
    if (rule.args !== undefined && rule.args !== null && !Array.isArray(rule.args)) throw invalid(`${field}.args`, 'an array');
    for (const filter of ['includes', 'excludes'] as const) {
      const value: unknown = rule[filter];
      if (value === undefined || value === null) continue;
      if (!isObject(value)) throw invalid(`${field}.${filter}`, 'an object');
      stringList(value.caps, `${field}.${filter}.caps`);
      stringList(value.arches, `${field}.${filter}.arches`);
      if (value.minKernel !== undefined && typeof value.minKernel !== 'string') throw invalid(`${field}.${filter}.minKernel`, 'a kernel version string');
    }
  });
}

function compareKernel(release: string, minimum: string): number {
  const parse = (text: string) => (/^(\d+)\.(\d+)/.exec(text) ?? [, '0', '0']).slice(1, 3).map(Number) as [number, number];
  const [major, minor] = parse(release);
  const [wantMajor, wantMinor] = parse(minimum);
  return major !== wantMajor ? major - wantMajor : minor - wantMinor;
}
