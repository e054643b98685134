// `shim create [--bundle DIR] [--pid-file F] [--console-socket SOCK] [--no-pivot] [--preserve-fds N] ID`,
// `shim start ID`, and the runc-style `run --bundle DIR -d ID` (create + start, then return).

import { startContainer } from '../container/lifecycle.js';
import type { RuntimeContext } from '../container/run-container.js';
import { RuntimeError } from '../errors.js';
import type { CliEnvironment } from './main.js';

export interface CreateArgs {
  id?: string | undefined;
  bundle?: string | undefined;
  pidFile?: string | undefined;
  consoleSocket?: string | undefined;
  pivot: boolean;
  preserveFds: number;
}

export async function createVerb(args: CreateArgs, context: RuntimeContext, cli: CliEnvironment): Promise<number> {
  if (!args.id) throw new RuntimeError('usage', 'create needs the container ID', { hint: 'shim create --bundle DIR ID' });
  if (!Number.isInteger(args.preserveFds) || args.preserveFds < 0) {
    throw new RuntimeError('usage', `--preserve-fds ${args.preserveFds}: expected a count of descriptors`);
  }
  // Loaded here: `start`, which shares this file, needs none of the planner, protobufjs or the helper runner.
  const { prepareRun } = await import('../container/run-container.js');
  const { createPrepared } = await import('../container/create-container.js');
  // runc takes the bundle from the current directory when --bundle is not given.
  const prepared = await prepareRun({ kind: 'bundle', bundleDir: args.bundle ?? cli.cwd, id: args.id, keep: true, noPivot: !args.pivot }, context);
  await createPrepared(prepared, context, {
    mode: 'create',
    pidFile: args.pidFile,
    consoleSocket: args.consoleSocket ? absolute(args.consoleSocket, cli.cwd) : undefined,
    preserveFds: args.preserveFds,
  });
  return 0;
}

export async function startVerb(id: string, context: RuntimeContext): Promise<number> {
  await startContainer(context.root, id);
  return 0;
}

function absolute(path: string, cwd: string): string {
  return path.startsWith('/') ? path : `${cwd}/${path}`;
}
