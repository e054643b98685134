// docker's verbs for a person at a terminal: stop, restart, wait, attach, cp, top, ps (without an ID), rm,
// and the attach that run -it and start -a share. Thin: the lifecycle is in container/docker-lifecycle.ts.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { RuntimeError, isRuntimeError } from '../errors.js';
import { listContainers, readContainerState, type ObservedContainer } from '../container/lifecycle.js';
import { ATTACH_SOCKET, DEFAULT_DETACH_KEYS } from '../container/docker-run.js';
import { removeContainer, startStoppedContainer, stopContainer, waitForStop } from '../container/docker-lifecycle.js';
import type { RuntimeContext } from '../container/run-container.js';
import { StateStore, PLAN_FILE, type ContainerState } from '../state/state-store.js';
import type { ContainerPlan } from '../plan/container-plan.js';
import { formatTable } from './state.js';
import type { CliEnvironment } from './main.js';

function seconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new RuntimeError('usage', `-t ${value}: expected whole seconds`);
  return Number(value);
}

export async function stopVerb(context: RuntimeContext, ids: string[], time: string | undefined, cli: CliEnvironment): Promise<number> {
  for (const id of ids) {
    await withSuggestion(context.root, id, () => stopContainer(context, id, seconds(time)));
    cli.stdout(`${id}\n`);
  }
  return 0;
}

export async function restartVerb(context: RuntimeContext, ids: string[], time: string | undefined, cli: CliEnvironment): Promise<number> {
  for (const id of ids) {
    await withSuggestion(context.root, id, async () => {
      await stopContainer(context, id, seconds(time));
      await waitForStop(context.root, id, 10_000);
      await startStoppedContainer(context, id, { attachNow: false });
    });
    cli.stdout(`${id}\n`);
  }
  return 0;
}

export async function waitVerb(context: RuntimeContext, ids: string[], cli: CliEnvironment): Promise<number> {
  for (const id of ids) {
    const observed = await withSuggestion(context.root, id, () => waitForStop(context.root, id));
    cli.stdout(`${observed.exitCode ?? -1}\n`);
  }
  return 0;
}

export async function attachVerb(context: RuntimeContext, id: string, options: { detachKeys?: string | undefined; noStdin: boolean }, cli: CliEnvironment): Promise<number> {
  const result = await withSuggestion(context.root, id, () => attachAndWait(context, id, { stdin: !options.noStdin, detachKeys: options.detachKeys }, cli));
  return result === 'detached' ? 0 : result;
}

/**
 * run -it, start -a, attach: a terminal container's socket until it ends or the keys detach; otherwise its
 * log, followed from here to its end. The container's exit code, or 'detached'.
 */
export async function attachAndWait(
  context: RuntimeContext,
  id: string,
  options: { stdin: boolean; detachKeys?: string | undefined; fromStart?: boolean; justStarted?: boolean },
  cli: CliEnvironment,
): Promise<number | 'detached'> {
  const observed = await readContainerState(context.root, id);
  const { state } = observed;
  // run -it and start -a: a process that has ended already still left its output for us (attach_wait_first).
  if (!options.justStarted && observed.status !== 'running' && observed.status !== 'paused') {
    throw new RuntimeError('invalid-state', `cannot attach to a ${observed.status} container`, { containerId: id, hint: `shim start -a ${id}` });
  }
  if (state.docker?.tty) {
    const { attachTerminal } = await import('./attach-client.js');
    const how = await attachTerminal(join(new StateStore(context.root).dirOf(id), ATTACH_SOCKET), {
      stdin: options.stdin,
      detachKeys: options.detachKeys ?? state.docker.detachKeys ?? DEFAULT_DETACH_KEYS,
    });
    if (how === 'detached') return 'detached';
  } else {
    if (!state.logPath) throw new RuntimeError('usage', 'this container has no output to attach to', { containerId: id });
    // run -d -i: what we read goes to the container's stdin through the socket; the output comes from the log,
    // from where it ends before the first input can have an answer.
    const from = options.fromStart ? 0 : existsSync(state.logPath) ? statSync(state.logPath).size : 0;
    const stopInput = options.stdin && state.docker?.interactive
      ? (await import('./attach-client.js')).sendInput(join(new StateStore(context.root).dirOf(id), ATTACH_SOCKET))
      : undefined;
    try {
      await followLog(context.root, id, state, from, cli);
    } finally {
      stopInput?.();
    }
  }
  const end = await waitForStop(context.root, id);
  return end.exitCode ?? 0;
}

async function followLog(root: string, id: string, state: ContainerState, from: number | undefined, cli: CliEnvironment): Promise<void> {
  const handle = await open(state.logPath!, 'r');
  try {
    const position = from ?? (await handle.stat()).size;
    const { printRecords, printRawLog } = await import('./logs.js');
    if (state.docker?.logRecords) return await printRecords(handle, root, id, { from: position, follow: true }, cli);
    await printRawLog(handle, root, id, { from: position, follow: true }, cli);
  } finally {
    await handle.close();
  }
}

/** docker start of a stopped container, -a to stay attached (its exit code is ours then). */
export async function dockerStart(context: RuntimeContext, id: string, options: { attach: boolean; interactive: boolean }, cli: CliEnvironment): Promise<number> {
  const before = await readContainerState(context.root, id);
  const logSize = before.state.logPath && existsSync(before.state.logPath) ? statSync(before.state.logPath).size : 0;
  const attach = options.attach || options.interactive;
  await startStoppedContainer(context, id, { attachNow: attach && Boolean(before.state.docker?.tty) });
  if (!attach) {
    cli.stdout(`${id}\n`);
    return 0;
  }
  const { state } = await readContainerState(context.root, id);
  if (state.docker?.tty) {
    const result = await attachAndWait(context, id, { stdin: options.interactive, justStarted: true }, cli);
    return result === 'detached' ? 0 : result;
  }
  await followLog(context.root, id, state, logSize, cli);
  const end = await waitForStop(context.root, id);
  return end.exitCode ?? 0;
}

export async function rmVerb(context: RuntimeContext, ids: string[], options: { force: boolean; volumes: boolean }): Promise<number> {
  if (ids.length === 0) throw new RuntimeError('usage', 'rm needs a container ID', { hint: 'shim rm [-f] [-v] ID...' });
  for (const id of ids) await withSuggestion(context.root, id, () => removeContainer(context, context.dataRoot, id, options, context.log));
  return 0;
}

/** docker ps: running containers (-a: all), docker's columns; -q: ids only. */
export async function dockerPsVerb(root: string, options: { all: boolean; quiet: boolean }, cli: CliEnvironment): Promise<number> {
  const entries = (await listContainers(root)).filter((entry) => options.all || entry.observed?.status === 'running' || entry.observed?.status === 'paused');
  if (options.quiet) {
    cli.stdout(entries.map((entry) => `${entry.id.slice(0, 12)}\n`).join(''));
    return 0;
  }
  const rows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES']];
  const store = new StateStore(root);
  for (const entry of entries) {
    const observed = entry.observed;
    const config = observed ? await store.readJson<{ process?: { args?: string[] } }>(entry.id, 'config.json') : undefined;
    const command = (config?.process?.args ?? []).join(' ');
    rows.push([
      entry.id.slice(0, 12),
      observed?.state.image ?? observed?.state.bundle ?? '',
      JSON.stringify(command.length > 20 ? `${command.slice(0, 19)}…` : command),
      observed ? ago(observed.state.created) : '',
      observed ? statusText(observed) : 'unknown',
      entry.id,
    ]);
  }
  cli.stdout(formatTable(rows));
  return 0;
}

function ago(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} seconds ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} minutes ago`;
  return `${Math.round(seconds / 3600)} hours ago`;
}

function statusText(observed: ObservedContainer): string {
  switch (observed.status) {
    case 'running':
      return observed.state.docker?.startedAt ? `Up ${ago(observed.state.docker.startedAt).replace(' ago', '')}` : 'Up';
    case 'stopped':
      return `Exited (${observed.exitCode ?? -1})${observed.finished ? ` ${ago(observed.finished)}` : ''}`;
    default:
      return observed.status.charAt(0).toUpperCase() + observed.status.slice(1);
  }
}

export async function topVerb(context: RuntimeContext, id: string, psArgs: string[], cli: CliEnvironment): Promise<number> {
  const { psVerb } = await import('./ps.js');
  return withSuggestion(context.root, id, () => psVerb(context.root, id, 'table', psArgs, cli));
}

/** cp SRC ID:DST | cp ID:SRC DST. Container paths are resolved by the helper inside the container's root. */
export async function cpVerb(context: RuntimeContext, source: string, destination: string, archive: boolean, cli: CliEnvironment): Promise<number> {
  const split = (value: string) => {
    const match = /^([A-Za-z0-9][A-Za-z0-9_.-]*):(.*)$/.exec(value);
    return match && !value.startsWith('/') && !value.startsWith('.') ? { id: match[1]!, path: match[2]! } : undefined;
  };
  const from = split(source);
  const to = split(destination);
  if ((from && to) || (!from && !to)) {
    throw new RuntimeError('usage', 'cp copies between a container and the host: cp SRC ID:DST or cp ID:SRC DST');
  }
  const inside = (from ?? to)!;
  if (!inside.path.startsWith('/')) throw new RuntimeError('usage', `cp: ${inside.id}:${inside.path}: the container path must be absolute`);
  return withSuggestion(context.root, inside.id, async () => {
    const observed = await readContainerState(context.root, inside.id);
    const running = observed.status === 'running' || observed.status === 'paused';
    const plan = await new StateStore(context.root).readJson<ContainerPlan>(inside.id, PLAN_FILE);
    if (!running && !plan?.rootfs.lowerDirs?.length) {
      throw new RuntimeError('unsupported', 'cp: only running containers, or stopped ones with an overlay, can be copied from or to', { containerId: inside.id });
    }
    const root = running ? `/proc/${observed.state.pid}/root` : '';
    const { runHelper } = await import('../helper/run-helper.js');
    const { encodeCopySpec } = await import('../spec/encode-spec.js');
    const { helperFailure } = await import('../container/run-container.js');
    const tarPath = ['/usr/bin/tar', '/bin/tar'].find((path) => existsSync(path));
    if (!tarPath) throw new RuntimeError('system', 'cp needs the host\'s tar', { hint: 'apt-get install tar' });
    if (to) {
      const hostPath = resolve(context.cwd, source);
      if (!existsSync(hostPath)) throw new RuntimeError('not-found', `cp: ${hostPath}: no such file or directory`);
      const tar = spawn(tarPath, ['-c', '-f', '-', '-C', dirname(hostPath), '--', basename(hostPath)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const outcome = await runHelper({
        helperPath: context.helperPath,
        spec: encodeCopySpec('in', { root, containerPath: to.path, keepOwners: archive, uid: 0, gid: 0 }, plan),
        log: context.log,
        stdin: tar.stdout!,
      });
      await new Promise((done) => (tar.exitCode !== null ? done(undefined) : tar.once('exit', done)));
      if (outcome.error) throw helperFailure(outcome.error);
      if (outcome.helperExitCode) throw new RuntimeError('system', `cp: the helper exited with ${outcome.helperExitCode}`);
      return 0;
    }
    // Out: into a new directory beside the destination first, then moved to its place by docker's rule
    // (into an existing directory under its own name, or as the new name).
    const hostPath = resolve(context.cwd, destination);
    const intoDir = existsSync(hostPath) && statSync(hostPath).isDirectory();
    const staging = mkdtempSync(join(intoDir ? hostPath : dirname(hostPath), '.shim-cp-'));
    try {
      const untar = spawn(tarPath, ['-x', '-f', '-', '-C', staging, '--no-same-owner'], { stdio: ['pipe', 'inherit', 'inherit'] });
      const name = basename(from!.path.replace(/\/+$/, '')) || '.';
      const outcome = await runHelper({
        helperPath: context.helperPath,
        spec: encodeCopySpec('out', { root, containerPath: from!.path, keepOwners: false, uid: 0, gid: 0, args: [tarPath, '-c', '-f', '-', '--', name] }, plan),
        log: context.log,
        stdin: 'ignore',
        stdout: untar.stdin!,
      });
      untar.stdin!.end();
      const untarCode = await new Promise<number | null>((done) => (untar.exitCode !== null ? done(untar.exitCode) : untar.once('exit', (code) => done(code))));
      if (outcome.error) throw helperFailure(outcome.error);
      if (outcome.helperExitCode || untarCode) throw new RuntimeError('system', `cp: tar ended with ${outcome.helperExitCode || untarCode}`);
      const [entry] = readdirSync(staging);
      if (entry === undefined) throw new RuntimeError('system', 'cp: nothing was copied');
      renameSync(join(staging, entry), intoDir ? join(hostPath, entry) : hostPath);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    cli.stdout('');
    return 0;
  });
}

/** A missing container's error names the nearest existing id: `no such container: web1 (did you mean web2?)`. */
export async function withSuggestion<T>(root: string, id: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (isRuntimeError(error) && error.code === 'not-found' && / does not exist$/.test(error.message)) {
      const ids = await new StateStore(root).listIds().catch(() => [] as string[]);
      const nearest = ids.map((candidate) => ({ candidate, distance: editDistance(id, candidate) })).sort((a, b) => a.distance - b.distance)[0];
      const hint = nearest && nearest.distance <= Math.max(2, Math.floor(id.length / 3)) ? `did you mean ${nearest.candidate}?` : 'shim ps -a lists them';
      throw new RuntimeError('not-found', `no such container: ${id}`, { stage: 'state', hint });
    }
    throw error;
  }
}

export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = saved;
    }
  }
  return row[b.length]!;
}
