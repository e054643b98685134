// `run IMAGE CMD...` hands everything after IMAGE to the container untouched, as docker does: `shim run busybox
// ls -la` must not read -la as a shim flag. yargs cannot stop parsing at a command's first positional without
// also stopping before the command itself, so the command line is split here first.

/** Options (global and run's) that take a separate value; every other "-x" stands alone. */
const VALUE_OPTIONS = new Set([
  '--root',
  '--data-root',
  '--name',
  '-e',
  '--env',
  '-w',
  '--workdir',
  '--hostname',
  '-v',
  '--volume',
  '--device',
  '--device-cgroup-rule',
  '--format',
  '-b',
  '--bundle',
  '--entrypoint',
  '-m',
  '--memory',
  '--cpus',
  '--pids-limit',
  // user namespaces (src/userns/)
  '--uidmap',
  '--gidmap',
  '--userns',
  '--security-opt',
  '--log',
  '--log-format',
  // run's network options (-p is listed below)
  '--net',
  '--network',
  '--publish',
  '--ip',
  '--dns',
  '--add-host',
  // exec's
  '--cwd',
  '-u',
  '--user',
  '-c',
  '--cap',
  '--preserve-fds',
  '-p',
  '--process',
  '--pid-file',
  '--console-socket',
  // docker run's (docker-args.ts)
  '--detach-keys',
  '--cap-add',
  '--group-add',
  '--cap-drop',
  '--tmpfs',
  '--ulimit',
  '--env-file',
  '--label',
  '-l',
  '--restart',
  '--stop-signal',
  '--stop-timeout',
  '--platform',
]);

/** Verbs whose first positional ends the shim's own arguments. */
const VERBS_WITH_TRAILING_COMMAND = new Set(['run', 'exec']);

export interface SplitArgv {
  /** The first word that is not an option: the verb, if any. */
  verb?: string | undefined;
  /** What yargs parses: global options, the verb, its options and its first positional. */
  head: string[];
  /** The container's command (argv for the process), empty when none was given. */
  command: string[];
}

export function splitArgv(argv: readonly string[]): SplitArgv {
  let verb: string | undefined;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--') {
      if (verb === undefined) return { head: [...argv], command: [] };
      // `run [opts] -- IMAGE CMD...`: the next word is the image whatever it looks like.
      const image = argv[index + 1];
      if (image === undefined) return { verb, head: argv.slice(0, index), command: [] };
      return { verb, head: [...argv.slice(0, index), image], command: argv.slice(index + 2) };
    }
    if (arg.startsWith('-') && arg !== '-') {
      if (VALUE_OPTIONS.has(arg)) index++;
      continue;
    }
    if (verb === undefined) {
      verb = arg;
      if (!VERBS_WITH_TRAILING_COMMAND.has(arg)) {
        // `ps ID -- PS ARGS`: whatever follows "--" is the verb's own trailing command.
        const end = argv.indexOf('--', index + 1);
        if (end === -1) return { verb, head: [...argv], command: [] };
        return { verb, head: argv.slice(0, end), command: argv.slice(end + 1) };
      }
      continue;
    }
    return { verb, head: argv.slice(0, index + 1), command: argv.slice(index + 1) };
  }
  return { verb, head: [...argv], command: [] };
}
