// `shim create [--bundle DIR] [--pid-file F] [--console-socket SOCK] [--no-pivot] [--preserve-fds N] ID`
// (start.ts is `start`; run.ts does the runc-style `run --bundle DIR -d ID`: create + start, then return).

import { createPrepared } from '../container/create-container.js';
import { prepareBundle, type RuntimeContext } from '../container/run-container.js';
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
    // yargs reads the value as a number: a word arrives as NaN, which would only confuse the reader.
    const given = Number.isNaN(args.preserveFds) ? '(not a number)' : String(args.preserveFds);
    throw new RuntimeError('usage', `--preserve-fds ${given}: expected a count of descriptors`);
  }
  // runc takes the bundle from the current directory when --bundle is not given.
  const prepared = await prepareBundle({ kind: 'bundle', bundleDir: args.bundle ?? cli.cwd, id: args.id, keep: true, noPivot: !args.pivot }, context);
  await createPrepared(prepared, context, {
    mode: 'create',
    pidFile: args.pidFile,
    consoleSocket: args.consoleSocket ? absolute(args.consoleSocket, cli.cwd) : undefined,
    preserveFds: args.preserveFds,
  });
  return 0;
}

function absolute(path: string, cwd: string): string {
  return path.startsWith('/') ? path : `${cwd}/${path}`;
}
