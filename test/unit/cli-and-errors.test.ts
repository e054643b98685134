// Command-line splitting, error lines and exit codes, -v parsing, cgroup discovery and device rule lines.

import { describe, expect, it } from 'vitest';
import { splitArgv } from '../../src/cli/split-argv.js';
import { exitCodeFor, formatErrorLine } from '../../src/cli/report-error.js';
import { readRunRequest } from '../../src/cli/run.js';
import type { RunArgs } from '../../src/cli/main.js';
import { RuntimeError, errnoName, errnoText, systemError } from '../../src/errors.js';
import { parseVolumeSpec } from '../../src/volumes/parse-volume.js';
import { planCgroupHierarchies } from '../../src/cgroups/hierarchies.js';
import { deviceRuleLine } from '../../src/cgroups/device-rules.js';
import { ownProcsFile } from '../../src/cgroups/attach-warmup.js';
import { MOUNTINFO, PROC_SELF_CGROUP } from './fixtures/host.js';

describe('splitArgv', () => {
  it("stops the shim's own flags at IMAGE", () => {
    expect(splitArgv(['--root', '/r', 'run', '--rm', '-e', 'A=1', 'busybox', 'ls', '-la', '--rm'])).toEqual({
      verb: 'run',
      head: ['--root', '/r', 'run', '--rm', '-e', 'A=1', 'busybox'],
      command: ['ls', '-la', '--rm'],
    });
  });

  it('takes the word after -- as IMAGE whatever it looks like', () => {
    expect(splitArgv(['run', '--', '-odd', 'x'])).toEqual({ verb: 'run', head: ['run', '-odd'], command: ['x'] });
  });

  it("stops exec's own flags at ID, value flags included", () => {
    expect(splitArgv(['exec', '-it', '-u', '1000:1000', '--cwd', '/tmp', '-e', 'A=1', 'c1', 'sh', '-c', 'ls -l'])).toEqual({
      verb: 'exec',
      head: ['exec', '-it', '-u', '1000:1000', '--cwd', '/tmp', '-e', 'A=1', 'c1'],
      command: ['sh', '-c', 'ls -l'],
    });
    expect(splitArgv(['exec', '--process', '/p.json', '--pid-file', '/x.pid', '-d', 'c1'])).toEqual({
      verb: 'exec',
      head: ['exec', '--process', '/p.json', '--pid-file', '/x.pid', '-d', 'c1'],
      command: [],
    });
  });

  it('leaves --bundle runs and other verbs whole', () => {
    expect(splitArgv(['run', '-b', '/b', 'id1'])).toEqual({ verb: 'run', head: ['run', '-b', '/b', 'id1'], command: [] });
    expect(splitArgv(['state', 'x', '--y'])).toEqual({ verb: 'state', head: ['state', 'x', '--y'], command: [] });
    expect(splitArgv(['--help'])).toEqual({ verb: undefined, head: ['--help'], command: [] });
  });
});

describe('readRunRequest', () => {
  const args = (overrides: Partial<RunArgs>): RunArgs => ({
    root: '/r', dataRoot: '/d', debug: false, rm: false, env: [], volume: [], dryRun: false, format: 'text', keep: false, pivot: true, ...overrides,
  });

  it('resolves bare -e KEY from the caller and drops unset ones', () => {
    const request = readRunRequest(args({ target: 'busybox', env: ['A=1', 'HOME', 'UNSET_HERE'] }), [], { HOME: '/root' });
    expect(request).toMatchObject({ kind: 'image', env: ['A=1', 'HOME=/root'] });
  });

  it('refuses image flags with --bundle and a missing id', () => {
    expect(() => readRunRequest(args({ bundle: '/b', target: 'x', volume: ['/a:/b'] }), [], {})).toThrow('-v cannot be used with --bundle');
    expect(() => readRunRequest(args({ bundle: '/b' }), [], {})).toThrow(/needs the container ID/);
    expect(readRunRequest(args({ bundle: '/b', target: 'x', keep: true, pivot: false }), [], {})).toEqual({
      kind: 'bundle', bundleDir: '/b', id: 'x', keep: true, noPivot: true,
    });
  });
});

describe('error lines and exit codes', () => {
  it('prints one lowercase line with the operation, path, reason and errno name', () => {
    const error = new RuntimeError('setup-failed', 'mount overlay', { errno: 22, path: '/var/lib/shim/containers/web1/rootfs', containerId: 'web1' });
    expect(formatErrorLine('run', error)).toBe('shim: run web1: mount overlay on /var/lib/shim/containers/web1/rootfs: invalid argument (EINVAL)');
    expect(error.errnoName).toBe('EINVAL');
  });

  it('shortens generated ids and adds the hint', () => {
    const id = 'ab'.repeat(32);
    const error = new RuntimeError('not-found', 'image nope not found', { hint: 'only busybox', containerId: id });
    expect(formatErrorLine('run', error)).toBe('shim: run abababababab: image nope not found (only busybox)');
  });

  it('maps failures to docker run exit codes', () => {
    expect(exitCodeFor('run', new RuntimeError('usage', 'x'))).toBe(2);
    expect(exitCodeFor('run', new RuntimeError('exec-failed', 'exec x', { errno: 2 }))).toBe(127);
    expect(exitCodeFor('run', new RuntimeError('exec-failed', 'exec x', { errno: 13 }))).toBe(126);
    expect(exitCodeFor('run', new RuntimeError('setup-failed', 'mount'))).toBe(125);
    expect(exitCodeFor('state', new RuntimeError('not-found', 'x'))).toBe(1);
    expect(exitCodeFor('run', new Error('boom'))).toBe(125);
  });

  it('names errnos as the kernel headers do', () => {
    expect(errnoName(2)).toBe('ENOENT');
    expect(errnoName(11)).toBe('EAGAIN');
    expect(errnoName(95)).toBe('EOPNOTSUPP');
    expect(errnoText(16)).toBe('device or resource busy');
    expect(errnoName(4095)).toBe('errno 4095');
  });

  it('wraps Node errors with their errno and path', () => {
    const nodeError = Object.assign(new Error('ENOENT: no such file'), { errno: -2, code: 'ENOENT', path: '/x' });
    const error = systemError(nodeError, 'read bundle config');
    expect(error).toMatchObject({ code: 'not-found', errnoName: 'ENOENT', path: '/x' });
    expect(error.message).toBe('read bundle config /x: no such file or directory (ENOENT)');
  });
});

describe('parseVolumeSpec', () => {
  it('reads HOST:CTR[:ro]', () => {
    expect(parseVolumeSpec('/srv/data:/data')).toEqual({
      hostPath: '/srv/data', name: undefined, anonymous: false, destination: '/data', readonly: false, propagation: undefined,
    });
    expect(parseVolumeSpec('/srv/data:/data:ro')).toMatchObject({ readonly: true });
    expect(parseVolumeSpec('/a:/b:ro,rslave')).toMatchObject({ readonly: true, propagation: 'rslave' });
  });

  it('reads named and anonymous volumes', () => {
    expect(parseVolumeSpec('data:/data:ro')).toMatchObject({ hostPath: undefined, name: 'data', anonymous: false, destination: '/data', readonly: true });
    expect(parseVolumeSpec('/scratch')).toMatchObject({ hostPath: undefined, name: undefined, anonymous: true, destination: '/scratch' });
    expect(parseVolumeSpec('/scratch:ro')).toMatchObject({ anonymous: true, destination: '/scratch', readonly: true });
  });

  it('refuses bad names, relative targets and unknown options', () => {
    expect(() => parseVolumeSpec('bad name:/data')).toThrow(/neither an absolute host path nor a volume name/);
    expect(() => parseVolumeSpec('/a:b')).toThrow(/must be absolute/);
    expect(() => parseVolumeSpec('/a:/b:z')).toThrow(/option z is not supported/);
    expect(() => parseVolumeSpec('a')).toThrow(/the container path must be absolute/);
  });
});

describe('cgroup discovery', () => {
  it('pairs each mounted hierarchy with our own cgroup in it', () => {
    const hierarchies = planCgroupHierarchies(MOUNTINFO, PROC_SELF_CGROUP);
    expect(hierarchies).toHaveLength(10);
    expect(hierarchies.find((h) => h.controllers.includes('memory'))).toEqual({
      version: 1, controllers: ['memory'], mountPoint: '/sys/fs/cgroup/memory', root: '/', ownCgroup: '/process_api/abc',
    });
    expect(hierarchies.find((h) => h.version === 2)).toMatchObject({ mountPoint: '/sys/fs/cgroup/unified', ownCgroup: '/' });
    expect(hierarchies.find((h) => h.controllers.includes('name=systemd'))?.mountPoint).toBe('/sys/fs/cgroup/systemd');
  });

  it('warms attaches up in our own cgroup of the cheapest hierarchy', () => {
    const hierarchies = planCgroupHierarchies(MOUNTINFO, PROC_SELF_CGROUP);
    expect(ownProcsFile(hierarchies)).toBe('/sys/fs/cgroup/unified/cgroup.procs');
    const v1Only = hierarchies.filter((h) => h.version === 1 && (h.controllers.includes('memory') || h.controllers.includes('name=systemd')));
    expect(ownProcsFile(v1Only)).toMatch(/^\/sys\/fs\/cgroup\/(memory\/process_api\/abc|systemd)\/cgroup.procs$/);
    expect(ownProcsFile([{ version: 1, controllers: ['cpu'], mountPoint: '/m', root: '/sub', ownCgroup: '/elsewhere' }])).toBeUndefined();
  });

  it('writes device rules as the v1 controller reads them', () => {
    expect(deviceRuleLine({ allow: false, type: 'a', major: '*', minor: '*', access: 'rwm' })).toBe('a');
    expect(deviceRuleLine({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' })).toBe('c 1:3 rwm');
    expect(deviceRuleLine({ allow: true, type: 'c', major: 136, minor: '*', access: 'rwm' })).toBe('c 136:* rwm');
  });
});
