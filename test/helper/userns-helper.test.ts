// The helper tier for user namespaces: crafted specs to the real dist/shim-helper. The maps written before
// the init runs, the spec checks of the idmap fields, and an idmapped mount the filesystem refuses, each
// followed by a leak check.

import { execa } from 'execa';
import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBusyboxRootfs, makeRoots, settledLeaks, type Roots, killPid } from '../support/shim.js';
import { alive, errorFrame, kinds, runHelper, specFrame, v1, type HelperRun } from './run-helper.js';
import type { shim } from '../../src/spec/generated/shim.js';

const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;
const MS_BIND = 0x1000;
const NS = v1.NamespaceType;
const MAP = [{ containerId: 0, hostId: 100000, size: 65536 }];

let roots: Roots;
let rootfs: string;
let pids: number[];

beforeEach(async () => {
  roots = await makeRoots();
  await chmod(roots.base, 0o711);
  rootfs = await makeBusyboxRootfs(join(roots.base, 'rootfs'));
  await execa('chown', ['-R', '100000:100000', rootfs]);
  pids = [];
});

afterEach(async () => {
  try {
    for (const pid of pids) expect(alive(pid), `process ${pid} is still there`).toBe(false);
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    expect(mountinfo.split('\n').filter((line) => line.includes(roots.base))).toEqual([]);
    expect(await settledLeaks(roots)).toEqual([]);
  } finally {
    for (const pid of pids) if (alive(pid)) killPid(pid);
    await roots.dispose();
  }
});

function usernsSpec(args: string[], extra: shim.v1.ISpec = {}): shim.v1.ISpec {
  return {
    action: v1.Action.ACTION_RUN_CONTAINER,
    containerId: 'userns-test',
    namespaces: [{ type: NS.NAMESPACE_TYPE_USER }, { type: NS.NAMESPACE_TYPE_MOUNT }, { type: NS.NAMESPACE_TYPE_PID }],
    uidMappings: MAP,
    gidMappings: MAP,
    rootfs: { path: rootfs },
    mounts: [{ source: 'proc', target: '/proc', fstype: 'proc', flags: MS_NOSUID | MS_NODEV | MS_NOEXEC }],
    process: { args, env: ['PATH=/bin'], cwd: '/', newSession: true },
    ...extra,
  };
}

async function run(spec: shim.v1.ISpec): Promise<HelperRun> {
  const result = await runHelper(specFrame(spec), {
    onFrame: (status) => {
      if (status.pid > 0 && !pids.includes(status.pid)) pids.push(status.pid);
    },
  });
  expect(result.trailing).toBe(0);
  return result;
}

describe('a new user namespace', () => {
  it('runs the process as the namespace\'s root with the maps in place', async () => {
    const result = await run(usernsSpec(['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox']));
    expect(kinds(result)).toEqual(['STATUS_KIND_READY', 'STATUS_KIND_STARTED', 'STATUS_KIND_EXITED']);
    expect(result.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/).join(' '))).toEqual([
      '0 100000 65536', '0 100000 65536', '0', '0',
    ]);
  });

  it('refuses the idmap fields where they cannot apply', async () => {
    const noUserns = usernsSpec(['true'], { rootfs: { path: rootfs, lowerDirs: [rootfs], idmapLayers: true } });
    noUserns.namespaces = noUserns.namespaces!.filter((ns) => ns.type !== NS.NAMESPACE_TYPE_USER);
    expect(errorFrame(await run(noUserns)).error!.message).toBe('spec: rootfs.idmap_layers needs a new user namespace');
    const halfMapped = usernsSpec(['true'], {
      mounts: [{ source: rootfs, target: '/mnt', fstype: 'bind', flags: MS_BIND, uidMappings: MAP }],
    });
    expect(errorFrame(await run(halfMapped)).error!.message).toBe('spec: an idmapped mount needs uid and gid mappings');
  });

  it('refuses, in one frame, an idmapped mount of a filesystem that cannot be idmapped', async () => {
    const result = await run(usernsSpec(['true'], {
      mounts: [{ source: '/proc/sys', target: '/mnt', fstype: 'bind', flags: MS_BIND, uidMappings: MAP, gidMappings: MAP }],
    }));
    expect(kinds(result)).toEqual(['STATUS_KIND_ERROR']);
    const error = errorFrame(result).error!;
    expect(error.stage).toBe(v1.Stage.STAGE_IDMAP);
    expect(error.path).toBe('/proc/sys');
    expect(error.message).toBe('idmapped mount: the filesystem does not support idmapped mounts (mount_setattr)');
    expect(result.exitCode).toBe(125);
  });
});
