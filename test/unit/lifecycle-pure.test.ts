// The pure parts of the lifecycle verbs: signal names, the inspect template, runc's list table, `ps ID --
// ARGS` splitting, the default spec, and /proc/PID/stat parsing for status derivation.

import { describe, expect, it } from 'vitest';
import { parseSignal } from '../../src/container/signals.js';
import { renderTemplate } from '../../src/cli/inspect.js';
import { formatTable } from '../../src/cli/state.js';
import { splitArgv } from '../../src/cli/split-argv.js';
import { planDefaultSpec, planRootlessSpec } from '../../src/plan/default-spec.js';
import { parseProcStat } from '../../src/state/process-start-time.js';

describe('parseSignal', () => {
  it('takes names with and without SIG, any case, and numbers', () => {
    expect([parseSignal('TERM'), parseSignal('SIGTERM'), parseSignal('sigkill'), parseSignal('9'), parseSignal('usr1')]).toEqual([15, 15, 9, 9, 10]);
    expect(parseSignal('SIGRTMIN+2')).toBe(36);
  });

  it('refuses unknown names and numbers out of range', () => {
    expect(() => parseSignal('NOPE')).toThrow('unknown signal NOPE');
    expect(() => parseSignal('0')).toThrow('out of range');
    expect(() => parseSignal('65')).toThrow('out of range');
  });
});

describe('renderTemplate', () => {
  const document = { State: { Pid: 42, Running: true, Nothing: null }, Names: ['a'] };

  it('walks dotted paths; {{json}} gives JSON, lists and maps print as Go prints them', () => {
    expect(renderTemplate('{{.State.Pid}}', document)).toBe('42');
    expect(renderTemplate('pid={{ .State.Pid }} up={{json .State.Running}}', document)).toBe('pid=42 up=true');
    expect(renderTemplate('{{.Names}}', document)).toBe('[a]');
    expect(renderTemplate('{{json .Names}}', document)).toBe('["a"]');
    expect(renderTemplate('{{.State.Nothing}}', document)).toBe('<no value>');
  });

  it('evaluates nothing: anything but a path is refused', () => {
    expect(() => renderTemplate('{{.State.Gone}}', document)).toThrow('there is no field Gone');
    expect(() => renderTemplate('{{constructor}}', document)).toThrow('expected {{.Path.To.Field}}');
    expect(() => renderTemplate('{{.State.constructor}}', document)).toThrow('there is no field constructor');
  });
});

describe('formatTable', () => {
  it("pads as runc's tabwriter does: at least 12 columns, 3 apart, the last unpadded", () => {
    // 'a-long-container-id' is 19 characters: its column is 22 wide; PID's stays at the minimum, 12.
    expect(formatTable([['ID', 'PID', 'OWNER'], ['a-long-container-id', '1', 'root']])).toBe(
      `${'ID'.padEnd(22)}${'PID'.padEnd(12)}OWNER\n${'a-long-container-id'.padEnd(22)}${'1'.padEnd(12)}root\n`,
    );
  });
});

describe('splitArgv', () => {
  it('gives ps its own arguments after --', () => {
    expect(splitArgv(['--root', '/r', 'ps', 'c1', '--', '-o', 'pid'])).toEqual({ verb: 'ps', head: ['--root', '/r', 'ps', 'c1'], command: ['-o', 'pid'] });
  });

  it('skips the values of --log and --log-format before the verb', () => {
    expect(splitArgv(['--log', 'x', '--log-format', 'json', 'state', 'c1']).verb).toBe('state');
  });
});

describe('default spec', () => {
  it('rootless: a user namespace mapping the caller, no network namespace, no resources, /sys bound', () => {
    const spec = planRootlessSpec(planDefaultSpec('1.2.0'), 1000, 1000) as any;
    expect(spec.linux.namespaces.map((ns: { type: string }) => ns.type)).toEqual(['pid', 'ipc', 'uts', 'mount', 'user']);
    expect(spec.linux.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
    expect(spec.linux.resources).toBeUndefined();
    expect(spec.mounts.find((m: { destination: string }) => m.destination === '/sys').options).toContain('rbind');
    expect(spec.mounts.find((m: { destination: string }) => m.destination === '/dev/pts').options).not.toContain('gid=5');
  });
});

describe('parseProcStat', () => {
  it('reads state, ppid and start time past a comm holding ") "', () => {
    const rest = Array.from({ length: 50 }, (_, i) => String(i + 3));
    rest[0] = 'Z';
    rest[1] = '77';
    expect(parseProcStat(`9 (a) b) ${rest.join(' ')}`)).toEqual({ state: 'Z', ppid: 77, startTime: '22' });
  });
});
