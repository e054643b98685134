// The seccomp compiler, run: every program goes through the test's own BPF interpreter
// (test/support/bpf-interpreter.ts), and the verdicts are checked against what libseccomp (driven by runc)
// gives for the same profile.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT, syscallTable } from '../../src/seccomp/archs.js';
import { compileSeccomp, formatFilter } from '../../src/seccomp/compile.js';
import { dockerProfileToOci } from '../../src/seccomp/docker-profile.js';
import { readSeccompProfile, type OciSeccomp, type OciSeccompArg } from '../../src/seccomp/profile.js';
import { runFilter } from '../support/bpf-interpreter.js';

const ALLOW = 0x7fff0000;
const KILL_THREAD = 0;
const KILL_PROCESS = 0x80000000;
const TRAP = 0x00030000;
const LOG = 0x7ffc0000;
const NOTIFY = 0x7fc00000;
const errno = (value: number) => (0x00050000 | value) >>> 0;
const trace = (value: number) => (0x7ff00000 | value) >>> 0;
const ENOSYS = errno(38);

const X86_64 = syscallTable('x86_64');
const I386 = syscallTable('i386');
const X32 = syscallTable('x32');
const nr64 = (name: string) => X86_64.get(name)!;

function compile(profile: OciSeccomp) {
  return compileSeccomp(readSeccompProfile(profile)!, { family: 'x86_64' });
}

function verdict(program: Uint8Array, nr: number, args: bigint[] = [], arch = AUDIT_ARCH_X86_64): number {
  return runFilter(program, { nr, arch, args }).ret;
}

describe('arch dispatch', () => {
  const profile: OciSeccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['getpid', 'getppid'], action: 'SCMP_ACT_ALLOW' }] };

  it('the native arch is always in the filter; the others only when listed, else killed', () => {
    const { program } = compile(profile);
    expect(verdict(program, nr64('getpid'))).toBe(ALLOW);
    expect(verdict(program, nr64('getuid'))).toBe(errno(1));
    expect(verdict(program, I386.get('getpid')!, [], AUDIT_ARCH_I386)).toBe(KILL_THREAD);
    expect(verdict(program, 39, [], AUDIT_ARCH_AARCH64)).toBe(KILL_THREAD);
    // x32 calls share AUDIT_ARCH_X86_64; without x32 listed they are a bad arch, whatever the number.
    expect(verdict(program, X32.get('getpid')!)).toBe(KILL_THREAD);
    // ...except nr -1, a tracer's skipped syscall, which reaches the rules (libseccomp).
    expect(verdict(program, 0xffffffff)).toBe(errno(1));
  });

  it('each listed arch answers with its own numbers; x32 never matches an x86_64 rule by accident', () => {
    const { program } = compile({ ...profile, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'] });
    expect(verdict(program, I386.get('getpid')!, [], AUDIT_ARCH_I386)).toBe(ALLOW);
    // i386's getpid (20) is x86_64's writev: not allowed there.
    expect(verdict(program, 20)).toBe(errno(1));
    expect(verdict(program, X32.get('getppid')!)).toBe(ALLOW);
    // The x32 number of a syscall the profile does not name, with x86_64's getpid in its low bits.
    expect(verdict(program, X32_SYSCALL_BIT | nr64('getpid'))).toBe(ALLOW);
    expect(verdict(program, X32_SYSCALL_BIT | nr64('getuid'))).toBe(errno(1));
    expect(verdict(program, nr64('getuid'))).toBe(errno(1));
  });

  it('only x86_64 and x32 listed: an i386 call is killed', () => {
    const { program } = compile({ ...profile, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'] });
    expect(verdict(program, I386.get('getpid')!, [], AUDIT_ARCH_I386)).toBe(KILL_THREAD);
    expect(verdict(program, X32.get('getpid')!)).toBe(ALLOW);
  });
});

describe('the binary search', () => {
  it('gives every number of the table, and every number around them, the verdict of the profile', () => {
    // Every third syscall allowed, every third denied with its own errno: no two neighbours fold.
    const names = [...X86_64.keys()];
    const allowed = names.filter((_, index) => index % 3 === 0);
    const denied = names.filter((_, index) => index % 3 === 1);
    const { program, instructions } = compile({
      defaultAction: 'SCMP_ACT_KILL_PROCESS',
      syscalls: [{ names: allowed, action: 'SCMP_ACT_ALLOW' }, ...denied.map((name, index) => ({ names: [name], action: 'SCMP_ACT_ERRNO', errnoRet: 100 + index }))],
    });
    const expected = new Map<number, number>();
    allowed.forEach((name) => expected.set(X86_64.get(name)!, ALLOW));
    denied.forEach((name, index) => expected.set(X86_64.get(name)!, errno(100 + index)));
    const highest = Math.max(...X86_64.values());
    let maxSteps = 0;
    for (let nr = 0; nr <= highest + 5; nr++) {
      const result = runFilter(program, { nr, arch: AUDIT_ARCH_X86_64 });
      maxSteps = Math.max(maxSteps, result.steps);
      expect([nr, result.ret]).toEqual([nr, expected.get(nr) ?? KILL_PROCESS]);
    }
    // Balanced: about log2(intervals) compares, never a walk down a chain.
    expect(maxSteps).toBeLessThan(20);
    expect(instructions.length).toBeLessThan(4096);
  });

  it('folds runs of numbers with one verdict into one interval', () => {
    const all = [...X86_64.keys()];
    const { instructions } = compile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: all, action: 'SCMP_ACT_ALLOW' }] });
    // All of 0..N allowed: a handful of intervals, not one compare per syscall.
    expect(instructions.length).toBeLessThan(40);
  });

  it("podman's default profile: each listed name gets its action; the program is small and shallow", () => {
    const podman = JSON.parse(readFileSync('/usr/share/containers/seccomp.json', 'utf8'));
    const oci = dockerProfileToOci(podman, { family: 'x86_64', capabilities: ['CAP_CHOWN', 'CAP_NET_BIND_SERVICE'], kernelRelease: '6.1.0' });
    const started = performance.now();
    const filter = compile(oci);
    const elapsed = performance.now() - started;
    const { program } = filter;
    // A name in several unconditional entries takes the first one's action (libseccomp keeps the first).
    const decided = new Set<string>();
    for (const rule of oci.syscalls!) {
      if (rule.args) continue;
      for (const name of rule.names) {
        const nr = X86_64.get(name);
        if (nr === undefined || decided.has(name)) continue;
        decided.add(name);
        const want = rule.action === 'SCMP_ACT_ALLOW' ? ALLOW : errno(rule.errnoRet ?? 1);
        expect([name, verdict(program, nr)]).toEqual([name, want]);
      }
    }
    expect(verdict(program, nr64('setns'))).toBe(ALLOW);
    expect(verdict(program, nr64('personality'), [0n])).toBe(ALLOW);
    expect(verdict(program, nr64('personality'), [0xffffffffn])).toBe(ALLOW);
    expect(verdict(program, nr64('personality'), [1n])).toBe(errno(38));
    // socket: EINVAL for AF_NETLINK + NETLINK_AUDIT without CAP_AUDIT_WRITE, allowed otherwise.
    expect(verdict(program, nr64('socket'), [16n, 3n, 9n])).toBe(errno(22));
    expect(verdict(program, nr64('socket'), [16n, 3n, 0n])).toBe(ALLOW);
    expect(verdict(program, nr64('socket'), [2n, 1n, 9n])).toBe(ALLOW);
    // Syscalls without argument rules: the arch test and the search, about log2 of the intervals.
    const withArgs = new Set(oci.syscalls!.filter((rule) => rule.args).flatMap((rule) => rule.names.map((name) => X86_64.get(name))));
    const plain = [...X86_64.values()].filter((nr) => !withArgs.has(nr));
    const steps = Math.max(...plain.map((nr) => runFilter(program, { nr, arch: AUDIT_ARCH_X86_64 }).steps));
    expect(steps).toBeLessThan(14);
    expect(filter.instructions.length).toBeLessThan(1200);
    expect(elapsed).toBeLessThan(200);
  });
});

describe('argument conditions', () => {
  const cases: { op: string; value: bigint; valueTwo?: bigint; holds: (arg: bigint) => boolean }[] = [];
  const values = [0n, 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x8000000000000000n, 0x8000000000000001n, 0xfffffffffffffffen, 0xffffffffffffffffn];
  for (const value of values) {
    cases.push({ op: 'SCMP_CMP_EQ', value, holds: (arg) => arg === value });
    cases.push({ op: 'SCMP_CMP_NE', value, holds: (arg) => arg !== value });
    cases.push({ op: 'SCMP_CMP_LT', value, holds: (arg) => arg < value });
    cases.push({ op: 'SCMP_CMP_LE', value, holds: (arg) => arg <= value });
    cases.push({ op: 'SCMP_CMP_GT', value, holds: (arg) => arg > value });
    cases.push({ op: 'SCMP_CMP_GE', value, holds: (arg) => arg >= value });
  }
  for (const [mask, want] of [[0xff00000000000000n, 0x8000000000000000n], [0xffn, 0x12n], [0xf0000000000000f0n, 0x10000000000000f0n], [0x1n, 0x3n]] as const) {
    cases.push({ op: 'SCMP_CMP_MASKED_EQ', value: mask, valueTwo: want, holds: (arg) => (arg & mask) === (want & mask) });
  }
  const probes = (value: bigint) => {
    const around = [value - 1n, value, value + 1n, value ^ (1n << 32n), value ^ 1n, value ^ (1n << 63n), 0n, 0xffffffffffffffffn, value & 0xffffffffn, value | 0xffffffff00000000n];
    return around.filter((arg) => arg >= 0n && arg <= 0xffffffffffffffffn);
  };

  for (const testCase of cases) {
    it(`${testCase.op} 0x${testCase.value.toString(16)}${testCase.valueTwo !== undefined ? ` 0x${testCase.valueTwo.toString(16)}` : ''}: both halves, on x86_64`, () => {
      const arg: OciSeccompArg = { index: 3, value: testCase.value.toString(), op: testCase.op };
      if (testCase.valueTwo !== undefined) arg.valueTwo = testCase.valueTwo.toString();
      const { program } = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 7, args: [arg] }] });
      for (const probe of [...probes(testCase.value), ...probes(testCase.valueTwo ?? 0n)]) {
        const got = verdict(program, nr64('getpid'), [0n, 0n, 0n, probe]);
        expect([probe.toString(16), got]).toEqual([probe.toString(16), testCase.holds(probe) ? errno(7) : ALLOW]);
      }
    });
  }

  it('on i386 only the low halves are compared, as libseccomp does for a 32-bit arch', () => {
    const { program } = compile({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86'],
      syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 7, args: [{ index: 0, value: '18446744069414584321', op: 'SCMP_CMP_EQ' }] }],
    });
    // 0xffffffff00000001: on i386 that is arg == 1.
    expect(verdict(program, I386.get('getpid')!, [1n], AUDIT_ARCH_I386)).toBe(errno(7));
    expect(verdict(program, I386.get('getpid')!, [2n], AUDIT_ARCH_I386)).toBe(ALLOW);
    // On x86_64, both halves.
    expect(verdict(program, nr64('getpid'), [1n])).toBe(ALLOW);
    expect(verdict(program, nr64('getpid'), [0xffffffff00000001n])).toBe(errno(7));
  });

  it('two conditions on one syscall are ANDed; two on one argument become two rules (ORed), as runc', () => {
    const { program } = compile({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 5, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 2, op: 'SCMP_CMP_EQ' }] },
        { names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 6, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 0, value: 2, op: 'SCMP_CMP_EQ' }] },
      ],
    });
    expect(verdict(program, nr64('getpid'), [1n, 2n])).toBe(errno(5));
    expect(verdict(program, nr64('getpid'), [1n, 3n])).toBe(ALLOW);
    expect(verdict(program, nr64('getpid'), [0n, 2n])).toBe(ALLOW);
    expect(verdict(program, nr64('getppid'), [1n])).toBe(errno(6));
    expect(verdict(program, nr64('getppid'), [2n])).toBe(errno(6));
    expect(verdict(program, nr64('getppid'), [3n])).toBe(ALLOW);
  });

  it('several entries for one name are ORed; an unconditional rule wins; the first matching rule decides', () => {
    const { program } = compile({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
        { names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2, op: 'SCMP_CMP_EQ' }] },
        { names: ['getppid'], action: 'SCMP_ACT_TRAP', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
        { names: ['getppid'], action: 'SCMP_ACT_LOG' },
        // Restates the default: dropped, so getuid stays allowed by the next entry.
        { names: ['getuid'], action: 'SCMP_ACT_ERRNO' },
        { names: ['getuid'], action: 'SCMP_ACT_ALLOW' },
      ],
    });
    expect(verdict(program, nr64('getpid'), [1n])).toBe(ALLOW);
    expect(verdict(program, nr64('getpid'), [2n])).toBe(ALLOW);
    expect(verdict(program, nr64('getpid'), [3n])).toBe(errno(1));
    expect(verdict(program, nr64('getppid'), [1n])).toBe(LOG);
    expect(verdict(program, nr64('getuid'))).toBe(ALLOW);
  });
});

describe('actions and the ENOSYS stub', () => {
  it('every action has its kernel value', () => {
    const rules = [
      ['getpid', 'SCMP_ACT_KILL'], ['getppid', 'SCMP_ACT_KILL_THREAD'], ['getuid', 'SCMP_ACT_KILL_PROCESS'], ['geteuid', 'SCMP_ACT_TRAP'],
      ['getgid', 'SCMP_ACT_TRACE'], ['getegid', 'SCMP_ACT_LOG'], ['gettid', 'SCMP_ACT_ERRNO'], ['getpgrp', 'SCMP_ACT_NOTIFY'],
    ] as const;
    const { program, flags } = compileSeccomp(
      readSeccompProfile({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock', syscalls: rules.map(([name, action]) => ({ names: [name], action })) })!,
      { family: 'x86_64' },
    );
    const want = [KILL_THREAD, KILL_THREAD, KILL_PROCESS, TRAP, trace(1), LOG, errno(1), NOTIFY];
    rules.forEach(([name], index) => expect([name, verdict(program, nr64(name))]).toEqual([name, want[index]]));
    expect(flags).toBe(8);
  });

  it('a syscall above every named one gets ENOSYS unless the default is permissive (runc)', () => {
    const strict = compile({ defaultAction: 'SCMP_ACT_KILL_PROCESS', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW' }] });
    expect(verdict(strict.program, nr64('getpid'))).toBe(ALLOW);
    expect(verdict(strict.program, nr64('getpid') - 1)).toBe(KILL_PROCESS);
    expect(verdict(strict.program, nr64('getpid') + 1)).toBe(ENOSYS);
    expect(verdict(strict.program, nr64('clone3'))).toBe(ENOSYS);
    // Not listed in architectures: no stub for it (runc builds the stub from the list).
    const unlisted = compile({ defaultAction: 'SCMP_ACT_KILL_PROCESS', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW' }] });
    expect(verdict(unlisted.program, nr64('clone3'))).toBe(KILL_PROCESS);
    const permissive = compile({ defaultAction: 'SCMP_ACT_LOG', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO' }] });
    expect(verdict(permissive.program, nr64('clone3'))).toBe(LOG);
  });

  it("i386's socketcall and ipc carry the socket and IPC rules, with the call number as first argument", () => {
    // A permissive default: no ENOSYS stub, which on i386 leaves the socket and IPC names out of its
    // highest number (runc's stub would answer socket(2), numbered 359, with ENOSYS here).
    const { program } = compile({
      defaultAction: 'SCMP_ACT_LOG',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [{ names: ['socket', 'shmget', 'getpid'], action: 'SCMP_ACT_ALLOW' }],
    });
    const i386 = (name: string, args: bigint[] = []) => verdict(program, I386.get(name)!, args, AUDIT_ARCH_I386);
    expect(i386('socket')).toBe(ALLOW);
    expect(i386('socketcall', [1n])).toBe(ALLOW);
    expect(i386('socketcall', [2n])).toBe(LOG);
    expect(i386('ipc', [23n])).toBe(ALLOW);
    expect(i386('ipc', [24n])).toBe(LOG);
    const stubbed = compile({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'], syscalls: [{ names: ['socket', 'getpid'], action: 'SCMP_ACT_ALLOW' }] });
    expect(verdict(stubbed.program, I386.get('socket')!, [], AUDIT_ARCH_I386)).toBe(ENOSYS);
  });
});

describe('refused profiles: one line naming the field', () => {
  const refuse = (profile: unknown) => {
    try {
      compile(profile as OciSeccomp);
    } catch (error) {
      return (error as Error).message;
    }
    return 'accepted';
  };
  it.each([
    [{ defaultAction: 'SCMP_ACT_NOPE' }, 'config.json: linux.seccomp.defaultAction SCMP_ACT_NOPE is not a seccomp action'],
    [{ syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW' }] }, 'config.json: linux.seccomp.defaultAction is required when syscalls are listed'],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'ALLOW' }] }, 'config.json: linux.seccomp.syscalls[0].action ALLOW is not a seccomp action'],
    [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_VAX'] }, 'config.json: linux.seccomp.architectures[0] SCMP_ARCH_VAX is not a seccomp architecture'],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] }, 'config.json: linux.seccomp.syscalls[0].args[0].index 6 is over 5'],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_XX' }] }] }, 'config.json: linux.seccomp.syscalls[0].args[0].op SCMP_CMP_XX is not a seccomp operator'],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }] }, 'config.json: linux.seccomp.syscalls[0].args[0].value must be an unsigned 64-bit integer'],
    [{ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NOPE'] }, 'config.json: linux.seccomp.flags[0] SECCOMP_FILTER_FLAG_NOPE is not a seccomp filter flag'],
    [{ defaultAction: 'SCMP_ACT_NOTIFY' }, 'config.json: linux.seccomp.defaultAction SCMP_ACT_NOTIFY cannot be the default action'],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_NOTIFY' }] }, 'config.json: linux.seccomp.listenerPath is required with SCMP_ACT_NOTIFY'],
  ])('%j', (profile, message) => {
    expect(refuse(profile)).toMatch(new RegExp(`^${message.replace(/[[\]().]/g, '\\$&')}`));
  });

  // runc 1.1.5 with libseccomp 2.5.4, run on this host with each profile: it refuses a rule with the same
  // conditions as an earlier one for the same syscall and another action ("error adding seccomp rule for
  // syscall mkdir: file exists"), and takes the rest.
  describe('conflicting rules, as libseccomp', () => {
    const ne = (index: number): OciSeccompArg => ({ index, value: 0, op: 'SCMP_CMP_NE' });
    const mkdir = (action: string, args?: OciSeccompArg[], errnoRet?: number) => ({ names: ['mkdir'], action, ...(args ? { args } : {}), ...(errnoRet ? { errnoRet } : {}) });
    it('the same conditions with two actions: refused, naming both entries', () => {
      expect(refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [mkdir('SCMP_ACT_ERRNO', [ne(0)]), mkdir('SCMP_ACT_ERRNO', [ne(0)], 2)] })).toBe(
        'config.json: linux.seccomp.syscalls[1]: mkdir has the same argument conditions as syscalls[0] with another action (SCMP_ACT_ERRNO vs SCMP_ACT_ERRNO); libseccomp refuses it, as runc does: error adding seccomp rule for syscall mkdir: file exists',
      );
    });
    it('the same set of conditions in another order: refused', () => {
      expect(refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [mkdir('SCMP_ACT_ERRNO', [ne(0), ne(1)]), mkdir('SCMP_ACT_KILL', [ne(1), ne(0)])] })).toMatch(/syscalls\[1\]: mkdir has the same argument conditions as syscalls\[0\]/);
    });
    it('taken: unconditional rules with two actions (the first wins), a repeat with the same action, different conditions', () => {
      const first = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [mkdir('SCMP_ACT_ERRNO'), mkdir('SCMP_ACT_KILL')] });
      expect(verdict(first.program, nr64('mkdir'))).toBe(errno(1));
      expect(refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [mkdir('SCMP_ACT_ERRNO', [ne(0)]), mkdir('SCMP_ACT_ERRNO', [ne(0)])] })).toBe('accepted');
      expect(refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [mkdir('SCMP_ACT_ERRNO', [ne(0)]), mkdir('SCMP_ACT_KILL', [ne(1)])] })).toBe('accepted');
      expect(refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [mkdir('SCMP_ACT_ERRNO'), mkdir('SCMP_ACT_KILL', [ne(0)])] })).toBe('accepted');
    });
  });

  it('an action the kernel lacks', () => {
    expect(() =>
      compileSeccomp(readSeccompProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_LOG' }] })!, {
        family: 'x86_64',
        actionsAvailable: ['kill_process', 'kill_thread', 'trap', 'errno', 'trace', 'allow'],
      }),
    ).toThrow(/^config.json: linux.seccomp.syscalls\[0\].action SCMP_ACT_LOG: this kernel does not have the log action/);
  });

  it('a program over 4096 instructions', () => {
    const names = [...X86_64.keys()];
    // Distinct conditions per syscall, so no two neighbours fold into one interval.
    const args = (seed: number) => [0, 1, 2, 3, 4].map((index) => ({ index, value: 0x100000001 * (index + 1) + seed, op: 'SCMP_CMP_GT' }));
    expect(() => compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: names.map((name, seed) => ({ names: [name], action: 'SCMP_ACT_ERRNO', args: args(seed) })) })).toThrow(
      /over the kernel's limit of 4096/,
    );
  });

  it('unknown syscall names are skipped with a warning', () => {
    const filter = compile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['getpid', 'no_such_call'], action: 'SCMP_ACT_ALLOW' }] });
    expect(filter.warnings).toEqual(['unknown syscalls skipped: no_such_call']);
    expect(verdict(filter.program, nr64('getpid'))).toBe(ALLOW);
  });

  it('the text form names what each leaf means', () => {
    const text = formatFilter(compileSeccomp(readSeccompProfile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW' }] })!, { family: 'x86_64', comments: true }));
    expect(text).toMatch(/^0+: ld \[4\] +; arch/);
    expect(text).toContain('getpid: ALLOW');
  });
});
