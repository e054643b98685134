// The config fields beyond the core, taken or refused as runc and crun do (src/plan/other-fields.ts), through
// readOciConfig and the planner, on the hybrid host of the fixtures and on a pure cgroup v2 one.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planContainer } from '../../src/plan/plan-container.js';
import { readOciConfig } from '../../src/plan/read-oci-config.js';
import { decodeSpec, encodeRunSpec } from '../../src/spec/encode-spec.js';
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
