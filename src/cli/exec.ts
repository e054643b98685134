// `shim exec`: docker-style for people (`exec -it ID sh`) and runc-style for orchestrators (`exec --process
// FILE --detach --pid-file F --console-socket S ID`). Reads flags into an ExecRequest; the library plans and
// runs it.

import { readFile } from '../host/fs-async.js';
import { resolve } from 'node:path';
import { RuntimeError } from '../errors.js';
import type { Logger } from '../log.js';
import { execPrepared, prepareExec, type ExecContext } from '../container/exec-container.js';
import { locateHelper } from '../helper/run-helper.js';
import type { OciProcess } from '../plan/oci-config.js';
import { parseUserFlag, type ExecRequest } from '../plan/plan-exec.js';
import { parseOciProcess } from '../container/process-file.js';
import type { CliEnvironment, ExecArgs } from './main.js';
import { resolveEnvFlags } from './run.js';

export async function execVerb(args: ExecArgs, command: string[], cli: CliEnvironment, log: Logger): Promise<number> {
  const request = await readExecRequest(args, command, cli);
  const context: ExecContext = {
    root: args.root,
    helperPath: locateHelper(cli.cliPath, cli.env.SHIM_HELPER),
    debug: args.debug,
    log,
    cwd: cli.cwd,
  };
  const plan = await prepareExec(request, context);
  const result = await execPrepared(plan, context, {
    signals: cli.onSignal && { subscribe: (listener) => cli.onSignal!(listener) },
    resizes: cli.onSignal && { subscribe: (listener) => cli.onSignal!(listener, ['SIGWINCH']) },
    pidFile: args.pidFile,
    // docker exec without -i gives the process no stdin; a terminal (-t) or runc-style use keeps ours.
    stdin: args.interactive || args.tty || args.process !== undefined ? 'inherit' : 'ignore',
  });
  return result.exitCode;
}

async function readExecRequest(args: ExecArgs, command: string[], cli: CliEnvironment): Promise<ExecRequest> {
  if (!args.id) throw new RuntimeError('usage', 'exec needs the container ID', { hint: 'shim exec [options] ID CMD [ARGS...]' });
  if (args.cwd !== undefined && args.workdir !== undefined) throw new RuntimeError('usage', 'give -w or --cwd, not both');
  let processFile: OciProcess | undefined;
  if (args.process !== undefined) {
    // As runc: the file is the whole process; flags that would change it beside the file are refused, not merged.
    const conflicting = [
      ['--env', args.env.length > 0],
      ['--cwd', args.cwd !== undefined || args.workdir !== undefined],
      ['--user', args.user !== undefined],
      ['--cap', args.cap.length > 0],
      ['--no-new-privs', args.noNewPrivs],
    ] as const;
    for (const [flag, given] of conflicting) {
      if (given) throw new RuntimeError('usage', `${flag} cannot be used with --process`, { hint: 'the process file says it' });
    }
    processFile = await readProcessFile(resolve(cli.cwd, args.process));
    // conmon (podman exec -t) sends --tty beside a file that says terminal: true. runc ignores the flag there;
    // shim takes it when the two agree and refuses only a contradiction.
    if (args.tty && processFile.terminal !== true) {
      throw new RuntimeError('usage', '--tty cannot be used with a --process file whose terminal is false', { hint: 'the process file says it' });
    }
  }
  if (args.preserveFds < 0 || !Number.isInteger(args.preserveFds)) throw new RuntimeError('usage', `--preserve-fds ${args.preserveFds}: expected a count`);
  return {
    containerId: args.id,
    args: command,
    processFile,
    env: resolveEnvFlags(args.env, cli.env),
    cwd: args.cwd ?? args.workdir,
    user: args.user === undefined ? undefined : parseUserFlag(args.user),
    addCapabilities: args.cap,
    noNewPrivileges: args.noNewPrivs,
    tty: processFile ? (processFile.terminal ?? false) : args.tty,
    detach: args.detach,
    consoleSocket: args.consoleSocket === undefined ? undefined : resolve(cli.cwd, args.consoleSocket),
    preserveFds: args.preserveFds,
  };
}

/** An OCI process JSON (runc exec --process), checked with the same rules as config.json's process. */
async function readProcessFile(path: string): Promise<OciProcess> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    if (error instanceof SyntaxError) throw new RuntimeError('invalid-config', `--process ${path}: not valid JSON (${error.message})`);
    throw new RuntimeError('not-found', `--process ${path}: cannot read it`, { cause: error });
  }
  return parseOciProcess(raw, path);
}
