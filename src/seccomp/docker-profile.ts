// docker's and containers-common's seccomp profile files (`--security-opt seccomp=FILE`,
// /usr/share/containers/seccomp.json) -> linux.seccomp, the way docker and podman write it into config.json:
// archMap picks the host's arch and its sub-arches; a rule stays only if the container holds every
// capability in includes.caps and none in excludes.caps, and the host's arch passes includes/excludes.arches
// (Go's arch names: amd64, arm64, ...); includes.minKernel is compared with the running kernel.

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

export function dockerProfileToOci(profile: DockerProfile, context: DockerProfileContext): OciSeccomp {
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

function compareKernel(release: string, minimum: string): number {
  const parse = (text: string) => (/^(\d+)\.(\d+)/.exec(text) ?? [, '0', '0']).slice(1, 3).map(Number) as [number, number];
  const [major, minor] = parse(release);
  const [wantMajor, wantMinor] = parse(minimum);
  return major !== wantMajor ? major - wantMajor : minor - wantMinor;
}
