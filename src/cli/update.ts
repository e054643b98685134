// `shim update [flags] ID`: runc's flags, or -r FILE (a linux.resources JSON, "-" for stdin); flags win over
// the file, as in runc.

import { readFileSync } from 'node:fs';
import { readFile } from '../host/fs-async.js';
import { checkUpdateResources, updateContainer } from '../container/container-cgroups.js';
import type { RuntimeContext } from '../container/run-container.js';
import { parseMemorySize } from '../cgroups/resources.js';
import { RuntimeError, systemError } from '../errors.js';
import type { OciResources } from '../plan/oci-config.js';

export interface UpdateArgs {
  id: string;
  resources?: string | undefined;
  memory?: string | undefined;
  memoryReservation?: string | undefined;
  memorySwap?: string | undefined;
  cpuQuota?: string | undefined;
  cpuPeriod?: string | undefined;
  cpuShares?: string | undefined;
  cpusetCpus?: string | undefined;
  cpusetMems?: string | undefined;
  pidsLimit?: string | undefined;
}

export async function updateVerb(context: RuntimeContext, args: UpdateArgs): Promise<number> {
  const resources = await readUpdateResources(args);
  await updateContainer(context.root, args.id, resources, context.log);
  return 0;
}

export async function readUpdateResources(args: UpdateArgs): Promise<OciResources> {
  const resources: OciResources = args.resources !== undefined ? await readResourcesFile(args.resources) : {};
  const memory = { ...resources.memory };
  if (args.memory !== undefined) memory.limit = sizeOrUnlimited(args.memory, '--memory');
  if (args.memoryReservation !== undefined) memory.reservation = sizeOrUnlimited(args.memoryReservation, '--memory-reservation');
  if (args.memorySwap !== undefined) memory.swap = sizeOrUnlimited(args.memorySwap, '--memory-swap');
  const cpu = { ...resources.cpu };
  if (args.cpuQuota !== undefined) cpu.quota = integer(args.cpuQuota, '--cpu-quota');
  if (args.cpuPeriod !== undefined) cpu.period = integer(args.cpuPeriod, '--cpu-period');
  if (args.cpuShares !== undefined) cpu.shares = integer(args.cpuShares, '--cpu-shares');
  if (args.cpusetCpus !== undefined) cpu.cpus = args.cpusetCpus;
  if (args.cpusetMems !== undefined) cpu.mems = args.cpusetMems;
  const result: OciResources = { ...resources };
  if (Object.keys(memory).length > 0) result.memory = memory;
  if (Object.keys(cpu).length > 0) result.cpu = cpu;
  if (args.pidsLimit !== undefined) result.pids = { limit: integer(args.pidsLimit, '--pids-limit') };
  if (!result.memory && !result.cpu && !result.pids && !result.blockIO) {
    throw new RuntimeError('usage', 'update: nothing to change', { hint: 'give a limit, e.g. --pids-limit 100, or -r FILE' });
  }
  return result;
}

async function readResourcesFile(path: string): Promise<OciResources> {
  let text: string;
  try {
    // fd 0 itself: /dev/stdin cannot be opened when stdin is a socket (ENXIO), as it is under many supervisors.
    text = path === '-' ? readFileSync(0, 'utf8') : await readFile(path, 'utf8');
  } catch (error) {
    throw systemError(error, 'read resources file', { path });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new RuntimeError('invalid-config', `${path}: not valid JSON (${(error as Error).message})`);
  }
  return checkUpdateResources(parsed, path);
}

function sizeOrUnlimited(text: string, flag: string): number {
  return text === '-1' ? -1 : parseMemorySize(text, flag);
}

function integer(text: string, flag: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new RuntimeError('usage', `${flag} ${text}: not a whole number`);
  return Number(text);
}
