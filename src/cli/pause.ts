// `shim pause ID`, `shim resume ID`: freeze and thaw every process of the container's cgroup.

import { pauseContainer, resumeContainer } from '../container/container-cgroups.js';
import type { RuntimeContext } from '../container/run-container.js';

export async function pauseVerb(context: RuntimeContext, id: string): Promise<number> {
  await pauseContainer(context.root, id, context.log);
  return 0;
}

export async function resumeVerb(context: RuntimeContext, id: string): Promise<number> {
  await resumeContainer(context.root, id, context.log);
  return 0;
}
