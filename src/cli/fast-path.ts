// A fast path for the hot verbs: the runc verbs an orchestrator calls many times a second (create, state,
// start, kill, delete) and the two that start processes (run, exec). Parsing their command lines here spares each
// call loading yargs and building its whole command tree (30-45 ms on these machines, more than Node's own
// start-up; docs/startup.md). It is a shortcut, not a second parser: it takes a command line only when it can
// read it exactly as yargs would, and returns undefined for anything else (--help, --version, an unknown or
// repeated option, --flag=value for a boolean, combined short flags like -it, a value that starts with "-", a missing or
// extra word), which then goes to yargs unchanged, so help texts and usage errors are yargs' own.
// test/unit/fast-path.test.ts holds both readers to that: each command line it lists must come out the same
// from yargs and from here, or be declined here.

// A cycle with main.ts, which imports this file; the constants are read only when a command line is matched.
import { DEFAULT_DATA_ROOT, DEFAULT_ROOT, type GlobalArgs } from './main.js';

/** What a fast-path verb receives: the global options and its own, keyed as yargs keys them (camelCase). */
export interface FastArgs extends GlobalArgs {
  [option: string]: string | string[] | boolean | undefined;
}

/** Options by spelling ("--detach", "-d") to the key yargs gives them. */
type Spellings = Readonly<Record<string, string>>;

export interface FastVerb {
  /** Required positionals, in order (their yargs declarations must say `type: 'string'`). */
  positionals: readonly string[];
  /** Optional positionals after those (kill ID [SIGNAL]). */
  optionalPositionals?: readonly string[];
  /** Boolean options: the key is true when given, false when not (all of these default to false). */
  booleans?: Spellings;
  /** Negated booleans (--no-pivot): the key is false when given, true when not (these default to true). */
  negations?: Spellings;
  /** Options that take one value (a string; yargs' `type: 'string'` or, where `numbers` says, a number). */
  values?: Spellings;
  /** Options that may be given again and again, one value each (-e, -v): collected in order. */
  lists?: Spellings;
  /** Keys whose value must be one of these (yargs' `choices`). */
  choices?: Readonly<Record<string, readonly string[]>>;
  /** Keys declared `type: 'number'`: the value must be a plain whole number. */
  numbers?: readonly string[];
}

/**
 * The verbs the fast path knows, by name; main() runs the same handler yargs would. Each entry must read its
 * command line exactly as the verb's yargs command does (buildParser in main.ts).
 */
export const FAST_VERBS: Readonly<Record<string, FastVerb>> = {
  state: { positionals: ['id'] },
  start: { positionals: ['id'] },
  kill: { positionals: ['id'], optionalPositionals: ['signal'], booleans: { '--all': 'all', '-a': 'all' } },
  delete: { positionals: ['id'], booleans: { '--force': 'force', '-f': 'force' } },
  // containerd's runc shim: create --bundle B --pid-file P [--console-socket S] [--no-pivot] [--no-new-keyring] ID
  create: {
    positionals: ['id'],
    values: { '--bundle': 'bundle', '-b': 'bundle', '--pid-file': 'pidFile', '--console-socket': 'consoleSocket', '--preserve-fds': 'preserveFds' },
    negations: { '--no-pivot': 'pivot', '--no-new-keyring': 'newKeyring' },
    numbers: ['preserveFds'],
  },
  // `run [options] IMAGE [CMD...]` and `exec [options] ID [CMD...]`: main() matches the part splitArgv puts
  // before the container's command, so the one positional is the image (or, with --bundle, the id).
  run: {
    positionals: ['target'],
    booleans: { '--rm': 'rm', '--dry-run': 'dryRun', '--keep': 'keep', '--detach': 'detach', '-d': 'detach', '--privileged': 'privileged' },
    values: {
      '--name': 'name',
      '--workdir': 'workdir',
      '-w': 'workdir',
      '--hostname': 'hostname',
      '--format': 'format',
      '--bundle': 'bundle',
      '-b': 'bundle',
      '--entrypoint': 'entrypoint',
      '--pid-file': 'pidFile',
      '--console-socket': 'consoleSocket',
      '--memory': 'memory',
      '-m': 'memory',
      '--cpus': 'cpus',
      '--pids-limit': 'pidsLimit',
    },
    lists: { '--env': 'env', '-e': 'env', '--volume': 'volume', '-v': 'volume', '--device': 'device', '--device-cgroup-rule': 'deviceCgroupRule', '--security-opt': 'securityOpt' },
    choices: { format: ['text', 'json'] },
  },
  exec: {
    positionals: ['id'],
    booleans: {
      '--tty': 'tty',
      '-t': 'tty',
      '--interactive': 'interactive',
      '-i': 'interactive',
      '--detach': 'detach',
      '-d': 'detach',
    },
    values: {
      '--cwd': 'cwd',
      '--workdir': 'workdir',
      '-w': 'workdir',
      '--user': 'user',
      '-u': 'user',
      '--preserve-fds': 'preserveFds',
      '--process': 'process',
      '-p': 'process',
      '--pid-file': 'pidFile',
      '--console-socket': 'consoleSocket',
    },
    lists: { '--env': 'env', '-e': 'env', '--cap': 'cap', '-c': 'cap' },
    numbers: ['preserveFds'],
  },
};

/** Global options taking a value, as buildParser() declares them (requiresArg: a value must follow). */
const GLOBAL_VALUES: Spellings = { '--root': 'root', '--data-root': 'dataRoot', '--log': 'log', '--log-format': 'logFormat' };
const GLOBAL_BOOLEANS: Spellings = { '--debug': 'debug', '--systemd-cgroup': 'systemdCgroup' };
const GLOBAL_CHOICES: Readonly<Record<string, readonly string[]>> = { logFormat: ['text', 'json'] };

export function matchFastPath(
  argv: readonly string[],
  verbs: Readonly<Record<string, FastVerb>>,
): { name: string; verb: FastVerb; args: FastArgs } | undefined {
  const args: FastArgs = { root: DEFAULT_ROOT, dataRoot: DEFAULT_DATA_ROOT, debug: false, logFormat: 'text', systemdCgroup: false };
  const seen = new Set<string>();
  const words: string[] = [];
  let verb: FastVerb | undefined;
  let verbName = '';
  for (let index = 0; index < argv.length; index++) {
    let arg = argv[index]!;
    // --opt=value, as conmon passes podman's runtime named runc (`--log-format=json`) and `--runtime-flag`
    // gives any: the same option as `--opt value`, for options that take a value only.
    let inlineValue: string | undefined;
    if (arg.startsWith('--') && arg.includes('=')) {
      inlineValue = arg.slice(arg.indexOf('=') + 1);
      arg = arg.slice(0, arg.indexOf('='));
    }
    if (arg.startsWith('-')) {
      const listKey = verb?.lists?.[arg];
      const valueKey = GLOBAL_VALUES[arg] ?? verb?.values?.[arg] ?? listKey;
      const booleanKey = GLOBAL_BOOLEANS[arg] ?? verb?.booleans?.[arg];
      const negatedKey = verb?.negations?.[arg];
      // Repeats of a one-value option become arrays in yargs; leave them (and everything unusual) to it. A
      // key given under two spellings (-d and --detach) is a repeat too.
      const key = valueKey ?? booleanKey ?? negatedKey;
      if (key === undefined || (listKey === undefined && seen.has(key))) return undefined;
      seen.add(key);
      if (booleanKey !== undefined || negatedKey !== undefined) {
        if (inlineValue !== undefined) return undefined;
        args[key] = booleanKey !== undefined;
        continue;
      }
      const value = inlineValue ?? argv[index + 1];
      if (value === undefined || value === '' || value.startsWith('-')) return undefined;
      const allowed = GLOBAL_CHOICES[key] ?? verb?.choices?.[key];
      if (allowed && !allowed.includes(value)) return undefined;
      if (verb?.numbers?.includes(key) && !/^\d+$/.test(value)) return undefined;
      if (listKey !== undefined) (args[listKey] as string[] | undefined) ? (args[listKey] as string[]).push(value) : (args[listKey] = [value]);
      else args[key] = value;
      if (inlineValue === undefined) index++;
      continue;
    }
    if (verb === undefined) {
      if (!Object.hasOwn(verbs, arg)) return undefined;
      verb = verbs[arg]!;
      verbName = arg;
      for (const key of Object.values(verb.booleans ?? {})) args[key] = false;
      for (const key of Object.values(verb.negations ?? {})) args[key] = true;
      continue;
    }
    words.push(arg);
  }
  if (!verb) return undefined;
  const optional = verb.optionalPositionals ?? [];
  if (words.length < verb.positionals.length || words.length > verb.positionals.length + optional.length) return undefined;
  [...verb.positionals, ...optional].forEach((name, index) => {
    args[name] = words[index];
  });
  return { name: verbName, verb, args };
}
