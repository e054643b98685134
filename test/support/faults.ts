// Fault injection from outside the process, shared by the fault-injection test files: the real CLI runs with
// --debug, and when its stderr has shown N stage lines, the CLI (or the shim-helper it spawned, found by pid
// among the CLI's descendants, never by name) is SIGKILLed. Nothing in the product knows it is being tested.
// Then a user's recovery runs, and everything a container or an image can leave is checked: on top of the
// harness's leak check (mounts, processes, cgroups, state and layer dirs, netns), the image store's tmp/,
// blobs, layers and names against a snapshot taken before, and a test network's veths and leases.

import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { settledLeaks, shimBin, type Roots } from './shim.js';

export const DEBUG_PREFIX = 'shim: debug: ';

/** The text of a --debug line without its timings or pids, e.g. "helper: clone". */
export const stageOf = (line: string) =>
  line.replace(DEBUG_PREFIX, '').replace(/\s*(\+|at |in |after )[\d.]+ms.*$/, '').replace(/pid \d+/g, 'pid N').replace(/, \d+ bytes$/, '');

export type Target = 'cli' | 'helper';

export interface KilledRun {
  /** Every stderr line seen. */
  lines: string[];
  /** The last --debug line before the kill (the stage it died at). */
  stage: string;
  /** The pid that was SIGKILLed, or undefined (no helper at that point, or the CLI finished first). */
  killed?: number | undefined;
  /** When the helper was killed: how the CLI itself ended. */
  exitCode: number | null;
}

/** Signals the process group led by `leader` (a CLI this harness spawned detached); gone is fine. */
function signalGroup(leader: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-leader, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** The --debug lines of a whole, unkilled run of `args` (the stages to kill at). */
export function debugLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith(DEBUG_PREFIX));
}

/** Direct and indirect children of `pid`, from /proc/PID/task/TID/children. */
async function descendants(pid: number): Promise<number[]> {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const tid of await readdir(`/proc/${parent}/task`).catch(() => [] as string[])) {
      const children = await readFile(`/proc/${parent}/task/${tid}/children`, 'utf8').catch(() => '');
      for (const child of children.split(' ').filter(Boolean).map(Number)) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** The shim-helper processes among the CLI's descendants (by their executable, read from /proc/PID/exe). */
export async function helperPidsOf(cliPid: number): Promise<number[]> {
  const helpers: number[] = [];
  for (const pid of await descendants(cliPid)) {
    const exe = await readlink(`/proc/${pid}/exe`).catch(() => '');
    // The helper runs from a sealed memfd copy (/memfd:shim-helper (deleted)) or from the file itself.
    if (/shim-helper( \(deleted\))?$/.test(exe)) helpers.push(pid);
  }
  return helpers;
}

/**
 * Runs `shim --debug ARGS` and SIGKILLs the target once `after` --debug lines have appeared (or at the line
 * `until` matches, whichever is first). The CLI's own end is awaited ('exit': a detached container inherits
 * the pipe and outlives it).
 */
export async function runKilledAfter(
  roots: Roots,
  args: string[],
  after: number,
  target: Target,
  options: { env?: Record<string, string>; until?: RegExp; helperDelayMs?: number } = {},
): Promise<KilledRun> {
  const child = spawn(shimBin, ['--root', roots.root, '--data-root', roots.dataRoot, '--debug', ...args], {
    env: { ...process.env, ...roots.env, ...options.env }, stdio: ['ignore', 'ignore', 'pipe'],
    // A process group of its own (the helper and the container's init inherit it): the whole group is
    // stopped while the helper is looked for, so it cannot run on to its end meanwhile.
    detached: true,
  });
  let seen = '';
  let killed: number | undefined;
  let stage = '';
  let triggered = false;
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const trigger = async () => {
    if (target === 'cli') {
      killed = child.pid;
      child.kill('SIGKILL');
      return;
    }
    // The CLI's group is stopped while its children are looked for, so the helper cannot finish meanwhile and
    // the pid read is the pid killed. (Negative: the group whose leader is the CLI, never the test's own.)
    if (!child.pid || child.pid <= 1) return;
    if (options.helperDelayMs !== undefined) {
      // A helper that finishes in a few milliseconds (create's: it exits once the init waits on its FIFO)
      // is done before its first line can be read: it is killed a set time after it appears instead, and the
      // last line it got out says where it was.
      const deadline = Date.now() + 5000;
      let helper: number | undefined;
      while (helper === undefined && Date.now() < deadline && child.exitCode === null) {
        [helper] = await helperPidsOf(child.pid);
      }
      if (helper === undefined) return;
      if (options.helperDelayMs > 0) await new Promise((done) => setTimeout(done, options.helperDelayMs));
      try {
        process.kill(helper, 'SIGKILL');
        killed = helper;
      } catch {
        // Done first.
      }
      return;
    }
    signalGroup(child.pid, 'SIGSTOP');
    try {
      const [helper] = await helperPidsOf(child.pid);
      if (helper !== undefined) {
        process.kill(helper, 'SIGKILL');
        killed = helper;
      }
    } finally {
      signalGroup(child.pid, 'SIGCONT');
    }
  };
  child.stderr!.on('data', (chunk: Buffer) => {
    seen += String(chunk);
    if (triggered) return;
    const lines = debugLines(seen);
    if (lines.length >= after || (options.until && options.until.test(seen))) {
      triggered = true;
      stage = stageOf(lines[Math.min(after, lines.length) - 1] ?? '');
      void trigger();
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exitCode = await exited;
  clearTimeout(timer);
  child.stderr!.destroy();
  if (options.helperDelayMs !== undefined) {
    const reached = debugLines(seen).filter((line) => / helper: /.test(line)).at(-1);
    stage = `${options.helperDelayMs}ms after it started, past ${reached ? stageOf(reached) : 'no stage'}`;
  }
  return { lines: seen.split('\n').filter(Boolean), stage, killed, exitCode };
}

/** Names, blobs, layers and tmp/ entries of the image store: equal before and after means no half image. */
export async function storeSnapshot(dataRoot: string): Promise<string[]> {
  const images = join(dataRoot, 'images');
  const entries: string[] = [];
  for (const sub of ['blobs/sha256', 'layers/sha256', 'tmp']) {
    for (const entry of await readdir(join(images, sub)).catch(() => [] as string[])) entries.push(`${sub}/${entry}`);
  }
  for (const entry of await readdir(images).catch(() => [] as string[])) {
    if (!['blobs', 'layers', 'tmp', 'repositories.json'].includes(entry)) entries.push(entry);
  }
  const names = await readFile(join(images, 'repositories.json'), 'utf8').catch(() => '{}');
  for (const name of Object.keys(JSON.parse(names) as object)) entries.push(`name ${name}`);
  return entries.sort();
}

export interface TestNetwork {
  name: string;
  bridge: string;
  prefix: string;
}

/** What a network left: a port on its bridge, a lease in its IPAM directory. */
export async function networkLeaks(roots: Roots, net: TestNetwork): Promise<string[]> {
  const leaks: string[] = [];
  const ports = await execa('ip', ['-o', 'link', 'show', 'master', net.bridge], { reject: false });
  for (const line of String(ports.stdout).split('\n').filter(Boolean)) leaks.push(`link ${line.split(':')[1]?.trim()}`);
  for (const entry of await readdir(join(roots.dataRoot, 'networks/ipam', net.name)).catch(() => [] as string[])) {
    if (entry !== 'lock' && !entry.startsWith('last_reserved_ip')) leaks.push(`lease ${entry}`);
  }
  return leaks;
}

/** Everything left once a recovery has run: the harness's leaks, the store's changes, the network's. */
export async function everyLeak(roots: Roots, store: string[], net?: TestNetwork): Promise<string[]> {
  const leaks = await settledLeaks(roots, 5000);
  const now = await storeSnapshot(roots.dataRoot);
  for (const entry of now) if (!store.includes(entry)) leaks.push(`store + ${entry}`);
  for (const entry of store) if (!now.includes(entry)) leaks.push(`store - ${entry}`);
  if (net) leaks.push(...(await networkLeaks(roots, net)));
  return leaks;
}
