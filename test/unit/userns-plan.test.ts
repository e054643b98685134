// The user-namespace planning (src/userns/): the maps checked as the kernel will check them, what a user
// namespace changes in the plan (host device nodes bound, the sysfs fallback, idmapped mounts and layers),
// the docker-style flags, and the Spec fields they become.

import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../../src/errors.js';
import { planContainer } from '../../src/plan/plan-container.js';
import { readOciConfig } from '../../src/plan/read-oci-config.js';
import { encodeRunSpec } from '../../src/spec/encode-spec.js';
import { decodeSpec } from '../support/decode-spec.js';
import { checkMappings, planUserNamespace, toHostId } from '../../src/userns/plan-user-namespace.js';
import { readUserNamespaceFlags } from '../../src/userns/userns-flags.js';
import { planDockerConfig } from '../../src/plan/docker-config.js';

const host = {
  cgroupHierarchies: [{ version: 2 as const, controllers: [], mountPoint: '/sys/fs/cgroup', root: '/', ownCgroup: '/' }],
  cgroupNamespaces: true,
  lastCapability: 40,
  procKcore: true,
};

function baseConfig(mutate: (config: any) => void = () => {}): any {
  const config: any = {
    ociVersion: '1.2.0',
    root: { path: 'rootfs' },
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'ro'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'network' }, { type: 'user' }],
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    },
  };
  mutate(config);
  return config;
}

function plan(config: any, overlay?: any) {
  return planContainer({ containerId: 'c1', config: readOciConfig(config).config, bundleDir: '/b', host, overlay });
}

function refusal(action: () => unknown): RuntimeError {
  try {
    action();
  } catch (error) {
    return error as RuntimeError;
  }
  throw new Error('expected a refusal');
}

describe('checkMappings', () => {
  const m = (containerID: number, hostID: number, size: number) => ({ containerID, hostID, size });

  it('takes disjoint ranges and converts ids', () => {
    const maps = checkMappings([m(0, 100000, 1000), m(1000, 300000, 10)], 'linux.uidMappings');
    expect(toHostId(maps, 0)).toBe(100000);
    expect(toHostId(maps, 1005)).toBe(300005);
    expect(toHostId(maps, 1010)).toBeUndefined();
  });

  it('refuses overlaps on either side, empty ranges, ranges past 2^32 and more than 340 lines', () => {
    expect(refusal(() => checkMappings([m(0, 1, 10), m(5, 100, 10)], 'x')).message).toContain('overlap in container ids');
    expect(refusal(() => checkMappings([m(0, 100, 10), m(50, 105, 10)], 'x')).message).toContain('overlap in host ids');
    expect(refusal(() => checkMappings([m(0, 100, 0)], 'x')).message).toContain('size is 0');
    expect(refusal(() => checkMappings([m(0, 4294967295, 2)], 'x')).message).toContain('runs past id 4294967295');
    expect(refusal(() => checkMappings([m(-1, 1, 1)], 'x')).message).toContain('is not a 32-bit id');
    const many = Array.from({ length: 341 }, (_, i) => m(i, 100000 + i, 1));
    expect(refusal(() => checkMappings(many, 'x')).message).toContain('the kernel takes at most 340');
  });
});

describe('planUserNamespace', () => {
  it('a new namespace carries its maps; a joined one carries none', () => {
    expect(planUserNamespace(baseConfig())).toEqual({
      uidMappings: [{ containerId: 0, hostId: 100000, size: 65536 }],
      gidMappings: [{ containerId: 0, hostId: 100000, size: 65536 }],
    });
    const joined = planUserNamespace(baseConfig((c) => (c.linux.namespaces[3] = { type: 'user', path: '/proc/42/ns/user' })));
    expect(joined).toEqual({
      path: '/proc/42/ns/user',
      uidMappings: [],
      gidMappings: [],
      warning: 'linux.uidMappings/gidMappings ignored: the user namespace /proc/42/ns/user is joined with the maps it has',
    });
    expect(planUserNamespace(baseConfig((c) => {
      c.linux.namespaces.pop();
      delete c.linux.uidMappings;
      delete c.linux.gidMappings;
    }))).toBeUndefined();
  });

  it('refuses maps without a namespace, a namespace without maps, and unmapped process ids', () => {
    expect(refusal(() => planUserNamespace(baseConfig((c) => c.linux.namespaces.pop()))).message).toContain('has no user namespace');
    expect(refusal(() => planUserNamespace(baseConfig((c) => delete c.linux.gidMappings))).message).toContain('needs both');
    expect(refusal(() => planUserNamespace(baseConfig((c) => (c.process.user.additionalGids = [70000])))).message).toBe(
      'config.json: process.user gid 70000 is not mapped by linux.gidMappings',
    );
  });
});

describe('the plan of a container with a user namespace', () => {
  it('binds the host\'s device nodes, and keeps sysfs when the network namespace is its own', () => {
    const planned = plan(baseConfig());
    expect(planned.devices.length).toBeGreaterThan(0);
    expect(planned.devices.every((device) => device.bindFromHost)).toBe(true);
    expect(planned.mounts.find((mount) => mount.target === '/sys')!.fallbackBindSource).toBeUndefined();
    expect(planned.userNamespace?.uidMappings).toEqual([{ containerId: 0, hostId: 100000, size: 65536 }]);
  });

  it('falls back to the host\'s /sys, with a warning, when the network namespace is shared', () => {
    const planned = plan(baseConfig((c) => (c.linux.namespaces = c.linux.namespaces.filter((ns: any) => ns.type !== 'network'))));
    expect(planned.mounts.find((mount) => mount.target === '/sys')!.fallbackBindSource).toBe('/sys');
    expect(planned.warnings.join('\n')).toContain('the host\'s /sys is bound there instead');
  });

  it('plans idmapped bind mounts from the options or the mount\'s own maps, and refuses the rest', () => {
    const planned = plan(baseConfig((c) => {
      c.mounts.push({ destination: '/a', type: 'bind', source: '/srv/a', options: ['rbind', 'ridmap'] });
      c.mounts.push({
        destination: '/b', type: 'bind', source: '/srv/b',
        uidMappings: [{ containerID: 0, hostID: 5000, size: 10 }], gidMappings: [{ containerID: 0, hostID: 5000, size: 10 }],
      });
    }));
    expect(planned.mounts.find((mount) => mount.target === '/a')!.idmap).toEqual({
      uidMappings: [{ containerId: 0, hostId: 100000, size: 65536 }],
      gidMappings: [{ containerId: 0, hostId: 100000, size: 65536 }],
      recursive: true,
    });
    expect(planned.mounts.find((mount) => mount.target === '/b')!.idmap).toEqual({
      uidMappings: [{ containerId: 0, hostId: 5000, size: 10 }],
      gidMappings: [{ containerId: 0, hostId: 5000, size: 10 }],
      recursive: false,
    });
    expect(refusal(() => plan(baseConfig((c) => c.mounts.push({ destination: '/t', type: 'tmpfs', options: ['idmap'] })))).message).toContain(
      'only a bind mount can be idmapped',
    );
    expect(refusal(() => plan(baseConfig((c) => {
      c.mounts.push({ destination: '/a', type: 'bind', source: '/srv/a', uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] });
    }))).message).toContain('needs both uidMappings and gidMappings');
  });

  it('idmaps the layers of an overlay rootfs only with a new user namespace', () => {
    const overlay = { mountPoint: '/d/c1/rootfs', upperDir: '/d/c1/upper', workDir: '/d/c1/work', lowerDirs: ['/d/c1/init', '/l/1'] };
    expect(plan(baseConfig(), overlay).rootfs.idmapLayers).toBe(true);
    const joined = baseConfig((c) => {
      c.linux.namespaces[3] = { type: 'user', path: '/proc/42/ns/user' };
      delete c.linux.uidMappings;
      delete c.linux.gidMappings;
    });
    expect(plan(joined, overlay).rootfs.idmapLayers).toBeUndefined();
  });

  it('encodes the maps, the idmapped mounts, the bound devices and the sysfs fallback into the Spec', () => {
    const planned = plan(baseConfig((c) => {
      c.linux.namespaces = c.linux.namespaces.filter((ns: any) => ns.type !== 'network');
      c.mounts.push({ destination: '/a', type: 'bind', source: '/srv/a', options: ['rbind', 'idmap'] });
    }), { mountPoint: '/d/rootfs', upperDir: '/d/upper', workDir: '/d/work', lowerDirs: ['/l/1'] });
    const spec = decodeSpec(encodeRunSpec(planned, { debug: false }));
    expect(spec.uidMappings.map((m) => [m.containerId, m.hostId, m.size])).toEqual([[0, 100000, 65536]]);
    expect(spec.gidMappings).toHaveLength(1);
    expect(spec.rootfs!.idmapLayers).toBe(true);
    const a = spec.mounts.find((mount) => mount.target === '/a')!;
    expect((a.uidMappings ?? []).map((m) => [m.containerId, m.hostId, m.size])).toEqual([[0, 100000, 65536]]);
    expect(a.idmapRecursive).toBe(false);
    expect(spec.mounts.find((mount) => mount.target === '/sys')!.fallbackBindSource).toBe('/sys');
    expect(spec.devices.every((device) => device.bindFromHost)).toBe(true);
  });
});

describe('run --uidmap / --gidmap / --userns', () => {
  it('maps both from one flag, as podman, and --userns host means none', () => {
    expect(readUserNamespaceFlags({ uidmap: ['0:100000:65536'] })).toEqual({
      uidMappings: [{ containerId: 0, hostId: 100000, size: 65536 }],
      gidMappings: [{ containerId: 0, hostId: 100000, size: 65536 }],
    });
    expect(readUserNamespaceFlags({ userns: 'host' })).toBeUndefined();
    expect(readUserNamespaceFlags({})).toBeUndefined();
  });

  it('refuses what it cannot take', () => {
    expect(refusal(() => readUserNamespaceFlags({ uidmap: ['0:1'] })).message).toContain('expected CONTAINER_ID:HOST_ID:SIZE');
    expect(refusal(() => readUserNamespaceFlags({ userns: 'auto' })).message).toContain('only "host" is supported');
    expect(refusal(() => readUserNamespaceFlags({ userns: 'host', gidmap: ['0:1:1'] })).message).toContain('cannot go with');
  });

  it('becomes a user namespace with its maps in the docker-style config', () => {
    const config = planDockerConfig({
      containerId: 'c1', rootfs: '/l', command: ['sh'], imageCommand: [], imageEnv: [], env: [], volumes: [], cgroupNamespace: false,
      userNamespace: { uidMappings: [{ containerId: 0, hostId: 100000, size: 65536 }], gidMappings: [{ containerId: 0, hostId: 200000, size: 10 }] },
    });
    expect(config.linux!.namespaces!.some((ns) => ns.type === 'user')).toBe(true);
    expect(config.linux!.uidMappings).toEqual([{ containerID: 0, hostID: 100000, size: 65536 }]);
    expect(config.linux!.gidMappings).toEqual([{ containerID: 0, hostID: 200000, size: 10 }]);
  });
});
