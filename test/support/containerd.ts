// A private containerd 1.6 (Debian's) for the interop tier: its own root, state, socket and config under one
// temp dir, the CRI plugin and every TCP listener off, stopped by its pid. ctr drives it with
// `--runc-binary dist/shim --runc-root DIR`, so containerd's runc shim (containerd-shim-runc-v2) calls shim
// exactly where it would call runc.
//
// Its PATH starts with a dir holding a `runc` symlink to dist/shim: ctr 1.6 drops --runc-binary and
// --runc-root when --uidmap is given (its task options then carry only the io uid/gid), and the runc shim then
// runs whatever `runc` its PATH finds, with runc's default root. With the symlink that is shim too.

import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mountsUnder, processesOf, type CommandResult } from './podman.js';
import { shimBin, testPrefix, waitFor } from './shim.js';

export interface Containerd {
  base: string;
  /** The containerd namespace, unique to this test: containers' cgroups are /<namespace>/<id>. */
  namespace: string;
  /** shim's --root as the runc shim passes it: <runc-root>/<namespace>. */
  shimRoot: string;
  /** runc's default root, where a run through the PATH's `runc` (the --uidmap case) keeps its state. */
  defaultRuncRoot: string;
  /** `ctr --address SOCK -n NS ARGS`. */
  ctr(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** `ctr run --runc-binary dist/shim --runc-root DIR ...` for any ctr verb taking those (run, container create). */
  runtimeFlags: string[];
  /** The same ctr call inside a pseudo-terminal (ctr -t insists on a console), output as the terminal shows it. */
  ctrInTerminal(args: string[]): Promise<CommandResult>;
  cgroupFile(containerId: string, controller: string, file: string): Promise<string>;
  leaks(): Promise<string[]>;
  dispose(): Promise<void>;
}

export async function startContainerd(): Promise<Containerd> {
  const base = await mkdtemp(`/tmp/${testPrefix}containerd-`);
  const namespace = base.split('/').pop()!;
  const socket = join(base, 'containerd.sock');
  const bin = join(base, 'bin');
  await mkdir(bin);
  await symlink(shimBin, join(bin, 'runc'));
  await writeFile(join(base, 'config.toml'), [
    'version = 2',
    `root = "${base}/root"`,
    `state = "${base}/state"`,
    // No CRI (it would listen for streaming on TCP and want CNI), no snapshotters this host cannot use.
    'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",',
    '  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",',
    '  "io.containerd.internal.v1.tracing"]',
    '[grpc]',
    `  address = "${socket}"`,
    '[ttrpc]',
    `  address = "${socket}.ttrpc"`,
    '[debug]',
    '  address = ""',
    '[metrics]',
    '  address = ""',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${base}/opt"`,
    '',
  ].join('\n'));
  const daemon: ResultPromise = execa('containerd', ['--config', join(base, 'config.toml')], {
    reject: false,
    stdin: 'ignore',
    stdout: { file: join(base, 'containerd.log') },
    stderr: { file: join(base, 'containerd.log') },
    env: { PATH: `${bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`, SHIM_TEST_TAG: base },
    extendEnv: false,
  });
  const pid = daemon.pid!;

  const ctr: Containerd['ctr'] = async (args, options = {}) => {
    const result = await execa('ctr', ['--address', socket, '-n', namespace, ...args], {
      reject: false, input: options.input ?? '', timeout: options.timeoutMs ?? 60_000, stripFinalNewline: false,
    });
    return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
  };
  await waitFor('containerd to serve', async () => existsSync(socket) && (await ctr(['version'])).exitCode === 0, 30_000);

  const runcRoot = join(base, 'runc-root');
  const defaultRuncRoot = join('/run/containerd/runc', namespace);
  const self: Containerd = {
    base, namespace, ctr, defaultRuncRoot,
    shimRoot: join(runcRoot, namespace),
    runtimeFlags: ['--runc-binary', shimBin, '--runc-root', runcRoot],
    async ctrInTerminal(args) {
      const line = ['ctr', '--address', socket, '-n', namespace, ...args].map(shellQuote).join(' ');
      const result = await execa('script', ['-qec', line, '/dev/null'], { reject: false, stdin: 'ignore', timeout: 60_000, stripFinalNewline: false });
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
    async cgroupFile(containerId, controller, file) {
      for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
        const match = / - (cgroup2?) \S+ (\S+)$/.exec(line);
        if (!match || (match[1] === 'cgroup' && !match[2]!.split(',').includes(controller))) continue;
        const path = join(line.split(' ')[4]!, namespace, containerId, file);
        if (existsSync(path)) return readFile(path, 'utf8');
      }
      throw new Error(`no ${controller} cgroup file ${file} for ${containerId}`);
    },
    async leaks() {
      const leaks: string[] = [];
      for (const line of (await ctr(['container', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) leaks.push(`containerd container ${line}`);
      for (const proc of await processesOf(base, namespace)) {
        if (proc.startsWith(`${pid} `)) continue;
        leaks.push(`process ${proc}`);
      }
      for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
        if (!/ - cgroup2? /.test(line)) continue;
        const dir = join(line.split(' ')[4]!, namespace);
        for (const child of await readdir(dir, { withFileTypes: true }).catch(() => [])) if (child.isDirectory()) leaks.push(`cgroup ${join(dir, child.name)}`);
      }
      for (const mountPoint of await mountsUnder(base)) leaks.push(`mount ${mountPoint}`);
      for (const root of [self.shimRoot, defaultRuncRoot]) {
        for (const id of await readdir(root).catch(() => [] as string[])) if (!id.startsWith('.')) leaks.push(`runtime state ${join(root, id)}`);
      }
      return leaks;
    },
    async dispose() {
      for (const id of (await ctr(['task', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) {
        await ctr(['task', 'kill', '-s', 'KILL', id]);
        await ctr(['task', 'delete', '-f', id]);
      }
      for (const id of (await ctr(['container', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) await ctr(['container', 'rm', id]);
      for (const id of (await ctr(['image', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) await ctr(['image', 'rm', id]);
      process.kill(pid, 'SIGTERM');
      await Promise.race([daemon, new Promise((done) => setTimeout(done, 10_000))]);
      if (existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
      await daemon;
      for (const mountPoint of (await mountsUnder(base)).reverse()) await execa('umount', ['-l', mountPoint], { reject: false });
      for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
        if (/ - cgroup2? /.test(line)) await rmdir(join(line.split(' ')[4]!, namespace)).catch(() => undefined);
      }
      await rm(defaultRuncRoot, { recursive: true, force: true });
      await rm(base, { recursive: true, force: true });
    },
  };
  return self;
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
