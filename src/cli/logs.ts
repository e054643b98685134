// `shim logs [-f] ID`: a `run -d` container's stdout and stderr (one file: the monitor points both there).

import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { readContainerState } from '../container/lifecycle.js';
import { RuntimeError, systemError } from '../errors.js';
import type { CliEnvironment } from './main.js';

const FOLLOW_POLL_MS = 100;

export async function logsVerb(root: string, id: string, follow: boolean, cli: CliEnvironment): Promise<number> {
  const { state } = await readContainerState(root, id);
  if (!state.logPath) {
    throw new RuntimeError('usage', 'this container has no log: only `run -d` containers write one', { containerId: id });
  }
  const handle = await open(state.logPath, 'r').catch((error) => {
    throw systemError(error, 'open log', { path: state.logPath, containerId: id });
  });
  try {
    let position = 0;
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
