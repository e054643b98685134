// `shim run`: docker-style (IMAGE [CMD...]) or runc-style (--bundle DIR ID). Reads flags into a request, asks
// the library to plan it, then prints the plan (--dry-run) or runs it with signals forwarded.

import { RuntimeError } from '../errors.js';
import { prepareRun, runPrepared, type RunRequest, type RuntimeContext, type SignalSource } from '../container/run-container.js';
import { formatPlanJson, formatPlanText } from '../plan/format-plan.js';
import type { OciResources } from '../plan/oci-config.js';
import { DEFAULT_CPU_PERIOD_US, formatBytes, parseMemorySize } from '../cgroups/resources.js';
import type { CliEnvironment, RunArgs } from './main.js';
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { DockerRunOptions } from '../container/docker-run.js';
import { checkStopSignal, parseEnvFile, parseLabels, parseRestartPolicy } from '../plan/docker-run-flags.js';
import { parseSignal } from '../container/signals.js';
import { readUserNamespaceFlags } from '../userns/userns-flags.js';

export async function runVerb(args: RunArgs, command: string[], cli: CliEnvironment, context: RuntimeContext): Promise<number> {
  const request = readRunRequest(args, command, cli.env);
  if (!args.detach && (args.pidFile !== undefined || args.consoleSocket !== undefined)) {
    throw new RuntimeError('usage', '--pid-file and --console-socket go with -d (a foreground run relays its own terminal)');
  }
  if (args.detach && request.kind === 'image' && request.remove) {
    throw new RuntimeError('usage', '--rm with -d is not supported yet: remove the container with `shim delete` once it has exited');
  }
  const docker = request.kind === 'image' ? request.docker : undefined;
  // A terminal (and --restart) lives in the background monitor: run -it is run -d -it plus attach, so that
  // Ctrl-P Ctrl-Q can leave it running.
  const background = args.detach || docker?.tty === true;
  if (docker?.restart && docker.restart.name !== 'no' && !background) {
    throw new RuntimeError('usage', '--restart needs -d (or -t): the background monitor restarts the container', { hint: 'shim run -d --restart ...' });
  }
  if (docker?.tty && !args.detach && request.kind === 'image' && args.consoleSocket !== undefined) {
    throw new RuntimeError('usage', '--console-socket goes with -d');
  }
  const prepared = await prepareRun(request, context, { dryRun: args.dryRun });
  if (args.dryRun) {
    cli.stdout(args.format === 'json' ? formatPlanJson(prepared.plan) : formatPlanText(prepared.plan));
    return 0;
  }
  if (args.detach) {
    // Only -d needs these (and create-container brings execa): a foreground run does not load them.
    const { createPrepared } = await import('../container/create-container.js');
    const { startContainer } = await import('../container/lifecycle.js');
    const consoleSocket = args.consoleSocket && (args.consoleSocket.startsWith('/') ? args.consoleSocket : `${cli.cwd}/${args.consoleSocket}`);
    if (request.kind === 'bundle') {
      // runc run -d: create, then start, and return; the init is the caller's subreaper's child.
      await createPrepared(prepared, context, { mode: 'create', pidFile: args.pidFile, consoleSocket });
      await startContainer(context.root, prepared.containerId, context.log);
      return 0;
    }
    // docker run -d: the helper's background monitor keeps the log and records the exit; the id is printed.
    await createPrepared(prepared, context, { mode: 'background', pidFile: args.pidFile, consoleSocket });
    cli.stdout(`${prepared.containerId}\n`);
    return 0;
  }
  if (background && request.kind === 'image') {
    const { createPrepared } = await import('../container/create-container.js');
    const { attachAndWait } = await import('./docker.js');
    await createPrepared({ ...prepared, autoRemove: false }, context, { mode: 'background', attachNow: true });
    context.log.debug('run: started in the background; attaching');
    const result = await attachAndWait(context, prepared.containerId, { stdin: docker!.interactive, detachKeys: docker!.detachKeys, justStarted: true }, cli);
    if (result === 'detached') {
      if (request.remove) context.log.warn(`--rm: ${prepared.containerId} still runs; shim rm -f ${prepared.containerId} removes it`);
      return 0;
    }
    if (request.remove) {
      const { removeContainer } = await import('../container/docker-lifecycle.js');
      await removeContainer(context, context.dataRoot, prepared.containerId, { force: true, volumes: true }, context.log);
    }
    return result;
  }
  const signals: SignalSource | undefined = cli.onSignal && { subscribe: cli.onSignal };
  const result = await runPrepared(prepared, context, { signals });
  if (result.oomKilled) {
    const limit = result.oomKilled.memoryLimit !== undefined ? ` (memory limit ${formatBytes(result.oomKilled.memoryLimit)})` : '';
    const who = result.signal === 9 ? 'init was' : `${result.oomKilled.count === 1 ? 'a process was' : `${result.oomKilled.count} processes were`}`;
    cli.stderr(`shim: run ${prepared.containerId}: ${who} OOM-killed${limit}\n`);
  }
  return result.exitCode;
}

export function readRunRequest(args: RunArgs, command: string[], env: CliEnvironment['env']): RunRequest {
  if (args.bundle !== undefined) {
    const imageOnly = [
      ['--name', args.name !== undefined],
      ['-e', args.env.length > 0],
      ['-w', args.workdir !== undefined],
      ['--hostname', args.hostname !== undefined],
      ['-v', args.volume.length > 0],
      ['--device', (args.device ?? []).length > 0],
      ['--device-cgroup-rule', (args.deviceCgroupRule ?? []).length > 0],
      ['--rm', args.rm],
      ['--entrypoint', args.entrypoint !== undefined],
      ['--memory', args.memory !== undefined],
      ['--cpus', args.cpus !== undefined],
      ['--pids-limit', args.pidsLimit !== undefined],
      ['--net', args.net !== undefined],
      ['-p', (args.publish ?? []).length > 0],
      ['--ip', args.ip !== undefined],
      ['--dns', (args.dns ?? []).length > 0],
      ['--add-host', (args.addHost ?? []).length > 0],
      ['--security-opt', (args.securityOpt ?? []).length > 0],
      ['-t/-i/-u/--cap-add/--restart/... (docker flags)', readDockerRunFlags(args, env, false) !== undefined],
      ['--uidmap', (args.uidmap ?? []).length > 0],
      ['--gidmap', (args.gidmap ?? []).length > 0],
      ['--userns', args.userns !== undefined],
    ] as const;
    for (const [flag, given] of imageOnly) {
      if (given) throw new RuntimeError('usage', `${flag} cannot be used with --bundle`, { hint: 'the bundle\'s config.json says it' });
    }
    if (!args.target) throw new RuntimeError('usage', 'run --bundle DIR needs the container ID', { hint: 'shim run --bundle DIR ID' });
    if (command.length > 0) throw new RuntimeError('usage', `run --bundle DIR ID takes no command (got ${command.join(' ')})`);
    return { kind: 'bundle', bundleDir: args.bundle, id: args.target, keep: args.keep, noPivot: !args.pivot };
  }
  if (args.keep) throw new RuntimeError('usage', '--keep is for --bundle runs; without --rm a container is kept anyway');
  if (!args.pivot) throw new RuntimeError('usage', '--no-pivot is for --bundle runs');
  if (!args.target) throw new RuntimeError('usage', 'run needs an IMAGE', { hint: 'shim run [options] IMAGE [CMD...]' });
  return {
    kind: 'image',
    image: args.target,
    command,
    name: args.name,
    env: resolveEnvFlags([...readEnvFiles(args.docker?.envFile ?? [], process.cwd()), ...args.env], env),
    workdir: args.workdir,
    hostname: args.hostname,
    volumes: args.volume,
    devices: args.device,
    deviceCgroupRules: args.deviceCgroupRule,
    remove: args.rm,
    entrypoint: args.entrypoint,
    resources: readResourceFlags(args),
    network: { net: args.net ?? (env.SHIM_NETWORK || undefined), publish: args.publish ?? [], ip: args.ip, dns: args.dns ?? [], addHost: args.addHost ?? [] },
    securityOpt: args.securityOpt,
    docker: readDockerRunFlags(args, env, args.detach ?? false),
    userNamespace: readUserNamespaceFlags(args),
  };
}

/** docker run's -i/-t/-u/--cap-add/... (undefined when none is given, so plain runs plan exactly as before). */
export function readDockerRunFlags(args: RunArgs, _env: CliEnvironment["env"], detach: boolean): DockerRunOptions | undefined {
  const flags = args.docker;
  if (!flags) return undefined;
  if (flags.platform !== undefined) {
    const machine = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch;
    if (flags.platform !== `linux/${machine}` && flags.platform !== 'linux') {
      throw new RuntimeError('usage', `--platform ${flags.platform}: shim runs images for this machine only (linux/${machine}), and does not emulate others`);
    }
  }
  const given = flags.interactive || flags.tty || flags.user !== undefined || flags.groupAdd.length > 0 || flags.capAdd.length > 0 || flags.capDrop.length > 0 ||
    flags.privileged || flags.readOnly || flags.tmpfs.length > 0 || flags.ulimit.length > 0 || flags.label.length > 0 || flags.init ||
    flags.restart !== undefined || flags.stopSignal !== undefined || flags.stopTimeout !== undefined || flags.detachKeys !== undefined || detach;
  if (!given) return undefined;
  if (flags.detachKeys !== undefined) parseDetachKeysForCheck(flags.detachKeys);
  if (flags.stopTimeout !== undefined && !/^\d+$/.test(flags.stopTimeout)) throw new RuntimeError('usage', `--stop-timeout ${flags.stopTimeout}: expected whole seconds`);
  return {
    tty: flags.tty,
    interactive: flags.interactive,
    user: flags.user,
    capAdd: flags.capAdd,
    groupAdd: flags.groupAdd,
    capDrop: flags.capDrop,
    privileged: flags.privileged,
    readOnly: flags.readOnly,
    tmpfs: flags.tmpfs,
    ulimits: flags.ulimit,
    init: flags.init,
    restart: flags.restart === undefined ? undefined : parseRestartPolicy(flags.restart),
    stopSignal: flags.stopSignal === undefined ? undefined : checkStopSignal(flags.stopSignal, parseSignal),
    stopTimeout: flags.stopTimeout === undefined ? undefined : Number(flags.stopTimeout),
    labels: flags.label.length > 0 ? parseLabels(flags.label) : undefined,
    detachKeys: flags.detachKeys,
  };
}

function parseDetachKeysForCheck(text: string): void {
  const ok = text.split(',').every((key) => /^ctrl-[a-z@\[\\\]^_]$/i.test(key) || key.length === 1);
  if (!ok) throw new RuntimeError('usage', `--detach-keys ${text}: expected keys like ctrl-p,ctrl-q`);
}

/** --env-file FILE...: their lines, before -e (which wins on the same key). */
export function readEnvFiles(files: readonly string[], cwd: string): string[] {
  return files.flatMap((file) => {
    const path = resolvePath(cwd, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new RuntimeError('usage', `--env-file ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return parseEnvFile(text, file);
  });
}

/**
 * docker run's limits as linux.resources. --memory leaves no swap beyond the limit (memory+swap = memory),
 * so the limit is the limit on hosts with swap too; docker would allow as much swap again.
 */
export function readResourceFlags(args: Pick<RunArgs, 'memory' | 'cpus' | 'pidsLimit'>): OciResources | undefined {
  const resources: OciResources = {};
  if (args.memory !== undefined) {
    const limit = parseMemorySize(args.memory, '--memory');
    // The kernel's floor is a few pages; docker refuses below 6 MiB, where a container cannot even start.
    if (limit < 6 * 1024 * 1024) throw new RuntimeError('usage', `--memory ${args.memory}: the minimum is 6m`);
    resources.memory = { limit, swap: limit };
  }
  if (args.cpus !== undefined) {
    const cpus = Number(args.cpus);
    if (!Number.isFinite(cpus) || cpus <= 0) throw new RuntimeError('usage', `--cpus ${args.cpus}: not a positive number of CPUs`);
    resources.cpu = { quota: Math.round(cpus * DEFAULT_CPU_PERIOD_US), period: DEFAULT_CPU_PERIOD_US };
  }
  if (args.pidsLimit !== undefined) {
    if (!/^-?\d+$/.test(args.pidsLimit)) throw new RuntimeError('usage', `--pids-limit ${args.pidsLimit}: not a whole number`);
    resources.pids = { limit: Number(args.pidsLimit) };
  }
  return Object.keys(resources).length > 0 ? resources : undefined;
}

/** -e KEY=VALUE as given; -e KEY takes KEY's value from the caller's environment, and is dropped if unset. */
export function resolveEnvFlags(flags: readonly string[], env: CliEnvironment['env']): string[] {
  const resolved: string[] = [];
  for (const flag of flags) {
    if (flag.startsWith('=') || flag === '') throw new RuntimeError('usage', `-e ${flag}: expected KEY=VALUE or KEY`);
    if (flag.includes('=')) resolved.push(flag);
    else if (env[flag] !== undefined) resolved.push(`${flag}=${env[flag]}`);
  }
  return resolved;
}
