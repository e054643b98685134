// A fast path for the hottest runc verbs (state, start, kill, delete): their command lines are flat, and an
// orchestrator runs them many times a second, so parsing them here spares each call loading yargs and
// building its whole command tree. It is a shortcut, not a second parser: it takes a command line only when
// it can read it exactly as yargs would, and returns undefined for anything else (--help, --version, an
// unknown or repeated option, --opt=value, a missing or extra word), which then goes to yargs unchanged, so
// help texts and usage errors are yargs' own.

// A cycle with main.ts, which imports this file; the constants are read only when a command line is matched.
import { DEFAULT_DATA_ROOT, DEFAULT_ROOT, type GlobalArgs } from './main.js';

/** What a fast-path verb receives: the global options and its own, keyed as yargs keys them (camelCase). */
export interface FastArgs extends GlobalArgs {
  [option: string]: string | boolean | undefined;
}

export interface FastVerb {
  /** Required positionals, in order (their yargs declarations must say `type: 'string'`). */
  positionals: readonly string[];
  /** Optional positionals after those (kill ID [SIGNAL]). */
  optionalPositionals?: readonly string[];
  /** Boolean options, given as `--name` (camelCase key in args, false when absent). */
  booleans?: readonly string[];
}

/**
 * The verbs the fast path knows, by name; main() runs the same handler yargs would. Each entry must read its
 * command line exactly as the verb's yargs command does (positionals declared `type: 'string'` there).
 */
export const FAST_VERBS: Readonly<Record<string, FastVerb>> = {
  state: { positionals: ['id'] },
  start: { positionals: ['id'] },
  kill: { positionals: ['id'], optionalPositionals: ['signal'], booleans: ['all'] },
  delete: { positionals: ['id'], booleans: ['force'] },
};

/** Global options taking a value, as buildParser() declares them (requiresArg: a value must follow). */
const GLOBAL_VALUES: Readonly<Record<string, 'root' | 'dataRoot'>> = { '--root': 'root', '--data-root': 'dataRoot' };

export function matchFastPath(
  argv: readonly string[],
  verbs: Readonly<Record<string, FastVerb>>,
): { name: string; verb: FastVerb; args: FastArgs } | undefined {
  const args: FastArgs = { root: DEFAULT_ROOT, dataRoot: DEFAULT_DATA_ROOT, debug: false };
  const seen = new Set<string>();
  const words: string[] = [];
  let verb: FastVerb | undefined;
  let verbName = '';
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg.startsWith('-')) {
      // Repeats become arrays in yargs; leave them (and everything unusual) to it.
      if (seen.has(arg)) return undefined;
      seen.add(arg);
      const valueKey = GLOBAL_VALUES[arg];
      if (valueKey) {
        const value = argv[index + 1];
        if (value === undefined || value === '' || value.startsWith('-')) return undefined;
        args[valueKey] = value;
        index++;
      } else if (arg === '--debug') {
        args.debug = true;
      } else {
        const name = verb && arg.startsWith('--') ? camelCase(arg.slice(2)) : undefined;
        if (!name || !verb?.booleans?.includes(name)) return undefined;
        args[name] = true;
      }
      continue;
    }
    if (verb === undefined) {
      if (!Object.hasOwn(verbs, arg)) return undefined;
      verb = verbs[arg]!;
      verbName = arg;
      for (const name of verb.booleans ?? []) args[name] = false;
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

function camelCase(option: string): string {
  return option.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
