// `shim stats ID` (memory, cpu and pids usage as JSON) and `shim events --stats ID` (runc's one stats event).

import { readContainerStats } from '../container/container-cgroups.js';
import type { RuntimeContext } from '../container/run-container.js';
import { RuntimeError } from '../errors.js';
import type { CliEnvironment } from './main.js';

export async function statsVerb(context: RuntimeContext, id: string, cli: CliEnvironment): Promise<number> {
  const stats = await readContainerStats(context.root, id, context.log);
  const summary = {
    id,
    memory: { usage: stats.memory.usage.usage, max: stats.memory.usage.max, limit: stats.memory.usage.limit, oom_kill: stats.memory.oom_kill },
    cpu: { usage_ns: stats.cpu.usage.total, user_ns: stats.cpu.usage.user, kernel_ns: stats.cpu.usage.kernel, throttled_periods: stats.cpu.throttling.throttled_periods },
    pids: stats.pids,
  };
  cli.stdout(`${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}

export async function eventsVerb(context: RuntimeContext, id: string, statsOnce: boolean, cli: CliEnvironment): Promise<number> {
  if (!statsOnce) {
    throw new RuntimeError('unsupported', 'events without --stats (a stream of events) is not supported yet', { hint: 'shim events --stats ID' });
  }
  const stats = await readContainerStats(context.root, id, context.log);
  cli.stdout(`${JSON.stringify({ type: 'stats', id, data: stats })}\n`);
  return 0;
}
