// The CLI: a thin yargs layer over the library. It reads the process's argv/env/cwd once, hands plain values
// down, and turns the result (or the RuntimeError) into output and an exit status.
//
// What loads when (start-up is most of a short verb's time; figures in docs/startup.md):
//  - this file, fast-path.ts, split-argv.ts, report-error.ts and errors.ts: always (small, no dependencies);
//  - yargs: only when the fast path below does not take the command line (`run`, --help, anything unusual);
//  - each verb's module: only when that verb runs, through import() (esbuild makes it a chunk of its own);
//  - protobufjs and the planner: with the verbs that hand a spec to the helper.
//
// Adding a verb (the pattern the lead merges the lifecycle, exec and images verbs into):
//  1. src/cli/<verb>.ts exports `<verb>Verb(args, cli, log): Promise<number>`; it does not import yargs, and
//     anything heavy it needs only on some paths (the planner, protobufjs) it imports with import() there.
//  2. A `.command(...)` in buildParser() below whose handler is
//       (args) => handlers.<verb>(to<Verb>Args(args))
//     and a handler in main()'s table that does `const { <verb>Verb } = await import('./<verb>.js')`.
//     Declare positionals `type: 'string'` (yargs would turn an id like 123 into a number).
//  3. For a hot runc-style verb with a flat command line (state ID, start ID, kill ID [SIGNAL],
//     delete [--force] ID), also an entry in FAST_VERBS (fast-path.ts) that runs the same handler; the
//     fast path takes only command lines it parses exactly as yargs would and hands anything else
//     (--help, unknown flags, missing ids) to yargs, so help texts and errors stay yargs' own.

import type { Argv } from 'yargs';
import { RuntimeError } from '../errors.js';
import type { Logger } from '../log.js';
import { FAST_VERBS, matchFastPath } from './fast-path.js';
import { exitCodeFor, formatErrorLine } from './report-error.js';
import { splitArgv } from './split-argv.js';

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
  /** stderr is a terminal (progress bars are drawn only then). */
  stderrIsTTY?: boolean | undefined;
  /** Terminal width for --help. */
  columns?: number | undefined;
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
}

export interface RunArgs extends GlobalArgs {
  target?: string | undefined;
  rm: boolean;
  name?: string | undefined;
  env: string[];
  workdir?: string | undefined;
  hostname?: string | undefined;
  volume: string[];
  dryRun: boolean;
  format: 'text' | 'json';
  bundle?: string | undefined;
  keep: boolean;
  pivot: boolean;
  entrypoint?: string | undefined;
}

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

export interface PsArgs extends GlobalArgs {
  id: string;
  format: 'table' | 'json';
}

export async function main(cli: CliEnvironment): Promise<number> {
  const { verb, head, command } = splitArgv(cli.argv);
  let exitCode = 0;
  let debug = cli.argv.includes('--debug');
  try {
    const fast = matchFastPath(cli.argv, FAST_VERBS);
    if (fast) {
      debug = fast.args.debug;
      return await fast.verb.run(fast.args, cli, stderrLogger(cli, fast.args.debug));
    }
    const parser = await buildParser(head, cli.columns, {
      run: async (args) => {
        debug = args.debug;
        const { runVerb } = await import('./run.js');
        exitCode = await runVerb(args, command, cli, stderrLogger(cli, args.debug));
      },
      store: async (args) => {
        debug = args.debug;
        const { storeVerb } = await import('./images.js');
        exitCode = await storeVerb(args, cli, stderrLogger(cli, args.debug));
      },
      exec: async (args) => {
        debug = args.debug;
        const { execVerb } = await import('./exec.js');
        exitCode = await execVerb(args, command, cli, stderrLogger(cli, args.debug));
      },
      ps: async (args) => {
        debug = args.debug;
        const { psVerb } = await import('./ps.js');
        exitCode = await psVerb(args, cli);
      },
    });
    await parser.parseAsync();
    return exitCode;
  } catch (error) {
    cli.stderr(`${formatErrorLine(verb, error)}\n`);
    if (debug && error instanceof Error && error.stack) cli.stderr(`${error.stack}\n`);
    return exitCodeFor(verb, error);
  }
}

interface VerbHandlers {
  run(args: RunArgs): Promise<void>;
  /** image, volume, commit, diff, rm (src/cli/images.ts). */
  store(args: import('./images.js').StoreVerbArgs): Promise<void>;
  exec(args: ExecArgs): Promise<void>;
  ps(args: PsArgs): Promise<void>;
}

async function buildParser(head: string[], columns: number | undefined, handlers: VerbHandlers): Promise<Argv> {
  const { default: yargs } = await import('yargs');
  return yargs(head)
    .scriptName('shim')
    .usage('$0 [--root DIR] [--data-root DIR] [--debug] <command>')
    .option('root', { type: 'string', default: DEFAULT_ROOT, describe: 'state directory', global: true, requiresArg: true })
    .option('data-root', {
      type: 'string',
      default: DEFAULT_DATA_ROOT,
      describe: 'images, layers and volumes',
      global: true,
      requiresArg: true,
    })
    .option('debug', { type: 'boolean', default: false, describe: 'show each stage with timings, and stacks on errors', global: true })
    .command(
      'run [target]',
      'run a command in a new container: run [options] IMAGE [CMD...] or run --bundle DIR ID',
      (y) =>
        y
          .positional('target', { type: 'string', describe: 'IMAGE (busybox or a rootfs directory), or the ID with --bundle' })
          .option('rm', { type: 'boolean', default: false, describe: 'remove the container when it exits' })
          .option('name', { type: 'string', requiresArg: true, describe: 'container id (default: 64 random hex digits)' })
          // Repeatable, one value each (yargs collects repeats); `array: true` would swallow IMAGE as well.
          .option('env', { alias: 'e', type: 'string', nargs: 1, requiresArg: true, describe: 'KEY=VALUE, or KEY to pass on its value here (repeatable)' })
          .option('workdir', { alias: 'w', type: 'string', requiresArg: true, describe: 'working directory inside the container' })
          .option('hostname', { type: 'string', requiresArg: true, describe: 'container hostname (default: the first 12 characters of the id)' })
          .option('volume', { alias: 'v', type: 'string', nargs: 1, requiresArg: true, describe: 'bind mount HOST:CONTAINER[:ro] (repeatable)' })
          .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan instead of running it' })
          .option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'dry-run output format' })
          .option('bundle', { alias: 'b', type: 'string', requiresArg: true, describe: 'run the OCI bundle in DIR (runc style)' })
          .option('keep', { type: 'boolean', default: false, describe: 'with --bundle: keep the stopped container\'s state' })
          .option('pivot', { type: 'boolean', default: true, describe: 'with --bundle: --no-pivot uses MS_MOVE + chroot, as runc' })
          .option('entrypoint', { type: 'string', requiresArg: true, describe: 'replace the image\'s ENTRYPOINT (and drop its CMD)' }),
      (args) => handlers.run(toRunArgs(args as unknown as Record<string, unknown>)),
    )
    .command('image <sub> [args..]', 'manage images: import FILE [NAME:TAG] | ls | inspect NAME | rm NAME... | export NAME FILE', (y) =>
      y
        .positional('sub', { type: 'string', choices: ['import', 'ls', 'inspect', 'rm', 'export'] })
        .positional('args', { type: 'string', array: true })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'ls: ids only' }),
    (args) => handlers.store(toStoreArgs('image', args as unknown as Record<string, unknown>)))
    .command('volume <sub> [args..]', 'manage volumes: create [NAME] | ls | inspect NAME... | rm NAME... | prune', (y) =>
      y
        .positional('sub', { type: 'string', choices: ['create', 'ls', 'inspect', 'rm', 'prune'] })
        .positional('args', { type: 'string', array: true })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'ls: names only' }),
    (args) => handlers.store(toStoreArgs('volume', args as unknown as Record<string, unknown>)))
    .command('commit <args..>', 'make an image from a container\'s changes: commit ID NAME:TAG', (y) =>
      y
        .positional('args', { type: 'string', array: true })
        .option('change', { alias: 'c', type: 'string', nargs: 1, requiresArg: true, describe: 'CMD, ENTRYPOINT, ENV, WORKDIR or USER instruction (repeatable)' })
        .option('pause', { alias: 'p', type: 'boolean', default: true, describe: 'freeze a running container while committing' })
        .option('message', { alias: 'm', type: 'string', requiresArg: true, describe: 'history comment' }),
    (args) => handlers.store(toStoreArgs('commit', args as unknown as Record<string, unknown>)))
    .command('diff <args..>', 'list what a container changed: A added, C changed, D deleted', (y) => y.positional('args', { type: 'string', array: true }),
      (args) => handlers.store(toStoreArgs('diff', args as unknown as Record<string, unknown>)))
    .command('rm <args..>', 'remove stopped containers (their layer and anonymous volumes)', (y) => y.positional('args', { type: 'string', array: true }),
      (args) => handlers.store(toStoreArgs('rm', args as unknown as Record<string, unknown>)))
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
      (args) => handlers.exec(toExecArgs(args as unknown as Record<string, unknown>)),
    )
    .command(
      'ps <id>',
      "list the container's processes (host pids)",
      (y) =>
        y
          .positional('id', { type: 'string', demandOption: true, describe: 'the container' })
          .option('format', { alias: 'f', choices: ['table', 'json'] as const, default: 'table' as const, describe: 'output format' }),
      (args) =>
        handlers.ps({
          root: String(args.root),
          dataRoot: String(args.dataRoot),
          debug: Boolean(args.debug),
          id: String(args.id),
          format: args.format === 'json' ? 'json' : 'table',
        }),
    )
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
      throw new RuntimeError('usage', `${message.charAt(0).toLowerCase()}${message.slice(1)}`, { hint: 'see shim --help' });
    })
    .parserConfiguration({ 'strip-dashed': true, 'strip-aliased': true })
    .env(false)
    .locale('en');
}

function toRunArgs(args: Record<string, unknown>): RunArgs {
  return {
    root: String(args.root),
    dataRoot: String(args.dataRoot),
    debug: Boolean(args.debug),
    target: args.target as string | undefined,
    rm: Boolean(args.rm),
    name: args.name as string | undefined,
    env: listOf(args.env),
    workdir: args.workdir as string | undefined,
    hostname: args.hostname as string | undefined,
    volume: listOf(args.volume),
    dryRun: Boolean(args.dryRun),
    format: args.format === 'json' ? 'json' : 'text',
    bundle: args.bundle as string | undefined,
    keep: Boolean(args.keep),
    pivot: args.pivot !== false,
    entrypoint: args.entrypoint as string | undefined,
  };
}

function toStoreArgs(verb: string, args: Record<string, unknown>): import('./images.js').StoreVerbArgs {
  return {
    root: String(args.root),
    dataRoot: String(args.dataRoot),
    debug: Boolean(args.debug),
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

function toExecArgs(args: Record<string, unknown>): ExecArgs {
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

export function stderrLogger(cli: CliEnvironment, debug: boolean): Logger {
  return {
    debugEnabled: debug,
    debug(message) {
      if (debug) cli.stderr(`shim: debug: ${message}\n`);
    },
    warn(message) {
      cli.stderr(`shim: warning: ${message}\n`);
    },
  };
}
