// The fast-path record (src/state/fast-path-record.ts): written only for a container whose start and delete
// are nothing but the FIFO, the cgroups and the state directory, with only paths the shell may split.

import { describe, expect, it } from 'vitest';
import { fastPathRecord } from '../../src/state/fast-path-record.js';
import type { ContainerState } from '../../src/state/state-store.js';

const created: ContainerState = {
  ociVersion: '1.2.0',
  id: 'c1',
  status: 'created',
  pid: 4242,
  pidStartTime: '987654',
  bundle: '/b',
  rootfs: '/b/rootfs',
  created: '2026-12-01T00:00:00.000Z',
  cgroupDirs: ['/sys/fs/cgroup/memory/shim/c1', '/sys/fs/cgroup/pids/shim/c1'],
  cgroupParentDirs: ['/sys/fs/cgroup/memory/shim', '/sys/fs/cgroup/pids/shim'],
  autoRemove: false,
  startFifo: '/run/shim/c1/exec.fifo',
};

describe('fastPathRecord', () => {
  it('says what start and delete do, one key a line', () => {
    expect(fastPathRecord(created)).toBe(
      'version 1\ninit 4242 987654\nfifo /run/shim/c1/exec.fifo\n' +
        'cgroups /sys/fs/cgroup/memory/shim/c1 /sys/fs/cgroup/pids/shim/c1\n' +
        'parents /sys/fs/cgroup/memory/shim /sys/fs/cgroup/pids/shim\n',
    );
    expect(fastPathRecord({ ...created, status: 'running', cgroupParentDirs: undefined })).toContain('\nparents \n');
  });

  it('gives none where start or delete needs Node', () => {
    const without: Partial<ContainerState>[] = [
      { status: 'creating' },
      { status: 'stopped' },
      { pid: 0 },
      { pidStartTime: undefined },
      { pidStartTime: '12 34' },
      { startFifo: undefined },
      { hooks: { hooks: { poststop: [{ path: '/bin/true' }] }, state: { ociVersion: '1.2.0', id: 'c1', bundle: '/b', annotations: {} } } as never },
      { startContainerHooks: true },
      { network: { mode: 'none' } as never },
      { containerDir: '/var/lib/shim/containers/c1' },
      { monitorPid: 7 },
      { docker: {} as never },
      { autoRemove: true },
    ];
    for (const change of without) expect(fastPathRecord({ ...created, ...change }), JSON.stringify(change)).toBeUndefined();
  });

  it('gives none when a path could not pass through the shell unchanged', () => {
    for (const path of ['/sys/fs/cgroup/memory/a b', '/sys/fs/cgroup/memory/a*', '/sys/fs/cgroup/x\ny', 'relative/dir', "/q'uote", '/a$b']) {
      expect(fastPathRecord({ ...created, cgroupDirs: [path] }), path).toBeUndefined();
      expect(fastPathRecord({ ...created, cgroupParentDirs: [path] }), path).toBeUndefined();
    }
    expect(fastPathRecord({ ...created, startFifo: '/run/my root/c1/exec.fifo' })).toBeUndefined();
  });
});
