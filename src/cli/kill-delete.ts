// `shim kill [--all] ID [SIGNAL]`, `shim delete [--force] ID`.

import { deleteContainer, killContainer } from '../container/lifecycle.js';
import type { RuntimeContext } from '../container/run-container.js';

export async function killVerb(context: RuntimeContext, id: string, signal: string | undefined, all: boolean): Promise<number> {
  await killContainer(context.root, id, signal, { all });
  return 0;
}

export async function deleteVerb(context: RuntimeContext, id: string, force: boolean): Promise<number> {
  await deleteContainer(context.root, id, { force }, context.log);
  return 0;
}
