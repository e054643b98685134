// The fast-path record (src/state/fast-path-record.ts): written only for a container whose start and delete
// are nothing but the FIFO, the cgroups and the state directory, with only paths dist/shim may split.

import { describe, expect, it } from 'vitest';
import { fastPathRecord } from '../../src/state/fast-path-record.js';
import { formatOciState, ociStateOfStored } from '../../src/state/oci-state.js';
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
  it('says what start and delete do, one key a line, then the state template', () => {
    expect(fastPathRecord(created)).toBe(
      'version 1\ninit 4242 987654\nfifo /run/shim/c1/exec.fifo\n' +
        'cgroups /sys/fs/cgroup/memory/shim/c1 /sys/fs/cgroup/pids/shim/c1\n' +
        'parents /sys/fs/cgroup/memory/shim /sys/fs/cgroup/pids/shim\n' +
        'oci-state\n' +
        '{\n  "ociVersion": "1.2.0",\n  "id": "c1",\n  "pid": @PID@,\n  "status": "@STATUS@",\n  "bundle": "/b",\n' +
        '  "rootfs": "/b/rootfs",\n  "created": "2026-12-01T00:00:00.000Z",\n  "owner": ""\n}\n',
    );
    expect(fastPathRecord({ ...created, status: 'running', cgroupParentDirs: undefined })).toContain('\nparents \n');
    expect(fastPathRecord({ ...created, freezeStateFile: '/sys/fs/cgroup/freezer/shim/c1/freezer.state' })).toContain(
      '\nfreeze /sys/fs/cgroup/freezer/shim/c1/freezer.state\noci-state\n',
    );
  });

  it("fills in the template to exactly Node's state output, whatever the annotations hold", () => {
    const annotated = { ...created, annotations: { a: '  "pid": @PID@,', 'b"q': 'line\nbreak \\ @STATUS@' } };
    const template = fastPathRecord(annotated)!.split('\noci-state\n')[1]!;
    // As dist/shim does: only the two whole lines are filled in.
    const filled = template
      .trimEnd()
      .split('\n')
      .map((line) => (line === '  "pid": @PID@,' ? '  "pid": 4242,' : line === '  "status": "@STATUS@",' ? '  "status": "running",' : line))
      .join('\n');
    expect(filled).toBe(formatOciState(ociStateOfStored(annotated, 'running')));
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

  it("gives none when a path could not pass through dist/shim's word splitting unchanged", () => {
    for (const path of ['/sys/fs/cgroup/memory/a b', '/sys/fs/cgroup/memory/a*', '/sys/fs/cgroup/x\ny', 'relative/dir', "/q'uote", '/a$b']) {
      expect(fastPathRecord({ ...created, cgroupDirs: [path] }), path).toBeUndefined();
      expect(fastPathRecord({ ...created, cgroupParentDirs: [path] }), path).toBeUndefined();
    }
    expect(fastPathRecord({ ...created, startFifo: '/run/my root/c1/exec.fifo' })).toBeUndefined();
    expect(fastPathRecord({ ...created, freezeStateFile: '/sys/fs/cgroup/free zer/c1/freezer.state' })).toBeUndefined();
  });
});
