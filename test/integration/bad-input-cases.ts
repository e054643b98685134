// The catalogue of bad input: every case is one row here, run by test/integration/bad-input.test.ts and
// printed into docs/bad-input.md by the same code (test/unit/bad-input-doc.test.ts fails when the doc is out
// of date), so the doc and the tests cannot drift.
//
// A case says what it feeds shim, the exit status, and the one line shim must print on stderr. In `line`,
// {bundle} is the case's bundle directory, {base} its temporary root, {cgroup} its cgroup parent and {id} a
// generated container id (the 12 hex digits docker shows); everything else is matched exactly. An empty line
// is an input shim takes (the case's note says why): nothing on stderr.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostileOciArchive, hostileTar, hostileOciLayout, type HostileEntry } from '../support/hostile-tar.js';
import type { Roots } from '../support/shim.js';

export interface CaseContext {
  roots: Roots;
  /** This case's bundle directory (config.json written from `config`/`configText` before `args` is called). */
  bundle: string;
  /** Writes a file under the case's root and gives its path. */
  file(name: string, data: string | Buffer): Promise<string>;
}

export type Area = 'config.json' | 'container ids' | 'images' | 'docker run flags' | 'signals' | 'verbs, flags and states';

export interface BadInputCase {
  name: string;
  area: Area;
  /** What is fed to shim, for the doc (markdown). */
  input: string;
  /** Mutates the bundle's config.json (a busybox rootfs, `true` as the process). */
  config?: (config: any) => void;
  /** Or the whole config.json text. */
  configText?: string;
  /** Commands run first, each must exit 0 (e.g. a container in the state the case needs). */
  before?: string[][];
  args: (ctx: CaseContext) => string[] | Promise<string[]>;
  exitCode: number;
  line: string;
  /** Commands run after the checks of the line, each must exit 0, before the leak check. */
  after?: string[][];
  /** What runc or docker does, when shim differs or the reason is worth saying. */
  note?: string;
}

const run = (id = 'c1') => (ctx: CaseContext) => ['run', '--bundle', ctx.bundle, id];
const create = (id = 'c1') => (ctx: CaseContext) => ['create', '--bundle', ctx.bundle, id];
const dockerRun = (...flags: string[]) => () => ['run', '--rm', ...flags, 'busybox', 'true'];
const importArchive = (build: () => Buffer) => async (ctx: CaseContext) => ['image', 'import', await ctx.file('image.tar', build()), 'bad:1'];

/** A created container c1 running `sleep 100` once started, removed by the case's `after`. */
const CREATED: Pick<BadInputCase, 'before' | 'after'> = { before: [['create', '--bundle', '{bundle}', 'c1']], after: [['delete', '--force', 'c1']] };
const RUNNING: Pick<BadInputCase, 'before' | 'after'> = {
  before: [['create', '--bundle', '{bundle}', 'c1'], ['start', 'c1']],
  after: [['delete', '--force', 'c1']],
};
const sleeper = (config: any) => (config.process.args = ['sleep', '100']);

const layerOf = (entries: HostileEntry[]) => () => hostileOciArchive(entries);
const busyboxLike: HostileEntry[] = [{ type: 'dir', name: 'bin/' }, { type: 'file', name: 'bin/sh', data: '#!/bin/true\n', mode: 0o755 }];

export const CASES: BadInputCase[] = [
  // --- config.json ---------------------------------------------------------------------------------------
  { name: 'config-not-json', area: 'config.json', input: 'config.json is `{`', configText: '{', args: create(), exitCode: 1, line: 'shim: create c1: config.json: not valid JSON (Expected property name or \'}\' in JSON at position 1) {bundle}/config.json' },
  { name: 'config-empty-file', area: 'config.json', input: 'config.json is empty', configText: '', args: create(), exitCode: 1, line: 'shim: create c1: config.json: not valid JSON (Unexpected end of JSON input) {bundle}/config.json' },
  { name: 'config-array', area: 'config.json', input: 'config.json is `[]`', configText: '[]', args: create(), exitCode: 1, line: 'shim: create c1: config.json must be a JSON object' },
  { name: 'config-missing', area: 'config.json', input: 'the bundle has no config.json', args: (ctx) => ['create', '--bundle', join(ctx.bundle, 'nothing-here'), 'c1'], exitCode: 1, line: 'shim: create c1: read bundle config {bundle}/nothing-here/config.json: no such file or directory (ENOENT)' },
  { name: 'oci-version-missing', area: 'config.json', input: 'no `ociVersion`', config: (c) => delete c.ociVersion, args: create(), exitCode: 1, line: 'shim: create c1: config.json: ociVersion is required' },
  { name: 'oci-version-2', area: 'config.json', input: '`ociVersion: "2.0.0"`', config: (c) => (c.ociVersion = '2.0.0'), args: create(), exitCode: 1, line: 'shim: create c1: config.json: ociVersion 2.0.0 is not supported (1.0.x to 1.3.x are)' },
  { name: 'oci-version-number', area: 'config.json', input: '`ociVersion: 1`', config: (c) => (c.ociVersion = 1), args: create(), exitCode: 1, line: 'shim: create c1: config.json: ociVersion must be a string' },
  { name: 'root-missing', area: 'config.json', input: 'no `root`', config: (c) => delete c.root, args: create(), exitCode: 1, line: 'shim: create c1: config.json: root.path is required' },
  { name: 'root-path-empty', area: 'config.json', input: '`root.path: ""`', config: (c) => (c.root.path = ''), args: create(), exitCode: 1, line: 'shim: create c1: config.json: root.path is required' },
  { name: 'root-path-nonexistent', area: 'config.json', input: '`root.path` names no directory', config: (c) => (c.root.path = '/nonexistent-rootfs'), args: create(), exitCode: 1, line: 'shim: create c1: rootfs /nonexistent-rootfs: no such file or directory (ENOENT) (config.json root.path names it, relative to the bundle)' },
  { name: 'root-path-file', area: 'config.json', input: '`root.path` is a file', config: (c) => (c.root.path = '/etc/hostname'), args: create(), exitCode: 1, line: 'shim: create c1: rootfs /etc/hostname is not a directory' },
  { name: 'root-readonly-string', area: 'config.json', input: '`root.readonly: "yes"`', config: (c) => (c.root.readonly = 'yes'), args: create(), exitCode: 1, line: 'shim: create c1: config.json: root.readonly must be true or false' },
  { name: 'args-missing', area: 'config.json', input: 'no `process.args`', config: (c) => delete c.process.args, args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.args must name the program to run' },
  { name: 'args-empty', area: 'config.json', input: '`process.args: []`', config: (c) => (c.process.args = []), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.args must name the program to run' },
  { name: 'args-string', area: 'config.json', input: '`process.args: "true"`', config: (c) => (c.process.args = 'true'), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.args must be an array of strings' },
  { name: 'args-numbers', area: 'config.json', input: '`process.args: [1, 2]`', config: (c) => (c.process.args = [1, 2]), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.args must be an array of strings' },
  { name: 'args-1mb', area: 'config.json', input: 'one argument of 1 MB, with `run --bundle` (execve\'s limit is 128 kB per argument)', config: (c) => (c.process.args = ['true', 'x'.repeat(1 << 20)]), args: run(), exitCode: 126, line: 'shim: run c1: exec /bin/true: argument list too long (E2BIG)' },
  { name: 'env-100k', area: 'config.json', input: '100,000 `process.env` entries (3 MB)', config: (c) => (c.process.env = Array.from({ length: 100_000 }, (_, i) => `VARIABLE_${i}=${'v'.repeat(16)}`)), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.env has 100000 entries; at most 65535 are taken' },
  { name: 'env-not-string', area: 'config.json', input: '`process.env: [1]`', config: (c) => (c.process.env = [1]), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.env must be an array of strings' },
  { name: 'env-no-equals', area: 'config.json', input: '`process.env: ["FOO"]`', config: (c) => (c.process.env = ['PATH=/bin', 'FOO']), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.env[1] "FOO": invalid environment variable: missing \'=\'' },
  { name: 'env-empty-name', area: 'config.json', input: '`process.env: ["=x"]`', config: (c) => (c.process.env = ['=x']), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.env[0] "=x": invalid environment variable: name cannot be empty' },
  { name: 'env-nul', area: 'config.json', input: 'an env entry with a NUL (`"A=1\\u0000B=2"`)', config: (c) => (c.process.env = ['PATH=/bin', 'A=1\u0000B=2']), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.env[1] "A=1\\u0000B=2": invalid environment variable: contains nul byte (\\x00)' },
  { name: 'cwd-missing', area: 'config.json', input: 'no `process.cwd`', config: (c) => delete c.process.cwd, args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.cwd is required' },
  { name: 'cwd-relative', area: 'config.json', input: '`process.cwd: "tmp"`', config: (c) => (c.process.cwd = 'tmp'), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.cwd tmp must be an absolute path' },
  { name: 'user-missing', area: 'config.json', input: 'no `process.user`', config: (c) => delete c.process.user, args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.user is required' },
  { name: 'uid-string', area: 'config.json', input: '`process.user.uid: "0"`', config: (c) => (c.process.user.uid = '0'), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.user.uid must be a number' },
  { name: 'uid-negative', area: 'config.json', input: '`process.user.uid: -1`', config: (c) => (c.process.user.uid = -1), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.user.uid -1 is not an id (a whole number from 0 to 4294967294)' },
  { name: 'uid-2-32', area: 'config.json', input: '`process.user.uid: 4294967296`', config: (c) => (c.process.user.uid = 4294967296), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.user.uid 4294967296 is not an id (a whole number from 0 to 4294967294)' },
  { name: 'uid-no-change', area: 'config.json', input: '`process.user.uid: 4294967295` (setresuid\'s "unchanged")', config: (c) => (c.process.user.uid = 4294967295), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.user.uid 4294967295 is not an id (a whole number from 0 to 4294967294)' },
  { name: 'additional-gid-negative', area: 'config.json', input: '`process.user.additionalGids: [-1]`', config: (c) => (c.process.user.additionalGids = [-1]), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.user.additionalGids[0] -1 is not an id (a whole number from 0 to 4294967294)' },
  { name: 'gid-fraction', area: 'config.json', input: '`process.user.gid: 1.5`', config: (c) => (c.process.user.gid = 1.5), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.user.gid 1.5 is not an id (a whole number from 0 to 4294967294)' },
  { name: 'terminal-string', area: 'config.json', input: '`process.terminal: "yes"`', config: (c) => (c.process.terminal = 'yes'), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.terminal must be true or false' },
  { name: 'terminal-no-socket', area: 'config.json', input: '`process.terminal: true`, `create` without `--console-socket`', config: (c) => (c.process.terminal = true), args: create(), exitCode: 1, line: 'shim: create c1: config.json asks for a terminal (process.terminal): create needs --console-socket to hand it to' },
  { name: 'rlimit-unknown', area: 'config.json', input: 'rlimit type `RLIMIT_BOGUS`', config: (c) => (c.process.rlimits = [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }]), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.rlimits: RLIMIT_BOGUS is not a resource limit' },
  { name: 'rlimit-soft-above-hard', area: 'config.json', input: 'rlimit soft 2048 > hard 1024', config: (c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 2048, hard: 1024 }]), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.rlimits: RLIMIT_NOFILE soft limit 2048 is above its hard limit 1024' },
  { name: 'rlimit-2-64', area: 'config.json', input: 'rlimit hard 2^64 (beyond uint64)', config: (c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 18446744073709551616 }]), args: create(), exitCode: 1, line: 'shim: create c1: set rlimit 7: operation not permitted (EPERM)' },
  { name: 'rlimit-negative', area: 'config.json', input: 'rlimit soft -1', config: (c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: -1, hard: 1024 }]), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.rlimits: -1 is negative' },
  { name: 'rlimit-nofile-huge', area: 'config.json', input: 'RLIMIT_NOFILE 2^40 (above the kernel\'s nr_open)', config: (c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 2 ** 40, hard: 2 ** 40 }]), args: create(), exitCode: 1, line: 'shim: create c1: set rlimit 7: operation not permitted (EPERM)' },
  { name: 'cap-unknown', area: 'config.json', input: '`capabilities.bounding: ["CAP_BOGUS"]`', config: (c) => (c.process.capabilities.bounding = ['CAP_BOGUS']), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.capabilities.bounding: CAP_BOGUS is not a capability' },
  { name: 'caps-not-array', area: 'config.json', input: '`capabilities.effective: "CAP_KILL"`', config: (c) => (c.process.capabilities.effective = 'CAP_KILL'), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.capabilities.effective must be an array of strings' },
  { name: 'no-new-privs-string', area: 'config.json', input: '`noNewPrivileges: "true"`', config: (c) => (c.process.noNewPrivileges = 'true'), args: create(), exitCode: 1, line: 'shim: create c1: config.json: process.noNewPrivileges must be true or false' },
  { name: 'oom-score-adj-range', area: 'config.json', input: '`oomScoreAdj: 5000`', config: (c) => (c.process.oomScoreAdj = 5000), args: create(), exitCode: 1, line: 'shim: create c1: write oom_score_adj /proc/self/oom_score_adj: invalid argument (EINVAL)' },
  { name: 'hostname-no-uts', area: 'config.json', input: '`hostname` without a uts namespace', config: (c) => { c.hostname = 'x'; c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'uts'); }, args: create(), exitCode: 1, line: 'shim: create c1: config.json: unable to set hostname without a private UTS namespace' },
  { name: 'hostname-too-long', area: 'config.json', input: 'a 100-character `hostname`', config: (c) => (c.hostname = 'h'.repeat(100)), args: create(), exitCode: 1, line: 'shim: create c1: sethostname hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh: invalid argument (EINVAL)' },
  { name: 'namespace-unknown', area: 'config.json', input: 'namespace type `bogus`', config: (c) => c.linux.namespaces.push({ type: 'bogus' }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.namespaces[5].type bogus is not a namespace type' },
  { name: 'namespace-duplicate', area: 'config.json', input: 'the pid namespace twice', config: (c) => c.linux.namespaces.push({ type: 'pid' }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.namespaces lists pid twice' },
  { name: 'namespace-path-missing', area: 'config.json', input: 'network namespace path that does not exist', config: (c) => joinNamespace(c, 'network', '/run/netns/bad-input-none'), args: create(), exitCode: 1, line: 'shim: create c1: open net namespace /run/netns/bad-input-none: no such file or directory (ENOENT)' },
  { name: 'namespace-path-not-ns', area: 'config.json', input: 'network namespace path is a regular file', config: (c) => joinNamespace(c, 'network', '/etc/hostname'), args: create(), exitCode: 1, line: 'shim: create c1: join net namespace: invalid argument (EINVAL)' },
  { name: 'namespace-path-wrong-type', area: 'config.json', input: 'network namespace path names a uts namespace', config: (c) => joinNamespace(c, 'network', '/proc/self/ns/uts'), args: create(), exitCode: 1, line: 'shim: create c1: join net namespace: invalid argument (EINVAL)' },
  { name: 'namespaces-not-array', area: 'config.json', input: '`linux.namespaces: {}`', config: (c) => (c.linux.namespaces = {}), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.namespaces must be an array' },
  { name: 'mounts-not-array', area: 'config.json', input: '`mounts: "proc"`', config: (c) => (c.mounts = 'proc'), args: create(), exitCode: 1, line: 'shim: create c1: config.json: mounts must be an array' },
  { name: 'mount-no-destination', area: 'config.json', input: 'a mount without `destination`', config: (c) => c.mounts.push({ type: 'tmpfs', source: 'tmpfs' }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: mounts[7].destination is required' },
  { name: 'mount-bogus-type', area: 'config.json', input: 'a mount of type `bogusfs`', config: (c) => c.mounts.push({ destination: '/mnt', type: 'bogusfs', source: 'none' }), args: create(), exitCode: 1, line: 'shim: create c1: mount bogusfs on /mnt: no such device (ENODEV)' },
  { name: 'mount-bind-missing-source', area: 'config.json', input: 'a bind mount whose source does not exist', config: (c) => c.mounts.push({ destination: '/mnt', type: 'bind', source: '/nonexistent-source', options: ['rbind'] }), args: create(), exitCode: 1, line: 'shim: create c1: bind mount: stat source /nonexistent-source on /mnt: no such file or directory (ENOENT)' },
  { name: 'mount-bogus-option', area: 'config.json', input: 'a tmpfs with option `bogusopt`', config: (c) => c.mounts.push({ destination: '/mnt', type: 'tmpfs', source: 'tmpfs', options: ['bogusopt'] }), args: create(), exitCode: 1, line: 'shim: create c1: mount tmpfs on /mnt: invalid argument (EINVAL)' },
  { name: 'mount-options-string', area: 'config.json', input: 'mount `options: "ro"`', config: (c) => c.mounts.push({ destination: '/mnt', type: 'tmpfs', source: 'tmpfs', options: 'ro' }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: mounts[7].options must be an array of strings' },
  { name: 'uidmap-without-userns', area: 'config.json', input: '`uidMappings` without a user namespace', config: (c) => { c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]; c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]; }, args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.uidMappings/gidMappings are given, but linux.namespaces has no user namespace' },
  { name: 'userns-without-maps', area: 'config.json', input: 'a user namespace without mappings', config: (c) => c.linux.namespaces.push({ type: 'user' }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: a new user namespace needs both linux.uidMappings and linux.gidMappings (or a path to join)' },
  { name: 'uidmap-size-zero', area: 'config.json', input: 'a uid mapping of size 0', config: (c) => { c.linux.namespaces.push({ type: 'user' }); c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 0 }]; c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]; }, args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.uidMappings[0].size is 0' },
  { name: 'uidmap-overlap', area: 'config.json', input: 'two uid mappings that overlap', config: (c) => { c.linux.namespaces.push({ type: 'user' }); c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 1000 }, { containerID: 500, hostID: 200000, size: 1000 }]; c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]; }, args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.uidMappings[1] and [0] overlap in container ids (500:200000:1000 and 0:100000:1000)' },
  { name: 'uidmap-host-overflow', area: 'config.json', input: 'a uid mapping past 2^32 on the host', config: (c) => { c.linux.namespaces.push({ type: 'user' }); c.linux.uidMappings = [{ containerID: 0, hostID: 4294967290, size: 100 }]; c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]; }, args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.uidMappings[0] runs past id 4294967295' },
  { name: 'uidmap-string', area: 'config.json', input: 'a uid mapping with `hostID: "100000"`', config: (c) => { c.linux.namespaces.push({ type: 'user' }); c.linux.uidMappings = [{ containerID: 0, hostID: '100000', size: 1 }]; }, args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.uidMappings[0].hostID must be a number' },
  { name: 'memory-limit-string', area: 'config.json', input: '`resources.memory.limit: "1g"`', config: (c) => (c.linux.resources = { memory: { limit: '1g' } }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.resources.memory.limit must be a number' },
  { name: 'memory-limit-negative', area: 'config.json', input: '`resources.memory.limit: -2`', config: (c) => (c.linux.resources = { memory: { limit: -2 } }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.resources.memory.limit -2 is not a whole number >= -1' },
  { name: 'cpu-shares-string', area: 'config.json', input: '`resources.cpu.shares: "abc"`', config: (c) => (c.linux.resources = { cpu: { shares: 'abc' } }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.resources.cpu.shares must be a number' },
  { name: 'cpu-period-too-small', area: 'config.json', input: '`resources.cpu.period: 100` (the kernel takes 1000 and up)', config: (c) => (c.linux.resources = { cpu: { quota: 50, period: 100 } }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.resources.cpu.period 100 is outside 1000..1000000 (microseconds)' },
  { name: 'cpuset-bogus', area: 'config.json', input: '`resources.cpu.cpus: "abc"`', config: (c) => (c.linux.resources = { cpu: { cpus: 'abc' } }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.resources.cpu.cpus "abc" is not a list like 0-1,3' },
  { name: 'cpuset-absent-cpu', area: 'config.json', input: '`resources.cpu.cpus: "9999"`', config: (c) => (c.linux.resources = { cpu: { cpus: '9999' } }), args: create(), exitCode: 1, line: 'shim: create c1: set cpuset.cpus to 9999 /sys/fs/cgroup/cpuset/{cgroup}/c1/cpuset.cpus: numerical result out of range (ERANGE)' },
  { name: 'pids-limit-string', area: 'config.json', input: '`resources.pids.limit: "many"`', config: (c) => (c.linux.resources = { pids: { limit: 'many' } }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.resources.pids.limit must be a number' },
  { name: 'blkio-weight-range', area: 'config.json', input: '`resources.blockIO.weight: 5` (10 to 1000)', config: (c) => (c.linux.resources = { blockIO: { weight: 5 } }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.resources.blockIO.weight 5 is outside 10..1000' },
  { name: 'device-rule-no-allow', area: 'config.json', input: 'a device cgroup rule without `allow`', config: (c) => (c.linux.resources = { devices: [{ access: 'rwm' }] }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.resources.devices[0].allow is required' },
  { name: 'device-rule-bad-type', area: 'config.json', input: 'a device cgroup rule of type `x`', config: (c) => (c.linux.resources = { devices: [{ allow: true, type: 'x', access: 'rwm' }] }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.resources.devices[0].type x is not a, b or c' },
  { name: 'device-no-major', area: 'config.json', input: 'a `linux.devices` char device without major and minor', config: (c) => (c.linux.devices = [{ path: '/dev/x', type: 'c' }]), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.devices[0]: a c device needs major and minor' },
  { name: 'device-bad-type', area: 'config.json', input: 'a `linux.devices` entry of type `q`', config: (c) => (c.linux.devices = [{ path: '/dev/x', type: 'q', major: 1, minor: 3 }]), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.devices[0].type q is not c, b, u or p' },
  { name: 'sysctl-not-namespaced', area: 'config.json', input: 'sysctl `vm.swappiness` (not in any namespace)', config: (c) => (c.linux.sysctl = { 'vm.swappiness': '10' }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.sysctl "vm.swappiness" is not in a separate kernel namespace' },
  { name: 'sysctl-climbs-out', area: 'config.json', input: 'sysctl `net.x/../../vm.swappiness`', config: (c) => (c.linux.sysctl = { 'net.x/../../vm.swappiness': '10' }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.sysctl "net.x/../../vm.swappiness" is not a sysctl name' },
  { name: 'sysctl-net-host-netns', area: 'config.json', input: 'sysctl `net.ipv4.ip_forward` without a network namespace', config: (c) => { c.linux.sysctl = { 'net.ipv4.ip_forward': '1' }; c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'network'); }, args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.sysctl "net.ipv4.ip_forward" is not allowed in the host\'s network namespace' },
  { name: 'sysctl-unknown', area: 'config.json', input: 'sysctl `net.bogus.thing`', config: (c) => (c.linux.sysctl = { 'net.bogus.thing': '1' }), args: create(), exitCode: 1, line: 'shim: create c1: write sysctl net.bogus.thing /proc/sys/net/bogus/thing: no such file or directory (ENOENT)' },
  { name: 'sysctl-number', area: 'config.json', input: 'sysctl value `1` (a number)', config: (c) => (c.linux.sysctl = { 'net.ipv4.ip_forward': 1 }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.sysctl must be an object of strings' },
  { name: 'propagation-bogus', area: 'config.json', input: '`rootfsPropagation: "bogus"`', config: (c) => (c.linux.rootfsPropagation = 'bogus'), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.rootfsPropagation bogus is not a propagation type' },
  { name: 'masked-paths-string', area: 'config.json', input: '`maskedPaths: "/proc/kcore"`', config: (c) => (c.linux.maskedPaths = '/proc/kcore'), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.maskedPaths must be an array of strings' },
  { name: 'seccomp-bogus-action', area: 'config.json', input: 'seccomp `defaultAction: "SCMP_ACT_BOGUS"`', config: (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_BOGUS' }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: linux.seccomp.defaultAction SCMP_ACT_BOGUS is not a seccomp action (SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY)' },
  { name: 'hook-relative-path', area: 'config.json', input: 'a prestart hook with path `true`', config: (c) => (c.hooks = { prestart: [{ path: 'true' }] }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: hooks.prestart[0].path must be an absolute path' },
  { name: 'hook-missing-binary', area: 'config.json', input: 'a prestart hook whose binary does not exist', config: (c) => (c.hooks = { prestart: [{ path: '/nonexistent-hook' }] }), args: create(), exitCode: 1, line: 'shim: create c1: error running prestart hook #0: exec /nonexistent-hook: no such file or directory (ENOENT)' },
  { name: 'solaris-section', area: 'config.json', input: 'a `solaris` section', config: (c) => (c.solaris = { milestone: 'x' }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: solaris is not supported yet' },
  { name: 'annotation-number', area: 'config.json', input: '`annotations: {"a": 1}`', config: (c) => (c.annotations = { a: 1 }), args: create(), exitCode: 1, line: 'shim: create c1: config.json: annotations must be an object of strings' },
  { name: 'unknown-field', area: 'config.json', input: 'an unknown top-level field `bogusField` (the container runs)', config: (c) => (c.bogusField = 1), args: create(), exitCode: 0, line: 'shim: warning: config.json: unknown field bogusField ignored', after: [['delete', '--force', 'c1']], note: 'runc ignores unknown fields silently (Go\'s JSON decoder); shim ignores them too, as the spec requires, but warns so nothing is dropped unseen.' },
  { name: 'program-missing', area: 'config.json', input: '`process.args: ["no-such-program"]`', config: (c) => (c.process.args = ['no-such-program']), args: create(), exitCode: 1, line: 'shim: create c1: exec: "no-such-program": executable file not found in $PATH (ENOENT)' },

  // --- container ids -------------------------------------------------------------------------------------
  { name: 'id-slash', area: 'container ids', input: 'id `/`', args: run('/'), exitCode: 2, line: 'shim: run: container id "/" is not valid: use letters, digits, _ . - (starting with a letter or digit), no "/" or ".."' },
  { name: 'id-dot-dot', area: 'container ids', input: 'id `..`', args: run('..'), exitCode: 2, line: 'shim: run: container id ".." is not valid: use letters, digits, _ . - (starting with a letter or digit), no "/" or ".."' },
  { name: 'id-dot', area: 'container ids', input: 'id `.`', args: run('.'), exitCode: 2, line: 'shim: run: container id "." is not valid: use letters, digits, _ . - (starting with a letter or digit), no "/" or ".."' },
  { name: 'id-empty', area: 'container ids', input: 'id `""`', args: run(''), exitCode: 2, line: 'shim: run: run --bundle DIR needs the container ID (shim run --bundle DIR ID)' },
  { name: 'id-path', area: 'container ids', input: 'id `../../etc`', args: run('../../etc'), exitCode: 2, line: 'shim: run: container id "../../etc" is not valid: use letters, digits, _ . - (starting with a letter or digit), no "/" or ".."' },
  { name: 'id-1025', area: 'container ids', input: 'an id of 1025 characters', args: run('x'.repeat(1025)), exitCode: 2, line: 'shim: run: container id xxxxxxxxxxxxxxxxxxxx... is 1025 characters; at most 128 are allowed' },
  { name: 'id-unicode', area: 'container ids', input: 'id `héllo`', args: run('héllo'), exitCode: 2, line: 'shim: run: container id "héllo" is not valid: use letters, digits, _ . - (starting with a letter or digit), no "/" or ".."' },
  { name: 'id-space', area: 'container ids', input: 'id `a b`', args: run('a b'), exitCode: 2, line: 'shim: run: container id "a b" is not valid: use letters, digits, _ . - (starting with a letter or digit), no "/" or ".."' },
  { name: 'id-newline', area: 'container ids', input: 'id `a\\nb` (a newline; a NUL cannot reach argv: execve ends the argument there)', args: run('a\nb'), exitCode: 2, line: 'shim: run: container id "a\\nb" is not valid: use letters, digits, _ . - (starting with a letter or digit), no "/" or ".."' },
  { name: 'id-dash', area: 'container ids', input: 'id `-x` (taken as a flag)', args: run('-x'), exitCode: 2, line: 'shim: run: unknown argument: x (see shim --help)' },
  { name: 'id-duplicate', area: 'container ids', input: '`create` of an id that exists', ...CREATED, args: create(), exitCode: 1, line: 'shim: create c1: container c1 already exists (its state is in {base}/run/c1)' },
  { name: 'id-state-traversal', area: 'container ids', input: '`state ../run`', args: () => ['state', '../run'], exitCode: 2, line: 'shim: state ../run: container id "../run" is not valid: use letters, digits, _ . - (starting with a letter or digit), no "/" or ".."' },
  { name: 'id-delete-traversal', area: 'container ids', input: '`delete --force ..`', args: () => ['delete', '--force', '..'], exitCode: 2, line: 'shim: delete: container id ".." is not valid: use letters, digits, _ . - (starting with a letter or digit), no "/" or ".."' },
  { name: 'id-kill-slash', area: 'container ids', input: '`kill /`', args: () => ['kill', '/'], exitCode: 2, line: 'shim: kill /: container id "/" is not valid: use letters, digits, _ . - (starting with a letter or digit), no "/" or ".."' },
  { name: 'name-slash', area: 'container ids', input: '`run --name a/b busybox`', args: dockerRun('--name', 'a/b'), exitCode: 2, line: 'shim: run: container id "a/b" is not valid: use letters, digits, _ . - (starting with a letter or digit), no "/" or ".."' },

  // --- images --------------------------------------------------------------------------------------------
  { name: 'tar-dot-dot', area: 'images', input: 'a layer entry `../escape`', args: importArchive(layerOf([...busyboxLike, { type: 'file', name: '../escape', data: 'x' }])), exitCode: 1, line: 'shim: image: layer sha256:6f307fc3de11: entry ../escape escapes the layer directory (the layer was refused; nothing was written outside it)' },
  { name: 'tar-absolute', area: 'images', input: 'a layer entry `/etc/escape`', args: importArchive(layerOf([...busyboxLike, { type: 'file', name: '/etc/escape', data: 'x' }])), exitCode: 1, line: 'shim: image: layer sha256:14ff8ca228f4: entry /etc/escape is an absolute path (the layer was refused; nothing was written outside it)' },
  { name: 'tar-deep-dot-dot', area: 'images', input: 'a layer entry `a/../../escape`', args: importArchive(layerOf([{ type: 'dir', name: 'a/' }, { type: 'file', name: 'a/../../escape', data: 'x' }])), exitCode: 1, line: 'shim: image: layer sha256:1b0adcc56abb: entry a/../../escape escapes the layer directory (the layer was refused; nothing was written outside it)' },
  { name: 'tar-symlink-write', area: 'images', input: 'a symlink `link -> /tmp`, then a file `link/escape`', args: importArchive(layerOf([{ type: 'symlink', name: 'link', target: '/tmp' }, { type: 'file', name: 'link/escape', data: 'x' }])), exitCode: 1, line: 'shim: image: layer sha256:479871f4e5a3: entry link/escape goes through the symlink link -> /tmp (the layer was refused; nothing was written outside it)' },
  { name: 'tar-symlink-relative-write', area: 'images', input: 'a symlink `up -> ../..`, then a file `up/escape`', args: importArchive(layerOf([{ type: 'symlink', name: 'up', target: '../..' }, { type: 'file', name: 'up/escape', data: 'x' }])), exitCode: 1, line: 'shim: image: layer sha256:5dbff66a9ef9: entry up/escape goes through the symlink up -> ../.. (the layer was refused; nothing was written outside it)' },
  { name: 'tar-hardlink-absolute', area: 'images', input: 'a hardlink to `/etc/passwd`', args: importArchive(layerOf([{ type: 'hardlink', name: 'passwd', target: '/etc/passwd' }])), exitCode: 1, line: 'shim: image: layer sha256:28864d7e424a: entry /etc/passwd is an absolute path (the layer was refused; nothing was written outside it)' },
  { name: 'tar-hardlink-dot-dot', area: 'images', input: 'a hardlink to `../../outside`', args: importArchive(layerOf([{ type: 'hardlink', name: 'outside', target: '../../outside' }])), exitCode: 1, line: 'shim: image: layer sha256:771515c64f23: entry ../../outside escapes the layer directory (the layer was refused; nothing was written outside it)' },
  { name: 'tar-hardlink-through-symlink', area: 'images', input: 'a symlink `etc -> /etc`, then a hardlink to `etc/shadow`', args: importArchive(layerOf([{ type: 'symlink', name: 'etc', target: '/etc' }, { type: 'hardlink', name: 'shadow', target: 'etc/shadow' }])), exitCode: 1, line: 'shim: image: layer sha256:277753afd2ad: entry etc/shadow goes through the symlink etc -> /etc (the layer was refused; nothing was written outside it)' },
  { name: 'tar-hardlink-missing', area: 'images', input: 'a hardlink to an entry the layer does not have', args: importArchive(layerOf([{ type: 'hardlink', name: 'b', target: 'no-such-file' }])), exitCode: 1, line: 'shim: image: layer sha256:a483b5ae308b: entry b is a hardlink to no-such-file, which the layer does not hold (the layer was refused)' },
  { name: 'manifest-missing-blob', area: 'images', input: 'the manifest names a layer blob the archive does not hold', args: importArchive(() => hostileOciArchive(busyboxLike, { omitLayerBlob: true })), exitCode: 1, line: 'shim: image: archive: layer sha256:43e930fef954b56c89a37a55591c58ea0fc31b9de0b575ee263c8efaf61f0bf8 is listed, but the archive does not hold it (the archive is incomplete)' },
  { name: 'manifest-digest-mismatch', area: 'images', input: 'the manifest gives a layer digest the blob does not have', args: importArchive(() => hostileTar(renameLayerBlob(hostileOciLayout(hostileTar(busyboxLike))))), exitCode: 1, line: 'shim: image: layer sha256:43e930fef954: digest mismatch: the blob is sha256:b99b3302aaf02e8002bb2c0bba7680e497b1e7f8326fc7c4fc35417f3058ffdb (the archive is corrupt)' },
  { name: 'truncated-tar', area: 'images', input: 'the archive cut in the middle of a blob', args: importArchive(() => { const whole = hostileOciArchive([...busyboxLike, { type: 'file', name: 'big', data: Buffer.alloc(64 * 1024, 1) }]); return whole.subarray(0, 40 * 1024); }), exitCode: 1, line: 'shim: image: read tar: the archive ends in the middle of an entry' },
  { name: 'not-a-tar', area: 'images', input: 'the archive is a text file', args: importArchive(() => Buffer.from('this is not a tar archive\n'.repeat(40))), exitCode: 1, line: 'shim: image: read tar: bad header checksum (not a tar archive?)' },
  { name: 'empty-archive', area: 'images', input: 'the archive is an empty file', args: importArchive(() => Buffer.alloc(0)), exitCode: 1, line: 'shim: image: import {base}/files/image.tar: neither an OCI image layout (index.json) nor a docker archive (manifest.json)' },
  { name: 'archive-no-index', area: 'images', input: 'a tar with neither index.json nor manifest.json', args: importArchive(() => hostileTar([{ type: 'file', name: 'hello', data: 'x' }])), exitCode: 1, line: 'shim: image: import {base}/files/image.tar: neither an OCI image layout (index.json) nor a docker archive (manifest.json)' },
  { name: 'index-not-json', area: 'images', input: '`index.json` is not JSON', args: importArchive(() => hostileTar([{ type: 'file', name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' }, { type: 'file', name: 'index.json', data: '{' }])), exitCode: 1, line: 'shim: image: index.json: not valid JSON (the archive is corrupt or not an image archive)' },
  { name: 'manifest-huge', area: 'images', input: 'a 20 MB manifest', args: importArchive(() => hostileOciArchive(busyboxLike, { manifestPadding: 20 << 20 })), exitCode: 1, line: 'shim: image: manifest sha256:f2b43f5792160b985e8cf1cd344460a78aa15e82c4a6e952ee9dfc8d0941cd68: 20971946 bytes, more than the 4194304 a manifest may have' },
  { name: 'archive-missing', area: 'images', input: '`image import` of a file that does not exist', args: (ctx) => ['image', 'import', join(ctx.roots.base, 'nothing.tar')], exitCode: 1, line: 'shim: image: open image archive {base}/nothing.tar: no such file or directory (ENOENT)' },
  { name: 'archive-directory', area: 'images', input: '`image import` of a directory', args: (ctx) => ['image', 'import', ctx.roots.base], exitCode: 1, line: 'shim: image: open image archive {base}: not a regular file' },
  { name: 'device-node-layer', area: 'images', input: 'a layer with a character device `dev/mem` (1,1); the import succeeds', args: importArchive(layerOf([...busyboxLike, { type: 'dir', name: 'dev/' }, { type: 'char', name: 'dev/mem', major: 1, minor: 1 }])), exitCode: 0, line: '', after: [['image', 'rm', 'bad:1']], note: 'docker and containers/storage make device nodes from layers when run as root, and runc\'s device cgroup then denies them (only the default devices are allowed). shim does the same: the test "a device node in an image layer" runs the image and finds the node there, and opening it refused with EPERM.' },
  { name: 'image-name-bad', area: 'images', input: '`image import FILE UPPER:tag`', args: async (ctx) => ['image', 'import', await ctx.file('image.tar', hostileOciArchive(busyboxLike)), 'UPPER:tag'], exitCode: 2, line: 'shim: image: "UPPER:tag": invalid reference format: repository name must be lowercase' },
  { name: 'image-rm-missing', area: 'images', input: '`image rm nosuch`', args: () => ['image', 'rm', 'nosuch'], exitCode: 1, line: 'shim: image: image nosuch not found (see shim image ls)' },
  { name: 'image-inspect-missing', area: 'images', input: '`image inspect nosuch`', args: () => ['image', 'inspect', 'nosuch'], exitCode: 1, line: 'shim: image: image nosuch not found (see shim image ls)' },
  { name: 'run-image-missing', area: 'images', input: '`run nosuchimage`', args: () => ['run', '--rm', 'nosuchimage', 'true'], exitCode: 125, line: 'shim: run: image nosuchimage not found (import it with shim image import, or give a rootfs directory)' },

  // --- docker run flags ----------------------------------------------------------------------------------
  { name: 'v-four-parts', area: 'docker run flags', input: '`-v a:b:c:d`', args: dockerRun('-v', 'a:b:c:d'), exitCode: 2, line: 'shim: run: -v a:b:c:d: expected [HOST-PATH|NAME:]CONTAINER-PATH[:OPTIONS]' },
  { name: 'v-empty-host', area: 'docker run flags', input: '`-v :/x`', args: dockerRun('-v', ':/x'), exitCode: 2, line: 'shim: run: -v :/x: expected [HOST-PATH|NAME:]CONTAINER-PATH[:OPTIONS]' },
  { name: 'v-empty-container', area: 'docker run flags', input: '`-v /tmp:`', args: dockerRun('-v', '/tmp:'), exitCode: 2, line: 'shim: run: -v /tmp:: expected [HOST-PATH|NAME:]CONTAINER-PATH[:OPTIONS]' },
  { name: 'v-empty', area: 'docker run flags', input: '`-v ""`', args: dockerRun('-v', ''), exitCode: 2, line: 'shim: run: -v : expected [HOST-PATH|NAME:]CONTAINER-PATH[:OPTIONS]' },
  { name: 'v-bad-mode', area: 'docker run flags', input: '`-v /tmp:/x:bogus`', args: dockerRun('-v', '/tmp:/x:bogus'), exitCode: 2, line: 'shim: run: -v /tmp:/x:bogus: invalid mode: bogus' },
  { name: 'v-ro-rw', area: 'docker run flags', input: '`-v /tmp:/x:ro,rw`', args: dockerRun('-v', '/tmp:/x:ro,rw'), exitCode: 2, line: 'shim: run: -v /tmp:/x:ro,rw: invalid mode: ro,rw' },
  { name: 'v-relative-host', area: 'docker run flags', input: '`-v rel/path:/x`', args: dockerRun('-v', 'rel/path:/x'), exitCode: 2, line: 'shim: run: -v rel/path:/x: rel/path is neither an absolute host path nor a volume name (volume names are letters, digits, _ . and -)' },
  { name: 'v-relative-container', area: 'docker run flags', input: '`-v /tmp:rel`', args: dockerRun('-v', '/tmp:rel'), exitCode: 2, line: 'shim: run: -v /tmp:rel: the container path must be absolute' },
  { name: 'v-named-bad-mode', area: 'docker run flags', input: '`-v vol1:/x:bogus` (no volume is made)', args: dockerRun('-v', 'vol1:/x:bogus'), exitCode: 2, line: 'shim: run: -v vol1:/x:bogus: invalid mode: bogus' },
  { name: 'tmpfs-relative', area: 'docker run flags', input: '`--tmpfs rel`', args: dockerRun('--tmpfs', 'rel'), exitCode: 2, line: 'shim: run: --tmpfs rel: the path must be absolute (--tmpfs /tmp or --tmpfs /tmp:size=64m)' },
  { name: 'tmpfs-bad-size', area: 'docker run flags', input: '`--tmpfs /x:size=abc`', args: dockerRun('--tmpfs', '/x:size=abc'), exitCode: 125, line: 'shim: run {id}: mount tmpfs on /x: invalid argument (EINVAL)' },
  { name: 'p-not-port', area: 'docker run flags', input: '`-p abc`', args: dockerRun('-p', 'abc'), exitCode: 2, line: 'shim: run: -p abc: expected [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]' },
  { name: 'p-out-of-range', area: 'docker run flags', input: '`-p 99999:80`', args: dockerRun('-p', '99999:80'), exitCode: 2, line: 'shim: run: -p 99999:80: ports go from 1 to 65535' },
  { name: 'p-bad-proto', area: 'docker run flags', input: '`-p 8080:80/xyz`', args: dockerRun('-p', '8080:80/xyz'), exitCode: 2, line: 'shim: run: -p 8080:80/xyz: expected [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]' },
  { name: 'ulimit-not-number', area: 'docker run flags', input: '`--ulimit nofile=abc`', args: dockerRun('--ulimit', 'nofile=abc'), exitCode: 2, line: 'shim: run: --ulimit nofile=abc: expected NAME=SOFT[:HARD] (e.g. --ulimit nofile=1024:2048)' },
  { name: 'ulimit-unknown', area: 'docker run flags', input: '`--ulimit bogus=1`', args: dockerRun('--ulimit', 'bogus=1'), exitCode: 2, line: 'shim: run: --ulimit bogus=1: unknown limit bogus (nofile, nproc, core, memlock, stack, ...)' },
  { name: 'ulimit-soft-above-hard', area: 'docker run flags', input: '`--ulimit nofile=10:5`', args: dockerRun('--ulimit', 'nofile=10:5'), exitCode: 2, line: 'shim: run: --ulimit nofile=10:5: the soft limit is above the hard one' },
  { name: 'cap-add-bogus', area: 'docker run flags', input: '`--cap-add BOGUS`', args: dockerRun('--cap-add', 'BOGUS'), exitCode: 2, line: 'shim: run: unknown capability BOGUS (names as in capabilities(7), e.g. NET_ADMIN or CAP_SYS_PTRACE)' },
  { name: 'cap-drop-bogus', area: 'docker run flags', input: '`--cap-drop BOGUS`', args: dockerRun('--cap-drop', 'BOGUS'), exitCode: 2, line: 'shim: run: unknown capability BOGUS (names as in capabilities(7), e.g. NET_ADMIN or CAP_SYS_PTRACE)' },
  { name: 'memory-negative', area: 'docker run flags', input: '`--memory -1`', args: dockerRun('--memory', '-1'), exitCode: 2, line: 'shim: run: --memory -1: not a size (e.g. 32m, 1g)' },
  { name: 'memory-bad-unit', area: 'docker run flags', input: '`--memory 1x`', args: dockerRun('--memory', '1x'), exitCode: 2, line: 'shim: run: --memory 1x: not a size (e.g. 32m, 1g)' },
  { name: 'memory-tiny', area: 'docker run flags', input: '`--memory 1k` (below docker\'s 6 MB minimum)', args: dockerRun('--memory', '1k'), exitCode: 2, line: 'shim: run: --memory 1k: the minimum is 6m' },
  { name: 'cpus-abc', area: 'docker run flags', input: '`--cpus abc`', args: dockerRun('--cpus', 'abc'), exitCode: 2, line: 'shim: run: --cpus abc: not a positive number of CPUs' },
  { name: 'cpus-negative', area: 'docker run flags', input: '`--cpus -1`', args: dockerRun('--cpus', '-1'), exitCode: 2, line: 'shim: run: --cpus -1: not a positive number of CPUs' },
  { name: 'pids-limit-abc', area: 'docker run flags', input: '`--pids-limit abc`', args: dockerRun('--pids-limit', 'abc'), exitCode: 2, line: 'shim: run: --pids-limit abc: not a whole number' },
  { name: 'user-unknown', area: 'docker run flags', input: '`-u bogususer`', args: dockerRun('-u', 'bogususer'), exitCode: 2, line: 'shim: run {id}: -u bogususer: user bogususer is not in the image\'s /etc/passwd (give a name the image has, or UID[:GID])' },
  { name: 'restart-no-detach', area: 'docker run flags', input: '`--restart always` without `-d`', args: dockerRun('--restart', 'always'), exitCode: 2, line: 'shim: run: --restart needs -d (or -t): the background monitor restarts the container (shim run -d --restart ...)' },
  { name: 'restart-bogus', area: 'docker run flags', input: '`-d --restart bogus`', args: () => ['run', '-d', '--restart', 'bogus', 'busybox', 'true'], exitCode: 2, line: 'shim: run: --restart bogus: expected no, on-failure[:N], always or unless-stopped' },
  { name: 'stop-signal-bogus', area: 'docker run flags', input: '`--stop-signal BOGUS`', args: dockerRun('--stop-signal', 'BOGUS'), exitCode: 2, line: 'shim: run: unknown signal BOGUS (a name such as TERM or SIGKILL, or a number)' },
  { name: 'platform-foreign', area: 'docker run flags', input: '`--platform linux/s390x`', args: dockerRun('--platform', 'linux/s390x'), exitCode: 2, line: 'shim: run: --platform linux/s390x: shim runs images for this machine only (linux/amd64), and does not emulate others' },
  { name: 'workdir-relative', area: 'docker run flags', input: '`-w rel`', args: dockerRun('-w', 'rel'), exitCode: 2, line: 'shim: run: -w rel: the working directory \'rel\' is invalid, it needs to be an absolute path' },
  { name: 'env-empty', area: 'docker run flags', input: '`-e ""`', args: dockerRun('-e', ''), exitCode: 2, line: 'shim: run: -e : expected KEY=VALUE or KEY' },
  { name: 'env-file-missing', area: 'docker run flags', input: '`--env-file /nonexistent`', args: dockerRun('--env-file', '/nonexistent'), exitCode: 2, line: 'shim: run: --env-file /nonexistent: cannot read it (ENOENT)' },
  { name: 'rm-with-detach', area: 'docker run flags', input: '`--rm -d`', args: dockerRun('-d'), exitCode: 2, line: 'shim: run: --rm with -d is not supported yet: remove the container with `shim delete` once it has exited' },
  { name: 'name-empty', area: 'docker run flags', input: '`--name ""`', args: dockerRun('--name', ''), exitCode: 2, line: 'shim: run: container id must not be empty' },
  { name: 'network-unknown', area: 'docker run flags', input: '`--network bogus`', args: dockerRun('--network', 'bogus'), exitCode: 125, line: 'shim: run: network bogus not found (shim network ls lists them; shim network create makes one)' },
  { name: 'run-no-image', area: 'docker run flags', input: '`run` with nothing', args: () => ['run'], exitCode: 2, line: 'shim: run: run needs an IMAGE (shim run [options] IMAGE [CMD...])' },

  // --- signals -------------------------------------------------------------------------------------------
  { name: 'kill-bogus', area: 'signals', input: '`kill c1 BOGUS`', ...CREATED, args: () => ['kill', 'c1', 'BOGUS'], exitCode: 2, line: 'shim: kill c1: unknown signal BOGUS (a name such as TERM or SIGKILL, or a number)' },
  { name: 'kill-sigbogus', area: 'signals', input: '`kill c1 SIGBOGUS`', ...CREATED, args: () => ['kill', 'c1', 'SIGBOGUS'], exitCode: 2, line: 'shim: kill c1: unknown signal SIGBOGUS (a name such as TERM or SIGKILL, or a number)' },
  { name: 'kill-zero', area: 'signals', input: '`kill c1 0`', ...CREATED, args: () => ['kill', 'c1', '0'], exitCode: 2, line: 'shim: kill c1: signal 0 is out of range (1 to 64)' },
  { name: 'kill-65', area: 'signals', input: '`kill c1 65`', ...CREATED, args: () => ['kill', 'c1', '65'], exitCode: 2, line: 'shim: kill c1: signal 65 is out of range (1 to 64)' },
  { name: 'kill-negative', area: 'signals', input: '`kill c1 -- -9`', ...CREATED, args: () => ['kill', 'c1', '--', '-9'], exitCode: 2, line: 'shim: kill c1: unknown signal -9 (a name such as TERM or SIGKILL, or a number)' },
  { name: 'kill-dash-number', area: 'signals', input: '`kill c1 -9` (kill(1)\'s spelling, not runc\'s)', ...CREATED, args: () => ['kill', 'c1', '-9'], exitCode: 2, line: 'shim: kill c1: unknown signal -9 (a name such as TERM or SIGKILL, or a number)' },
  { name: 'kill-two-signals', area: 'signals', input: '`kill c1 TERM -- KILL`', ...CREATED, args: () => ['kill', 'c1', 'TERM', '--', 'KILL'], exitCode: 2, line: 'shim: kill: unexpected KILL (kill ID [SIGNAL])' },
  { name: 'kill-huge', area: 'signals', input: '`kill c1 99999999999`', ...CREATED, args: () => ['kill', 'c1', '99999999999'], exitCode: 2, line: 'shim: kill c1: signal 99999999999 is out of range (1 to 64)' },
  { name: 'kill-empty', area: 'signals', input: '`kill c1 ""`', ...CREATED, args: () => ['kill', 'c1', ''], exitCode: 2, line: 'shim: kill c1: unknown signal "" (a name such as TERM or SIGKILL, or a number)' },

  // --- verbs, flags and states ---------------------------------------------------------------------------
  { name: 'verb-unknown', area: 'verbs, flags and states', input: '`shim bogusverb`', args: () => ['bogusverb'], exitCode: 2, line: 'shim: bogusverb: unknown argument: bogusverb (see shim --help)' },
  { name: 'flag-unknown-global', area: 'verbs, flags and states', input: '`shim --bogus list`', args: () => ['--bogus', 'list'], exitCode: 2, line: 'shim: list: name a command (shim --help lists them) (see shim --help)' },
  { name: 'flag-unknown-verb', area: 'verbs, flags and states', input: '`shim list --bogus`', args: () => ['list', '--bogus'], exitCode: 2, line: 'shim: list: unknown argument: bogus (see shim --help)' },
  { name: 'words-after-dashes', area: 'verbs, flags and states', input: '`state c1 -- x` (a verb that takes no trailing words)', args: () => ['state', 'c1', '--', 'x'], exitCode: 2, line: 'shim: state: unexpected x after -- (see shim --help)' },
  { name: 'flag-missing-value', area: 'verbs, flags and states', input: '`shim create --bundle` (no value)', args: () => ['create', '--bundle'], exitCode: 2, line: 'shim: create: not enough non-option arguments: got 0, need at least 1 (see shim --help)' },
  { name: 'flag-bad-choice', area: 'verbs, flags and states', input: '`shim list --format bogus`', args: () => ['list', '--format', 'bogus'], exitCode: 2, line: 'shim: list: invalid values: Argument: format, Given: "bogus", Choices: "table", "json" (see shim --help)' },
  { name: 'log-format-bogus', area: 'verbs, flags and states', input: '`shim --log-format xml list`', args: () => ['--log-format', 'xml', 'list'], exitCode: 2, line: 'shim: list: --log-format xml: expected text or json' },
  { name: 'create-no-id', area: 'verbs, flags and states', input: '`shim create` without an id', args: () => ['create'], exitCode: 2, line: 'shim: create: not enough non-option arguments: got 0, need at least 1 (see shim --help)' },
  { name: 'preserve-fds-abc', area: 'verbs, flags and states', input: '`create --preserve-fds abc`', args: (ctx) => ['create', '--bundle', ctx.bundle, '--preserve-fds', 'abc', 'c1'], exitCode: 2, line: 'shim: create: --preserve-fds (not a number): expected a count of descriptors' },
  { name: 'console-socket-missing', area: 'verbs, flags and states', input: '`create --console-socket /nonexistent.sock` with a terminal', config: (c) => (c.process.terminal = true), args: (ctx) => ['create', '--bundle', ctx.bundle, '--console-socket', join(ctx.roots.base, 'no.sock'), 'c1'], exitCode: 1, line: 'shim: create c1: connect to console socket {base}/no.sock: no such file or directory (ENOENT)' },
  { name: 'state-missing', area: 'verbs, flags and states', input: '`state nosuch`', args: () => ['state', 'nosuch'], exitCode: 1, line: 'shim: state nosuch: container nosuch does not exist' },
  { name: 'start-missing', area: 'verbs, flags and states', input: '`start nosuch`', args: () => ['start', 'nosuch'], exitCode: 1, line: 'shim: start nosuch: container nosuch does not exist' },
  { name: 'delete-missing', area: 'verbs, flags and states', input: '`delete nosuch`', args: () => ['delete', 'nosuch'], exitCode: 1, line: 'shim: delete nosuch: container nosuch does not exist' },
  { name: 'kill-missing', area: 'verbs, flags and states', input: '`kill nosuch`', args: () => ['kill', 'nosuch'], exitCode: 1, line: 'shim: kill nosuch: container nosuch does not exist' },
  { name: 'exec-missing', area: 'verbs, flags and states', input: '`exec nosuch true`', args: () => ['exec', 'nosuch', 'true'], exitCode: 125, line: 'shim: exec nosuch: container nosuch does not exist' },
  { name: 'pause-missing', area: 'verbs, flags and states', input: '`pause nosuch`', args: () => ['pause', 'nosuch'], exitCode: 1, line: 'shim: pause nosuch: container nosuch does not exist' },
  { name: 'update-missing', area: 'verbs, flags and states', input: '`update --memory 64m nosuch`', args: () => ['update', '--memory', '64m', 'nosuch'], exitCode: 1, line: 'shim: update nosuch: container nosuch does not exist' },
  { name: 'rm-missing', area: 'verbs, flags and states', input: '`rm nosuch` (docker verb)', args: () => ['rm', 'nosuch'], exitCode: 1, line: 'shim: rm: no such container: nosuch (shim ps -a lists them)' },
  { name: 'logs-missing', area: 'verbs, flags and states', input: '`logs nosuch`', args: () => ['logs', 'nosuch'], exitCode: 1, line: 'shim: logs nosuch: container nosuch does not exist' },
  { name: 'start-running', area: 'verbs, flags and states', input: '`start` a running container', config: sleeper, ...RUNNING, args: () => ['start', 'c1'], exitCode: 1, line: 'shim: start c1: cannot start a running container' },
  { name: 'delete-running', area: 'verbs, flags and states', input: '`delete` a running container without `--force`', config: sleeper, ...RUNNING, args: () => ['delete', 'c1'], exitCode: 1, line: 'shim: delete c1: cannot delete a running container (stop it first, or use --force)' },
  { name: 'pause-created', area: 'verbs, flags and states', input: '`pause` a created container', ...CREATED, args: () => ['pause', 'c1'], exitCode: 1, line: 'shim: pause c1: cannot pause a created container' },
  { name: 'resume-running', area: 'verbs, flags and states', input: '`resume` a running container that is not paused', config: sleeper, ...RUNNING, args: () => ['resume', 'c1'], exitCode: 1, line: 'shim: resume c1: cannot resume a running container' },
  { name: 'update-bad-memory', area: 'verbs, flags and states', input: '`update --memory abc c1`', config: sleeper, ...RUNNING, args: () => ['update', '--memory', 'abc', 'c1'], exitCode: 2, line: 'shim: update: --memory abc: not a size (e.g. 32m, 1g)' },
  { name: 'exec-no-command', area: 'verbs, flags and states', input: '`exec c1` without a command', config: sleeper, ...RUNNING, args: () => ['exec', 'c1'], exitCode: 2, line: 'shim: exec: exec needs a command (shim exec ID CMD [ARGS...] or --process FILE)' },
  { name: 'start-stopped', area: 'verbs, flags and states', input: '`start` a stopped container', before: [['create', '--bundle', '{bundle}', 'c1'], ['start', 'c1'], ['wait-stopped', 'c1']], after: [['delete', 'c1']], args: () => ['start', 'c1'], exitCode: 1, line: 'shim: start c1: cannot start a stopped container' },
  { name: 'exec-stopped', area: 'verbs, flags and states', input: '`exec` in a stopped container', before: [['create', '--bundle', '{bundle}', 'c1'], ['start', 'c1'], ['wait-stopped', 'c1']], after: [['delete', 'c1']], args: () => ['exec', 'c1', 'true'], exitCode: 125, line: 'shim: exec c1: cannot exec in a stopped container (shim ps or the state in {base}/run/c1)' },
  { name: 'volume-rm-missing', area: 'verbs, flags and states', input: '`volume rm nosuch`', args: () => ['volume', 'rm', 'nosuch'], exitCode: 1, line: 'shim: volume: volume nosuch not found (see shim volume ls)' },
  { name: 'volume-create-bad-name', area: 'verbs, flags and states', input: '`volume create a/b`', args: () => ['volume', 'create', 'a/b'], exitCode: 2, line: 'shim: volume: "a/b" is not a volume name (letters, digits, _ . and -)' },
  { name: 'commit-missing', area: 'verbs, flags and states', input: '`commit nosuch x:1`', args: () => ['commit', 'nosuch', 'x:1'], exitCode: 1, line: 'shim: commit nosuch: container nosuch does not exist' },
  { name: 'spec-missing-bundle', area: 'verbs, flags and states', input: '`spec --bundle /nonexistent`', args: (ctx) => ['spec', '--bundle', join(ctx.roots.base, 'no', 'such')], exitCode: 1, line: 'shim: spec: write {base}/no/such/config.json: no such file or directory (ENOENT)' },
];

/** The config's namespace of this type joined by path (runc spec's config already lists a new one). */
function joinNamespace(config: any, type: string, path: string): void {
  config.linux.namespaces = config.linux.namespaces.filter((n: any) => n.type !== type);
  config.linux.namespaces.push({ type, path });
}

/** The manifest says the layer blob is one digest, the blob file is stored under it, but holds other bytes. */
function renameLayerBlob(files: HostileEntry[]): HostileEntry[] {
  return files.map((entry) => {
    if (entry.type === 'file' && entry.data && Buffer.from(entry.data).subarray(257, 262).toString() === 'ustar') {
      const tampered = Buffer.from(entry.data);
      tampered[600] = (tampered[600]! + 1) % 256;
      return { ...entry, data: tampered };
    }
    return entry;
  });
}

/** Writes the case's bundle (config.json only: the rootfs is shared and read-only to every case). */
export async function writeBundle(dir: string, baseConfig: any, testCase: BadInputCase): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (testCase.configText !== undefined) {
    await writeFile(join(dir, 'config.json'), testCase.configText);
    return;
  }
  const config = structuredClone(baseConfig);
  testCase.config?.(config);
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
}

/** The case's expected line as a RegExp: literal text, with {bundle}, {base} and {id} filled in. */
export function expectedLinePattern(line: string, places: { bundle: string; base: string; cgroup: string }): RegExp {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = line
    .split(/(\{bundle\}|\{base\}|\{cgroup\}|\{id\})/)
    .map((part) => {
      if (part === '{bundle}') return escape(places.bundle);
      if (part === '{base}') return escape(places.base);
      if (part === '{cgroup}') return escape(places.cgroup);
      if (part === '{id}') return '[0-9a-f]{12}';
      return escape(part);
    })
    .join('');
  return new RegExp(`^${pattern}$`);
}

const AREA_INTROS: Record<Area, string> = {
  'config.json': 'An OCI bundle created the way containerd and podman call runc (`shim create --bundle DIR c1`), with one field of a busybox config.json made wrong. runc exits 1 for every such failure, and so does shim\'s `create`. (`shim run --bundle` keeps docker\'s codes, 125 for the runtime and 126/127 for the program, as its other tests hold it to.)',
  'container ids': 'Ids as runc takes them (letters, digits, `_ . -`, starting with a letter or digit, at most 128 characters). Every verb checks the id before it makes a path of it.',
  images: '`shim image import FILE bad:1` of archives written byte by byte by the test (test/support/hostile-tar.ts), never by shim\'s own tar code. A refused import leaves no blob, no layer, no name and no temp dir.',
  'docker run flags': '`shim run --rm FLAGS busybox true`, a person\'s docker habits. shim refuses a malformed flag before it makes anything (exit 2, its usage code; docker gives 125 for all of its refusals).',
  signals: '`shim kill c1 SIGNAL` on a created container.',
  'verbs, flags and states': 'The command line itself, and verbs on containers that are missing or in the wrong state, in runc\'s words where runc has them.',
};

function markdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, '\\n');
}

/** docs/bad-input.md, from the table. */
export function renderBadInputDoc(cases: BadInputCase[] = CASES): string {
  const out: string[] = [];
  out.push('# Bad input: what shim says and leaves');
  out.push('');
  out.push('<!-- Generated from test/integration/bad-input-cases.ts by `UPDATE_BAD_INPUT_DOC=1 npx vitest run --project unit test/unit/bad-input-doc.test.ts`; edit the table, not this file. -->');
  out.push('');
  out.push(`Each of the ${cases.length} rows below is a test (test/integration/bad-input.test.ts). For every one the test checks that shim prints`);
  out.push('exactly this one line on stderr (no stack trace, no second line), exits with this status, and leaves nothing behind:');
  out.push('no state directory, mount, cgroup, process, container directory, network namespace, image-store temp file, volume,');
  out.push('or (for a refused import) blob, layer or image name. In the lines, `{bundle}` is the case\'s bundle directory,');
  out.push('`{base}` its temporary root, `{cgroup}` its cgroup parent and `{id}` the 12 hex digits of a generated container');
  out.push('id. A row with no line is an input shim takes, for the reason its note gives.');
  out.push('');
  out.push('Exit statuses: 2 for a usage error (a malformed command line or flag), 1 for any other failure of a runc-style');
  out.push('verb (as runc), 125 for a runtime failure of a docker-style `run` (as docker), 126/127 when a docker-style');
  out.push('`run` cannot execute or find the program.');
  for (const area of Object.keys(AREA_INTROS) as Area[]) {
    const rows = cases.filter((c) => c.area === area);
    if (rows.length === 0) continue;
    out.push('');
    out.push(`## ${area} (${rows.length})`);
    out.push('');
    out.push(AREA_INTROS[area]);
    out.push('');
    out.push('| case | input | exit | stderr |');
    out.push('| --- | --- | --- | --- |');
    for (const c of rows) {
      out.push(`| ${c.name} | ${markdownCell(c.input)}${c.note ? ` (${markdownCell(c.note)})` : ''} | ${c.exitCode} | \`${markdownCell(c.line).replace(/`/g, "'")}\` |`);
    }
  }
  out.push('');
  return out.join('\n');
}
