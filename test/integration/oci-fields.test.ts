// Config fields beyond the core against real containers: personality(2), scheduler and io priority, a uts
// namespace joined by path with a hostname, and SELinux/AppArmor labels ignored on this host (said with --debug).

import { execa } from 'execa';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shimToFiles } from '../support/files-stdio.js';
import { makeBundle, makeRoots, settledLeaks, shim, shimBin, type Roots } from '../support/shim.js';

let roots: Roots;

beforeEach(async () => {
  roots = await makeRoots();
});

afterEach(async () => {
  try {
    for (const id of await readdir(roots.root).catch(() => [] as string[])) {
      if (!id.startsWith('.')) await shim(roots, ['delete', '--force', id]);
    }
    expect(await settledLeaks(roots)).toEqual([]);
  } finally {
    await roots.dispose();
  }
});

async function bundle(args: string[], mutate: (config: any) => void = () => {}): Promise<string> {
  return makeBundle(join(roots.base, `bundle-${Math.random().toString(36).slice(2, 8)}`), (config) => {
    config.process.args = args;
    mutate(config);
  });
}

describe('config fields', () => {
  it('runs under linux.personality LINUX32 (uname says i686) and with ADDR_NO_RANDOMIZE', async () => {
    const linux32 = await shim(roots, ['run', '--bundle', await bundle(['uname', '-m'], (c) => (c.linux.personality = { domain: 'LINUX32' })), 'p1']);
    expect(linux32.exitCode, linux32.stderr).toBe(0);
    expect(linux32.stdout).toBe('i686\n');
    // /proc/self/personality is the value in hex.
    const flags = await shim(roots, ['run', '--bundle', await bundle(['cat', '/proc/self/personality'], (c) => (c.linux.personality = { domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] })), 'p2']);
    expect(flags.stdout).toBe('00040000\n');
  });

  it('runs under process.scheduler SCHED_BATCH nice 5 and process.ioPriority best-effort 4', async () => {
    const dir = await bundle(['sh', '-c', 'cat /proc/self/stat; ionice -p $$'], (c) => {
      c.process.scheduler = { policy: 'SCHED_BATCH', nice: 5 };
      c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 4 };
    });
    const result = await shim(roots, ['run', '--bundle', dir, 's1']);
    expect(result.exitCode, result.stderr).toBe(0);
    const [stat, ionice] = result.stdout.trim().split('\n');
    // proc(5): after the ")" of comm, field 19 is nice and field 41 the policy (SCHED_BATCH is 3).
    const fields = stat!.slice(stat!.lastIndexOf(')') + 2).split(' ');
    expect(fields[19 - 3]).toBe('5');
    expect(fields[41 - 3]).toBe('3');
    expect(ionice).toBe('best-effort: prio 4');
  });

  it('sets the hostname in a uts namespace joined by path, as runc does', async () => {
    expect((await shimToFiles(roots, ['create', '--bundle', await bundle(['sleep', '30'], (c) => (c.hostname = 'first')), 'u1'])).exitCode).toBe(0);
    const pid = JSON.parse((await shim(roots, ['state', 'u1'])).stdout).pid;
    const joiner = await bundle(['hostname'], (c) => {
      c.hostname = 'second';
      c.linux.namespaces = c.linux.namespaces.map((ns: any) => (ns.type === 'uts' ? { type: 'uts', path: `/proc/${pid}/ns/uts` } : ns));
    });
    const result = await shim(roots, ['run', '--bundle', joiner, 'u2']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('second\n');
    const seen = await shim(roots, ['exec', 'u1', 'hostname']);
    expect(seen.stdout).toBe('second\n');
  });

  it('ignores SELinux and AppArmor labels on a host without them, and says so with --debug', async () => {
    const dir = await bundle(['true'], (c) => {
      c.process.selinuxLabel = 'system_u:system_r:container_t:s0';
      c.linux.mountLabel = 'system_u:object_r:container_file_t:s0';
      c.process.apparmorProfile = 'containers-default-0.50.1';
    });
    const result = await shim(roots, ['run', '--bundle', dir, 'l1'], { globalArgs: ['--debug'] });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('shim: debug: config.json: process.apparmorProfile containers-default-0.50.1 ignored: this host has no AppArmor (as crun)');
    expect(result.stderr).toContain('shim: debug: config.json: process.selinuxLabel system_u:system_r:container_t:s0 ignored: this host has no SELinux (as crun)');
  });
});

// runtime-spec 1.2's fields that runc 1.2-1.4 apply, each against the kernel here.
describe('runtime-spec 1.2 fields', () => {
  it('linux.memoryPolicy: set_mempolicy for the init and every exec (numa_maps shows it); a node this host lacks fails create', async () => {
    const dir = await bundle(['sh', '-c', 'head -1 /proc/self/numa_maps; sleep 30'], (c) => (c.linux.memoryPolicy = { mode: 'MPOL_INTERLEAVE', nodes: '0' }));
    expect((await shimToFiles(roots, ['create', '--bundle', dir, 'm1'])).exitCode).toBe(0);
    // /proc/PID/numa_maps names the policy of each mapping without one of its own: the task's.
    const pid = JSON.parse((await shim(roots, ['state', 'm1'])).stdout).pid;
    expect(await readFile(`/proc/${pid}/numa_maps`, 'utf8')).toMatch(/^\S+ interleave:0 /);
    const exec = await shim(roots, ['exec', 'm1', 'head', '-1', '/proc/self/numa_maps']);
    expect(exec.exitCode, exec.stderr).toBe(0);
    expect(exec.stdout).toMatch(/^\S+ interleave:0 /);
    const bind = await shim(roots, ['run', '--bundle', await bundle(['head', '-1', '/proc/self/numa_maps'], (c) => (c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] })), 'm2']);
    expect(bind.exitCode, bind.stderr).toBe(0);
    expect(bind.stdout).toMatch(/ bind=static:0 /);
    // A single-node host: node 1 is not there, and the kernel says so at create.
    const missing = await shim(roots, ['run', '--bundle', await bundle(['true'], (c) => (c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '1' })), 'm3']);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toMatch(/set_mempolicy mode 0x2.*EINVAL/);
  });

  it('linux.timeOffsets: a new time namespace with boottime and monotonic offsets, refused without one in runc\'s words', async () => {
    const dir = await bundle(['sh', '-c', 'cat /proc/uptime /proc/self/timens_offsets'], (c) => {
      c.linux.namespaces.push({ type: 'time' });
      c.linux.timeOffsets = { boottime: { secs: 86_400_000 }, monotonic: { secs: 1000, nanosecs: 5 } };
    });
    const result = await shim(roots, ['run', '--bundle', dir, 't1']);
    expect(result.exitCode, result.stderr).toBe(0);
    const [uptime, ...offsets] = result.stdout.trim().split('\n');
    expect(Number(uptime!.split(' ')[0])).toBeGreaterThan(86_400_000);
    expect(offsets.map((line) => line.trim().split(/\s+/).join(' ')).sort()).toEqual(['boottime 86400000 0', 'monotonic 1000 5']);
    const refused = await shim(roots, ['run', '--bundle', await bundle(['true'], (c) => (c.linux.timeOffsets = { boottime: { secs: 1 } })), 't2']);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain("time namespace offsets specified, but time namespace isn't enabled in the config");
  });

  it('process.execCPUAffinity: an exec runs on the final CPUs, the initial ones when only those are given; the init is left alone', async () => {
    const cpus = (await readFile('/sys/devices/system/cpu/online', 'utf8')).trim();
    const dir = await bundle(['sleep', '30'], (c) => (c.process.execCPUAffinity = { initial: '0', final: '1' }));
    expect((await shimToFiles(roots, ['create', '--bundle', dir, 'a1'])).exitCode).toBe(0);
    const pid = JSON.parse((await shim(roots, ['state', 'a1'])).stdout).pid;
    expect(await readFile(`/proc/${pid}/status`, 'utf8')).toMatch(new RegExp(`Cpus_allowed_list:\\s+${cpus}\\n`));
    if (cpus === '0') return; // one CPU: nothing to tell apart
    const exec = await shim(roots, ['exec', 'a1', 'grep', 'Cpus_allowed_list', '/proc/self/status']);
    expect(exec.exitCode, exec.stderr).toBe(0);
    expect(exec.stdout).toMatch(/Cpus_allowed_list:\s+1\n/);
    // A process file's own affinity wins over the container's (runc exec --process).
    const processFile = join(roots.base, 'process.json');
    await writeFile(processFile, JSON.stringify({ args: ['grep', 'Cpus_allowed_list', '/proc/self/status'], cwd: '/', user: { uid: 0, gid: 0 }, env: ['PATH=/bin'], execCPUAffinity: { initial: '1' } }));
    const own = await shim(roots, ['exec', '--process', processFile, 'a1']);
    expect(own.exitCode, own.stderr).toBe(0);
    expect(own.stdout).toMatch(/Cpus_allowed_list:\s+1\n/);
    const bad = await shim(roots, ['run', '--bundle', await bundle(['true'], (c) => (c.process.execCPUAffinity = { final: '3-1' })), 'a2']);
    expect(bad.stderr).toContain('process.execCPUAffinity: bad CPUAffinity.Final: invalid range: 3-1');
  });

  // This kernel has no dummy link type ("Unknown device type"): one end of a veth pair, both ends in the test's
  // own namespace, stands in for the host's device.
  it('linux.netDevices: a link of a namespace the test made is moved in, renamed, with its address', async () => {
    const netns = `shimtest-nd-${Math.random().toString(36).slice(2, 8)}`;
    await execa('ip', ['netns', 'add', netns]);
    try {
      await execa('ip', ['-n', netns, 'link', 'add', 'nd-dummy0', 'type', 'veth', 'peer', 'name', 'nd-peer0']);
      await execa('ip', ['-n', netns, 'addr', 'add', '10.251.77.2/24', 'dev', 'nd-dummy0']);
      const dir = await bundle(['ip', 'addr', 'show', 'ctr-nd0'], (c) => (c.linux.netDevices = { 'nd-dummy0': { name: 'ctr-nd0' } }));
      // The runtime runs in the test's namespace, so "the host's" interface is the test's dummy.
      const result = await execa('nsenter', [`--net=/run/netns/${netns}`, shimBin, '--root', roots.root, '--data-root', roots.dataRoot, 'run', '--bundle', dir, 'n1'], {
        env: roots.env,
        reject: false,
      });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toContain('ctr-nd0');
      expect(result.stdout).toContain('inet 10.251.77.2/24');
      // Gone from the runtime's namespace (a veth end is destroyed with the container's, and its peer with it).
      expect((await execa('ip', ['-n', netns, '-o', 'link'])).stdout).not.toContain('nd-dummy0');
      const missing = await execa('nsenter', [`--net=/run/netns/${netns}`, shimBin, '--root', roots.root, '--data-root', roots.dataRoot, 'run', '--bundle', dir, 'n2'], {
        env: roots.env,
        reject: false,
      });
      expect(missing.exitCode).not.toBe(0);
      expect(missing.stderr).toContain('move netDevice nd-dummy0 to namespace');
      expect(missing.stderr).toContain('link not found for interface nd-dummy0 on runtime namespace');
    } finally {
      await execa('ip', ['netns', 'del', netns], { reject: false });
    }
    const noNet = await shim(roots, ['run', '--bundle', await bundle(['true'], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((ns: any) => ns.type !== 'network');
      c.linux.netDevices = { 'nd-dummy0': {} };
    }), 'n3']);
    expect(noNet.stderr).toContain('unable to move network devices without a NET namespace');
  });

  it('linux.resources hugepageLimits, network and rdma: runc\'s error where this host has no such hierarchy', async () => {
    const hierarchies = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((line) => / - cgroup /.test(line)).map((line) => line.split(' - ')[1]!);
    for (const [field, value, controller] of [
      ['hugepageLimits', [{ pageSize: '2MB', limit: 1 << 21 }], 'hugetlb'],
      ['network', { classID: 0x100001 }, 'net_cls'],
      ['rdma', { mlx5_0: { hcaHandles: 3 } }, 'rdma'],
    ] as const) {
      if (hierarchies.some((line) => line.split(/[ ,]/).includes(controller))) continue; // this host has it: see the unit tests
      const result = await shim(roots, ['run', '--bundle', await bundle(['true'], (c) => (c.linux.resources[field] = value)), `r-${controller.replace('_', '')}`]);
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain(`cannot set ${controller} limit: container could not join or create cgroup`);
    }
  });
});

describe('under a new user namespace', () => {
  const HOST_ROOT = 100000;
  const MAPPING = [{ containerID: 0, hostID: HOST_ROOT, size: 65536 }];
  async function usernsBundle(args: string[], mutate: (config: any) => void = () => {}): Promise<string> {
    const dir = await bundle(args, (c) => {
      c.root.readonly = false;
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = MAPPING;
      c.linux.gidMappings = MAPPING;
      mutate(c);
    });
    await execa('chown', ['-R', `${HOST_ROOT}:${HOST_ROOT}`, join(dir, 'rootfs')]);
    return dir;
  }

  it('process.oomScoreAdj is written by the monitor from outside, so a negative one is the host\'s to allow', async () => {
    // A value below oom_score_adj_min (0 here) needs CAP_SYS_RESOURCE over the host, which the init in its own
    // user namespace never has: only the monitor's write, from outside, can lower it.
    const negative = await shim(roots, ['run', '--bundle', await usernsBundle(['cat', '/proc/self/oom_score_adj'], (c) => (c.process.oomScoreAdj = -500)), 'o1']);
    const capEff = BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(await readFile('/proc/self/status', 'utf8'))![1]}`);
    if ((capEff >> 24n) & 1n) {
      expect(negative.exitCode, negative.stderr).toBe(0);
      expect(negative.stdout).toBe('-500\n');
    } else {
      // This host's root lacks CAP_SYS_RESOURCE: the kernel refuses the monitor too (as it refuses runc here),
      // and the message says it was the write to the init's file from outside, not from inside the namespace.
      expect(negative.exitCode).not.toBe(0);
      expect(negative.stderr).toMatch(/write oom_score_adj.*EACCES/);
      expect(negative.stderr).toMatch(/\/proc\/\d+\/oom_score_adj/);
    }
    const positive = await shim(roots, ['run', '--bundle', await usernsBundle(['cat', '/proc/self/oom_score_adj'], (c) => (c.process.oomScoreAdj = 700)), 'o2']);
    expect(positive.exitCode, positive.stderr).toBe(0);
    expect(positive.stdout).toBe('700\n');
  });

  it('chowns the cgroup v2 directory and its delegate files to the mapped root with a cgroup namespace and a rw cgroupfs (runc\'s OwnerUID)', async () => {
    const dir = await usernsBundle(['sleep', '30'], (c) => {
      c.linux.namespaces.push({ type: 'cgroup' });
      for (const mount of c.mounts) if (mount.destination === '/sys/fs/cgroup') mount.options = mount.options.filter((option: string) => option !== 'ro');
    });
    expect((await shimToFiles(roots, ['create', '--bundle', dir, 'c1'])).exitCode).toBe(0);
    const unified = join('/sys/fs/cgroup/unified', roots.cgroupParent, 'c1');
    expect((await stat(unified)).uid).toBe(HOST_ROOT);
    const delegate = (await readFile('/sys/kernel/cgroup/delegate', 'utf8')).split('\n').filter(Boolean);
    for (const file of delegate) {
      const owner = await stat(join(unified, file)).then((s) => s.uid, () => undefined);
      if (owner !== undefined) expect(owner, file).toBe(HOST_ROOT);
    }
    // Not every file: memory.max and the like stay root's, as the kernel's delegation model says.
    expect((await stat(join(unified, 'cgroup.type'))).uid).toBe(0);
    // Without the cgroup namespace (runc's default read-only cgroupfs too) nothing is handed over.
    expect((await shimToFiles(roots, ['create', '--bundle', await usernsBundle(['sleep', '30']), 'c2'])).exitCode).toBe(0);
    expect((await stat(join('/sys/fs/cgroup/unified', roots.cgroupParent, 'c2'))).uid).toBe(0);
  });
});

describe('hugepageLimits through the v2 backend, on the real cgroup2 hierarchy of this hybrid host', () => {
  const unified = '/sys/fs/cgroup/unified';

  it('enables hugetlb on the way down and writes hugetlb.2MB.max and its .rsvd.max twin, as runc fs2 does', async (context) => {
    const available = await readFile(join(unified, 'cgroup.controllers'), 'utf8').catch(() => '');
    if (!available.split(/\s+/).includes('hugetlb')) context.skip('no hugetlb controller on the cgroup2 hierarchy here');
    const rootControl = join(unified, 'cgroup.subtree_control');
    const enabledBefore = (await readFile(rootControl, 'utf8')).split(/\s+/).includes('hugetlb');
    const dir = join(unified, roots.cgroupParent, 'huge');
    const quiet = { debugEnabled: false, debug() {}, warn() {} };
    const { CgroupV2Manager } = await import('../../src/cgroups/cgroup-v2-manager.js');
    const manager = new CgroupV2Manager(
      {
        dirs: [{ controllers: [], version: 2, mountPoint: unified, cgroupPath: `/${roots.cgroupParent}/huge`, dir }],
        deviceRules: [],
        removableParentDirs: [join(unified, roots.cgroupParent)],
        resources: { hugepageLimits: [{ pageSize: '2MB', limit: 8 * 2097152 }] },
      },
      quiet,
    );
    try {
      await manager.apply();
      expect((await readFile(join(dir, 'hugetlb.2MB.max'), 'utf8')).trim()).toBe(String(8 * 2097152));
      const rsvd = await readFile(join(dir, 'hugetlb.2MB.rsvd.max'), 'utf8').catch(() => undefined);
      if (rsvd !== undefined) expect(rsvd.trim()).toBe(String(8 * 2097152));
    } finally {
      await manager.destroy();
      // The root's subtree_control is the machine's: left as it was found.
      if (!enabledBefore) await writeFile(rootControl, '-hugetlb').catch(() => undefined);
    }
  });
});
