// Which profile a docker-style `shim run` gets: the built-in default (default-profile.ts), none
// (--security-opt seccomp=unconfined, --privileged), or a file (--security-opt seccomp=FILE) in docker's
// format (archMap, includes/excludes) or as linux.seccomp itself.

import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { resolve } from 'node:path';
import { RuntimeError, systemError } from '../errors.js';
import { hostFamily } from './archs.js';
import { defaultSeccompProfile } from './default-profile.js';
import { dockerProfileToOci, isDockerProfile, type DockerProfile } from './docker-profile.js';
import type { OciSeccomp } from './profile.js';

export interface SeccompChoice {
  /** --security-opt values as given. */
  securityOpts: readonly string[];
  privileged: boolean;
  /** The container's bounding capabilities. */
  capabilities: readonly string[];
  /** Relative FILEs are taken from here. */
  cwd: string;
}

export function chooseSeccompProfile(choice: SeccompChoice): OciSeccomp | undefined {
  let file: string | undefined;
  let unconfined = false;
  for (const option of choice.securityOpts) {
    const match = /^seccomp[=:](.+)$/.exec(option);
    if (!match) throw new RuntimeError('usage', `--security-opt ${option}: only seccomp=unconfined and seccomp=FILE are supported`);
    if (match[1] === 'unconfined') unconfined = true;
    else file = resolve(choice.cwd, match[1]!);
  }
  if (unconfined || choice.privileged) return undefined;
  if (!file) return defaultSeccompProfile(hostFamily(), choice.capabilities);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    if (error instanceof SyntaxError) throw new RuntimeError('invalid-config', `--security-opt seccomp=${file}: not valid JSON (${error.message})`);
    throw systemError(error, 'read seccomp profile', { path: file });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new RuntimeError('invalid-config', `--security-opt seccomp=${file}: must be a JSON object`);
  if (!isDockerProfile(raw as Record<string, unknown>)) return raw as OciSeccomp;
  return dockerProfileToOci(raw as DockerProfile, { family: hostFamily(), capabilities: choice.capabilities, kernelRelease: release() });
}
