// `shim ps ID [--format table|json]`: the container's processes by host pid. json is runc's form (an array of
// pids), for orchestrators.

import { listContainerProcesses } from '../container/list-processes.js';
import type { CliEnvironment, PsArgs } from './main.js';

export async function psVerb(args: PsArgs, cli: CliEnvironment): Promise<number> {
  const processes = await listContainerProcesses(args.root, args.id);
  if (args.format === 'json') {
    cli.stdout(`${JSON.stringify(processes.map((entry) => entry.pid))}\n`);
    return 0;
  }
  const width = Math.max(3, ...processes.map((entry) => String(entry.pid).length));
  cli.stdout(`${'PID'.padStart(width)} CMD\n`);
  for (const entry of processes) cli.stdout(`${String(entry.pid).padStart(width)} ${entry.command}\n`);
  return 0;
}
