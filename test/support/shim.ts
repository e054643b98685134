// The test harness shared by the helper and integration tiers: temporary roots per test, the real CLI run as
// a subprocess, a busybox rootfs and OCI bundles, and a leak check that every test runs after itself.
//
// Every process a test starts carries SHIM_TEST_TAG=<its roots' base dir> in its environment and every
// container it creates lives under a cgroup parent unique to it, so the leak check finds exactly what this
// test left and never touches anything else on the machine.

import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, readlink, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const shimBin = join(repoRoot, 'dist/shim');
export const helperBin = join(repoRoot, 'dist/shim-helper');
export const hostBusybox = '/bin/busybox';

export interface Roots {
  /** The temporary directory holding everything below. */
  base: string;
  /** --root: the state directories. */
  root: string;
  /** --data-root: images, layers, containers' read-write layers, volumes. */
  dataRoot: string;
  /** The cgroup parent (SHIM_CGROUP_PARENT) under which this test's containers get their cgroups. */
  cgroupParent: string;
  /** Environment every process of this test gets. */
  env: Record<string, string>;
  /** Unmount anything left (so rm never walks into a bind-mounted host dir), then remove it all. */
  dispose(): Promise<void>;
}

/**
 * Every test root and cgroup parent starts with this prefix. scripts/run-tests.mjs sets one per suite run so
 * its closing leak check looks only at what that run made, even while another suite runs on the machine.
 */
export const testPrefix = process.env.SHIM_TEST_PREFIX ?? 'shim-test-';

export async function makeRoots(): Promise<Roots> {
  const base = await mkdtemp(`/tmp/${testPrefix}`);
  const root = join(base, 'run');
  const dataRoot = join(base, 'data');
  await mkdir(root, { recursive: true });
  await mkdir(dataRoot, { recursive: true });
  const cgroupParent = basename(base);
  // SHIM_NETWORK=none: a docker-style run gets only loopback unless its test asks for a network (with one of
  // its own: the default bridge network would put every test's containers on one shim0 bridge).
  const env = { SHIM_CGROUP_PARENT: cgroupParent, SHIM_TEST_TAG: base, SHIM_NETWORK: 'none' };
  return {
    base, root, dataRoot, cgroupParent, env,
    async dispose() {
      for (const mountPoint of (await mountsUnder(base)).reverse()) {
        await execa('umount', ['-l', mountPoint], { reject: false });
      }
      await removeCgroupParent(cgroupParent);
      await rm(base, { recursive: true, force: true });
    },
  };
}

export interface ShimResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  signal?: string | undefined;
}

export interface ShimOptions {
  input?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Passed to the CLI before the verb, after --root and --data-root. */
  globalArgs?: string[];
}

/** Runs the real CLI (dist/shim) with this test's roots. */
export async function shim(roots: Roots, args: string[], options: ShimOptions = {}): Promise<ShimResult> {
  const result = await execa(shimBin, ['--root', roots.root, '--data-root', roots.dataRoot, ...(options.globalArgs ?? []), ...args], {
    reject: false,
    env: { ...roots.env, ...options.env },
    input: options.input ?? '',
    timeout: options.timeoutMs ?? 60_000,
    stripFinalNewline: false,
  });
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
    signal: result.signal,
  };
}

/** A rootfs made from Debian's busybox-static: /bin/busybox and one link per applet. */
export async function makeBusyboxRootfs(dir: string): Promise<string> {
  for (const sub of ['bin', 'etc', 'root', 'tmp', 'proc', 'sys', 'dev', 'usr/bin', 'usr/sbin', 'sbin', 'var']) {
    await mkdir(join(dir, sub), { recursive: true });
  }
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile(hostBusybox, join(dir, 'bin/busybox'));
  await chmod(join(dir, 'bin/busybox'), 0o755);
  const { stdout } = await execa(hostBusybox, ['--list']);
  for (const applet of stdout.split('\n').filter((name) => name && name !== 'busybox')) {
    const link = join(dir, 'bin', applet);
    if (!existsSync(link)) await symlink('busybox', link);
  }
  await writeFile(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  return dir;
}

/** An OCI bundle as `runc spec` writes it, with a busybox rootfs, terminal off, then `mutate` applied. */
export async function makeBundle(dir: string, mutate: (config: any) => void = () => {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  await execa('runc', ['spec', '--bundle', dir]);
  await makeBusyboxRootfs(join(dir, 'rootfs'));
  const configPath = join(dir, 'config.json');
  const config = JSON.parse(await readFile(configPath, 'utf8'));
  config.process.terminal = false;
  mutate(config);
  await writeFile(configPath, JSON.stringify(config, null, 2));
  return dir;
}

/** A bundle in this test's base running `script` under sh, with hostDir bound read-write at /host. */
export async function hostBoundBundle(roots: Roots, hostDir: string, script: string, mutate: (config: any) => void = () => {}): Promise<string> {
  return makeBundle(join(roots.base, `bundle-${Math.random().toString(36).slice(2, 8)}`), (config) => {
    config.process.args = ['sh', '-c', script];
    config.mounts.push({ destination: '/host', type: 'bind', source: hostDir, options: ['rbind', 'rw'] });
    mutate(config);
  });
}

async function mountsUnder(base: string): Promise<string[]> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  return mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mountPoint): mountPoint is string => !!mountPoint && unescapeMountPath(mountPoint).startsWith(base + '/'))
    .map(unescapeMountPath);
}

function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

async function cgroupHierarchies(): Promise<string[]> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  return mountinfo
    .split('\n')
    .filter((line) => / - cgroup2? /.test(line))
    .map((line) => unescapeMountPath(line.split(' ')[4]!));
}

async function removeCgroupParent(cgroupParent: string): Promise<void> {
  for (const hierarchy of await cgroupHierarchies()) {
    const dir = join(hierarchy, cgroupParent);
    if (existsSync(dir)) await rmdir(dir).catch(() => {});
  }
}

/** Process ids whose environment carries this test's tag (the CLI and its helpers). */
async function taggedProcesses(base: string): Promise<number[]> {
  const tag = Buffer.from(`SHIM_TEST_TAG=${base}\0`);
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const environ = await readFile(`/proc/${entry}/environ`).catch(() => null);
    if (environ && environ.includes(tag)) found.push(Number(entry));
  }
  return found;
}

/** Process ids in any cgroup below this test's cgroup parent (the containers' own processes). */
async function processesInCgroupParent(cgroupParent: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cgroups = await readFile(`/proc/${entry}/cgroup`, 'utf8').catch(() => '');
    if (cgroups.split('\n').some((line) => line.split(':')[2]?.startsWith(`/${cgroupParent}/`))) found.push(Number(entry));
  }
  return found;
}

async function isZombie(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

async function describeProcess(pid: number): Promise<string> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const exe = await readlink(`/proc/${pid}/exe`).catch(() => '?');
  return `${pid} ${exe} ${cmdline.split('\0').join(' ').trim()}`;
}

/**
 * Everything this test's roots left behind: mounts on the host under the roots, processes started by it that
 * still run, cgroups under its cgroup parent, state directories, containers' layer dirs, network namespaces.
 */
export async function findLeaks(roots: Roots): Promise<string[]> {
  const leaks: string[] = [];
  for (const mountPoint of await mountsUnder(roots.base)) leaks.push(`mount ${mountPoint}`);
  const pids = new Set([...(await taggedProcesses(roots.base)), ...(await processesInCgroupParent(roots.cgroupParent))]);
  for (const pid of pids) {
    // A zombie has ended and holds nothing but its pid: reaping it is its parent's job. A created container's
    // init (runc's process model) is re-parented to the caller's subreaper, or to the host's init, which here
    // (a sandbox's PID 1) can take seconds to reap.
    if (await isZombie(pid)) continue;
    leaks.push(`process ${await describeProcess(pid)}`);
  }
  for (const hierarchy of await cgroupHierarchies()) {
    const dir = join(hierarchy, roots.cgroupParent);
    const children = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const child of children) if (child.isDirectory()) leaks.push(`cgroup ${join(dir, child.name)}`);
  }
  for (const entry of await readdir(roots.root).catch(() => [])) leaks.push(`state ${join(roots.root, entry)}`);
  for (const entry of await readdir(join(roots.dataRoot, 'containers')).catch(() => [])) {
    leaks.push(`container dir ${join(roots.dataRoot, 'containers', entry)}`);
  }
  const netns = await execa('ip', ['netns', 'list'], { reject: false });
  for (const line of String(netns.stdout).split('\n')) {
    if (line.includes(roots.cgroupParent)) leaks.push(`netns ${line}`);
  }
  return leaks;
}

/** Waits (bounded) for processes to go: a container's exit is observed a moment after the CLI returns. */
export async function settledLeaks(roots: Roots, waitMs = 2000): Promise<string[]> {
  const deadline = Date.now() + waitMs;
  let leaks = await findLeaks(roots);
  while (leaks.length > 0 && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 50));
    leaks = await findLeaks(roots);
  }
  return leaks;
}

/**
 * SIGKILL one process this test started, by pid. A pid of 0 or below would signal a whole process group
 * (0 is the test runner's own, and with it whatever started the suite), so it fails the test instead: a
 * `finally` that kills a container which never reported its pid must not take the runner down.
 */
export function killPid(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`killPid: ${pid} is not one process`);
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Polls `probe` every 20 ms until it gives a value (undefined and false mean "not yet"), at most timeoutMs. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

/** The real CLI started in the background, for tests that act on what it runs meanwhile. */
export interface BackgroundShim {
  result: Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Everything written to stdout so far. */
  output(): string;
  kill(signal: NodeJS.Signals): void;
}

/** Starts dist/shim with this test's roots; stdin is /dev/null unless `stdio` says otherwise. */
export function startShimInBackground(roots: Roots, args: string[], options: { stdio?: (number | 'ignore' | 'pipe')[] } = {}): BackgroundShim {
  const subprocess = execa(shimBin, ['--root', roots.root, '--data-root', roots.dataRoot, ...args], {
    reject: false,
    env: roots.env,
    buffer: false,
    timeout: 60_000,
    ...(options.stdio ? { stdio: options.stdio as never } : { stdin: 'ignore' as const }),
  });
  let stdout = '';
  let stderr = '';
  subprocess.stdout?.on('data', (chunk: Buffer) => (stdout += String(chunk)));
  subprocess.stderr?.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  return {
    result: subprocess.then((done) => ({ exitCode: done.exitCode ?? -1, stdout, stderr })),
    output: () => stdout,
    kill: (signal) => subprocess.kill(signal),
  };
}
