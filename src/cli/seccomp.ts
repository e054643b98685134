// `shim seccomp compile PROFILE [--arch x86_64|aarch64] [--format asm|bpf|json|profile]`: what a profile becomes.
// PROFILE is linux.seccomp as JSON, a whole config.json (its linux.seccomp), a docker-format profile file, or
// `default` (the profile docker-style runs get). asm: one instruction a line with what each leaf means; bpf:
// the raw struct sock_filter bytes the helper installs; json: a summary with the program in base64; profile:
// the profile itself as linux.seccomp (a docker-format file converted for this host).

import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { resolve } from 'node:path';
import { RuntimeError, systemError } from '../errors.js';
import { DEFAULT_CAPABILITIES } from '../plan/runtime-defaults.js';
import { type ArchFamily, hostFamily } from '../seccomp/archs.js';
import { compileSeccomp, formatFilter } from '../seccomp/compile.js';
import { defaultSeccompProfile } from '../seccomp/default-profile.js';
import { dockerProfileToOci, isDockerProfile, type DockerProfile } from '../seccomp/docker-profile.js';
import { parseConfigJson } from '../seccomp/exact-json.js';
import { readSeccompProfile, type OciSeccomp } from '../seccomp/profile.js';
import type { CliEnvironment } from './main.js';

export interface SeccompArgs {
  action?: string | undefined;
  profile?: string | undefined;
  arch?: string | undefined;
  format?: string | undefined;
}

export async function seccompVerb(args: SeccompArgs, cli: CliEnvironment & { stdoutBytes?: (bytes: Uint8Array) => void }): Promise<number> {
  if (args.action !== 'compile') throw new RuntimeError('usage', `seccomp ${args.action ?? ''}: the one action is compile`, { hint: 'shim seccomp compile PROFILE' });
  if (!args.profile) throw new RuntimeError('usage', 'seccomp compile needs a PROFILE (a file, or "default")');
  const family = readFamily(args.arch);
  const where = args.profile === 'default' ? 'default profile' : args.profile;
  const raw = args.profile === 'default' ? defaultSeccompProfile(family, DEFAULT_CAPABILITIES) : readProfileFile(resolve(cli.cwd, args.profile), family);
  // The profile as linux.seccomp (a docker-format file converted for this host): what a config.json would carry.
  if (args.format === 'profile') {
    cli.stdout(`${JSON.stringify(raw, null, 2)}\n`);
    return 0;
  }
  const profile = readSeccompProfile(raw, where);
  if (!profile) throw new RuntimeError('invalid-config', `${where}: the profile asks for nothing (no defaultAction, no syscalls)`);
  const started = performance.now();
  const filter = compileSeccomp(profile, { family, where, comments: args.format !== 'bpf' && args.format !== 'json' });
  const elapsed = performance.now() - started;
  for (const warning of filter.warnings) cli.stderr(`shim: warning: ${where}: ${warning}\n`);
  switch (args.format ?? 'asm') {
    case 'bpf':
      if (cli.stdoutBytes) cli.stdoutBytes(filter.program);
      else process.stdout.write(filter.program);
      return 0;
    case 'json':
      cli.stdout(`${JSON.stringify({ archs: filter.archs, flags: filter.flags, instructions: filter.instructions.length, compileMs: Number(elapsed.toFixed(3)), program: Buffer.from(filter.program).toString('base64') }, null, 2)}\n`);
      return 0;
    case 'asm':
      cli.stdout(`; ${where}: ${filter.instructions.length} instructions for ${filter.archs.join(', ')}, compiled in ${elapsed.toFixed(2)} ms\n${formatFilter(filter)}\n`);
      return 0;
    default:
      throw new RuntimeError('usage', `--format ${args.format}: expected asm, bpf, json or profile`);
  }
}

function readFamily(arch: string | undefined): ArchFamily {
  if (arch === undefined) return hostFamily();
  if (arch === 'x86_64' || arch === 'amd64') return 'x86_64';
  if (arch === 'aarch64' || arch === 'arm64') return 'aarch64';
  throw new RuntimeError('usage', `--arch ${arch}: expected x86_64 or aarch64 (each with its 32-bit archs)`);
}

function readProfileFile(path: string, family: ArchFamily): OciSeccomp {
  let raw: any;
  try {
    raw = parseConfigJson(readFileSync(path, 'utf8'));
  } catch (error) {
    if (error instanceof SyntaxError) throw new RuntimeError('invalid-config', `${path}: not valid JSON (${error.message})`);
    throw systemError(error, 'read seccomp profile', { path });
  }
  if (typeof raw !== 'object' || raw === null) throw new RuntimeError('invalid-config', `${path}: must be a JSON object`);
  if (raw.ociVersion !== undefined) {
    if (!raw.linux?.seccomp) throw new RuntimeError('invalid-config', `${path}: a config.json without linux.seccomp`);
    return raw.linux.seccomp;
  }
  if (isDockerProfile(raw)) return dockerProfileToOci(raw as DockerProfile, { family, capabilities: DEFAULT_CAPABILITIES, kernelRelease: release() });
  return raw as OciSeccomp;
}
