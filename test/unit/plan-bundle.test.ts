// A bundle made by `runc spec` (terminal off, args changed) -> plan, and the planner's refusals.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planContainer } from '../../src/plan/plan-container.js';
import { readOciConfig } from '../../src/plan/read-oci-config.js';
import * as k from '../../src/plan/kernel-constants.js';
import type { OciConfig } from '../../src/plan/oci-config.js';
import { hostFacts } from './fixtures/host.js';

function runcSpec(mutate: (config: any) => void = () => {}): any {
  const config = JSON.parse(readFileSync(new URL('./fixtures/runc-spec-config.json', import.meta.url), 'utf8'));
  config.process.terminal = false;
  config.process.args = ['sh', '-c', 'echo hi'];
  mutate(config);
  return config;
}

function planBundle(raw: unknown, host = hostFacts()) {
  const { config } = readOciConfig(raw);
  return planContainer({ containerId: 'b1', config, bundleDir: '/bundles/b1', cgroupParent: 'shim-test', host });
}

describe('runc spec bundle plan', () => {
  it('reads runc spec output without warnings', () => {
    expect(readOciConfig(runcSpec()).warnings).toEqual([]);
  });

  it('takes root.path from the bundle and keeps it read-only, without an overlay', () => {
    expect(planBundle(runcSpec()).rootfs).toMatchObject({ path: '/bundles/b1/rootfs', lowerDirs: [], readonly: true });
    expect(planBundle(runcSpec((c) => (c.root.path = '/abs/rootfs'))).rootfs.path).toBe('/abs/rootfs');
  });

  it("creates the config's namespaces in its order", () => {
    expect(planBundle(runcSpec()).namespaces.map((ns) => ns.type)).toEqual(['pid', 'net', 'ipc', 'uts', 'mount']);
  });

  it('expands the cgroup mount into a tmpfs and read-only binds of the container cgroup', () => {
    const cgroup = planBundle(runcSpec()).mounts.filter((m) => m.origin === 'cgroup');
    expect(cgroup[0]).toMatchObject({ target: '/sys/fs/cgroup', fstype: 'tmpfs', data: 'mode=755' });
    const memory = cgroup.find((m) => m.target === '/sys/fs/cgroup/memory');
    expect(memory).toEqual({
      source: '/sys/fs/cgroup/memory/shim-test/b1',
      target: '/sys/fs/cgroup/memory',
      fstype: 'bind',
      flags: k.MS_BIND | k.MS_REC | k.MS_NOSUID | k.MS_NOEXEC | k.MS_NODEV | k.MS_RELATIME | k.MS_RDONLY,
      data: '',
      propagation: 0,
      origin: 'cgroup',
    });
    // cgroup2 on a hybrid host is not shown inside, as with runc.
    expect(cgroup.map((m) => m.target)).not.toContain('/sys/fs/cgroup/unified');
  });

  it('links co-mounted controllers under each name', () => {
    const host = hostFacts({
      cgroupHierarchies: [
        { version: 1, controllers: ['cpu', 'cpuacct'], mountPoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/', ownCgroup: '/' },
      ],
    });
    expect(planBundle(runcSpec(), host).symlinks).toEqual(
      expect.arrayContaining([
        { target: 'cpu,cpuacct', path: '/sys/fs/cgroup/cpu' },
        { target: 'cpu,cpuacct', path: '/sys/fs/cgroup/cpuacct' },
      ]),
    );
  });

  it('drops ambient capabilities the kernel would refuse, and says so', () => {
    const planned = planBundle(runcSpec());
    expect(planned.process.capabilities.ambient).toBe(0);
    expect(planned.process.capabilities.bounding).toBe(k.capabilityMask([29, 5, 10]));
    expect(planned.warnings).toEqual([expect.stringContaining('process.capabilities.ambient: CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE left out')]);
    const kept = planBundle(runcSpec((c) => (c.process.capabilities.inheritable = ['CAP_KILL'])));
    expect(kept.process.capabilities.ambient).toBe(k.capabilityMask([5]));
  });

  it('denies every device, then allows runc\'s defaults and the config\'s own devices', () => {
    const planned = planBundle(
      runcSpec((c) => (c.linux.devices = [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o600 }])),
    );
    const rules = planned.cgroup.deviceRules;
    expect(rules[0]).toEqual({ allow: false, type: 'a', major: '*', minor: '*', access: 'rwm' });
    expect(rules.at(-1)).toEqual({ allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' });
    expect(planned.devices.at(-1)).toEqual({ path: '/dev/fuse', type: 'c', mode: k.S_IFCHR | 0o600, major: 10, minor: 229, uid: 0, gid: 0 });
  });

  it('honours linux.cgroupsPath: absolute from the hierarchy root, relative from our own cgroup', () => {
    const absolute = planBundle(runcSpec((c) => (c.linux.cgroupsPath = '/mine/b1'))).cgroup.dirs;
    expect(absolute.find((d) => d.controllers.includes('memory'))?.dir).toBe('/sys/fs/cgroup/memory/mine/b1');
    const relative = planBundle(runcSpec((c) => (c.linux.cgroupsPath = 'mine/b1'))).cgroup.dirs;
    expect(relative.find((d) => d.controllers.includes('memory'))?.dir).toBe('/sys/fs/cgroup/memory/process_api/abc/mine/b1');
    expect(() => planBundle(runcSpec((c) => (c.linux.cgroupsPath = 'system.slice:shim:b1')))).toThrow(/systemd's slice:prefix:name form/);
  });

  it('maps a systemd slice:prefix:name cgroupsPath onto the path systemd would use, under --systemd-cgroup, and says so', () => {
    const { config } = readOciConfig(runcSpec((c) => (c.linux.cgroupsPath = 'machine-app.slice:shim:b1')));
    const plan = planContainer({ containerId: 'b1', config, bundleDir: '/bundles/b1', systemdCgroup: true, host: hostFacts() });
    expect(plan.cgroup.dirs.find((d) => d.controllers.includes('memory'))?.dir).toBe('/sys/fs/cgroup/memory/machine.slice/machine-app.slice/shim-b1.scope');
    expect(plan.cgroup.removableParentDirs).toEqual([]);
    expect(plan.warnings.join('\n')).toMatch(/does not ask systemd .*\/machine.slice\/machine-app.slice\/shim-b1.scope/);
  });

  it('plans linux.resources into the cgroup part of the plan', () => {
    const plan = planBundle(runcSpec((c) => Object.assign(c.linux.resources, { memory: { limit: 33554432 }, pids: { limit: 20 }, cpu: { quota: 50000, period: 100000 } })));
    expect(plan.cgroup.resources).toEqual({
      memory: { limit: 33554432, reservation: undefined, swap: undefined },
      cpu: { shares: undefined, quota: 50000, period: 100000, cpus: undefined, mems: undefined },
      pids: { limit: 20 },
    });
  });

  it('keeps the process as the config says', () => {
    const { process } = planBundle(runcSpec((c) => (c.process.user = { uid: 1000, gid: 1000, additionalGids: [5], umask: 0o027 })));
    expect(process).toMatchObject({ args: ['sh', '-c', 'echo hi'], uid: 1000, gid: 1000, additionalGids: [5], umask: 0o027, noNewPrivileges: true });
    expect(process.rlimits).toEqual([{ name: 'RLIMIT_NOFILE', resource: 7, soft: 1024, hard: 1024 }]);
  });

  it('reads an rlimit too large for a JS number as unlimited', () => {
    const planned = planBundle(runcSpec((c) => (c.process.rlimits = [{ type: 'RLIMIT_CORE', soft: 18446744073709551615, hard: 18446744073709551615 }])));
    expect(planned.process.rlimits[0]).toMatchObject({ soft: 'unlimited', hard: 'unlimited' });
  });

  it('joins a namespace given by path and skips the loopback when the network is joined', () => {
    const planned = planBundle(runcSpec((c) => (c.linux.namespaces[1] = { type: 'network', path: '/var/run/netns/x' })));
    expect(planned.namespaces[1]).toEqual({ type: 'net', path: '/var/run/netns/x' });
    expect(planned.loopbackUp).toBe(false);
  });

  it('resolves relative bind sources against the bundle', () => {
    const planned = planBundle(runcSpec((c) => c.mounts.push({ destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro'] })));
    expect(planned.mounts.at(-1)).toMatchObject({ source: '/bundles/b1/data', target: '/data', fstype: 'bind' });
  });
});

describe('planner refusals', () => {
  const refusals: [string, (c: any) => void, RegExp][] = [
    ['a new user namespace without maps', (c) => c.linux.namespaces.push({ type: 'user' }), /a new user namespace needs both linux\.uidMappings and linux\.gidMappings/],
    ['no mount namespace', (c) => (c.linux.namespaces = c.linux.namespaces.filter((ns: any) => ns.type !== 'mount')), /private MNT namespace/],
    ['a namespace twice', (c) => c.linux.namespaces.push({ type: 'pid' }), /lists pid twice/],
    ['a hostname without uts', (c) => (c.linux.namespaces = c.linux.namespaces.filter((ns: any) => ns.type !== 'uts')), /unable to set hostname without a private UTS namespace/],
    ['an unknown capability', (c) => c.process.capabilities.bounding.push('CAP_FLY'), /CAP_FLY is not a capability/],
    ['an unknown rlimit', (c) => (c.process.rlimits = [{ type: 'RLIMIT_FUN', soft: 1, hard: 1 }]), /RLIMIT_FUN is not a resource limit/],
    ['a relative cwd', (c) => (c.process.cwd = 'tmp'), /process\.cwd tmp must be an absolute path/],
    ['empty args', (c) => (c.process.args = []), /process\.args must name the program/],
    ['a recursive mount option', (c) => c.mounts.push({ destination: '/x', type: 'bind', source: '/x', options: ['rbind', 'rro'] }), /mount option rro is not supported yet/],
  ];
  for (const [what, mutate, message] of refusals) {
    it(`refuses ${what}`, () => {
      expect(() => planBundle(runcSpec(mutate))).toThrow(message);
    });
  }

  it('places the container in the one cgroup2 hierarchy of a pure v2 host', () => {
    const host = hostFacts({ cgroupHierarchies: [{ version: 2, controllers: [], mountPoint: '/sys/fs/cgroup', root: '/', ownCgroup: '/' }] });
    expect(planBundle(runcSpec(), host).cgroup.dirs).toEqual([
      { controllers: [], version: 2, mountPoint: '/sys/fs/cgroup', cgroupPath: '/shim-test/b1', dir: '/sys/fs/cgroup/shim-test/b1' },
    ]);
  });

  it('refuses a capability this kernel does not know', () => {
    const config: OciConfig = readOciConfig(runcSpec((c) => c.process.capabilities.bounding.push('CAP_CHECKPOINT_RESTORE'))).config;
    expect(() => planContainer({ containerId: 'b1', config, bundleDir: '/b', host: hostFacts({ lastCapability: 39 }) })).toThrow(
      /CAP_CHECKPOINT_RESTORE is not known to this kernel/,
    );
  });
});
