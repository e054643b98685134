// `shim state ID`, `shim list [--format table|json] [-q]`: the OCI state as runc prints it.

import { userInfo } from 'node:os';
import { listContainers, ociStateOf, readContainerState, type ObservedContainer } from '../container/lifecycle.js';
import { formatOciState } from '../state/oci-state.js';
import type { CliEnvironment } from './main.js';

export async function stateVerb(root: string, id: string, cli: CliEnvironment): Promise<number> {
  const observed = await readContainerState(root, id);
  cli.stdout(formatOciState(ociStateOf(observed)));
  return 0;
}

export interface ListArgs {
  format: 'table' | 'json';
  quiet: boolean;
}

export async function listVerb(root: string, args: ListArgs, cli: CliEnvironment): Promise<number> {
  const entries = await listContainers(root);
  const readable = entries.filter((entry): entry is { id: string; observed: ObservedContainer } => entry.observed !== undefined);
  if (args.quiet) {
    cli.stdout(entries.map((entry) => `${entry.id}\n`).join(''));
    return 0;
  }
  const owner = ownerName();
  if (args.format === 'json') {
    cli.stdout(`${JSON.stringify(readable.map((entry) => ({ ...ociStateOf(entry.observed, owner), ...exitOf(entry.observed) })))}\n`);
    return 0;
  }
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
  for (const entry of entries) {
    if (!entry.observed) {
      rows.push([entry.id, '0', 'unknown', '', '', owner]);
      continue;
    }
    const state = ociStateOf(entry.observed, owner);
    rows.push([state.id, String(state.pid), statusColumn(entry.observed), state.bundle, state.created, owner]);
  }
  cli.stdout(formatTable(rows));
  return 0;
}

/** docker ps's wording for a stopped container whose exit code is known: "exited (0)". */
function statusColumn(observed: ObservedContainer): string {
  if (observed.status === 'stopped' && observed.exitCode !== undefined) return `exited (${observed.exitCode})`;
  return observed.status;
}

function exitOf(observed: ObservedContainer): Record<string, unknown> {
  return observed.status === 'stopped' && observed.exitCode !== undefined ? { exitCode: observed.exitCode, finished: observed.finished } : {};
}

function ownerName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? '');
  }
}

/** Go's tabwriter as runc sets it up: cells padded to at least 12 columns, 3 spaces apart, last unpadded. */
export function formatTable(rows: readonly string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 12, cell.length + 3)));
  return rows.map((row) => row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index]!))).join('') + '\n').join('');
}
