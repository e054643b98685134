// Docker-style flags -> OCI config -> plan: the defaults a `shim run busybox` container gets.

import { describe, expect, it } from 'vitest';
import { planDockerConfig, mergeEnv, type DockerRunRequest } from '../../src/plan/docker-config.js';
import { planContainer } from '../../src/plan/plan-container.js';
import { readOciConfig } from '../../src/plan/read-oci-config.js';
import * as k from '../../src/plan/kernel-constants.js';
import { formatPlanJson, formatPlanText } from '../../src/plan/format-plan.js';
import { hostFacts } from './fixtures/host.js';

const ID = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

function request(overrides: Partial<DockerRunRequest> = {}): DockerRunRequest {
  return {
    containerId: ID,
    rootfs: '/var/lib/shim/images/busybox/rootfs',
    command: [],
    imageCommand: ['sh'],
    imageEnv: [],
    env: [],
    volumes: [],
    cgroupNamespace: true,
    ...overrides,
  };
}

function plan(overrides: Partial<DockerRunRequest> = {}, host = hostFacts()) {
  const config = planDockerConfig(request(overrides));
  return planContainer({
    containerId: overrides.containerId ?? ID,
    config,
    bundleDir: '/run/shim/x',
    overlay: { mountPoint: '/data/containers/x/rootfs', upperDir: '/data/containers/x/upper', workDir: '/data/containers/x/work' },
    cgroupParent: 'shim-test',
    host,
  });
}

// Docker's 14: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW
// SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP, as /proc/self/status prints them in a docker container.
const DOCKER_CAPS = 0xa80425fb;

describe('docker-style run plan', () => {
  it('builds a config that passes the same checks as a bundle', () => {
    const { warnings } = readOciConfig(planDockerConfig(request()));
    expect(warnings).toEqual([]);
  });

  it('creates new pid, net, ipc, uts, mount and cgroup namespaces', () => {
    expect(plan().namespaces.map((ns) => ns.type)).toEqual(['pid', 'net', 'ipc', 'uts', 'mount', 'cgroup']);
    expect(plan().namespaces.every((ns) => ns.path === undefined)).toBe(true);
    expect(plan().loopbackUp).toBe(true);
  });

  it('leaves out the cgroup namespace when the kernel has none', () => {
    const planned = plan({ cgroupNamespace: false }, hostFacts({ cgroupNamespaces: false }));
    expect(planned.namespaces.map((ns) => ns.type)).not.toContain('cgroup');
  });

  it('mounts an overlay of the image at the container rootfs', () => {
    expect(plan().rootfs).toEqual({
      path: '/data/containers/x/rootfs',
      lowerDirs: ['/var/lib/shim/images/busybox/rootfs'],
      upperDir: '/data/containers/x/upper',
      workDir: '/data/containers/x/work',
      readonly: false,
      propagation: k.MS_SLAVE,
      noPivot: false,
    });
  });

  it("mounts runc's set in runc's order with runc's flags", () => {
    const mounts = plan().mounts.slice(0, 7);
    const NOSUID = k.MS_NOSUID;
    const NSNENd = k.MS_NOSUID | k.MS_NOEXEC | k.MS_NODEV;
    expect(mounts.map(({ target, fstype, source, flags, data }) => ({ target, fstype, source, flags, data }))).toEqual([
      { target: '/proc', fstype: 'proc', source: 'proc', flags: NSNENd, data: '' },
      { target: '/dev', fstype: 'tmpfs', source: 'tmpfs', flags: NOSUID | k.MS_STRICTATIME, data: 'mode=755,size=65536k' },
      { target: '/dev/pts', fstype: 'devpts', source: 'devpts', flags: NOSUID | k.MS_NOEXEC, data: 'newinstance,ptmxmode=0666,mode=0620,gid=5' },
      { target: '/dev/shm', fstype: 'tmpfs', source: 'shm', flags: NSNENd, data: 'mode=1777,size=65536k' },
      { target: '/dev/mqueue', fstype: 'mqueue', source: 'mqueue', flags: NSNENd, data: '' },
      { target: '/sys', fstype: 'sysfs', source: 'sysfs', flags: NSNENd | k.MS_RDONLY, data: '' },
      { target: '/sys/fs/cgroup', fstype: 'tmpfs', source: 'tmpfs', flags: NSNENd, data: 'mode=755' },
    ]);
  });

  it('mounts each v1 hierarchy fresh, read-only, inside a cgroup namespace', () => {
    const cgroupMounts = plan().mounts.filter((m) => m.origin === 'cgroup' && m.fstype === 'cgroup');
    expect(cgroupMounts.map((m) => m.target)).toEqual([
      '/sys/fs/cgroup/cpu',
      '/sys/fs/cgroup/cpuacct',
      '/sys/fs/cgroup/cpuset',
      '/sys/fs/cgroup/memory',
      '/sys/fs/cgroup/devices',
      '/sys/fs/cgroup/freezer',
      '/sys/fs/cgroup/blkio',
      '/sys/fs/cgroup/pids',
      '/sys/fs/cgroup/systemd',
    ]);
    expect(cgroupMounts.every((m) => (m.flags & k.MS_RDONLY) !== 0)).toBe(true);
    expect(cgroupMounts.find((m) => m.target.endsWith('systemd'))).toMatchObject({ source: 'systemd', data: 'name=systemd' });
  });

  it("creates runc's six device nodes and the /dev links", () => {
    const planned = plan();
    expect(planned.devices.map((d) => [d.path, d.major, d.minor])).toEqual([
      ['/dev/null', 1, 3],
      ['/dev/random', 1, 8],
      ['/dev/full', 1, 7],
      ['/dev/tty', 5, 0],
      ['/dev/zero', 1, 5],
      ['/dev/urandom', 1, 9],
    ]);
    expect(planned.devices.every((d) => d.mode === (k.S_IFCHR | 0o666) && d.type === 'c')).toBe(true);
    expect(planned.symlinks).toEqual([
      { target: '/proc/self/fd', path: '/dev/fd' },
      { target: '/proc/self/fd/0', path: '/dev/stdin' },
      { target: '/proc/self/fd/1', path: '/dev/stdout' },
      { target: '/proc/self/fd/2', path: '/dev/stderr' },
      { target: 'pts/ptmx', path: '/dev/ptmx' },
      { target: '/proc/kcore', path: '/dev/core' },
    ]);
  });

  it('links /dev/core only when the host has /proc/kcore', () => {
    expect(plan({}, hostFacts({ procKcore: false })).symlinks.map((s) => s.path)).not.toContain('/dev/core');
  });

  it("masks and write-protects runc's paths", () => {
    const planned = plan();
    expect(planned.maskedPaths).toEqual([
      '/proc/acpi',
      '/proc/asound',
      '/proc/kcore',
      '/proc/keys',
      '/proc/latency_stats',
      '/proc/timer_list',
      '/proc/timer_stats',
      '/proc/sched_debug',
      '/proc/scsi',
      '/sys/firmware',
      '/sys/devices/virtual/powercap',
    ]);
    expect(planned.readonlyPaths).toEqual(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  });

  it("gives the process docker's capabilities, NOFILE 1024 and its own session", () => {
    const { process } = plan();
    expect(process.capabilities).toEqual({ bounding: DOCKER_CAPS, effective: DOCKER_CAPS, permitted: DOCKER_CAPS, inheritable: 0, ambient: 0 });
    expect(process.rlimits).toEqual([{ name: 'RLIMIT_NOFILE', resource: 7, soft: 1024, hard: 1024 }]);
    expect(process.newSession).toBe(true);
    expect(process.terminal).toBe(false);
    expect(process.noNewPrivileges).toBe(true);
    expect(process).toMatchObject({ uid: 0, gid: 0, cwd: '/', args: ['sh'] });
  });

  it('names the host after the first 12 characters of the id unless --hostname', () => {
    expect(plan().hostname).toBe('0123456789ab');
    expect(plan({ hostname: 'web' }).hostname).toBe('web');
    expect(plan({ containerId: 'web1' }).hostname).toBe('web1');
  });

  it('sets PATH and HOSTNAME, adds -e values, and TERM only with a tty', () => {
    expect(plan({ env: ['FOO=bar'] }).process.env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'HOSTNAME=0123456789ab',
      'FOO=bar',
    ]);
    expect(plan({ env: ['PATH=/bin'] }).process.env[0]).toBe('PATH=/bin');
    expect(plan({ tty: true }).process.env).toContain('TERM=xterm');
  });

  it('runs CMD when given, the image default otherwise, in -w', () => {
    expect(plan({ command: ['echo', 'hi'], workdir: '/tmp' }).process).toMatchObject({ args: ['echo', 'hi'], cwd: '/tmp' });
  });

  it('makes -v a recursive private bind after the default mounts, read-only with :ro', () => {
    const mounts = plan({
      volumes: [
        { source: '/srv/data', destination: '/data', readonly: false },
        { source: '/srv/conf', destination: '/conf', readonly: true },
      ],
    }).mounts;
    const volumes = mounts.slice(-2);
    expect(volumes).toEqual([
      { source: '/srv/data', target: '/data', fstype: 'bind', flags: k.MS_BIND | k.MS_REC, data: '', propagation: k.MS_PRIVATE | k.MS_REC, origin: 'config' },
      { source: '/srv/conf', target: '/conf', fstype: 'bind', flags: k.MS_BIND | k.MS_REC | k.MS_RDONLY, data: '', propagation: k.MS_PRIVATE | k.MS_REC, origin: 'config' },
    ]);
    expect(mounts.indexOf(volumes[0]!)).toBeGreaterThan(mounts.findIndex((m) => m.target === '/sys/fs/cgroup'));
  });

  it('puts the container under /<parent>/<id> in every hierarchy, with runc\'s device rules', () => {
    const { cgroup } = plan({ containerId: 'web1' });
    expect(cgroup.dirs.map((d) => d.dir)).toEqual([
      '/sys/fs/cgroup/cpu/shim-test/web1',
      '/sys/fs/cgroup/cpuacct/shim-test/web1',
      '/sys/fs/cgroup/cpuset/shim-test/web1',
      '/sys/fs/cgroup/memory/shim-test/web1',
      '/sys/fs/cgroup/devices/shim-test/web1',
      '/sys/fs/cgroup/freezer/shim-test/web1',
      '/sys/fs/cgroup/blkio/shim-test/web1',
      '/sys/fs/cgroup/pids/shim-test/web1',
      '/sys/fs/cgroup/systemd/shim-test/web1',
      '/sys/fs/cgroup/unified/shim-test/web1',
    ]);
    expect(cgroup.deviceRules[0]).toEqual({ allow: false, type: 'a', major: '*', minor: '*', access: 'rwm' });
    expect(cgroup.deviceRules.slice(1).every((rule) => rule.allow)).toBe(true);
    expect(cgroup.deviceRules).toContainEqual({ allow: true, type: 'c', major: 136, minor: '*', access: 'rwm' });
  });

  it('prints as text and as JSON', () => {
    const planned = plan({ containerId: 'web1', command: ['echo', 'hello world'] });
    const text = formatPlanText(planned);
    expect(text).toContain('container web1');
    expect(text).toMatch(/ 1\. \/proc {2}proc {2}proc {2}\[nosuid,nodev,noexec\]/);
    expect(text).toContain("args    echo 'hello world'");
    const json = JSON.parse(formatPlanJson(planned));
    expect(json.mounts[0]).toMatchObject({ target: '/proc', flags: k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC, flagNames: ['nosuid', 'nodev', 'noexec'] });
    expect(json.process.capabilityNames.bounding).toContain('CAP_NET_BIND_SERVICE');
  });
});

describe('mergeEnv', () => {
  it('lets later values win while keeping the first position', () => {
    expect(mergeEnv(['A=1', 'B=2', 'A=3'])).toEqual(['A=3', 'B=2']);
  });
});
