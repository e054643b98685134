// The config.json `shim spec` writes: what `runc spec` writes (a busybox-friendly sh in a read-only rootfs
// with runc's default mounts, masks and capabilities), and with --rootless runc's rootless rewrite. Pure.

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export function planDefaultSpec(ociVersion: string): Record<string, unknown> {
  return {
    ociVersion,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS, ambient: CAPS },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
        '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/**
 * runc 1.1's rootless rewrite (specconv.ToRootless): no network namespace, a user namespace mapping the
 * caller to root, the sysfs mount replaced by an rbind of the host's /sys, no uid=/gid= mount options, no
 * resources. shim does not run user namespaces yet: the file is written as runc writes it, and `create`
 * refuses it by name.
 */
export function planRootlessSpec(spec: Record<string, unknown>, uid: number, gid: number): Record<string, unknown> {
  const config = structuredClone(spec) as { linux: Record<string, unknown>; mounts: { destination: string; type?: string; source?: string; options?: string[] }[] };
  const { resources: _resources, namespaces, ...rest } = config.linux as { resources?: unknown; namespaces: { type: string }[] };
  config.linux = {
    uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
    namespaces: [...namespaces.filter((ns) => ns.type !== 'network' && ns.type !== 'user'), { type: 'user' }],
    ...rest,
  };
  config.mounts = config.mounts.map((mount) => {
    if (mount.destination === '/sys' && mount.type === 'sysfs') {
      return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    }
    if (!mount.options) return mount;
    return { ...mount, options: mount.options.filter((option) => !option.startsWith('gid=') && !option.startsWith('uid=')) };
  });
  return config;
}
