// The built-in default profile, docker-format files, config.json's exact uint64s and the compiled-filter cache.

import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUDIT_ARCH_X86_64, syscallTable } from '../../src/seccomp/archs.js';
import { compileSeccomp } from '../../src/seccomp/compile.js';
import { defaultSeccompProfile } from '../../src/seccomp/default-profile.js';
import { dockerProfileToOci, isDockerProfile } from '../../src/seccomp/docker-profile.js';
import { parseConfigJson } from '../../src/seccomp/exact-json.js';
import { cacheFileName, diskSeccompCache, seccompCacheKey } from '../../src/seccomp/filter-cache.js';
import { planSeccomp } from '../../src/seccomp/plan-seccomp.js';
import { prebuiltFilter } from '../../src/seccomp/compile-on-miss.js';
import { PREBUILT_FILTERS } from '../../src/seccomp/generated/prebuilt-filters.js';
import { chooseSeccompProfile } from '../../src/seccomp/run-profile.js';
import { readSeccompProfile } from '../../src/seccomp/profile.js';
import { DEFAULT_CAPABILITIES } from '../../src/plan/runtime-defaults.js';
import { runFilter } from '../support/bpf-interpreter.js';

const X86_64 = syscallTable('x86_64');
const ALLOW = 0x7fff0000;
const errno = (value: number) => (0x00050000 | value) >>> 0;

function verdictOf(profile: ReturnType<typeof defaultSeccompProfile>, name: string, args: bigint[] = []) {
  const { program } = compileSeccomp(readSeccompProfile(profile)!, { family: 'x86_64' });
  return runFilter(program, { nr: X86_64.get(name)!, arch: AUDIT_ARCH_X86_64, args }).ret;
}

describe('the built-in default profile', () => {
  const profile = defaultSeccompProfile('x86_64', DEFAULT_CAPABILITIES);

  it('lets ordinary programs run, refuses the host-wide calls, answers the unknown with ENOSYS', () => {
    for (const name of ['read', 'write', 'openat', 'execve', 'futex', 'epoll_wait', 'socket', 'chroot', 'getpid', 'arch_prctl']) expect([name, verdictOf(profile, name)]).toEqual([name, ALLOW]);
    for (const name of ['kexec_load', 'mount', 'unshare', 'setns', 'keyctl', 'bpf', 'init_module', 'swapon']) expect([name, verdictOf(profile, name)]).toEqual([name, errno(1)]);
    expect(verdictOf(profile, 'clone3')).toBe(errno(38));
    expect(verdictOf(profile, 'io_uring_setup')).toBe(errno(38));
  });

  it('clone may not make namespaces without CAP_SYS_ADMIN; personality only for the usual personas', () => {
    expect(verdictOf(profile, 'clone', [0x11n])).toBe(ALLOW);
    expect(verdictOf(profile, 'clone', [0x10000000n])).toBe(errno(38));
    expect(verdictOf(profile, 'personality', [0xffffffffn])).toBe(ALLOW);
    expect(verdictOf(profile, 'personality', [0x40000n])).toBe(errno(38));
    const admin = defaultSeccompProfile('x86_64', [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']);
    expect(verdictOf(admin, 'clone', [0x10000000n])).toBe(ALLOW);
    expect(verdictOf(admin, 'mount')).toBe(ALLOW);
  });
});

describe('docker-format profiles', () => {
  it("podman's file: archMap picks the host's archs, capabilities and arches filter the rules", () => {
    const file = JSON.parse(readFileSync('/usr/share/containers/seccomp.json', 'utf8'));
    expect(isDockerProfile(file)).toBe(true);
    const oci = dockerProfileToOci(file, { family: 'x86_64', capabilities: DEFAULT_CAPABILITIES, kernelRelease: '6.1.0' });
    expect(oci.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    const names = (action: string) => oci.syscalls!.filter((rule) => rule.action === action).flatMap((rule) => rule.names);
    expect(names('SCMP_ACT_ERRNO')).toContain('open_by_handle_at');
    expect(names('SCMP_ACT_ALLOW')).toContain('arch_prctl');
    expect(names('SCMP_ACT_ALLOW')).not.toContain('s390_runtime_instr');
    const admin = dockerProfileToOci(file, { family: 'x86_64', capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'], kernelRelease: '6.1.0' });
    expect(admin.syscalls!.filter((rule) => rule.action === 'SCMP_ACT_ERRNO').flatMap((rule) => rule.names)).not.toContain('setns');
  });
});

describe("config.json's integers beyond 2^53", () => {
  it('are kept as digits under linux.seccomp args, and stay numbers elsewhere', () => {
    const text = '{"process":{"rlimits":[{"type":"RLIMIT_NOFILE","hard":18446744073709551615,"soft":1024}]},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":18446744073709551615,"valueTwo":9223372036854775809,"op":"SCMP_CMP_MASKED_EQ"}]}]}},"note":"12345678901234567890"}';
    const parsed = parseConfigJson(text) as any;
    expect(parsed.linux.seccomp.syscalls[0].args[0]).toMatchObject({ value: '18446744073709551615', valueTwo: '9223372036854775809' });
    expect(parsed.process.rlimits[0].hard).toBe(18446744073709551615);
    expect(parsed.note).toBe('12345678901234567890');
    const profile = readSeccompProfile(parsed.linux.seccomp)!;
    expect(profile.rules[0]!.conditions[0]).toMatchObject({ value: 0xffffffffffffffffn, valueTwo: 0x8000000000000001n });
    expect(parseConfigJson('{"a":1}')).toEqual({ a: 1 });
  });
});

describe('the compiled-filter cache', () => {
  it('returns what the compiler made for the same profile and host, and never across profiles', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shim-seccomp-cache-'));
    try {
      const cache = diskSeccompCache(dir);
      const host = { cgroupHierarchies: [], cgroupNamespaces: true, lastCapability: 40, procKcore: false, seccompActions: ['allow', 'errno', 'kill_thread'] };
      const profile = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW' }] };
      const request = { containerId: 'c1', bundleDir: '/b', host, cache };
      const first = planSeccomp(profile, request, [])!;
      const key = seccompCacheKey(profile, process.arch === 'arm64' ? 'aarch64' : 'x86_64', host.seccompActions);
      expect(cache.get(key)?.program).toBe(first.program);
      expect(planSeccomp(profile, request, [])).toEqual(first);
      const other = { ...profile, defaultAction: 'SCMP_ACT_KILL' };
      expect(seccompCacheKey(other, 'x86_64', host.seccompActions)).not.toBe(seccompCacheKey(profile, 'x86_64', host.seccompActions));
      expect(planSeccomp(other, request, [])!.program).not.toBe(first.program);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const filterFor = (program: string) => ({ program, instructions: 1, flags: 0, archs: ['x86_64'], defaultAction: 'SCMP_ACT_ALLOW' });

  it('takes a file only when its stored key is the whole key: a file name shared by two keys is a miss', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shim-seccomp-cache-'));
    try {
      const cache = diskSeccompCache(dir);
      cache.set('key one', filterFor('AAAA'));
      expect(cache.get('key one')?.program).toBe('AAAA');
      // Another key's file under this key's name, as a hash collision would leave it.
      renameSync(join(dir, cacheFileName('key one')), join(dir, cacheFileName('key two')));
      expect(cache.get('key two')).toBeUndefined();
      writeFileSync(join(dir, cacheFileName('key three')), 'not json');
      expect(cache.get('key three')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holds at most its bound of files, dropping the least recently used', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shim-seccomp-cache-'));
    try {
      const cache = diskSeccompCache(dir, 3);
      const age = (key: string, secondsAgo: number) => {
        const when = new Date(Date.now() - secondsAgo * 1000);
        utimesSync(join(dir, cacheFileName(key)), when, when);
      };
      cache.set('a', filterFor('A'));
      age('a', 40);
      cache.set('b', filterFor('B'));
      age('b', 30);
      cache.set('c', filterFor('C'));
      age('c', 20);
      // A hit makes 'a' the most recent: 'b' is now the oldest and goes first.
      expect(cache.get('a')?.program).toBe('A');
      cache.set('d', filterFor('D'));
      expect(readdirSync(dir).sort()).toEqual(['a', 'c', 'd'].map(cacheFileName).sort());
      expect(cache.get('b')).toBeUndefined();
      for (const key of ['e', 'f', 'g']) cache.set(key, filterFor(key));
      expect(readdirSync(dir)).toHaveLength(3);
      expect(cache.get('g')?.program).toBe('g');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the default profile compiled at build time', () => {
  it('is what the compiler makes of the default profile now, for each family', () => {
    for (const entry of PREBUILT_FILTERS) {
      const family = entry.family as 'x86_64' | 'aarch64';
      const fresh = compileSeccomp(readSeccompProfile(defaultSeccompProfile(family, DEFAULT_CAPABILITIES))!, { family });
      expect(entry.filter.program).toBe(Buffer.from(fresh.program).toString('base64'));
      expect(entry.filter.instructions).toBe(fresh.instructions.length);
      expect(entry.filter.flags).toBe(fresh.flags);
    }
  });

  it("answers a docker-style run's default profile, and nothing else", () => {
    const actions = ['kill_process', 'kill_thread', 'trap', 'errno', 'user_notif', 'trace', 'log', 'allow'];
    const run = chooseSeccompProfile({ securityOpts: [], privileged: false, capabilities: DEFAULT_CAPABILITIES, cwd: '/' })!;
    const hostEntry = PREBUILT_FILTERS.find((entry) => entry.family === (process.arch === 'arm64' ? 'aarch64' : 'x86_64'))!;
    expect(prebuiltFilter(run, actions)).toBe(hostEntry.filter);
    expect(prebuiltFilter(run, undefined)).toBe(hostEntry.filter);
    // Another capability set changes the profile (rules follow the capabilities): compiled as usual.
    const withAdmin = chooseSeccompProfile({ securityOpts: [], privileged: false, capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'], cwd: '/' })!;
    expect(prebuiltFilter(withAdmin, actions)).toBeUndefined();
    // A kernel without an action the profile uses: left to the compiler, which refuses it in its words.
    expect(prebuiltFilter(run, actions.filter((action) => action !== 'errno'))).toBeUndefined();
    // planSeccomp gives the same plan either way.
    const host = { cgroupHierarchies: [], cgroupNamespaces: true, lastCapability: 40, procKcore: false, seccompActions: actions };
    const planned = planSeccomp(run, { containerId: 'c1', bundleDir: '/b', host }, [])!;
    expect(planned.program).toBe(hostEntry.filter.program);
  });
});
