// `shim start ID`: lets a created container's init go on to exec its process. A file of its own, apart from
// create.ts: an orchestrator calls it once per container, and it needs only the lifecycle code, not the
// planner, protobufjs and the helper runner that create's file carries (dist/lib/start.cjs).

import { startContainer } from '../container/lifecycle.js';
import type { RuntimeContext } from '../container/run-container.js';

export async function startVerb(id: string, context: RuntimeContext): Promise<number> {
  await startContainer(context.root, id, context.log);
  return 0;
}
