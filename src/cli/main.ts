// The CLI: a thin yargs layer over the library. It reads the process's argv/env/cwd once, hands plain values
// down, and turns the result (or the RuntimeError) into output and an exit status.
//
// What loads when (start-up is most of a short verb's time; figures in docs/startup.md):
//  - this file, fast-path.ts, split-argv.ts, report-error.ts and errors.ts: always (small, no dependencies);
//  - yargs: only when the fast path (fast-path.ts) does not take the command line (--help, the other verbs,
//    anything unusual);
//  - each verb's module: only when that verb runs, through import() (dist/lib/<verb>.cjs, a file of its own);
//  - protobufjs and the planner: with the verbs that hand a spec to the helper.
//
// Adding a verb (the pattern the lead merges the lifecycle, exec and images verbs into):
//  1. src/cli/<verb>.ts exports `<verb>Verb(args, cli, log): Promise<number>`; it does not import yargs, and
//     anything heavy it needs only on some paths (the planner, protobufjs) it imports with import() there.
//  2. An entry in main()'s handler table, `<verb>: handle(async (raw, context) =>
//     (await import('./<verb>.js')).<verb>Verb(...))`, and a `.command(...)` in buildParser() that calls it.
//     Declare positionals `type: 'string'` (yargs would turn an id like 123 into a number).
//  3. For a hot verb (an orchestrator's state/start/kill/delete, run, exec), also an entry in FAST_VERBS
//     (fast-path.ts) listing its options as buildParser() declares them, and its command lines in
//     test/unit/fast-path.test.ts, which checks that both readers agree; main() then calls the same handler.
//     The fast path takes only command lines it reads exactly as yargs would and hands anything else
//     (--help, unknown flags, missing ids) to yargs, so help texts and errors stay yargs' own.
//  4. The verb's module becomes dist/lib/<verb>.cjs by itself (scripts/bundle.mjs finds every src/cli file
//     exporting a ...Verb function).

import { appendFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import type { RuntimeContext } from '../container/run-container.js';
import { locateHelper } from '../helper/locate-helper.js';
import { RuntimeError } from '../errors.js';
import type { Logger } from '../log.js';
import { FAST_VERBS, matchFastPath } from './fast-path.js';
import type { StoreVerbArgs } from './images.js';
import { exitCodeFor, formatErrorLine } from './report-error.js';
import { splitArgv } from './split-argv.js';
import { addDockerRunOptions, addDockerVerbs, addVerbExamples, dockerVerbHandlers, toDockerRunArgs, type DockerRunArgs, type DockerVerbHandlers } from './docker-args.js';
import { isoTimestamp } from '../host/utc-timestamp.js';

declare const __SHIM_VERSION__: string | undefined;
const VERSION = typeof __SHIM_VERSION__ === 'string' ? __SHIM_VERSION__ : 'dev';

export const DEFAULT_ROOT = '/run/shim';
export const DEFAULT_DATA_ROOT = '/var/lib/shim';

/** Everything the CLI takes from its process, passed in so that main() itself touches no globals. */
export interface CliEnvironment {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** The CLI's own file (the helper is looked for next to it). */
  cliPath: string | undefined;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Terminal width for --help. */
  columns?: number | undefined;
  /** Whether stderr is a terminal (image import draws a progress bar there). */
  stderrIsTTY?: boolean | undefined;
  /**
   * Where forwarded signals come from (the process's, for the real CLI): `signals`, or the set `run` forwards
   * (FORWARDED_SIGNALS) when not given.
   */
  onSignal?: ((listener: (signal: NodeJS.Signals) => void, signals?: readonly NodeJS.Signals[]) => () => void) | undefined;
}

export interface GlobalArgs {
  root: string;
  dataRoot: string;
  debug: boolean;
  /** --log FILE: errors and warnings are also appended there (containerd shows the last error line). */
  log?: string | undefined;
  logFormat?: 'text' | 'json' | undefined;
  systemdCgroup?: boolean | undefined;
}

export interface RunArgs extends GlobalArgs {
  target?: string | undefined;
  rm: boolean;
  name?: string | undefined;
  env: string[];
  workdir?: string | undefined;
  hostname?: string | undefined;
  volume: string[];
  /** --device HOST[:CTR][:PERMS] and --device-cgroup-rule RULE (docker-style runs). */
  device?: string[] | undefined;
  deviceCgroupRule?: string[] | undefined;
  dryRun: boolean;
  format: 'text' | 'json';
  bundle?: string | undefined;
  keep: boolean;
  pivot: boolean;
  entrypoint?: string | undefined;
  detach?: boolean | undefined;
  pidFile?: string | undefined;
  consoleSocket?: string | undefined;
  /** --memory SIZE, --cpus N, --pids-limit N (docker-style runs). */
  memory?: string | undefined;
  cpus?: string | undefined;
  pidsLimit?: string | undefined;
  /** Networking (src/network/): --net/--network, -p/--publish, --ip, --dns, --add-host. */
  net?: string | undefined;
  publish?: string[] | undefined;
  ip?: string | undefined;
  dns?: string[] | undefined;
  addHost?: string[] | undefined;
  /** --security-opt seccomp=unconfined|FILE (--privileged, in `docker`, also drops the filter). */
  securityOpt?: string[] | undefined;
  /** docker run's person-at-a-terminal flags (src/cli/docker-run-args.ts). */
  docker?: DockerRunArgs | undefined;
  /** --uidmap / --gidmap CONTAINER:HOST:SIZE (repeatable), --userns host (docker-style runs). */
  uidmap?: string[] | undefined;
  gidmap?: string[] | undefined;
  userns?: string | undefined;
}

type Handler = (args: Record<string, unknown>, context: RuntimeContext) => Promise<number>;

export interface ExecArgs extends GlobalArgs {
  id?: string | undefined;
  tty: boolean;
  interactive: boolean;
  detach: boolean;
  env: string[];
  cwd?: string | undefined;
  workdir?: string | undefined;
  user?: string | undefined;
  cap: string[];
  noNewPrivs: boolean;
  preserveFds: number;
  process?: string | undefined;
  pidFile?: string | undefined;
  consoleSocket?: string | undefined;
}

export async function main(cli: CliEnvironment): Promise<number> {
  const { verb, head, command } = splitArgv(cli.argv);
  let exitCode = 0;
  let debug = cli.argv.includes('--debug');
  let logFile: LogFile | undefined;
  try {
    const handle = (body: Handler) => async (raw: Record<string, unknown>) => {
      const globals = toGlobalArgs(raw);
      debug = globals.debug;
      logFile = globals.log ? { path: globals.log, format: globals.logFormat ?? 'text' } : undefined;
      exitCode = await body(raw, makeContext(globals, cli, logFile));
    };
    const handlers: VerbHandlers = {
      run: handle(async (raw, context) => {
        const { runVerb } = await import('./run.js');
        return runVerb(toRunArgs(raw), command, cli, context);
      }),
      create: handle(async (raw, context) => {
        const { createVerb } = await import('./create.js');
        return createVerb(
          {
            id: raw.id as string | undefined,
            bundle: raw.bundle as string | undefined,
            pidFile: raw.pidFile as string | undefined,
            consoleSocket: raw.consoleSocket as string | undefined,
            pivot: raw.pivot !== false,
            preserveFds: Number(raw.preserveFds ?? 0),
          },
          context,
          cli,
        );
      }),
      start: handle(async (raw, context) => (await import('./start.js')).startVerb(String(raw.id), context, { attach: Boolean(raw.attach), interactive: Boolean(raw.interactive) }, cli)),
      state: handle(async (raw, context) => (await import('./state.js')).stateVerb(context.root, String(raw.id), cli)),
      list: handle(async (raw, context) =>
        (await import('./state.js')).listVerb(context.root, { format: raw.format === 'json' ? 'json' : 'table', quiet: Boolean(raw.quiet) }, cli),
      ),
      kill: handle(async (raw, context) => {
        // Words after `--` (kill ID -- -9) are split off before yargs (splitArgv): taken as the signal, as runc
        // takes them, never dropped for a default SIGTERM the caller did not ask for.
        const words = [...(raw.signal === undefined ? [] : [String(raw.signal)]), ...command];
        if (words.length > 1) throw new RuntimeError('usage', `unexpected ${words.slice(1).join(' ')}`, { hint: 'kill ID [SIGNAL]' });
        return (await import('./kill-delete.js')).killVerb(context, String(raw.id), words[0], Boolean(raw.all));
      }),
      delete: handle(async (raw, context) => (await import('./kill-delete.js')).deleteVerb(context, String(raw.id), Boolean(raw.force))),
      ps: handle(async (raw, context) =>
        raw.id === undefined
          ? (await import('./docker.js')).dockerPsVerb(context.root, { all: Boolean(raw.all), quiet: Boolean(raw.quiet) }, cli)
          : (await import('./ps.js')).psVerb(context.root, String(raw.id), raw.format === 'json' ? 'json' : 'table', command, cli),
      ),
      spec: handle(async (raw) => (await import('./spec.js')).specVerb(raw.bundle as string | undefined, Boolean(raw.rootless), cli)),
      features: handle(async () => (await import('./spec.js')).featuresVerb(VERSION, cli)),
      seccomp: handle(async (raw) =>
        (await import('./seccomp.js')).seccompVerb(
          { action: optionalString(raw.action), profile: optionalString(raw.profile), arch: optionalString(raw.arch), format: optionalString(raw.format) },
          cli,
        ),
      ),
      inspect: handle(async (raw, context) =>
        (await import('./inspect.js')).inspectVerb(context.root, String(raw.id), raw.format as string | undefined, cli),
      ),
      logs: handle(async (raw, context) =>
        (await import('./logs.js')).logsVerb(context.root, String(raw.id), Boolean(raw.follow), cli, {
          tail: optionalString(raw.tail), since: optionalString(raw.since), until: optionalString(raw.until), timestamps: Boolean(raw.timestamps),
        }),
      ),
      exec: handle(async (raw, context) => {
        const { execVerb } = await import('./exec.js');
        return execVerb(toExecArgs(raw), command, cli, context.log);
      }),
      image: handle(async (raw, context) => (await import('./images.js')).storeVerb(toStoreArgs('image', raw), cli, context.log)),
      volume: handle(async (raw, context) => (await import('./images.js')).storeVerb(toStoreArgs('volume', raw), cli, context.log)),
      commit: handle(async (raw, context) => (await import('./images.js')).storeVerb(toStoreArgs('commit', raw), cli, context.log)),
      diff: handle(async (raw, context) => (await import('./images.js')).storeVerb(toStoreArgs('diff', raw), cli, context.log)),
      rm: handle(async (raw, context) =>
        (await import('./docker.js')).rmVerb(context, listOf(raw.args), { force: Boolean(raw.force), volumes: Boolean(raw.volumes) }),
      ),
      pause: handle(async (raw, context) => (await import('./pause.js')).pauseVerb(context, String(raw.id))),
      resume: handle(async (raw, context) => (await import('./pause.js')).resumeVerb(context, String(raw.id))),
      update: handle(async (raw, context) =>
        (await import('./update.js')).updateVerb(context, {
          id: String(raw.id),
          resources: optionalString(raw.resources),
          memory: optionalString(raw.memory),
          memoryReservation: optionalString(raw.memoryReservation),
          memorySwap: optionalString(raw.memorySwap),
          cpuQuota: optionalString(raw.cpuQuota),
          cpuPeriod: optionalString(raw.cpuPeriod),
          cpuShares: optionalString(raw.cpuShares),
          cpusetCpus: optionalString(raw.cpusetCpus),
          cpusetMems: optionalString(raw.cpusetMems),
          pidsLimit: optionalString(raw.pidsLimit),
        }),
      ),
      stats: handle(async (raw, context) => (await import('./stats.js')).statsVerb(context, String(raw.id), cli)),
      events: handle(async (raw, context) => (await import('./stats.js')).eventsVerb(context, String(raw.id), Boolean(raw.stats), cli)),
      network: handle(async (raw, context) => (await import('./network.js')).networkVerb(raw, context, cli)),
      port: handle(async (raw, context) => (await import('./network.js')).portVerb(context, String(raw.id), cli)),
      ...dockerVerbHandlers((body) => handle(body), cli, command),
      device: handle(async (raw, context) => (await import('./live.js')).liveVerb(toLiveArgs('device', raw), context, cli)),
      mount: handle(async (raw, context) => (await import('./live.js')).liveVerb(toLiveArgs('mount', raw), context, cli)),
    };
    // The hot verbs skip yargs when their command line is plain; both ways end in the same handler.
    const parsed = matchFastPath(head, FAST_VERBS) ?? (await parseWithYargs(head, cli.columns));
    // Words after `--` belong to the verbs that take a trailing command; any other verb would drop them unseen.
    if (parsed && command.length > 0 && !VERBS_TAKING_TRAILING_WORDS.has(parsed.name)) {
      throw new RuntimeError('usage', `unexpected ${command.join(' ')} after --`, { hint: 'see shim --help' });
    }
    // --help and --version: yargs has printed what was asked, and there is nothing to run.
    if (parsed) await handlers[parsed.name as keyof VerbHandlers](parsed.args);
    return exitCode;
  } catch (error) {
    const line = formatErrorLine(verb, error);
    cli.stderr(`${line}\n`);
    if (debug && error instanceof Error && error.stack) cli.stderr(`${error.stack}\n`);
    if (logFile) writeLogLine(logFile, 'error', line.replace(/^shim: /, ''));
    return exitCodeFor(verb, error);
  }
}

/** Verbs that use the words after `--` (the container's command, ps's or top's options, kill's signal). */
const VERBS_TAKING_TRAILING_WORDS = new Set(['run', 'exec', 'ps', 'top', 'kill']);

interface VerbHandlers extends DockerVerbHandlers {
  run(args: Record<string, unknown>): Promise<void>;
  seccomp(args: Record<string, unknown>): Promise<void>;
  create(args: Record<string, unknown>): Promise<void>;
  start(args: Record<string, unknown>): Promise<void>;
  state(args: Record<string, unknown>): Promise<void>;
  list(args: Record<string, unknown>): Promise<void>;
  kill(args: Record<string, unknown>): Promise<void>;
  delete(args: Record<string, unknown>): Promise<void>;
  ps(args: Record<string, unknown>): Promise<void>;
  spec(args: Record<string, unknown>): Promise<void>;
  features(args: Record<string, unknown>): Promise<void>;
  inspect(args: Record<string, unknown>): Promise<void>;
  logs(args: Record<string, unknown>): Promise<void>;
  exec(args: Record<string, unknown>): Promise<void>;
  /** image, volume, commit, diff, rm (src/cli/images.ts). */
  image(args: Record<string, unknown>): Promise<void>;
  volume(args: Record<string, unknown>): Promise<void>;
  commit(args: Record<string, unknown>): Promise<void>;
  diff(args: Record<string, unknown>): Promise<void>;
  rm(args: Record<string, unknown>): Promise<void>;
  /** pause, resume, update, stats, events (src/cli/pause.ts, update.ts, stats.ts). */
  pause(args: Record<string, unknown>): Promise<void>;
  resume(args: Record<string, unknown>): Promise<void>;
  update(args: Record<string, unknown>): Promise<void>;
  stats(args: Record<string, unknown>): Promise<void>;
  events(args: Record<string, unknown>): Promise<void>;
  /** network, port (src/cli/network.ts). */
  network(args: Record<string, unknown>): Promise<void>;
  port(args: Record<string, unknown>): Promise<void>;
  /** device, mount: live changes to a running container (src/cli/live.ts). */
  device(args: Record<string, unknown>): Promise<void>;
  mount(args: Record<string, unknown>): Promise<void>;
}

/**
 * Reads a command line the full way: which verb, and its arguments as yargs gives them (camelCase keys,
 * defaults filled in). Undefined when there is nothing to run (--help, --version). Usage errors throw.
 */
export async function parseWithYargs(head: string[], columns?: number): Promise<{ name: string; args: Record<string, unknown> } | undefined> {
  let parsed: { name: string; args: Record<string, unknown> } | undefined;
  const capture = new Proxy({} as VerbHandlers, {
    get: (_, name) => async (args: Record<string, unknown>) => {
      parsed = { name: String(name), args };
    },
  });
  await (await buildParser(head, columns, capture)).parseAsync();
  return parsed;
}

const idPositional = (y: Argv) => y.positional('id', { type: 'string', describe: 'container id', demandOption: true });

async function buildParser(head: string[], columns: number | undefined, handlers: VerbHandlers): Promise<Argv> {
  const { default: yargs } = await import('yargs');
  const parser = yargs(head);
  addVerbExamples(parser);
  parser
    .scriptName('shim')
    .usage('$0 [--root DIR] [--data-root DIR] [--log FILE] [--log-format text|json] [--debug] <command>')
    .option('root', { type: 'string', default: DEFAULT_ROOT, describe: 'state directory', global: true, requiresArg: true })
    .option('data-root', {
      type: 'string',
      default: DEFAULT_DATA_ROOT,
      describe: 'images, layers and volumes',
      global: true,
      requiresArg: true,
    })
    .option('debug', { type: 'boolean', default: false, describe: 'show each stage with timings, and stacks on errors', global: true })
    .option('log', { type: 'string', requiresArg: true, describe: 'also append errors and warnings to FILE', global: true })
    .option('log-format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'format of --log lines', global: true })
    .option('systemd-cgroup', {
      type: 'boolean',
      default: false,
      global: true,
      describe: 'take a slice:prefix:name cgroupsPath (mapped onto the cgroupfs path systemd would use; shim does not talk to systemd)',
    })
    .command(
      'run [target]',
      'run a command in a new container: run [options] IMAGE [CMD...] or run --bundle DIR ID',
      (y) =>
        addDockerRunOptions(y)
          .positional('target', { type: 'string', describe: 'IMAGE (busybox or a rootfs directory), or the ID with --bundle' })
          .option('rm', { type: 'boolean', default: false, describe: 'remove the container when it exits' })
          .option('name', { type: 'string', requiresArg: true, describe: 'container id (default: 64 random hex digits)' })
          // Repeatable, one value each (yargs collects repeats); `array: true` would swallow IMAGE as well.
          .option('env', { alias: 'e', type: 'string', nargs: 1, requiresArg: true, describe: 'KEY=VALUE, or KEY to pass on its value here (repeatable)' })
          .option('workdir', { alias: 'w', type: 'string', requiresArg: true, describe: 'working directory inside the container' })
          .option('hostname', { type: 'string', requiresArg: true, describe: 'container hostname (default: the first 12 characters of the id)' })
          .option('volume', { alias: 'v', type: 'string', nargs: 1, requiresArg: true, describe: 'bind mount HOST:CONTAINER[:ro] (repeatable)' })
          .option('device', { type: 'string', nargs: 1, requiresArg: true, describe: 'add a host device: HOST[:CONTAINER][:rwm] (repeatable)' })
          .option('device-cgroup-rule', { type: 'string', nargs: 1, requiresArg: true, describe: "allow devices by number: 'c 1:3 rwm', 'b 7:* r' (repeatable)" })
          .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan instead of running it' })
          .option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'dry-run output format' })
          .option('bundle', { alias: 'b', type: 'string', requiresArg: true, describe: 'run the OCI bundle in DIR (runc style)' })
          .option('keep', { type: 'boolean', default: false, describe: 'with --bundle: keep the stopped container\'s state' })
          .option('pivot', { type: 'boolean', default: true, describe: 'with --bundle: --no-pivot uses MS_MOVE + chroot, as runc' })
          .option('entrypoint', { type: 'string', requiresArg: true, describe: 'replace the image\'s ENTRYPOINT (and drop its CMD)' })
          .option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'return once started: IMAGE runs print the id and log to a file' })
          .option('pid-file', { type: 'string', requiresArg: true, describe: 'with -d: write the init\'s pid to FILE' })
          .option('console-socket', { type: 'string', requiresArg: true, describe: 'with -d: send the pty master to this unix socket' })
          .option('memory', { alias: 'm', type: 'string', requiresArg: true, describe: 'memory limit: 32m, 1g, ... (no swap beyond it)' })
          .option('cpus', { type: 'string', requiresArg: true, describe: 'CPU limit in cores: 0.5 is a quota of 50000us per 100000us' })
          .option('pids-limit', { type: 'string', requiresArg: true, describe: 'most processes at once (-1: no limit)' })
          .options(RUN_NETWORK_OPTIONS)
          .option('uidmap', { type: 'string', nargs: 1, requiresArg: true, describe: 'run in a new user namespace: map CONTAINER:HOST:SIZE uids (repeatable)' })
          .option('gidmap', { type: 'string', nargs: 1, requiresArg: true, describe: 'map CONTAINER:HOST:SIZE gids (repeatable; default: as --uidmap)' })
          .option('userns', { type: 'string', requiresArg: true, describe: 'host: share the host\'s user namespace (the default)' })
          .option('security-opt', { type: 'string', nargs: 1, requiresArg: true, describe: 'seccomp=unconfined, or seccomp=FILE (docker\'s format or linux.seccomp)' })
          .check(() => true)
          .example('$0 run -it busybox sh', 'a shell with a terminal (Ctrl-P Ctrl-Q detaches; shim attach ID comes back)')
          .example('$0 run -d --name web --restart on-failure:3 busybox httpd -f', 'in the background, started again when it fails')
          .example('$0 run --bundle ./bundle ctr1', 'runc style: the OCI bundle in ./bundle as container ctr1'),
      (args) => handlers.run(args as unknown as Record<string, unknown>),
    )
    .command(
      'create <id>',
      'create a container from an OCI bundle; its process waits for `start`',
      (y) =>
        idPositional(y)
          .option('bundle', { alias: 'b', type: 'string', requiresArg: true, describe: 'bundle directory (default: the current one)' })
          .option('pid-file', { type: 'string', requiresArg: true, describe: 'write the init\'s pid to FILE' })
          .option('console-socket', { type: 'string', requiresArg: true, describe: 'send the pty master to this unix socket' })
          .option('pivot', { type: 'boolean', default: true, describe: '--no-pivot: MS_MOVE + chroot instead of pivot_root' })
          .option('new-keyring', { type: 'boolean', default: true, describe: 'accepted for runc compatibility (shim never makes a session keyring)' })
          .option('preserve-fds', { type: 'number', default: 0, requiresArg: true, describe: 'pass this many descriptors from 3 up' }),
      (args) => handlers.create(args as unknown as Record<string, unknown>),
    )
    .command(
      'start <id>',
      'start the process of a created container (runc), or start a stopped docker-style one again',
      (y) =>
        idPositional(y)
          .option('attach', { alias: 'a', type: 'boolean', describe: 'stopped containers: attach to its output (or terminal) and wait' })
          .option('interactive', { alias: 'i', type: 'boolean', describe: 'stopped containers: attach stdin too' })
          .example('$0 start web', 'a stopped `run` container runs again on its own layer and volumes'),
      (args) => handlers.start(args as unknown as Record<string, unknown>),
    )
    .command('state <id>', 'print the OCI state of a container', idPositional, (args) => handlers.state(args as unknown as Record<string, unknown>))
    .command(
      'kill <id> [signal]',
      'send a signal (default SIGTERM) to the container\'s init, or with --all to all of its processes',
      (y) =>
        idPositional(y)
          .positional('signal', { type: 'string', describe: 'TERM, SIGKILL, 9, ...' })
          .option('all', { alias: 'a', type: 'boolean', default: false, describe: 'every process in the container\'s cgroup' }),
      (args) => handlers.kill(args as unknown as Record<string, unknown>),
    )
    .command(
      'delete <id>',
      'remove a stopped (or, with --force, any) container',
      (y) => idPositional(y).option('force', { alias: 'f', type: 'boolean', default: false, describe: 'kill it first if it runs' }),
      (args) => handlers.delete(args as unknown as Record<string, unknown>),
    )
    .command(
      'list',
      'list containers',
      (y) =>
        y
          .option('format', { alias: 'f', choices: ['table', 'json'] as const, default: 'table' as const })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'ids only' }),
      (args) => handlers.list(args as unknown as Record<string, unknown>),
    )
    .command(
      'ps [id]',
      'without ID: list containers as docker ps does; with ID: the processes in it, as runc ps (ps ID -- PS ARGS)',
      (y) =>
        y
          .positional('id', { type: 'string', describe: 'container id (runc ps)' })
          .option('format', { alias: 'f', choices: ['table', 'json'] as const, default: 'table' as const })
          .option('all', { alias: 'a', type: 'boolean', describe: 'without ID: stopped containers too' })
          .option('quiet', { alias: 'q', type: 'boolean', describe: 'without ID: ids only' })
          .example('$0 ps -a', 'every container, running or not')
          .example('$0 ps web', 'the processes of container web (runc)'),
      (args) => handlers.ps(args as unknown as Record<string, unknown>),
    )
    .command(
      'spec',
      'write a default config.json',
      (y) =>
        y
          .option('bundle', { alias: 'b', type: 'string', requiresArg: true, describe: 'where (default: the current directory)' })
          .option('rootless', { type: 'boolean', default: false, describe: 'runc\'s rootless variant' }),
      (args) => handlers.spec(args as unknown as Record<string, unknown>),
    )
    .command('features', 'print the OCI features document', (y) => y, (args) => handlers.features(args as unknown as Record<string, unknown>))
    .command(
      'seccomp <action> [profile]',
      'compile a seccomp profile (linux.seccomp, config.json, docker format, or "default") and print the program',
      (y) =>
        y
          .positional('action', { type: 'string', choices: ['compile'] })
          .positional('profile', { type: 'string' })
          .option('arch', { type: 'string', requiresArg: true, describe: 'x86_64 or aarch64 (default: this host)' })
          .option('format', { choices: ['asm', 'bpf', 'json', 'profile'] as const, default: 'asm' as const, describe: 'asm: readable; bpf: raw sock_filter bytes; json; profile: as linux.seccomp' }),
      (args) => handlers.seccomp(args as unknown as Record<string, unknown>),
    )
    .command(
      'inspect <id>',
      'everything known about a container, as JSON',
      (y) => idPositional(y).option('format', { type: 'string', requiresArg: true, describe: "a template, e.g. '{{.State.Pid}}'" }),
      (args) => handlers.inspect(args as unknown as Record<string, unknown>),
    )
    .command(
      'logs <id>',
      'print a `run -d` container\'s output',
      (y) =>
        idPositional(y)
          .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'keep printing until it exits' })
          .option('tail', { alias: 'n', type: 'string', requiresArg: true, describe: 'only the last N lines ("all": everything)' })
          .option('since', { type: 'string', requiresArg: true, describe: 'lines from this time on: RFC 3339, Unix seconds, or 10m (before now)' })
          .option('until', { type: 'string', requiresArg: true, describe: 'lines up to this time (the same forms)' })
          .option('timestamps', { alias: 't', type: 'boolean', describe: 'each line with its time (RFC 3339, ns, UTC)' })
          .example('$0 logs -f --tail 20 web', 'the last 20 lines, then what follows')
          .example('$0 logs -t --since 10m web', 'the last ten minutes, with times'),
      (args) => handlers.logs(args as unknown as Record<string, unknown>),
    )
    .command('image <sub> [args..]', 'manage images: import FILE [NAME:TAG] | ls | inspect NAME | rm NAME... | export NAME FILE', (y) =>
      y
        .positional('sub', { type: 'string', choices: ['import', 'ls', 'inspect', 'rm', 'export'] })
        .positional('args', { type: 'string', array: true })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'ls: ids only' }),
    (args) => handlers.image(args as unknown as Record<string, unknown>))
    .command('volume <sub> [args..]', 'manage volumes: create [NAME] | ls | inspect NAME... | rm NAME... | prune', (y) =>
      y
        .positional('sub', { type: 'string', choices: ['create', 'ls', 'inspect', 'rm', 'prune'] })
        .positional('args', { type: 'string', array: true })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'ls: names only' }),
    (args) => handlers.volume(args as unknown as Record<string, unknown>))
    .command('commit <args..>', 'make an image from a container\'s changes: commit ID NAME:TAG', (y) =>
      y
        .positional('args', { type: 'string', array: true })
        .option('change', { alias: 'c', type: 'string', nargs: 1, requiresArg: true, describe: 'CMD, ENTRYPOINT, ENV, WORKDIR or USER instruction (repeatable)' })
        .option('pause', { alias: 'p', type: 'boolean', default: true, describe: 'freeze a running container while committing' })
        .option('message', { alias: 'm', type: 'string', requiresArg: true, describe: 'history comment' }),
    (args) => handlers.commit(args as unknown as Record<string, unknown>))
    .command('diff <args..>', 'list what a container changed: A added, C changed, D deleted', (y) => y.positional('args', { type: 'string', array: true }),
      (args) => handlers.diff(args as unknown as Record<string, unknown>))
    .command('rm <args..>', 'remove containers (their state and layer; -v: their anonymous volumes too)', (y) =>
      y
        .positional('args', { type: 'string', array: true })
        .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'stop a running container first (SIGKILL)' })
        .option('volumes', { alias: 'v', type: 'boolean', default: false, describe: 'remove its anonymous volumes' })
        .example('$0 rm -f web', 'kill and remove a running container'),
      (args) => handlers.rm(args as unknown as Record<string, unknown>))
    .command(
      'exec [id]',
      'run one more process in a running container: exec [options] ID CMD [ARGS...] or exec --process FILE ID',
      (y) =>
        y
          .positional('id', { type: 'string', describe: 'the container' })
          .option('tty', { alias: 't', type: 'boolean', default: false, describe: 'give the process a terminal' })
          .option('interactive', { alias: 'i', type: 'boolean', default: false, describe: 'keep stdin open (without -t it is /dev/null)' })
          .option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'return once the process runs; do not wait for it' })
          .option('env', { alias: 'e', type: 'string', nargs: 1, requiresArg: true, describe: 'KEY=VALUE, or KEY to pass on its value here (repeatable)' })
          .option('cwd', { type: 'string', requiresArg: true, describe: 'working directory inside the container (runc)' })
          .option('workdir', { alias: 'w', type: 'string', requiresArg: true, describe: 'working directory inside the container (docker)' })
          .option('user', { alias: 'u', type: 'string', requiresArg: true, describe: 'UID[:GID]' })
          .option('cap', { alias: 'c', type: 'string', nargs: 1, requiresArg: true, describe: 'add a capability (repeatable)' })
          .option('no-new-privs', { type: 'boolean', default: false, describe: 'set no_new_privs' })
          .option('preserve-fds', { type: 'number', default: 0, requiresArg: true, describe: 'pass descriptors 3 .. 3+N-1 on' })
          .option('process', { alias: 'p', type: 'string', requiresArg: true, describe: 'an OCI process JSON: the whole process' })
          .option('pid-file', { type: 'string', requiresArg: true, describe: "write the process's host pid here" })
          .option('console-socket', { type: 'string', requiresArg: true, describe: 'with a terminal: send the pty master to this unix socket' }),
      (args) => handlers.exec(args as unknown as Record<string, unknown>),
    )
    .command('pause <id>', 'freeze every process of a running container', idPositional, (args) => handlers.pause(args as unknown as Record<string, unknown>))
    .command('resume <id>', 'thaw a paused container', idPositional, (args) => handlers.resume(args as unknown as Record<string, unknown>))
    .command(
      'update <id>',
      'change the resource limits of a container (as runc update)',
      (y) =>
        idPositional(y)
          .option('resources', { alias: 'r', type: 'string', requiresArg: true, describe: 'a linux.resources JSON file ("-": stdin)' })
          .option('memory', { type: 'string', requiresArg: true, describe: 'memory limit (bytes, or 32m, 1g; -1: none)' })
          .option('memory-reservation', { type: 'string', requiresArg: true, describe: 'memory soft limit' })
          .option('memory-swap', { type: 'string', requiresArg: true, describe: 'memory + swap limit (-1: none)' })
          .option('cpu-quota', { type: 'string', requiresArg: true, describe: 'CPU time per period, microseconds (-1: none)' })
          .option('cpu-period', { type: 'string', requiresArg: true, describe: 'CFS period, microseconds' })
          .option('cpu-shares', { type: 'string', requiresArg: true, describe: 'relative CPU weight (v1 shares; converted on v2)' })
          .option('cpuset-cpus', { type: 'string', requiresArg: true, describe: 'CPUs to run on, e.g. 0-1' })
          .option('cpuset-mems', { type: 'string', requiresArg: true, describe: 'memory nodes, e.g. 0' })
          .option('pids-limit', { type: 'string', requiresArg: true, describe: 'most processes at once (-1: no limit)' }),
      (args) => handlers.update(args as unknown as Record<string, unknown>),
    )
    .command('stats <id>', 'memory, cpu and pids usage of a container, as JSON', idPositional, (args) => handlers.stats(args as unknown as Record<string, unknown>))
    .command(
      'events <id>',
      'with --stats: one runc-style stats event, as JSON',
      (y) => idPositional(y).option('stats', { type: 'boolean', default: false, describe: 'print the stats once and exit' }),
      (args) => handlers.events(args as unknown as Record<string, unknown>),
    )
    .command(
      'network <sub> [args..]',
      'manage networks: create [--subnet CIDR] [--gateway IP] [--internal] [--bridge NAME] NAME | ls | inspect NAME... | rm NAME... | prune',
      (y) =>
        y
          .positional('sub', { type: 'string', choices: ['create', 'ls', 'inspect', 'rm', 'prune', 'check'] })
          .positional('args', { type: 'string', array: true })
          .option('subnet', { type: 'string', requiresArg: true, describe: 'create: IPv4 subnet, e.g. 10.120.0.0/24' })
          .option('gateway', { type: 'string', requiresArg: true, describe: 'create: the bridge\'s address (default: the first of the subnet)' })
          .option('internal', { type: 'boolean', default: false, describe: 'create: no default route and no masquerade' })
          .option('bridge', { type: 'string', requiresArg: true, describe: 'create: the host bridge\'s name' })
          .option('opt', { alias: 'o', type: 'string', nargs: 1, requiresArg: true, describe: 'create: com.docker.network.bridge.name=NAME' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'ls: names only' }),
      (args) => handlers.network(args as unknown as Record<string, unknown>),
    )
    .command('port <id>', 'the container\'s published ports', idPositional, (args) => handlers.port(args as unknown as Record<string, unknown>))
    .command('device <sub> [args..]', 'devices of a running container: add ID HOST[:CTR][:rwm] | rm ID CTR | ls ID', (y) =>
      y
        .positional('sub', { type: 'string', choices: ['add', 'rm', 'ls'] })
        .positional('args', { type: 'string', array: true })
        .option('format', { alias: 'f', choices: ['table', 'json'] as const, default: 'table' as const })
        .option('mode', { type: 'string', requiresArg: true, describe: 'add: permission bits of the node (default: the host node\'s)' })
        .option('uid', { type: 'number', requiresArg: true, describe: 'add: owner of the node (default: the host node\'s)' })
        .option('gid', { type: 'number', requiresArg: true, describe: 'add: group of the node (default: the host node\'s)' }),
    (args) => handlers.device(args as unknown as Record<string, unknown>))
    .command('mount <sub> [args..]', 'mounts of a running container: add ID SOURCE TARGET | rm ID TARGET | ls ID', (y) =>
      y
        .positional('sub', { type: 'string', choices: ['add', 'rm', 'ls'] })
        .positional('args', { type: 'string', array: true })
        .option('format', { alias: 'f', choices: ['table', 'json'] as const, default: 'table' as const })
        .option('ro', { type: 'boolean', default: false, describe: 'add: read-only' })
        .option('propagation', { choices: ['private', 'slave', 'shared', 'unbindable'] as const, describe: 'add: propagation of the new mount' })
        .option('recursive', { alias: 'r', type: 'boolean', default: false, describe: 'add: take the submounts of SOURCE too (rbind)' }),
    (args) => handlers.mount(args as unknown as Record<string, unknown>));
  addDockerVerbs(parser, handlers);
  return parser
    .completion('completion', 'print a bash/zsh completion script: shim completion >> ~/.bashrc')
    .demandCommand(1, 'name a command (shim --help lists them)')
    .strict()
    .help()
    .alias('help', 'h')
    .version(VERSION)
    .wrap(Math.min(110, columns || 100))
    .exitProcess(false)
    .showHelpOnFail(false)
    .fail((message, error) => {
      // yargs reports both its own usage complaints and whatever a handler threw through here.
      if (error) throw error;
      // One line: yargs words a bad choice over two ("Invalid values:\n  Argument: format, Given: ...").
      const oneLine = message.replace(/:?\n\s*/g, ': ');
      throw new RuntimeError('usage', `${oneLine.charAt(0).toLowerCase()}${oneLine.slice(1)}`, { hint: 'see shim --help' });
    })
    .parserConfiguration({ 'strip-dashed': true, 'strip-aliased': true })
    .env(false)
    .locale('en');
}

export function toGlobalArgs(args: Record<string, unknown>): GlobalArgs {
  // yargs' `choices` is not enforced on this global option (every verb took --log-format xml): checked here,
  // where both parsers' results pass.
  if (args.logFormat !== undefined && args.logFormat !== 'text' && args.logFormat !== 'json') {
    throw new RuntimeError('usage', `--log-format ${String(args.logFormat)}: expected text or json`);
  }
  return {
    root: String(args.root),
    dataRoot: String(args.dataRoot),
    debug: Boolean(args.debug),
    log: args.log as string | undefined,
    logFormat: args.logFormat === 'json' ? 'json' : 'text',
    systemdCgroup: Boolean(args.systemdCgroup),
  };
}

function makeContext(globals: GlobalArgs, cli: CliEnvironment, logFile: LogFile | undefined): RuntimeContext {
  return {
    root: globals.root,
    dataRoot: globals.dataRoot,
    // Resolved lazily by the verbs that spawn it; a wrong path fails there with its own hint.
    helperPath: locateHelperOrEmpty(cli),
    cgroupParent: cli.env.SHIM_CGROUP_PARENT || undefined,
    systemdCgroup: globals.systemdCgroup,
    debug: globals.debug,
    log: stderrLogger(cli, globals.debug, logFile),
    cwd: cli.cwd,
  };
}

function locateHelperOrEmpty(cli: CliEnvironment): string {
  try {
    return locateHelper(cli.cliPath, cli.env.SHIM_HELPER);
  } catch {
    return '';
  }
}

export function toRunArgs(args: Record<string, unknown>): RunArgs {
  return {
    ...toGlobalArgs(args),
    target: args.target as string | undefined,
    rm: Boolean(args.rm),
    name: args.name as string | undefined,
    env: listOf(args.env),
    workdir: args.workdir as string | undefined,
    hostname: args.hostname as string | undefined,
    volume: listOf(args.volume),
    device: listOf(args.device),
    deviceCgroupRule: listOf(args.deviceCgroupRule),
    dryRun: Boolean(args.dryRun),
    format: args.format === 'json' ? 'json' : 'text',
    bundle: args.bundle as string | undefined,
    keep: Boolean(args.keep),
    pivot: args.pivot !== false,
    entrypoint: args.entrypoint as string | undefined,
    detach: Boolean(args.detach),
    pidFile: args.pidFile as string | undefined,
    consoleSocket: args.consoleSocket as string | undefined,
    memory: optionalString(args.memory),
    cpus: optionalString(args.cpus),
    pidsLimit: optionalString(args.pidsLimit),
    ...toRunNetworkArgs(args),
    securityOpt: listOf(args.securityOpt),
    docker: toDockerRunArgs(args),
    uidmap: listOf(args.uidmap),
    gidmap: listOf(args.gidmap),
    userns: optionalString(args.userns),
  };
}

/** run's network options (src/network/), kept together for yargs and for the fast path's reading. */
const RUN_NETWORK_OPTIONS = {
  net: { alias: 'network', type: 'string', requiresArg: true, describe: 'none, host, bridge (default), NAME or container:ID' },
  publish: { alias: 'p', type: 'string', nargs: 1, requiresArg: true, describe: '[HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp] (repeatable)' },
  ip: { type: 'string', requiresArg: true, describe: 'the container\'s address on a network you created' },
  dns: { type: 'string', nargs: 1, requiresArg: true, describe: 'a nameserver for /etc/resolv.conf (repeatable)' },
  'add-host': { type: 'string', nargs: 1, requiresArg: true, describe: 'NAME:IP in /etc/hosts (repeatable)' },
} as const;

function toRunNetworkArgs(args: Record<string, unknown>): Pick<RunArgs, 'net' | 'publish' | 'ip' | 'dns' | 'addHost'> {
  return { net: optionalString(args.net), publish: listOf(args.publish), ip: optionalString(args.ip), dns: listOf(args.dns), addHost: listOf(args.addHost) };
}

function optionalString(value: unknown): string | undefined {
  return value === undefined ? undefined : String(value);
}

function toStoreArgs(verb: string, args: Record<string, unknown>): StoreVerbArgs {
  return {
    ...toGlobalArgs(args),
    verb,
    sub: args.sub as string | undefined,
    positionals: listOf(args.args),
    change: listOf(args.change),
    pause: args.pause !== false,
    message: args.message as string | undefined,
    quiet: Boolean(args.quiet),
    force: Boolean(args.force),
  };
}

function toLiveArgs(verb: 'device' | 'mount', args: Record<string, unknown>): import('./live.js').LiveVerbArgs {
  return {
    verb,
    sub: String(args.sub),
    positionals: listOf(args.args),
    format: args.format === 'json' ? 'json' : 'table',
    readonly: Boolean(args.ro),
    propagation: optionalString(args.propagation),
    recursive: Boolean(args.recursive),
    mode: optionalString(args.mode),
    uid: args.uid === undefined ? undefined : Number(args.uid),
    gid: args.gid === undefined ? undefined : Number(args.gid),
  };
}

export function toExecArgs(args: Record<string, unknown>): ExecArgs {
  return {
    root: String(args.root),
    dataRoot: String(args.dataRoot),
    debug: Boolean(args.debug),
    id: args.id as string | undefined,
    tty: Boolean(args.tty),
    interactive: Boolean(args.interactive),
    detach: Boolean(args.detach),
    env: listOf(args.env),
    cwd: args.cwd as string | undefined,
    workdir: args.workdir as string | undefined,
    user: args.user as string | undefined,
    cap: listOf(args.cap),
    noNewPrivs: Boolean(args.noNewPrivs),
    preserveFds: Number(args.preserveFds ?? 0),
    process: args.process as string | undefined,
    pidFile: args.pidFile as string | undefined,
    consoleSocket: args.consoleSocket as string | undefined,
  };
}

/** A repeatable option: absent, given once (a string) or several times (an array). */
function listOf(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

export interface LogFile {
  path: string;
  format: 'text' | 'json';
}

/**
 * One line appended to --log FILE: JSON {"level","msg","time"} as runc's logrus writes it (containerd shows
 * the last error line), or logrus's text form. Synchronous: it is written on the way out, and must not be lost
 * to an exit that does not wait for pending writes. A log that cannot be written is not worth failing over.
 */
export function writeLogLine(file: LogFile, level: 'error' | 'warning' | 'debug', msg: string): void {
  const time = isoTimestamp();
  const line = file.format === 'json' ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  try {
    appendFileSync(file.path, `${line}\n`);
  } catch {
    // Nowhere better to say it.
  }
}

export function stderrLogger(cli: CliEnvironment, debug: boolean, logFile?: LogFile): Logger {
  return {
    debugEnabled: debug,
    debug(message) {
      if (!debug) return;
      cli.stderr(`shim: debug: ${message}\n`);
      if (logFile) writeLogLine(logFile, 'debug', message);
    },
    warn(message) {
      cli.stderr(`shim: warning: ${message}\n`);
      if (logFile) writeLogLine(logFile, 'warning', message);
    },
  };
}
