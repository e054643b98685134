// The plan -> Spec bytes -> decoded Spec round trip, and Status frames -> HelperStatus.

import { describe, expect, it } from 'vitest';
import { decodeStatus, encodeRunSpec, encodeStatusForTest, STAGES, STATUS_KINDS, stageName } from '../../src/spec/encode-spec.js';
import { decodeSpec } from '../support/decode-spec.js';
import { planDockerConfig } from '../../src/plan/docker-config.js';
import { planContainer } from '../../src/plan/plan-container.js';
import * as k from '../../src/plan/kernel-constants.js';
import { hostFacts } from './fixtures/host.js';

function dockerPlan() {
  const config = planDockerConfig({
    containerId: 'web1',
    rootfs: '/images/busybox/rootfs',
    command: ['sh', '-c', 'exit 7'],
    imageCommand: ['sh'],
    imageEnv: [],
    env: ['A=1'],
    volumes: [{ source: '/srv', destination: '/srv', readonly: true }],
    cgroupNamespace: true,
  });
  config.process!.rlimits!.push({ type: 'RLIMIT_CORE', soft: 0, hard: 18446744073709551615 });
  config.process!.oomScoreAdj = -500;
  return planContainer({
    containerId: 'web1',
    config,
    bundleDir: '/run/shim/web1',
    overlay: { mountPoint: '/c/web1/rootfs', upperDir: '/c/web1/upper', workDir: '/c/web1/work' },
    cgroupParent: 'shim',
    host: hostFacts(),
  });
}

describe('encodeRunSpec', () => {
  it('round-trips every part of the plan', () => {
    const plan = dockerPlan();
    const spec = decodeSpec(encodeRunSpec(plan, { debug: true }));
    expect(spec.action).toBe(1);
    expect(spec.containerId).toBe('web1');
    expect(spec.debug).toBe(true);
    // NAMESPACE_TYPE_PID 2, NET 5, IPC 4, UTS 3, MOUNT 1, CGROUP 6
    expect(spec.namespaces.map((ns) => [ns.type, ns.path])).toEqual([[2, ''], [5, ''], [4, ''], [3, ''], [1, ''], [6, '']]);
    expect(spec.cgroupProcs).toContain('/sys/fs/cgroup/memory/shim/web1/cgroup.procs');
    expect(spec.cgroupProcs).toHaveLength(10);
    expect(spec.rootfs).toMatchObject({
      path: '/c/web1/rootfs',
      lowerDirs: ['/images/busybox/rootfs'],
      upperDir: '/c/web1/upper',
      workDir: '/c/web1/work',
      readonly: false,
      propagation: k.MS_SLAVE,
      noPivot: false,
    });
    expect(spec.mounts.map((m) => ({ source: m.source, target: m.target, fstype: m.fstype, flags: m.flags, data: m.data, propagation: m.propagation }))).toEqual(
      plan.mounts.map(({ origin: _origin, ...mount }) => mount),
    );
    expect(spec.devices.map((d) => ({ path: d.path, mode: d.mode, major: d.major, minor: d.minor }))).toEqual(
      plan.devices.map(({ path, mode, major, minor }) => ({ path, mode, major, minor })),
    );
    expect(spec.symlinks.map((s) => [s.target, s.path])).toEqual(plan.symlinks.map((s) => [s.target, s.path]));
    expect(spec.maskedPaths).toEqual(plan.maskedPaths);
    expect(spec.readonlyPaths).toEqual(plan.readonlyPaths);
    expect(spec.hostname).toBe('web1');
    expect(spec.loopbackUp).toBe(true);
    expect(spec.finish).toBe(0);
    expect(spec.monitor).toBe(0);
    const process = spec.process!;
    expect(process.args).toEqual(['sh', '-c', 'exit 7']);
    expect(process.env).toContain('A=1');
    expect(process.cwd).toBe('/');
    expect(process.capabilities).toMatchObject({ bounding: 0xa80425fb, effective: 0xa80425fb, permitted: 0xa80425fb, inheritable: 0, ambient: 0 });
    expect(process.noNewPrivileges).toBe(true);
    expect(process.newSession).toBe(true);
    expect(process.terminal).toBe(false);
    expect(process.hasUmask).toBe(false);
    expect(process.hasOomScoreAdj).toBe(true);
    expect(process.oomScoreAdj).toBe(-500);
  });

  it('sends RLIM_INFINITY as all 64 bits set', () => {
    const spec = decodeSpec(encodeRunSpec(dockerPlan(), { debug: false }));
    const core = spec.process!.rlimits!.find((r) => r.resource === 4)!;
    expect(core.soft).toBe(0);
    // 2^64-1 decoded into a JS number rounds to 2^64; the bytes on the wire are ff ff ff ff ff ff ff ff ff 01.
    expect(core.hard).toBe(2 ** 64);
    const bytes = Buffer.from(encodeRunSpec(dockerPlan(), { debug: false }));
    expect(bytes.includes(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(true);
  });

  it('carries the umask only when the config sets one', () => {
    const plan = dockerPlan();
    plan.process.umask = 0o027;
    const process = decodeSpec(encodeRunSpec(plan, { debug: false })).process!;
    expect(process.hasUmask).toBe(true);
    expect(process.umask).toBe(0o027);
  });
});

describe('decodeStatus', () => {
  it('reads each status kind', () => {
    const stage = encodeStatusForTest({ kind: STATUS_KINDS.STATUS_KIND_STAGE, stage: STAGES.STAGE_PIVOT_ROOT, elapsedNs: 1500000 });
    expect(decodeStatus(stage)).toEqual({ kind: 'stage', stage: 'pivot_root', elapsedNs: 1500000 });
    expect(decodeStatus(encodeStatusForTest({ kind: STATUS_KINDS.STATUS_KIND_STARTED, pid: 4242 }))).toMatchObject({ kind: 'started', pid: 4242 });
    expect(decodeStatus(encodeStatusForTest({ kind: STATUS_KINDS.STATUS_KIND_EXITED, termSignal: 9 }))).toMatchObject({
      kind: 'exited',
      exitCode: 0,
      termSignal: 9,
    });
    const error = encodeStatusForTest({
      kind: STATUS_KINDS.STATUS_KIND_ERROR,
      error: { stage: STAGES.STAGE_EXEC, errnoValue: 2, message: 'exec nope', path: 'nope' },
    });
    expect(decodeStatus(error)).toMatchObject({ kind: 'error', error: { stage: 'exec', errno: 2, message: 'exec nope', path: 'nope' } });
  });

  it('refuses an unknown kind and garbage', () => {
    expect(() => decodeStatus(encodeStatusForTest({ kind: 99 as never }))).toThrow(/expected a status kind, got 99/);
    expect(() => decodeStatus(Buffer.from([0xff, 0xff, 0xff]))).toThrow(/malformed status frame/);
  });

  it('names stages without their prefix', () => {
    expect(stageName(STAGES.STAGE_MOUNTS)).toBe('mounts');
    expect(stageName(77)).toBe('stage 77');
  });
});
