// `shim logs [-f] ID`: a `run -d` container's stdout and stderr (one file: the monitor points both there).

import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { readContainerState } from '../container/lifecycle.js';
import { RuntimeError, systemError } from '../errors.js';
import type { CliEnvironment } from './main.js';

const FOLLOW_POLL_MS = 100;

export interface LogsOptions {
  tail?: string | undefined;
  since?: string | undefined;
  timestamps?: boolean | undefined;
}

export async function logsVerb(root: string, id: string, follow: boolean, cli: CliEnvironment, options: LogsOptions = {}): Promise<number> {
  if (options.since !== undefined || options.timestamps) {
    // The monitor points the process's output straight at the file (no relay, no per-line record).
    throw new RuntimeError('unsupported', `logs ${options.since !== undefined ? '--since' : '-t'}: the log keeps no time per line`, {
      hint: 'shim logs --tail N, or shim inspect --format {{.State.StartedAt}}',
    });
  }
  const { state } = await readContainerState(root, id);
  if (!state.logPath) {
    throw new RuntimeError('usage', 'this container has no log: only `run -d` containers write one', { containerId: id });
  }
  const handle = await open(state.logPath, 'r').catch((error) => {
    throw systemError(error, 'open log', { path: state.logPath, containerId: id });
  });
  try {
    let position = options.tail === undefined || options.tail === 'all' ? 0 : await tailStart(handle, options.tail);
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead > 0) {
        position += bytesRead;
        cli.stdout(buffer.subarray(0, bytesRead).toString('utf8'));
        continue;
      }
      if (!follow) return 0;
      // Drained: stop once the container has ended (its last writes are in the file by then).
      const { status } = await readContainerState(root, id).catch(() => ({ status: 'stopped' as const }));
      if (status === 'stopped') {
        const { bytesRead: tail } = await handle.read(buffer, 0, buffer.length, position);
        if (tail === 0) return 0;
        continue;
      }
      await sleep(FOLLOW_POLL_MS);
    }
  } finally {
    await handle.close();
  }
}

/** Where the last N lines begin (a final line without its newline counts as one). */
async function tailStart(handle: import('node:fs/promises').FileHandle, tail: string): Promise<number> {
  if (!/^\d+$/.test(tail)) throw new RuntimeError('usage', `--tail ${tail}: expected a number of lines or "all"`);
  const wanted = Number(tail);
  const { size } = await handle.stat();
  const text = (await handle.read(Buffer.alloc(size), 0, size, 0)).buffer.toString('latin1');
  let end = text.endsWith('\n') ? text.length - 1 : text.length;
  let position = end;
  for (let count = 0; count < wanted; count++) {
    const newline = text.lastIndexOf('\n', end - 1);
    if (newline < 0 || end === 0) return 0;
    position = newline + 1;
    end = newline;
  }
  return wanted === 0 ? size : position;
}
