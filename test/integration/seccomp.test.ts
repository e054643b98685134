// linux.seccomp, syscall by syscall against libseccomp: a static probe (test/seccomp/probe.c) makes a list of
// syscalls with chosen arguments and prints what each returned; it runs under shim and under runc (Debian's
// runc 1.1.5 with libseccomp 2.5.4) from the same config.json, and the two outputs must be identical.
// runc gets its own --root in this test's temporary directory; its containers are deleted by id.

import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerProfileToOci } from '../../src/seccomp/docker-profile.js';
import type { OciSeccomp } from '../../src/seccomp/profile.js';
import { makeBundle, makeRoots, repoRoot, settledLeaks, shim, shimBin, type Roots } from '../support/shim.js';

let roots: Roots;
let bundle: string;
let baseConfig: any;
let runcRoot: string;
/** Why the i386 probe cannot run on this kernel, if it cannot. */
let i386Unavailable: string | undefined;
let serial = 0;

beforeAll(async () => {
  roots = await makeRoots();
  runcRoot = join(roots.base, 'runc');
  bundle = await makeBundle(join(roots.base, 'bundle'));
  const source = join(repoRoot, 'test/seccomp/probe.c');
  await execa('gcc', ['-static', '-O1', '-o', join(bundle, 'rootfs/bin/probe'), source]);
  const probe32 = join(bundle, 'rootfs/bin/probe32');
  await execa('gcc', ['-m32', '-static', '-O1', '-o', probe32, source]);
  const tryRun = spawnSync(probe32, ['getpid']);
  if (tryRun.status !== 0) i386Unavailable = `this kernel does not run 32-bit (i386) programs: the static i386 probe does not start (${tryRun.error?.message ?? `exit ${tryRun.status}`})`;
  baseConfig = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'));
}, 120_000);

afterAll(async () => {
  try {
    expect(await settledLeaks(roots)).toEqual([]);
  } finally {
    await roots.dispose();
  }
});

interface Outcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** config.json with every bigint written as a bare JSON integer, as a Go program would write a uint64. */
async function writeConfig(config: unknown): Promise<void> {
  const text = JSON.stringify(config, (_key, value) => (typeof value === 'bigint' ? `bigint:${value}` : value), 2);
  await writeFile(join(bundle, 'config.json'), text.replace(/"bigint:(\d+)"/g, '$1'));
}

/** Runs `probe CALLS...` under one runtime with this profile. */
async function runProbe(runtime: 'shim' | 'runc', seccomp: OciSeccomp | undefined, calls: string[], options: { noNewPrivileges?: boolean; probe?: string } = {}): Promise<Outcome> {
  const id = `sc-${runtime}-${process.pid}-${++serial}`;
  const config = structuredClone(baseConfig);
  config.process.args = [`/bin/${options.probe ?? 'probe'}`, ...calls];
  config.process.noNewPrivileges = options.noNewPrivileges ?? true;
  config.linux.cgroupsPath = `/${roots.cgroupParent}/${id}`;
  if (seccomp) config.linux.seccomp = seccomp;
  else delete config.linux.seccomp;
  await writeConfig(config);
  if (runtime === 'shim') {
    const result = await shim(roots, ['run', '--bundle', bundle, id]);
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
  }
  try {
    const result = await execa('runc', ['--root', runcRoot, 'run', '--bundle', bundle, id], { reject: false, env: roots.env, input: '' });
    return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout) + (String(result.stdout) ? '\n' : ''), stderr: String(result.stderr) };
  } finally {
    await execa('runc', ['--root', runcRoot, 'delete', '--force', id], { reject: false });
  }
}

/** The probe's lines under shim and under runc: they must be the same, and shim must have run it. */
async function compare(seccomp: OciSeccomp, calls: string[], options: { noNewPrivileges?: boolean; probe?: string } = {}): Promise<string> {
  const ours = await runProbe('shim', seccomp, calls, options);
  const theirs = await runProbe('runc', seccomp, calls, options);
  expect({ exitCode: theirs.exitCode, stderr: theirs.stderr }).toEqual({ exitCode: 0, stderr: '' });
  expect({ exitCode: ours.exitCode, stdout: ours.stdout }).toEqual({ exitCode: theirs.exitCode, stdout: theirs.stdout });
  expect(ours.stdout.split('\n').filter(Boolean)).toHaveLength(calls.length);
  return ours.stdout;
}

/** podman's default profile as podman writes it into config.json for this container's capabilities. */
async function podmanDefault(): Promise<OciSeccomp> {
  const file = JSON.parse(await readFile('/usr/share/containers/seccomp.json', 'utf8'));
  const { stdout: kernelRelease } = await execa('uname', ['-r']);
  return dockerProfileToOci(file, { family: 'x86_64', capabilities: baseConfig.process.capabilities.bounding, kernelRelease });
}

const X86_ARCHS = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];

describe('the same verdicts as runc with libseccomp', () => {
  it("podman's default profile (/usr/share/containers/seccomp.json), with and without no_new_privs", async () => {
    const profile = await podmanDefault();
    const calls = [
      'getpid', 'getppid', 'getuid', 'umask,18', 'uname', 'sched_yield', 'getrandom,0,0,0', 'sysinfo', 'times',
      'personality,0', 'personality,8', 'personality,131072', 'personality,131080', 'personality,4294967295',
      'personality,1', 'personality,0x8000000000000000', 'personality,0x100000000',
      'socket,16,3,9', 'socket,16,3,0', 'socket,1,1,0', 'socket,2,2,0', 'socketpair,1,1,0,0',
      'mount', 'umount2', 'chroot', 'pivot_root', 'unshare,0', 'setns,4294967295,0', 'acct', 'reboot', 'swapon',
      'kexec_load', 'bpf,0,0,0', 'perf_event_open', 'syslog,99', 'ptrace,99', 'keyctl,99', 'add_key', 'clock_settime,0,0',
      'init_module', 'delete_module', 'iopl,5', 'ioperm,0,0,0', 'clone3', 'io_uring_setup,0,0', 'userfaultfd,0',
      'open_by_handle_at', 'lookup_dcookie', 'quotactl', 'setdomainname', 'sethostname', 'uselib', 'ustat', 'sysfs,99',
      'vmsplice', 'fanotify_init', 'kcmp', 'process_vm_readv', 'get_mempolicy', 'set_mempolicy', 'mbind', 'move_pages',
      'migrate_pages', 'name_to_handle_at', 'memfd_create', 'pidfd_open,0,0', 'close_range,1000,1000,0', 'capget',
      'prctl,9999', 'modify_ldt,99', 'arch_prctl,0', '#999', '#0x40000027', '#0x40000200', '#4294967295',
    ];
    const output = await compare(profile, calls, { noNewPrivileges: false });
    // The profile did something: kexec_load is refused with EPERM, unknown numbers with ENOSYS.
    expect(output).toContain('kexec_load -> errno 1\n');
    expect(output).toContain('#999 -> errno 38\n');
    await compare(profile, calls, { noNewPrivileges: true });
  });

  it('one profile per action, as a rule and as the default', async () => {
    const rules: OciSeccomp['syscalls'] = [
      { names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 42 },
      { names: ['getuid'], action: 'SCMP_ACT_KILL' },
      { names: ['getgid'], action: 'SCMP_ACT_KILL_THREAD' },
      { names: ['gettid'], action: 'SCMP_ACT_KILL_PROCESS' },
      { names: ['getpgrp'], action: 'SCMP_ACT_TRAP' },
      { names: ['getegid'], action: 'SCMP_ACT_TRACE', errnoRet: 5 },
      { names: ['geteuid'], action: 'SCMP_ACT_LOG' },
      { names: ['sched_yield'], action: 'SCMP_ACT_ERRNO' },
      // Restates the default: dropped (runc and shim alike).
      { names: ['getpid'], action: 'SCMP_ACT_ALLOW' },
    ];
    const calls = ['getpid', 'getppid', 'getuid', 'getgid', 'gettid', 'getpgrp', 'getegid', 'geteuid', 'sched_yield', '#999'];
    const output = await compare({ defaultAction: 'SCMP_ACT_ALLOW', architectures: X86_ARCHS, syscalls: rules }, calls);
    expect(output).toBe(
      [
        'getpid -> ok', 'getppid -> errno 42', 'getuid -> signal 31', 'getgid -> signal 31', 'gettid -> signal 31', 'getpgrp -> trap',
        'getegid -> errno 38', 'geteuid -> ok', 'sched_yield -> errno 1', '#999 -> errno 38', '',
      ].join('\n'),
    );

    // Each action as the default: everything the probe itself needs is allowed, the probed calls are not.
    const probed = ['getppid', 'getuid', 'gettid', 'getpgrp'];
    const { syscallTable } = await import('../../src/seccomp/archs.js');
    const allowed = [...syscallTable('x86_64').keys()].filter((name) => !probed.includes(name) && !NEWER_THAN_LIBSECCOMP_2_5_4.includes(name));
    for (const [defaultAction, defaultErrnoRet] of [
      ['SCMP_ACT_ERRNO', 99], ['SCMP_ACT_KILL', undefined], ['SCMP_ACT_KILL_PROCESS', undefined], ['SCMP_ACT_TRAP', undefined],
      ['SCMP_ACT_TRACE', 7], ['SCMP_ACT_LOG', undefined],
    ] as const) {
      const profile: OciSeccomp = { defaultAction, architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: allowed, action: 'SCMP_ACT_ALLOW' }] };
      if (defaultErrnoRet !== undefined) profile.defaultErrnoRet = defaultErrnoRet;
      await compare(profile, [...probed, 'getpid', '#999', '#1000']);
    }
  });

  it('argument rules: 64-bit values with the high bit set, every operator, MASKED_EQ, two rules on one syscall, several entries for one name', async () => {
    const high = 0x8000000000000001n as unknown as number;
    const profile: OciSeccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: X86_ARCHS,
      syscalls: [
        { names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 11, args: [{ index: 0, value: high, op: 'SCMP_CMP_EQ' }] },
        { names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 12, args: [{ index: 1, value: 0x8000000000000000n as unknown as number, op: 'SCMP_CMP_GT' }] },
        { names: ['getuid'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 2, value: 0xffffffff00000000n as unknown as number, op: 'SCMP_CMP_GE' }] },
        { names: ['getgid'], action: 'SCMP_ACT_ERRNO', errnoRet: 14, args: [{ index: 3, value: 4294967296, op: 'SCMP_CMP_LT' }] },
        { names: ['getegid'], action: 'SCMP_ACT_ERRNO', errnoRet: 15, args: [{ index: 4, value: 4294967295, op: 'SCMP_CMP_LE' }] },
        { names: ['geteuid'], action: 'SCMP_ACT_ERRNO', errnoRet: 16, args: [{ index: 5, value: high, op: 'SCMP_CMP_NE' }] },
        { names: ['gettid'], action: 'SCMP_ACT_ERRNO', errnoRet: 17, args: [{ index: 0, value: 0xff00000000000000n as unknown as number, valueTwo: 0x8000000000000000n as unknown as number, op: 'SCMP_CMP_MASKED_EQ' }] },
        // Two conditions on two arguments: both must hold.
        { names: ['getpgrp'], action: 'SCMP_ACT_ERRNO', errnoRet: 18, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: high, op: 'SCMP_CMP_EQ' }] },
        // Two conditions on one argument: runc makes two rules of them, either may hold.
        { names: ['sched_yield'], action: 'SCMP_ACT_ERRNO', errnoRet: 19, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 0, value: 2, op: 'SCMP_CMP_EQ' }] },
        // Several entries for one name: ORed.
        { names: ['umask'], action: 'SCMP_ACT_ERRNO', errnoRet: 20, args: [{ index: 0, value: 7, op: 'SCMP_CMP_EQ' }] },
        { names: ['umask'], action: 'SCMP_ACT_ERRNO', errnoRet: 20, args: [{ index: 1, value: 8, op: 'SCMP_CMP_EQ' }] },
        { names: ['umask'], action: 'SCMP_ACT_ERRNO', errnoRet: 20, args: [{ index: 2, value: high, op: 'SCMP_CMP_EQ' }] },
      ],
    };
    const edges = ['0', '1', '0x7fffffffffffffff', '0x8000000000000000', '0x8000000000000001', '0x8000000000000002', '0xffffffff', '0x100000000', '0xffffffff00000000', '0xfffffffeffffffff', '0xffffffffffffffff', '0x0000000100000001', '0x80000001'];
    const calls: string[] = [];
    for (const value of edges) {
      calls.push(`getpid,${value}`, `getppid,0,${value}`, `getuid,0,0,${value}`, `getgid,0,0,0,${value}`, `getegid,0,0,0,0,${value}`, `geteuid,0,0,0,0,0,${value}`, `gettid,${value}`);
    }
    calls.push('getpgrp,1,0x8000000000000001', 'getpgrp,1,1', 'getpgrp,0,0x8000000000000001', 'sched_yield,1', 'sched_yield,2', 'sched_yield,3');
    calls.push('umask,7', 'umask,0,8', 'umask,0,0,0x8000000000000001', 'umask,0,0,1', 'umask,6,7,8');
    const output = await compare(profile, calls);
    expect(output).toContain('getpid,0x8000000000000001 -> errno 11\n');
    expect(output).toContain('getpid,1 -> ok\n');
    expect(output).toContain('getpgrp,1,0x8000000000000001 -> errno 18\n');
    expect(output).toContain('sched_yield,2 -> errno 19\n');
    expect(output).toContain('umask,0,0,0x8000000000000001 -> errno 20\n');
  });

  it('a 32-bit (i386) probe under the x86_64 profile: x86 verdicts, and killed when SCMP_ARCH_X86 is not listed', async (context) => {
    if (i386Unavailable) {
      // Said out loud, not passed silently: the i386 verdicts are covered by the unit tests' interpreter.
      console.warn(`seccomp i386 probe skipped: ${i386Unavailable}`);
      context.skip();
    }
    const profile = await podmanDefault();
    const calls = ['getpid', 'getppid', 'socket,1,1,0', 'socketcall,1', 'ipc,23', 'personality,0', 'personality,1', 'kexec_load', '#999'];
    await compare(profile, calls, { probe: 'probe32' });
    const noX86 = { ...profile, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'] };
    const ours = await runProbe('shim', noX86, ['getpid'], { probe: 'probe32' });
    // The probe's own first syscall is killed: no line at all.
    expect(ours.exitCode).toBe(128 + 31);
    expect(ours.exitCode).toBe((await runProbe('runc', noX86, ['getpid'], { probe: 'probe32' })).exitCode);
  });
});

describe('SCMP_ACT_NOTIFY', () => {
  /** Starts test/seccomp/notify-agent.py on a socket of its own; resolves once it listens. */
  async function startAgent(name: string) {
    const socketPath = join(roots.base, `${name}.sock`);
    const agent = execa('python3', [join(repoRoot, 'test/seccomp/notify-agent.py'), socketPath, '112'], { reject: false, env: roots.env });
    await new Promise<void>((resolve, reject) => {
      agent.stdout!.on('data', (chunk: Buffer) => {
        if (String(chunk).includes('listening')) resolve();
      });
      agent.catch(reject);
    });
    return { socketPath, agent };
  }

  it('hands the listener to listenerPath with the state, and the agent answers the notified syscall; as runc', async () => {
    const outputs: Record<string, string> = {};
    for (const runtime of ['shim', 'runc'] as const) {
      const { socketPath, agent } = await startAgent(`agent-${runtime}`);
      const profile: OciSeccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        listenerPath: socketPath,
        listenerMetadata: 'hello agent',
        syscalls: [{ names: ['getppid'], action: 'SCMP_ACT_NOTIFY' }],
      };
      const result = await runProbe(runtime, profile, ['getppid', 'getpid', 'getppid,1']);
      const agentResult = await agent;
      outputs[runtime] = result.stdout;
      const lines = String(agentResult.stdout).split('\n');
      const state = JSON.parse(lines[1]!);
      expect(state).toMatchObject({ fds: ['seccompFd'], metadata: 'hello agent', state: { status: 'creating', bundle } });
      expect(state.pid).toBeGreaterThan(0);
      expect(state.state.pid).toBe(state.pid);
      expect(lines.filter((line) => line.startsWith('notified')).length).toBe(2);
    }
    expect(outputs.shim).toBe('getppid -> errno 112\ngetpid -> ok\ngetppid,1 -> errno 112\n');
    expect(outputs.shim).toBe(outputs.runc);
  });
});

/**
 * Names the kernel headers know and libseccomp 2.5.4 does not: runc skips them (they take the default
 * action), shim does not. Left out where the default is not ALLOW, so both runtimes see the same profile.
 */
const NEWER_THAN_LIBSECCOMP_2_5_4 = ['memfd_secret', 'process_mrelease', 'futex_waitv', 'set_mempolicy_home_node', 'cachestat', 'fchmodat2', 'map_shadow_stack', 'futex_wake', 'futex_wait', 'futex_requeue'];

describe('inside the container', () => {
  it('shows Seccomp: 2, for the init and for an exec\'d process', async () => {
    const profile = await podmanDefault();
    const config = structuredClone(baseConfig);
    const id = `sc-status-${process.pid}`;
    config.process.args = ['sleep', '30'];
    config.process.noNewPrivileges = false;
    config.linux.seccomp = profile;
    config.linux.cgroupsPath = `/${roots.cgroupParent}/${id}`;
    await writeConfig(config);
    // runc-style run -d: the init keeps the caller's stdio, so none of our pipes goes with it.
    const started = await execa(shimBin, ['--root', roots.root, '--data-root', roots.dataRoot, 'run', '-d', '--bundle', bundle, id], { env: roots.env, stdio: 'ignore', reject: false });
    expect(started.exitCode).toBe(0);
    try {
      const exec = await shim(roots, ['exec', id, 'grep', 'Seccomp:', '/proc/self/status']);
      expect(exec.stdout).toBe('Seccomp:\t2\n');
      const probe = await shim(roots, ['exec', id, '/bin/probe', 'kexec_load', 'personality,1', 'getpid']);
      expect(probe.stdout).toBe('kexec_load -> errno 1\npersonality,1 -> errno 38\ngetpid -> ok\n');
    } finally {
      await shim(roots, ['delete', '--force', id]);
    }
    // Without linux.seccomp: no filter.
    const plain = await runProbe('shim', undefined, ['personality,1']);
    expect(plain.stdout).toBe('personality,1 -> ok\n');
  });

  it('flags go to seccomp(2): LOG and SPEC_ALLOW are taken (runc 1.1 refuses any flag)', async () => {
    const result = await runProbe('shim', { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'], syscalls: [{ names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 9 }] }, ['getppid']);
    expect({ exitCode: result.exitCode, stdout: result.stdout }).toEqual({ exitCode: 0, stdout: 'getppid -> errno 9\n' });
  });

  it('a wrong profile is refused with one line naming the field, and leaves nothing', async () => {
    const result = await runProbe('shim', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', args: [{ index: 7, value: 1, op: 'SCMP_CMP_EQ' }] }] }, ['getpid']);
    expect(result.exitCode).toBe(125);
    expect(result.stderr).toMatch(/^shim: run sc-shim-\d+-\d+: config.json: linux.seccomp.syscalls\[0\].args\[0\].index 7 is over 5: a syscall has six arguments\n$/);
    expect(await settledLeaks(roots)).toEqual([]);
  });
});
