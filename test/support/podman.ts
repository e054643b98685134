// podman (Debian's 4.3) driving dist/shim as its OCI runtime, with storage, run root, tmpdir, cgroup parent and
// hooks dir private to one temp dir, so nothing touches the machine's podman state or another test's.
//
// podman passes no --root to its runtime (and `--runtime-flag root=...` does not reach the clean-up podman runs
// when a container exits), so shim keeps podman's containers in its default state root, /run/shim, exactly as a
// user's would be. The leak check finds this test's containers there by their bundle, which lives in our dir.

import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seccompGate } from './features.js';
import { makeDockerArchive } from './oci.js';
import { shimBin, testPrefix } from './shim.js';

export const SHIM_DEFAULT_ROOT = '/run/shim';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type RuntimeChoice = 'path' | 'runc';

export interface Podman {
  base: string;
  /** The cgroup parent every container of this test gets (--cgroup-parent /NAME). */
  cgroupParent: string;
  /** dist/shim by path, or the symlink named runc (podman asks only a runtime named runc for JSON logs). */
  runtimes: Record<RuntimeChoice, string>;
  hooksDir: string;
  /** Flags every run/create gets: no network, the ulimits root can set here, the cgroup parent, seccomp. */
  runFlags: string[];
  podman(args: string[], options?: { runtime?: RuntimeChoice; input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** podman run with runFlags, through the runtime chosen. */
  run(args: string[], options?: { runtime?: RuntimeChoice; input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** The host file of one of a container's cgroups (v1 controller dir or the v2 unified one). */
  cgroupFile(containerId: string, controller: string, file: string): Promise<string>;
  leaks(): Promise<string[]>;
  /** Removes every container of this test (podman rm -fa). */
  removeAll(): Promise<void>;
  dispose(): Promise<void>;
}

export const BUSYBOX = 'localhost/busybox:latest';
export const ENV_IMAGE = 'localhost/interop-env:1';

export async function makePodman(): Promise<Podman> {
  const base = await mkdtemp(`/tmp/${testPrefix}podman-`);
  const cgroupParent = `${base.split('/').pop()}`;
  const bin = join(base, 'bin');
  const hooksDir = join(base, 'hooks');
  await mkdir(bin);
  await mkdir(hooksDir);
  await mkdir(join(base, 'tmp'));
  await mkdir(join(base, 'networks'));
  await symlink(shimBin, join(bin, 'runc'));
  // The machine's containers.conf stays out of it: podman's built-in defaults, as on a fresh Debian.
  await writeFile(join(base, 'containers.conf'), '');
  const runtimes = { path: shimBin, runc: join(bin, 'runc') };
  const seccomp = await seccompGate();
  const runFlags = [
    '--net', 'none',
    // Root here lacks CAP_SYS_RESOURCE: podman's default nofile/nproc limits (raised over the hard ones) fail.
    '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=1024:1024',
    '--cgroup-parent', `/${cgroupParent}`,
    // podman sends its default seccomp profile in every config.json; until shim takes one, unconfined.
    ...(seccomp.ok ? [] : ['--security-opt', 'seccomp=unconfined']),
  ];

  const podman: Podman['podman'] = async (args, options = {}) => {
    const result = await execa('podman', [
      '--root', join(base, 'storage'), '--runroot', join(base, 'runroot'), '--storage-driver', 'overlay',
      '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--tmpdir', join(base, 'tmp'),
      '--hooks-dir', hooksDir, '--runtime', runtimes[options.runtime ?? 'runc'],
      // Networks this test creates live here, not in /etc/containers/networks (netavark's state is in the runroot).
      '--network-config-dir', join(base, 'networks'), ...args,
    ], {
      reject: false,
      input: options.input ?? '',
      timeout: options.timeoutMs ?? 60_000,
      env: { CONTAINERS_CONF: join(base, 'containers.conf'), SHIM_TEST_TAG: base },
      stripFinalNewline: false,
    });
    return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
  };

  const self: Podman = {
    base, cgroupParent, runtimes, hooksDir, runFlags, podman,
    run: (args, options) => podman(['run', ...runFlags, ...args], options),
    async cgroupFile(containerId, controller, file) {
      for (const { mountPoint, controllers } of await cgroupMounts()) {
        if (controllers.includes(controller) || (controllers.length === 0 && existsSync(join(mountPoint, 'cgroup.controllers')))) {
          const path = join(mountPoint, cgroupParent, `libpod-${containerId}`, file);
          if (existsSync(path)) return readFile(path, 'utf8');
        }
      }
      throw new Error(`no ${controller} cgroup file ${file} for ${containerId}`);
    },
    async leaks() {
      const leaks: string[] = [];
      const listed = await podman(['ps', '-a', '--format', '{{.ID}} {{.Names}} {{.Status}}']);
      for (const line of listed.stdout.split('\n').filter(Boolean)) leaks.push(`podman container ${line}`);
      for (const pid of await processesOf(base, cgroupParent)) leaks.push(`process ${pid}`);
      for (const { mountPoint } of await cgroupMounts()) {
        const dirs = await readdir(join(mountPoint, cgroupParent), { withFileTypes: true }).catch(() => []);
        // podman's own cgroup for conmon stays with the parent (as with runc); the containers' must go.
        for (const dir of dirs) if (dir.isDirectory() && dir.name !== 'conmon') leaks.push(`cgroup ${join(mountPoint, cgroupParent, dir.name)}`);
      }
      // containers/storage keeps its overlay home bind-mounted for as long as the storage lives; dispose() ends it.
      for (const mountPoint of await mountsUnder(base)) if (mountPoint !== join(base, 'storage/overlay')) leaks.push(`mount ${mountPoint}`);
      for (const id of await shimStatesNaming(base)) leaks.push(`shim state ${join(SHIM_DEFAULT_ROOT, id)}`);
      return leaks;
    },
    async removeAll() {
      await podman(['rm', '-fa', '-t', '0']);
    },
    async dispose() {
      await podman(['rm', '-fa', '-t', '0']).catch(() => undefined);
      // Whatever a failed scenario left in shim's root (a container podman no longer knows).
      for (const id of await shimStatesNaming(base)) {
        await execa(shimBin, ['delete', '--force', id], { reject: false });
      }
      for (const mountPoint of (await mountsUnder(base)).reverse()) await execa('umount', ['-l', mountPoint], { reject: false });
      for (const { mountPoint } of await cgroupMounts()) {
        const parent = join(mountPoint, cgroupParent);
        for (const dir of await readdir(parent, { withFileTypes: true }).catch(() => [])) {
          if (dir.isDirectory()) await rmdir(join(parent, dir.name)).catch(() => undefined);
        }
        await rmdir(parent).catch(() => undefined);
      }
      await rm(base, { recursive: true, force: true });
    },
  };
  return self;
}

/**
 * Loads the images every scenario uses, without a registry: shim's built-in busybox through `shim image
 * export` (an OCI archive), and an image with its own Env, WorkingDir and Cmd made from the same layer plus
 * one more (a docker-save archive).
 */
export async function loadImages(p: Podman): Promise<void> {
  const dataRoot = join(p.base, 'shim-data');
  const archive = join(p.base, 'busybox.oci.tar');
  const exported = await execa(shimBin, ['--data-root', dataRoot, 'image', 'export', 'busybox', archive], { reject: false });
  if (exported.exitCode !== 0) throw new Error(`shim image export: ${exported.stderr}`);
  const loaded = await p.podman(['load', '-i', archive]);
  if (loaded.exitCode !== 0) throw new Error(`podman load: ${loaded.stderr}`);

  const inspected = await execa(shimBin, ['--data-root', dataRoot, 'image', 'inspect', 'busybox']);
  const busyboxLayer = JSON.parse(String(inspected.stdout)).LayerDirs[0] as string;
  const top = join(p.base, 'env-layer');
  await mkdir(join(top, 'srv/app'), { recursive: true });
  await writeFile(join(top, 'srv/app/greeting'), 'from the image layer\n');
  const work = join(p.base, 'env-image');
  await mkdir(work);
  const envArchive = await makeDockerArchive(work, [busyboxLayer, top], {
    Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'GREETING=from-image'],
    WorkingDir: '/srv/app',
    Cmd: ['sh', '-c', 'echo "$GREETING in $(pwd): $(cat greeting)"'],
  }, ENV_IMAGE);
  const envLoaded = await p.podman(['load', '-i', envArchive]);
  if (envLoaded.exitCode !== 0) throw new Error(`podman load: ${envLoaded.stderr}`);
  await rm(work, { recursive: true, force: true });
  await rm(top, { recursive: true, force: true });
}

interface CgroupMount {
  mountPoint: string;
  /** v1 controllers (from the super options); empty for the v2 hierarchy. */
  controllers: string[];
}

async function cgroupMounts(): Promise<CgroupMount[]> {
  const mounts: CgroupMount[] = [];
  for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
    const match = / - (cgroup2?) \S+ (\S+)$/.exec(line);
    if (!match) continue;
    const mountPoint = line.split(' ')[4]!;
    mounts.push({ mountPoint, controllers: match[1] === 'cgroup' ? match[2]!.split(',') : [] });
  }
  return mounts;
}

export async function mountsUnder(base: string): Promise<string[]> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  return mountinfo.split('\n').map((line) => line.split(' ')[4]).filter((point): point is string => !!point && point.startsWith(base + '/'));
}

/** Live (not zombie) processes whose command line names our dir (conmon, podman) or in our cgroup parent. */
export async function processesOf(base: string, cgroupParent: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim();
    const cgroups = await readFile(`/proc/${entry}/cgroup`, 'utf8').catch(() => '');
    const inParent = cgroups.split('\n').some((line) => line.split(':')[2]?.startsWith(`/${cgroupParent}/`));
    if (!cmdline.includes(base) && !inParent) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (stat === '' || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
    const exe = await readlink(`/proc/${entry}/exe`).catch(() => '?');
    found.push(`${entry} ${exe} ${cmdline}`);
  }
  return found;
}

/** Containers in shim's default root whose state names a path under `base` (their bundle or rootfs). */
export async function shimStatesNaming(base: string): Promise<string[]> {
  const ids: string[] = [];
  for (const id of await readdir(SHIM_DEFAULT_ROOT).catch(() => [] as string[])) {
    if (id.startsWith('.')) continue;
    const state = await readFile(join(SHIM_DEFAULT_ROOT, id, 'state.json'), 'utf8').catch(() => '');
    if (state.includes(base + '/')) ids.push(id);
  }
  return ids;
}
