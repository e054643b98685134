// `shim ps [--format table|json] ID [-- PS ARGS]`: the processes in the container's cgroup, as runc ps shows
// them: `ps -ef` (or the given ps arguments) run on the host, keeping the header and the container's rows.

import { execa } from 'execa';
import { readCgroupPids } from '../cgroups/cgroup-v1-manager.js';
import { readContainerState } from '../container/lifecycle.js';
import { RuntimeError } from '../errors.js';
import type { CliEnvironment } from './main.js';

export async function psVerb(root: string, id: string, format: 'table' | 'json', psArgs: string[], cli: CliEnvironment): Promise<number> {
  const observed = await readContainerState(root, id);
  const pids = observed.status === 'stopped' ? [] : await readCgroupPids(observed.state.cgroupDirs);
  if (format === 'json') {
    cli.stdout(`${JSON.stringify(pids)}\n`);
    return 0;
  }
  const result = await execa('ps', psArgs.length > 0 ? psArgs : ['-ef'], { reject: false });
  if (result.exitCode === undefined) {
    // It never ran: runc's table comes from the host's own ps, which a minimal system may lack.
    throw new RuntimeError('system', `run the host's ps: ${result.code === 'ENOENT' ? 'not found' : result.shortMessage}`, {
      containerId: id,
      hint: 'install procps, or use --format json for the bare pids',
    });
  }
  if (result.exitCode !== 0) {
    throw new RuntimeError('system', `ps ${psArgs.join(' ')}: ${String(result.stderr).trim() || `exit code ${result.exitCode}`}`, { containerId: id });
  }
  const lines = String(result.stdout).split('\n');
  const header = lines[0] ?? '';
  const pidColumn = header.trim().split(/\s+/).indexOf('PID');
  if (pidColumn < 0) throw new RuntimeError('usage', "ps: the output has no PID column (keep the pid among ps's fields)", { containerId: id });
  const wanted = new Set(pids.map(String));
  const rows = lines.slice(1).filter((line) => wanted.has(line.trim().split(/\s+/)[pidColumn] ?? ''));
  cli.stdout([header, ...rows].map((line) => `${line}\n`).join(''));
  return 0;
}
