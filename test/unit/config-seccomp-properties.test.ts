// Property tests (fast-check) for config.json (readOciConfig) and seccomp profiles (readSeccompProfile, then
// compileSeccomp; docker's format through dockerProfileToOci): runc's default config and podman's seccomp
// profile with any one value replaced by any JSON value are either accepted or refused with the project's
// RuntimeError in one line, never a TypeError; whatever is accepted compiles.

import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isRuntimeError } from '../../src/errors.js';
import { readOciConfig } from '../../src/plan/read-oci-config.js';
import { compileSeccomp } from '../../src/seccomp/compile.js';
import { dockerProfileToOci, type DockerProfile } from '../../src/seccomp/docker-profile.js';
import { readSeccompProfile, type OciSeccomp } from '../../src/seccomp/profile.js';

function onlyRuntimeErrors(work: () => unknown): void {
  try {
    work();
  } catch (error) {
    if (!isRuntimeError(error)) throw new Error(`threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
    expect(error.message).not.toContain('\n');
  }
}

/** The document with the value at one path (chosen by `at`) replaced. */
function replaceOne(doc: unknown, at: number, replacement: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(doc));
  const slots: [Record<string, unknown>, string][] = [];
  const walk = (node: unknown) => {
    if (typeof node !== 'object' || node === null) return;
    for (const key of Object.keys(node)) {
      slots.push([node as Record<string, unknown>, key]);
      walk((node as Record<string, unknown>)[key]);
    }
  };
  walk(copy);
  const [parent, key] = slots[at % slots.length]!;
  parent[key] = replacement;
  return copy;
}

const runcConfig = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/runc-spec-config.json'), 'utf8'));
const podmanProfile = JSON.parse(readFileSync('/usr/share/containers/seccomp.json', 'utf8')) as DockerProfile;
const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(-1, 2 ** 64, 1.5, '', 'SCMP_ACT_KILL', [], {}, null));

describe('config.json and seccomp properties', () => {
  it('runc\'s config.json with one value replaced by any JSON: read, or a RuntimeError', () => {
    fc.assert(fc.property(fc.nat(), anyValue, (at, value) => onlyRuntimeErrors(() => readOciConfig(replaceOne(runcConfig, at, value)))), { numRuns: 300 });
  });

  it('any JSON as config.json: read, or a RuntimeError', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => onlyRuntimeErrors(() => readOciConfig(value))), { numRuns: 200 });
  });

  it('podman\'s seccomp profile with one value replaced: read and compiled, or a RuntimeError', () => {
    const context = { family: 'x86_64' as const, capabilities: ['CAP_CHOWN', 'CAP_SYS_ADMIN'], kernelRelease: '6.1.0' };
    const oci = dockerProfileToOci(podmanProfile, context);
    fc.assert(fc.property(fc.nat(), anyValue, (at, value) => onlyRuntimeErrors(() => {
      const raw = replaceOne(oci, at, value) as OciSeccomp;
      const profile = readSeccompProfile(raw);
      if (profile) compileSeccomp(profile);
    })), { numRuns: 120 });
  });

  it('podman\'s docker-format profile with one value replaced: converted and compiled, or a RuntimeError', () => {
    const context = { family: 'x86_64' as const, capabilities: ['CAP_CHOWN', 'CAP_SYS_ADMIN'], kernelRelease: '6.1.0' };
    fc.assert(fc.property(fc.nat(), anyValue, (at, value) => onlyRuntimeErrors(() => {
      const raw = replaceOne(podmanProfile, at, value) as DockerProfile;
      const profile = readSeccompProfile(dockerProfileToOci(raw, context));
      if (profile) compileSeccomp(profile);
    })), { numRuns: 150 });
  });

  it('args that are not an array are one line naming them (seed -1758377759: args replaced by {})', () => {
    const raw = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: {} }] } as unknown as OciSeccomp;
    expect(() => readSeccompProfile(raw)).toThrow('config.json: linux.seccomp.syscalls[0].args must be an array');
  });

  it('a docker-format field of the wrong shape is one line naming it (the seed fast-check found: a field of -1)', () => {
    const context = { family: 'x86_64' as const, capabilities: [], kernelRelease: '6.1.0' };
    for (const field of ['archMap', 'syscalls', 'architectures', 'flags'] as const) {
      expect(() => dockerProfileToOci({ ...podmanProfile, [field]: -1 } as DockerProfile, context)).toThrow(new RegExp(`^seccomp profile: ${field} must be`));
    }
    const rule = { ...podmanProfile.syscalls![0], includes: { caps: 'CAP_SYS_ADMIN' } };
    expect(() => dockerProfileToOci({ ...podmanProfile, syscalls: [rule] } as unknown as DockerProfile, context)).toThrow('seccomp profile: syscalls[0].includes.caps must be an array of strings');
  });
});
