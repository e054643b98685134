// docker's flags and verbs, the pure parts: run's flags to the config, the restart policy, --ulimit,
// --env-file, the detach keys, the Go-template subset of inspect --format, and the fast path declining.

import { describe, expect, it } from 'vitest';
import { DetachMatcher, inputFrames, parseDetachKeys, windowFrame } from '../../src/cli/attach-client.js';
import { editDistance } from '../../src/cli/docker.js';
import { FAST_VERBS, matchFastPath } from '../../src/cli/fast-path.js';
import { renderTemplate } from '../../src/cli/inspect.js';
import { parseWithYargs, toRunArgs } from '../../src/cli/main.js';
import { splitArgv } from '../../src/cli/split-argv.js';
import { planDockerConfig } from '../../src/plan/docker-config.js';
import { applyDockerRunFlags, capabilityName, parseEnvFile, parseRestartPolicy, parseUlimit, planTmpfs } from '../../src/plan/docker-run-flags.js';

const baseConfig = () =>
  planDockerConfig({
    containerId: 'c1', rootfs: '/r', command: ['sh'], imageCommand: [], imageEnv: [], env: [], volumes: [], cgroupNamespace: false,
  });
const noFlags = { capAdd: [], capDrop: [], privileged: false, readOnly: false, tmpfs: [], ulimits: [] };

describe('run flags to the config', () => {
  it('--cap-add and --cap-drop change all three sets; ALL and names without CAP_ work', () => {
    const config = applyDockerRunFlags(baseConfig(), { ...noFlags, capAdd: ['net_admin'], capDrop: ['CAP_CHOWN'] }, { capLast: 40, devices: [] });
    expect(config.process!.capabilities!.effective).toContain('CAP_NET_ADMIN');
    expect(config.process!.capabilities!.bounding).not.toContain('CAP_CHOWN');
    const none = applyDockerRunFlags(baseConfig(), { ...noFlags, capDrop: ['ALL'], capAdd: ['KILL'] }, { capLast: 40, devices: [] });
    expect(none.process!.capabilities!.permitted).toEqual(['CAP_KILL']);
    expect(() => capabilityName('FLY')).toThrow('unknown capability FLY');
  });

  it('--privileged: every capability up to the host\'s last, no masks, writable /sys, every device', () => {
    const device = { type: 'c', path: '/dev/kvm', major: 10, minor: 232, fileMode: 0o660, uid: 0, gid: 0 };
    const config = applyDockerRunFlags(baseConfig(), { ...noFlags, privileged: true }, { capLast: 40, devices: [device] });
    expect(config.process!.capabilities!.bounding).toHaveLength(41);
    expect(config.linux!.maskedPaths).toEqual([]);
    expect(config.linux!.readonlyPaths).toEqual([]);
    expect(config.linux!.devices).toEqual([device]);
    expect(config.mounts!.find((mount) => mount.destination === '/sys')!.options).not.toContain('ro');
  });

  it('--read-only, --tmpfs with docker\'s defaults first, --ulimit replacing the default nofile', () => {
    const config = applyDockerRunFlags(baseConfig(), { ...noFlags, readOnly: true, tmpfs: ['/tmp:size=1m'], ulimits: ['nofile=10:20'] });
    expect(config.root!.readonly).toBe(true);
    expect(config.mounts!.at(-1)).toEqual({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'size=1m'] });
    expect(config.process!.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', soft: 10, hard: 20 }]);
    expect(parseUlimit('core=unlimited')).toEqual({ type: 'RLIMIT_CORE', soft: -1, hard: -1 });
    expect(() => parseUlimit('nofile=20:10')).toThrow('soft limit is above');
    expect(() => planTmpfs('tmp')).toThrow('must be absolute');
  });

  it('--restart, --env-file', () => {
    expect(parseRestartPolicy('on-failure:2')).toEqual({ name: 'on-failure', maximum: 2 });
    expect(parseRestartPolicy('always')).toEqual({ name: 'always' });
    expect(() => parseRestartPolicy('always:3')).toThrow('expected no, on-failure');
    expect(parseEnvFile('# comment\n\nA=1\n  B=two words\nC\n', 'f')).toEqual(['A=1', 'B=two words', 'C']);
  });
});

describe('command lines', () => {
  it('run -it and the other docker flags go to yargs, and reach the handler', async () => {
    const argv = ['run', '-it', '--cap-add', 'NET_ADMIN', '--restart', 'on-failure:2', '-u', 'nobody', 'busybox', 'sh', '-c', 'x'];
    const { head, command } = splitArgv(argv);
    expect(command).toEqual(['sh', '-c', 'x']);
    expect(matchFastPath(head, FAST_VERBS)).toBeUndefined();
    const parsed = await parseWithYargs(head);
    const args = toRunArgs(parsed!.args);
    expect(args.target).toBe('busybox');
    expect(args.docker).toMatchObject({ interactive: true, tty: true, capAdd: ['NET_ADMIN'], restart: 'on-failure:2', user: 'nobody' });
  });

  it('ps without an ID is docker\'s list; with one, runc\'s process list', async () => {
    const list = (await parseWithYargs(['ps', '-a', '-q']))!.args;
    expect(list).toMatchObject({ all: true, quiet: true });
    expect(list.id).toBeUndefined();
    expect((await parseWithYargs(['ps', 'c1']))!.args).toMatchObject({ id: 'c1' });
  });

  it('suggests the nearest name', () => {
    expect(editDistance('web1', 'web2')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('detach keys and attach frames', () => {
  it('holds back a possible start of the sequence and detaches on the whole of it', () => {
    const matcher = new DetachMatcher(parseDetachKeys('ctrl-p,ctrl-q'));
    expect(matcher.feed(Buffer.from('ab\x10'))).toEqual({ send: [0x61, 0x62], detach: false });
    expect(matcher.feed(Buffer.from('x'))).toEqual({ send: [0x10, 0x78], detach: false });
    expect(matcher.feed(Buffer.from('\x10\x10\x11'))).toEqual({ send: [0x10], detach: true });
    expect(parseDetachKeys('ctrl-a,d')).toEqual([1, 100]);
    expect(() => parseDetachKeys('ctrl-pp')).toThrow('cannot read ctrl-pp');
  });

  it('frames input in pieces of at most 4096 bytes and the window size as rows, cols', () => {
    expect(windowFrame(30, 100)).toEqual(Buffer.from([0x77, 4, 0, 30, 0, 100, 0]));
    const frames = inputFrames(new Uint8Array(5000));
    expect(frames.map((frame) => frame.length)).toEqual([3 + 4096, 3 + 904]);
  });
});

describe('inspect --format, docker\'s templates', () => {
  const document = {
    State: { Status: 'running', Pid: 7 },
    Config: { Labels: { a: 'b' }, Env: ['A=1', 'B=2'] },
    Mounts: [{ Source: '/h', Destination: '/c' }, { Source: '/i', Destination: '/d' }],
  };

  it('gives docker\'s output for fields, json, range, index and join', () => {
    expect(renderTemplate('{{.State.Status}} {{.State.Pid}}', document)).toBe('running 7');
    expect(renderTemplate('{{json .Config.Labels}}', document)).toBe('{"a":"b"}');
    expect(renderTemplate('{{.Config.Labels}}', document)).toBe('map[a:b]');
    expect(renderTemplate('{{.Config.Env}}', document)).toBe('[A=1 B=2]');
    expect(renderTemplate('{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}', document)).toBe('/h:/c /i:/d ');
    expect(renderTemplate('{{range .Config.Env}}{{println .}}{{end}}', document)).toBe('A=1\nB=2\n');
    expect(renderTemplate('{{index .Config.Labels "a"}}', document)).toBe('b');
    expect(renderTemplate('{{join .Config.Env ","}}', document)).toBe('A=1,B=2');
    expect(() => renderTemplate('{{range .Mounts}}x', document)).toThrow('without {{end}}');
  });
});
