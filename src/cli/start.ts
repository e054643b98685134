// `shim start ID`: lets a created container's init go on to exec its process. A file of its own, apart from
// create.ts: an orchestrator calls it once per container, and it needs only the lifecycle code, not the
// planner, protobufjs and the helper runner that create's file carries (dist/lib/start.cjs).
// A stopped docker-style container (one a `run IMAGE` made) is started again instead, as `docker start`:
// that path, and -a/-i, load their code only when taken.

import { readContainerState, startContainer } from '../container/lifecycle.js';
import type { RuntimeContext } from '../container/run-container.js';
import { isRuntimeError } from '../errors.js';
import type { CliEnvironment } from './main.js';

export async function startVerb(
  id: string,
  context: RuntimeContext,
  options: { attach: boolean; interactive: boolean } = { attach: false, interactive: false },
  cli?: CliEnvironment,
): Promise<number> {
  try {
    // runc's start first and unchanged: it is the orchestrators' hot path.
    if (!options.attach && !options.interactive) {
      await startContainer(context.root, id);
      return 0;
    }
  } catch (error) {
    // "cannot start a stopped container": a docker-style one runs again; any other refusal stands.
    if (!(isRuntimeError(error) && error.code === 'invalid-state' && / stopped container$/.test(error.message))) throw error;
    // runc's containers keep runc's answer.
    if (!(await readContainerState(context.root, id)).state.containerDir) throw error;
  }
  const { dockerStart } = await import('./docker.js');
  return dockerStart(context, id, options, cli!);
}
