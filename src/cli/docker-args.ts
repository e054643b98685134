// docker's verbs and run flags for a person at a terminal, kept apart from main.ts so that they merge
// cleanly: the yargs declarations (loaded with yargs only), the handler table entries, and the reading of
// run's extra flags. Small and dependency-free: main.ts loads it on every command.

import type { Argv } from 'yargs';
import type { RuntimeContext } from '../container/run-container.js';
import type { CliEnvironment } from './main.js';

export interface DockerRunArgs {
  interactive: boolean;
  tty: boolean;
  detachKeys?: string | undefined;
  user?: string | undefined;
  capAdd: string[];
  groupAdd: string[];
  capDrop: string[];
  privileged: boolean;
  readOnly: boolean;
  tmpfs: string[];
  ulimit: string[];
  envFile: string[];
  label: string[];
  init: boolean;
  restart?: string | undefined;
  stopSignal?: string | undefined;
  stopTimeout?: string | undefined;
  platform?: string | undefined;
}

/** run's docker flags. Repeatables take one value each (nargs 1), like -e: `array` would swallow IMAGE. */
export function addDockerRunOptions(y: Argv): Argv {
  return y
    .option('interactive', { alias: 'i', type: 'boolean', describe: 'keep stdin open (with -t: typed into the terminal)' })
    .option('tty', { alias: 't', type: 'boolean', describe: 'a terminal from the container\'s devpts (raw mode, window size followed)' })
    .option('detach-keys', { type: 'string', requiresArg: true, describe: 'keys that detach from the terminal (default ctrl-p,ctrl-q)' })
    .option('user', { alias: 'u', type: 'string', requiresArg: true, describe: 'NAME[:GROUP] or UID[:GID], names from the image\'s /etc/passwd' })
    .option('group-add', { type: 'string', nargs: 1, requiresArg: true, describe: 'another group for the process, a name from the image\'s /etc/group or a GID (repeatable)' })
    .option('cap-add', { type: 'string', nargs: 1, requiresArg: true, describe: 'add a capability (NET_ADMIN, ALL; repeatable)' })
    .option('cap-drop', { type: 'string', nargs: 1, requiresArg: true, describe: 'drop a capability (repeatable)' })
    .option('privileged', { type: 'boolean', describe: 'every capability and device, no masked /proc paths' })
    .option('read-only', { type: 'boolean', describe: 'mount the root filesystem read-only' })
    .option('tmpfs', { type: 'string', nargs: 1, requiresArg: true, describe: 'a tmpfs at PATH[:OPTIONS] (repeatable)' })
    .option('ulimit', { type: 'string', nargs: 1, requiresArg: true, describe: 'NAME=SOFT[:HARD], e.g. nofile=1024:2048 (repeatable)' })
    .option('env-file', { type: 'string', nargs: 1, requiresArg: true, describe: 'read KEY=VALUE lines from FILE (repeatable)' })
    .option('label', { alias: 'l', type: 'string', nargs: 1, requiresArg: true, describe: 'KEY=VALUE metadata (repeatable)' })
    .option('init', { type: 'boolean', describe: 'a tiny PID 1 that reaps zombies and forwards signals' })
    .option('restart', { type: 'string', requiresArg: true, describe: 'no | on-failure[:N] | always | unless-stopped (with -d)' })
    .option('stop-signal', { type: 'string', requiresArg: true, describe: 'the signal `stop` sends first (default SIGTERM)' })
    .option('stop-timeout', { type: 'string', requiresArg: true, describe: 'seconds `stop` waits before SIGKILL (default 10)' })
    .option('platform', { type: 'string', requiresArg: true, describe: 'only this machine\'s own platform is accepted' });
}

export function toDockerRunArgs(args: Record<string, unknown>): DockerRunArgs {
  const list = (value: unknown) => (value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(String));
  const optional = (value: unknown) => (value === undefined ? undefined : String(value));
  return {
    interactive: Boolean(args.interactive),
    tty: Boolean(args.tty),
    detachKeys: optional(args.detachKeys),
    user: optional(args.user),
    capAdd: list(args.capAdd),
    groupAdd: list(args.groupAdd),
    capDrop: list(args.capDrop),
    privileged: Boolean(args.privileged),
    readOnly: Boolean(args.readOnly),
    tmpfs: list(args.tmpfs),
    ulimit: list(args.ulimit),
    envFile: list(args.envFile),
    label: list(args.label),
    init: Boolean(args.init),
    restart: optional(args.restart),
    stopSignal: optional(args.stopSignal),
    stopTimeout: optional(args.stopTimeout),
    platform: optional(args.platform),
  };
}

type Raw = Record<string, unknown>;
type Body = (args: Raw, context: RuntimeContext) => Promise<number>;

export interface DockerVerbHandlers {
  stop(args: Raw): Promise<void>;
  restart(args: Raw): Promise<void>;
  wait(args: Raw): Promise<void>;
  attach(args: Raw): Promise<void>;
  cp(args: Raw): Promise<void>;
  top(args: Raw): Promise<void>;
}

export function dockerVerbHandlers(handle: (body: Body) => (raw: Raw) => Promise<void>, cli: CliEnvironment, command: string[]): DockerVerbHandlers {
  const ids = (raw: Raw) => (Array.isArray(raw.ids) ? raw.ids : [raw.ids]).map(String);
  return {
    stop: handle(async (raw, context) => (await import('./docker.js')).stopVerb(context, ids(raw), raw.time === undefined ? undefined : String(raw.time), cli)),
    restart: handle(async (raw, context) => (await import('./docker.js')).restartVerb(context, ids(raw), raw.time === undefined ? undefined : String(raw.time), cli)),
    wait: handle(async (raw, context) => (await import('./docker.js')).waitVerb(context, ids(raw), cli)),
    attach: handle(async (raw, context) =>
      (await import('./docker.js')).attachVerb(context, String(raw.id), { detachKeys: raw.detachKeys as string | undefined, noStdin: Boolean(raw.noStdin) }, cli),
    ),
    cp: handle(async (raw, context) => (await import('./docker.js')).cpVerb(context, String(raw.source), String(raw.destination), Boolean(raw.archive), cli)),
    top: handle(async (raw, context) => (await import('./docker.js')).topVerb(context, String(raw.id), command, cli)),
  };
}

export function addDockerVerbs(parser: Argv, handlers: DockerVerbHandlers): Argv {
  const call = (name: keyof DockerVerbHandlers) => (args: unknown) => handlers[name](args as Raw);
  const ids = (y: Argv) => y.positional('ids', { type: 'string', array: true, describe: 'container ids' });
  return parser
    .command('stop <ids..>', 'stop containers: the stop signal, then SIGKILL after the timeout', (y) =>
      ids(y)
        .option('time', { alias: 't', type: 'string', requiresArg: true, describe: 'seconds to wait before SIGKILL (default: its --stop-timeout, or 10)' })
        .example('$0 stop -t 2 web', 'SIGTERM (or its --stop-signal), SIGKILL 2 seconds later'), call('stop'))
    .command('restart <ids..>', 'stop containers, then start them again', (y) =>
      ids(y)
        .option('time', { alias: 't', type: 'string', requiresArg: true, describe: 'seconds to wait before SIGKILL' })
        .example('$0 restart web', 'stop and start web'), call('restart'))
    .command('wait <ids..>', 'wait until containers stop, then print their exit codes', (y) =>
      ids(y).example('$0 wait web', 'prints 0 when web exits with 0'), call('wait'))
    .command('attach <id>', 'attach to a running container\'s terminal (or follow its output)', (y) =>
      y
        .positional('id', { type: 'string', demandOption: true, describe: 'container id' })
        .option('detach-keys', { type: 'string', requiresArg: true, describe: 'keys that detach (default ctrl-p,ctrl-q)' })
        .option('no-stdin', { type: 'boolean', describe: 'do not send what is typed' })
        .example('$0 attach web', 'back to the terminal of `run -dit --name web busybox sh`'), call('attach'))
    .command('cp <source> <destination>', 'copy files between a container and the host: cp SRC ID:DST or cp ID:SRC DST', (y) =>
      y
        .positional('source', { type: 'string', demandOption: true })
        .positional('destination', { type: 'string', demandOption: true })
        .option('archive', { alias: 'a', type: 'boolean', describe: 'keep owners (uid/gid) of what is copied in' })
        .example('$0 cp ./site web:/srv', 'the directory site into /srv of web')
        .example('$0 cp web:/etc/hostname .', 'a file out of web'), call('cp'))
    .command('top <id>', 'the processes of a container, as ps shows them (top ID [PS OPTIONS])', (y) =>
      y.positional('id', { type: 'string', demandOption: true }).example('$0 top web', 'ps -ef, rows of web only'), call('top'));
}

/** An example on every verb's --help (the docker verbs above and run, start, ps, rm, logs carry their own). */
const VERB_EXAMPLES: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  create: [['$0 create --bundle ./bundle --pid-file ctr1.pid ctr1', 'runc style: set ctr1 up; its process waits for `start`']],
  state: [['$0 state ctr1', 'the OCI state JSON, as runc prints it']],
  kill: [['$0 kill ctr1 KILL', 'SIGKILL to the init'], ['$0 kill --all ctr1', 'SIGTERM to every process of it']],
  delete: [['$0 delete --force ctr1', 'kill it if it runs, then remove it']],
  list: [['$0 list -q', 'the ids only']],
  spec: [['$0 spec --bundle ./bundle', 'write runc\'s default config.json there']],
  features: [['$0 features', 'what this runtime supports, as JSON']],
  inspect: [
    ['$0 inspect --format \'{{.State.Pid}}\' web', 'the init\'s host pid'],
    ['$0 inspect --format \'{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}\' web', 'its bind mounts'],
    ['$0 inspect --format \'{{json .GraphDriver.Data}}\' web', 'its overlay\'s lower, upper, work and merged dirs'],
  ],
  image: [['$0 image import app.oci.tar app:1', 'an OCI or docker archive into the store'], ['$0 image ls', 'the stored images']],
  volume: [['$0 volume create data', 'a named volume'], ['$0 volume ls', 'every volume']],
  commit: [['$0 commit web web:2', 'web\'s changes as a new image']],
  diff: [['$0 diff web', 'what web added (A), changed (C) and deleted (D)']],
  exec: [['$0 exec -it web sh', 'a shell with a terminal'], ['$0 exec -u nobody web id', 'as another user']],
  pause: [['$0 pause web', 'freeze every process of web']],
  resume: [['$0 resume web', 'thaw it']],
  update: [['$0 update --memory 64m --pids-limit 100 web', 'new limits for a running container']],
  stats: [['$0 stats web', 'memory, cpu and pids usage as JSON']],
  events: [['$0 events --stats web', 'one runc-style stats event']],
};

/** Every command declared after this call gets its examples (VERB_EXAMPLES) in its --help. */
export function addVerbExamples(parser: Argv): void {
  const command = parser.command.bind(parser) as (...args: unknown[]) => Argv;
  (parser as unknown as { command: (...args: unknown[]) => Argv }).command = (...args: unknown[]) => {
    const name = typeof args[0] === 'string' ? args[0].split(' ')[0]! : '';
    const examples = VERB_EXAMPLES[name];
    const builder = args[2];
    if (examples && (typeof builder === 'function' || builder === undefined)) {
      args[2] = (y: Argv) => {
        const built = typeof builder === 'function' ? ((builder as (y: Argv) => Argv)(y) ?? y) : y;
        for (const [line, what] of examples) built.example(line, what);
        return built;
      };
    }
    return command(...args);
  };
}
