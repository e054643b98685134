// The config fields beyond the core, taken or refused as runc and crun do (src/plan/other-fields.ts), through
// readOciConfig and the planner, on the hybrid host of the fixtures and on a pure cgroup v2 one.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planContainer } from '../../src/plan/plan-container.js';
import { readOciConfig } from '../../src/plan/read-oci-config.js';
import { encodeRunSpec } from '../../src/spec/encode-spec.js';
import { decodeSpec } from '../support/decode-spec.js';
import { hostFacts } from './fixtures/host.js';

function runcSpec(mutate: (config: any) => void = () => {}): any {
  const config = JSON.parse(readFileSync(new URL('./fixtures/runc-spec-config.json', import.meta.url), 'utf8'));
  config.process.terminal = false;
  mutate(config);
  return config;
}

const pureV2 = () =>
  hostFacts({ cgroupHierarchies: [{ version: 2, controllers: [], mountPoint: '/sys/fs/cgroup', root: '/', ownCgroup: '/' }] });

function plan(mutate: (config: any) => void, host = hostFacts()) {
  const { config, warnings } = readOciConfig(runcSpec(mutate));
  return { plan: planContainer({ containerId: 'o1', config, bundleDir: '/b', cgroupParent: 'shim-test', host }), warnings };
}

describe('linux.personality', () => {
  it('takes LINUX32 and LINUX with flags, and hands personality(2) its value', () => {
    expect(plan((c) => (c.linux.personality = { domain: 'LINUX32' })).plan.personality).toBe(0x8);
    const withFlags = plan((c) => (c.linux.personality = { domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] })).plan;
    expect(withFlags.personality).toBe(0x40000);
    expect(decodeSpec(encodeRunSpec(withFlags, { debug: false }))).toMatchObject({ hasPersonality: true, personality: 0x40000 });
    expect(decodeSpec(encodeRunSpec(plan(() => {}).plan, { debug: false })).hasPersonality).toBe(false);
  });

  it("refuses a domain runc does not know, in runc's words, and an unknown flag", () => {
    expect(() => plan((c) => (c.linux.personality = { domain: 'SVR4' }))).toThrow('invalid personality domain SVR4');
    expect(() => plan((c) => (c.linux.personality = { domain: 'LINUX', flags: ['NOPE'] }))).toThrow(/NOPE is not a personality flag/);
  });
});

describe('labels on a host without SELinux or AppArmor', () => {
  it('ignores them as crun does, and says so (shown with --debug)', () => {
    const { plan: planned, warnings } = plan((c) => {
      c.process.selinuxLabel = 'system_u:system_r:container_t:s0:c1,c2';
      c.linux.mountLabel = 'system_u:object_r:container_file_t:s0:c1,c2';
      c.process.apparmorProfile = 'containers-default-0.50.1';
    });
    expect(warnings).toEqual([]);
    expect(planned.notes).toEqual([
      'process.selinuxLabel system_u:system_r:container_t:s0:c1,c2 ignored: this host has no SELinux (as crun)',
      'linux.mountLabel system_u:object_r:container_file_t:s0:c1,c2 ignored: this host has no SELinux (as crun)',
      'process.apparmorProfile containers-default-0.50.1 ignored: this host has no AppArmor (as crun)',
    ]);
  });

  it('refuses them on a host that has the LSM, rather than run unconfined', () => {
    expect(() => plan((c) => (c.process.apparmorProfile = 'p'), hostFacts({ apparmor: true }))).toThrow(/process.apparmorProfile is not supported yet/);
  });

  it('notes the Windows-only user.username and commandLine', () => {
    const planned = plan((c) => {
      c.process.user.username = 'root';
      c.process.commandLine = 'cmd.exe';
    }).plan;
    expect(planned.notes).toEqual(['process.user.username root ignored: it is for Windows', 'process.commandLine ignored: it is for Windows']);
  });
});

describe('linux.resources beyond the core', () => {
  it("refuses unified on a hybrid (v1) host in runc's words, unless it is empty", () => {
    expect(() => plan((c) => (c.linux.resources.unified = { 'memory.high': '1000000' }))).toThrow(
      'config.json: linux.resources.unified: invalid configuration: cannot use unified on cgroup v1',
    );
    expect(plan((c) => (c.linux.resources.unified = {})).plan.cgroup.resources?.unified).toBeUndefined();
  });

  it('takes unified on pure cgroup v2 into the resources the v2 manager writes, and refuses a path in a key', () => {
    const planned = plan((c) => (c.linux.resources.unified = { 'memory.high': '1000000', 'pids.max': '7' }), pureV2()).plan;
    expect(planned.cgroup.resources?.unified).toEqual({ 'memory.high': '1000000', 'pids.max': '7' });
    expect(() => plan((c) => (c.linux.resources.unified = { '../x.y': '1' }), pureV2())).toThrow(/is not a cgroup file name/);
  });

  it("refuses hugepageLimits, network and rdma where the host has no such controller, in runc's words", () => {
    expect(() => plan((c) => (c.linux.resources.hugepageLimits = [{ pageSize: '2MB', limit: 2097152 }]))).toThrow(
      /linux.resources.hugepageLimits: cannot set hugetlb limit: container could not join or create cgroup/,
    );
    expect(() => plan((c) => (c.linux.resources.network = { classID: 1048577 }))).toThrow(/cannot set net_cls limit/);
    expect(() => plan((c) => (c.linux.resources.network = { priorities: [{ name: 'eth0', priority: 5 }] }))).toThrow(/cannot set net_prio limit/);
    expect(() => plan((c) => (c.linux.resources.rdma = { mlx5_1: { hcaHandles: 3 } }))).toThrow(/cannot set rdma limit/);
    // Empty ones carry no request.
    expect(() => plan((c) => (c.linux.resources.hugepageLimits = []))).not.toThrow();
  });

  it("refuses intelRdt without resctrl in runc's words", () => {
    expect(() => plan((c) => (c.linux.intelRdt = { closID: 'guaranteed_group', l3CacheSchema: 'L3:0=7f0' }))).toThrow(
      'config.json: linux.intelRdt: intelRdt is specified in config, but Intel RDT is not supported or enabled',
    );
  });
});

describe('namespaces and the rest', () => {
  it('sets the hostname in a uts namespace joined by path, as runc allows', () => {
    const planned = plan((c) => {
      c.hostname = 'joined';
      c.linux.namespaces = c.linux.namespaces.map((ns: any) => (ns.type === 'uts' ? { type: 'uts', path: '/proc/1/ns/uts' } : ns));
    }).plan;
    expect(planned.hostname).toBe('joined');
    expect(planned.namespaces).toContainEqual({ type: 'uts', path: '/proc/1/ns/uts' });
  });

  it('takes consoleSize with a terminal', () => {
    const planned = plan((c) => {
      c.process.terminal = true;
      c.process.consoleSize = { height: 40, width: 132 };
    }).plan;
    expect(decodeSpec(encodeRunSpec(planned, { debug: false, consoleSocket: '/s' }))).toMatchObject({ consoleHeight: 40, consoleWidth: 132 });
  });

  it('takes every ociVersion from 1.0.0 to 1.3.x and the annotations podman and CRI-O set', () => {
    for (const version of ['1.0.0', '1.0.2-dev', '1.1.0', '1.2.1', '1.3.0']) {
      expect(() => plan((c) => (c.ociVersion = version))).not.toThrow();
    }
    const annotations = {
      'io.container.manager': 'libpod',
      'io.podman.annotations.autoremove': 'TRUE',
      'org.opencontainers.image.stopSignal': '15',
      'io.kubernetes.cri-o.ContainerType': 'container',
      'io.kubernetes.cri-o.SandboxID': 'abc',
    };
    expect(plan((c) => (c.annotations = annotations)).warnings).toEqual([]);
  });

  it('ignores fields runtime-spec does not define, with a warning, never a refusal', () => {
    const { warnings } = plan((c) => {
      c.linux.somethingNew = { x: 1 };
      c.process.vendorExtension = true;
    });
    expect(warnings).toEqual(['config.json: unknown field process.vendorExtension ignored', 'config.json: unknown field linux.somethingNew ignored']);
  });
});

describe('process.scheduler and process.ioPriority', () => {
  it('takes them as runc 1.2 does: sched_attr fields and class << 13 | priority', () => {
    const planned = plan((c) => {
      c.process.scheduler = { policy: 'SCHED_BATCH', nice: 5, flags: ['SCHED_FLAG_RESET_ON_FORK'] };
      c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 4 };
    }).plan;
    expect(planned.scheduler).toEqual({ policy: 3, flags: 1, nice: 5, priority: 0, runtime: 0, deadline: 0, period: 0 });
    expect(planned.ioPriority).toBe((2 << 13) | 4);
    expect(decodeSpec(encodeRunSpec(planned, { debug: false }))).toMatchObject({ ioPriority: 16388, scheduler: { policy: 3, nice: 5 } });
  });

  it("refuses what runc 1.2's validator refuses, in its words", () => {
    expect(() => plan((c) => (c.process.scheduler = { policy: 'SCHED_OTHER', priority: 3 }))).toThrow(
      'scheduler.priority can only be specified for SchedFIFO or SchedRR policy',
    );
    expect(() => plan((c) => (c.process.scheduler = { policy: 'SCHED_OTHER', nice: 40 }))).toThrow('invalid scheduler.nice: 40 when scheduler.policy is SCHED_OTHER');
    expect(() => plan((c) => (c.process.scheduler = { policy: 'SCHED_X' }))).toThrow('invalid scheduler policy: SCHED_X');
    expect(() => plan((c) => (c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 8 }))).toThrow('invalid ioPriority.Priority: 8');
    expect(() => plan((c) => (c.process.ioPriority = { class: 'NOPE', priority: 1 }))).toThrow('invalid ioPriority.Class: "NOPE"');
  });
});

// A v1 host with every controller mounted, hugetlb, net_cls,net_prio and rdma included.
const fullV1 = () =>
  hostFacts({
    cgroupHierarchies: [
      ...hostFacts().cgroupHierarchies,
      { version: 1, controllers: ['hugetlb'], mountPoint: '/sys/fs/cgroup/hugetlb', root: '/', ownCgroup: '/' },
      { version: 1, controllers: ['net_cls', 'net_prio'], mountPoint: '/sys/fs/cgroup/net_cls,net_prio', root: '/', ownCgroup: '/' },
      { version: 1, controllers: ['rdma'], mountPoint: '/sys/fs/cgroup/rdma', root: '/', ownCgroup: '/' },
    ],
  });

describe('hugetlb, net_cls/net_prio and rdma where the host has them', () => {
  const all = (c: any) => {
    c.linux.resources.hugepageLimits = [{ pageSize: '2MB', limit: 4194304 }];
    c.linux.resources.network = { classID: 0x100001, priorities: [{ name: 'eth0', priority: 5 }] };
    c.linux.resources.rdma = { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } };
  };

  it('cgroup v1: planned for the v1 manager, which writes runc fs\'s files into each hierarchy', async () => {
    const resources = plan(all, fullV1()).plan.cgroup.resources!;
    expect(resources).toMatchObject({
      hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
      netClassId: 0x100001,
      netPriorities: [{ name: 'eth0', priority: 5 }],
      rdma: { mlx5_1: 'hca_handle=3 hca_object=10000' },
    });
    const { v1ResourceWrites } = await import('../../src/cgroups/resources.js');
    expect(v1ResourceWrites(resources).filter((w) => ['hugetlb', 'net_cls', 'net_prio', 'rdma'].includes(w.controller))).toEqual([
      { controller: 'hugetlb', file: 'hugetlb.2MB.limit_in_bytes', value: '4194304' },
      { controller: 'net_cls', file: 'net_cls.classid', value: String(0x100001) },
      { controller: 'net_prio', file: 'net_prio.ifpriomap', value: 'eth0 5' },
      { controller: 'rdma', file: 'rdma.max', value: 'mlx5_1 hca_handle=3 hca_object=10000' },
    ]);
  });

  it('pure cgroup v2: hugetlb and rdma written as runc fs2 does; network ignored with a note, as fs2 never reads it', async () => {
    const planned = plan(all, pureV2()).plan;
    expect(planned.cgroup.resources?.netClassId).toBeUndefined();
    expect(planned.notes).toContain('linux.resources.network ignored: cgroup v2 has no net_cls or net_prio controller (as runc)');
    const { v2ResourceWrites } = await import('../../src/cgroups/resources.js');
    expect(v2ResourceWrites(planned.cgroup.resources!).filter((w) => ['hugetlb', 'rdma'].includes(w.controller))).toEqual([
      { controller: 'hugetlb', file: 'hugetlb.2MB.max', value: '4194304' },
      { controller: 'rdma', file: 'rdma.max', value: 'mlx5_1 hca_handle=3 hca_object=10000' },
    ]);
  });

  it('refuses values that would make a wrong file name or line', () => {
    expect(() => plan((c) => (c.linux.resources.hugepageLimits = [{ pageSize: '../2MB', limit: 1 }]), fullV1())).toThrow(/is not a page size like 2MB/);
    expect(() => plan((c) => (c.linux.resources.network = { priorities: [{ name: 'eth0 7\nlo', priority: 5 }] }), fullV1())).toThrow(/is not an interface and a priority/);
    expect(() => plan((c) => (c.linux.resources.rdma = { mlx5_1: {} }), fullV1())).toThrow(/needs a device name and hcaHandles or hcaObjects/);
  });

  it("intelRdt on a host with resctrl is refused as not done, never ignored", () => {
    expect(() => plan((c) => (c.linux.intelRdt = { closID: 'g' }), hostFacts({ resctrl: true }))).toThrow(/linux.intelRdt is not supported yet/);
  });
});

describe('runtime-spec 1.2: execCPUAffinity, memoryPolicy, timeOffsets, netDevices', () => {
  it('parses CPU lists as runc\'s ToCPUSet into sched_setaffinity\'s bytes', async () => {
    const { cpuListMask } = await import('../../src/plan/other-fields.js');
    const mask = Buffer.from(cpuListMask(' 0-2, ,5,64')!, 'base64');
    expect(mask.length).toBe(128);
    expect([...mask.subarray(0, 9)]).toEqual([0b100111, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(Buffer.from(cpuListMask('2000')!, 'base64').length).toBe(256);
    expect(cpuListMask('')).toBeUndefined();
    expect(() => cpuListMask('3-1')).toThrow('invalid range: 3-1');
    expect(() => cpuListMask(',')).toThrow('no members found in set ","');
    expect(() => cpuListMask('70000')).toThrow('values larger than 65536 are not supported');
    expect(() => cpuListMask('x')).toThrow(/invalid syntax/);
  });

  it('execCPUAffinity is checked at create and left to exec (the init never gets it)', async () => {
    const planned = plan((c) => (c.process.execCPUAffinity = { initial: '0', final: '1' })).plan;
    const spec = decodeSpec(encodeRunSpec(planned, { debug: false }));
    expect(spec.execCpuAffinityInitial?.length ?? 0).toBe(0);
    expect(() => plan((c) => (c.process.execCPUAffinity = { initial: 'a' }))).toThrow(/process.execCPUAffinity: bad CPUAffinity.Initial/);
  });

  it("takes memoryPolicy modes and flags as runc 1.4, refusing in its words", () => {
    const planned = plan((c) => (c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0-1', flags: ['MPOL_F_STATIC_NODES'] })).plan;
    expect(planned.memoryPolicy?.mode).toBe(2 | (1 << 15));
    const spec = decodeSpec(encodeRunSpec(planned, { debug: false }));
    expect(spec.hasMemoryPolicy).toBe(true);
    expect(spec.memoryPolicyNodes?.[0]).toBe(0b11);
    expect(plan((c) => (c.linux.memoryPolicy = { mode: 'MPOL_LOCAL' })).plan.memoryPolicy).toEqual({ mode: 4, nodes: '' });
    expect(() => plan((c) => (c.linux.memoryPolicy = { mode: 'MPOL_FOO' }))).toThrow('invalid memory policy mode "MPOL_FOO"');
    expect(() => plan((c) => (c.linux.memoryPolicy = { mode: 'MPOL_BIND' }))).toThrow('memory policy mode requires at least one node but got 0');
    expect(() => plan((c) => (c.linux.memoryPolicy = { mode: 'MPOL_DEFAULT', nodes: '0,1' }))).toThrow('memory policy mode requires 0 nodes but got 2');
    expect(() => plan((c) => (c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_X'] }))).toThrow('invalid memory policy flag "MPOL_F_X"');
    expect(plan((c) => (c.linux.memoryPolicy = { mode: 'MPOL_PREFERRED' })).plan.memoryPolicy?.mode).toBe(1);
  });

  it("takes timeOffsets for a new time namespace as runc writes them, refusing in runc 1.2's words", () => {
    const withTime = (c: any) => c.linux.namespaces.push({ type: 'time' });
    const planned = plan((c) => {
      withTime(c);
      c.linux.timeOffsets = { monotonic: { secs: -5, nanosecs: 10 }, boottime: { secs: 100 } };
    }).plan;
    expect(planned.timeOffsets).toBe('monotonic -5 10\nboottime 100 0\n');
    expect(decodeSpec(encodeRunSpec(planned, { debug: false })).timeOffsets).toBe('monotonic -5 10\nboottime 100 0\n');
    expect(() => plan((c) => (c.linux.timeOffsets = { boottime: { secs: 1 } }))).toThrow("time namespace offsets specified, but time namespace isn't enabled in the config");
    expect(() => plan((c) => {
      c.linux.namespaces.push({ type: 'time', path: '/proc/1/ns/time' });
      c.linux.timeOffsets = { boottime: { secs: 1 } };
    })).toThrow('time namespace enabled, but both namespace path and time offsets specified -- you may only provide one');
    expect(() => plan((c) => {
      withTime(c);
      c.linux.timeOffsets = { realtime: { secs: 1 } };
    })).toThrow(/only monotonic and boottime have offsets/);
    expect(() => plan(withTime, hostFacts({ timeNamespaces: false }))).toThrow("time namespaces aren't enabled in the kernel");
  });

  it("takes netDevices with a network namespace, refusing in runc 1.3's words", () => {
    expect(plan((c) => (c.linux.netDevices = { eth1: {}, eth2: { name: 'ctr0' } })).plan.netDevices).toEqual([
      { hostName: 'eth1', name: 'eth1' },
      { hostName: 'eth2', name: 'ctr0' },
    ]);
    const spec = decodeSpec(encodeRunSpec(plan((c) => (c.linux.netDevices = { eth1: {} })).plan, { debug: false }));
    expect(spec.pauseForHooks).toBe(true);
    expect(() => plan((c) => {
      c.linux.namespaces = c.linux.namespaces.filter((ns: any) => ns.type !== 'network');
      c.linux.netDevices = { eth1: {} };
    })).toThrow('unable to move network devices without a NET namespace');
    expect(() => plan((c) => (c.linux.netDevices = { 'a/b': {} }))).toThrow('invalid network device name "a/b"');
    expect(() => plan((c) => (c.linux.netDevices = { eth1: { name: 'x'.repeat(16) } }))).toThrow(/invalid network device name/);
    expect(() => plan((c) => (c.linux.netDevices = { eth1: { name: 'c' }, eth2: { name: 'c' } }))).toThrow(/two devices would be named c/);
  });
});

describe('user namespace details', () => {
  const userns = (c: any) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  };

  it('hands oom_score_adj to the monitor with a new user namespace only', () => {
    const inside = decodeSpec(encodeRunSpec(plan((c) => (c.process.oomScoreAdj = -500)).plan, { debug: false }));
    expect(inside.process?.hasOomScoreAdj).toBe(true);
    expect(inside.hasMonitorOomScoreAdj).toBe(false);
    const outside = decodeSpec(encodeRunSpec(plan((c) => {
      userns(c);
      c.process.oomScoreAdj = -500;
    }).plan, { debug: false }));
    expect(outside.process?.hasOomScoreAdj).toBe(false);
    expect(outside).toMatchObject({ hasMonitorOomScoreAdj: true, monitorOomScoreAdj: -500 });
  });

  it("owns the cgroup by the process's mapped uid only with a cgroup namespace and a rw cgroupfs (runc's OwnerUID)", () => {
    const rw = (c: any) => {
      for (const mount of c.mounts) if (mount.destination === '/sys/fs/cgroup') mount.options = mount.options.filter((o: string) => o !== 'ro');
    };
    const owned = plan((c) => {
      userns(c);
      rw(c);
      c.linux.namespaces.push({ type: 'cgroup' });
      c.process.user.uid = 1000;
    }).plan;
    expect(owned.cgroup.ownerUid).toBe(101000);
    expect(plan((c) => {
      userns(c);
      c.linux.namespaces.push({ type: 'cgroup' });
    }).plan.cgroup.ownerUid).toBeUndefined();
    expect(plan((c) => {
      userns(c);
      rw(c);
    }).plan.cgroup.ownerUid).toBeUndefined();
  });
});

describe('no new mount namespace', () => {
  const withoutMount = (c: any) => (c.linux.namespaces = c.linux.namespaces.filter((ns: any) => ns.type !== 'mount'));
  it("refuses masked paths in runc's words, and the rest with the reason", () => {
    expect(() => plan(withoutMount)).toThrow('unable to restrict sys entries without a private MNT namespace');
    expect(() => plan((c) => {
      withoutMount(c);
      c.linux.maskedPaths = [];
      c.linux.readonlyPaths = [];
    })).toThrow(/running without a new mount namespace is not supported: as runc does it, the caller's \/ would become rslave/);
  });
});
