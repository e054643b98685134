// planExec: a container's state + its config + the exec request -> the helper's plan. Pure, so no root.

import { describe, expect, it } from 'vitest';
import { planDockerConfig } from '../../src/plan/docker-config.js';
import { planExec, parseUserFlag, type ExecRequest } from '../../src/plan/plan-exec.js';
import type { OciProcess } from '../../src/plan/oci-config.js';
import type { ContainerState } from '../../src/state/state-store.js';
import { hostFacts } from './fixtures/host.js';

const config = planDockerConfig({
  containerId: 'c1',
  rootfs: '/images/busybox',
  command: ['sleep', '1000'],
  imageCommand: [],
  imageEnv: ['PATH=/bin:/usr/bin', 'LANG=C'],
  env: ['MODE=prod'],
  volumes: [],
  cgroupNamespace: true,
});

function state(overrides: Partial<ContainerState> = {}): ContainerState {
  return {
    ociVersion: '1.2.0', id: 'c1', status: 'running', pid: 4242, pidStartTime: '99', bundle: '/run/shim/c1',
    rootfs: '/data/c1/rootfs', created: '2026-01-01T00:00:00Z', cgroupDirs: ['/sys/fs/cgroup/memory/shim/c1', '/sys/fs/cgroup/pids/shim/c1'],
    autoRemove: true, ...overrides,
  };
}

function request(overrides: Partial<ExecRequest> = {}): ExecRequest {
  return { containerId: 'c1', args: ['sh'], env: [], addCapabilities: [], noNewPrivileges: false, tty: false, detach: false, preserveFds: 0, ...overrides };
}

describe('planExec', () => {
  it("targets the init's pid and cgroups, with the container's process as the default", () => {
    const plan = planExec(state(), config, request(), hostFacts());
    expect(plan.targetPid).toBe(4242);
    expect(plan.cgroupProcs).toEqual(['/sys/fs/cgroup/memory/shim/c1/cgroup.procs', '/sys/fs/cgroup/pids/shim/c1/cgroup.procs']);
    expect(plan.process.args).toEqual(['sh']);
    expect(plan.process.env).toEqual(expect.arrayContaining(['PATH=/bin:/usr/bin', 'MODE=prod']));
    expect(plan.process.capabilities.bounding).toBeGreaterThan(0);
    expect(plan.process.newSession).toBe(true);
    expect(plan.detach).toBe(false);
  });

  it('puts -e over the environment in place, and takes -w, -u, --cap and --no-new-privs', () => {
    const plan = planExec(state(), config, request({
      env: ['MODE=dev', 'EXTRA=1'], cwd: '/tmp', user: { uid: 1000 }, addCapabilities: ['sys_ptrace'], noNewPrivileges: true,
    }), hostFacts());
    expect(plan.process.env.filter((entry) => entry.startsWith('MODE='))).toEqual(['MODE=dev']);
    expect(plan.process.env.at(-1)).toBe('EXTRA=1');
    expect(plan.process.cwd).toBe('/tmp');
    expect([plan.process.uid, plan.process.gid]).toEqual([1000, 0]);
    const ptrace = 2 ** 19;
    expect(Math.floor(plan.process.capabilities.effective / ptrace) % 2).toBe(1);
    expect(Math.floor(plan.process.capabilities.bounding / ptrace) % 2).toBe(1);
    expect(plan.process.noNewPrivileges).toBe(true);
  });

  it('refuses a stopped container, one still being created, and an unknown capability', () => {
    expect(() => planExec(state({ status: 'stopped', pid: 0 }), config, request(), hostFacts())).toThrow('cannot exec in a stopped container');
    expect(() => planExec(state({ status: 'creating' }), config, request(), hostFacts())).toThrow(/still being created/);
    expect(() => planExec(state(), config, request({ addCapabilities: ['CAP_NOPE'] }), hostFacts())).toThrow(/--cap CAP_NOPE/);
  });

  it('refuses a detached terminal without a console socket, and a console socket without a terminal', () => {
    expect(() => planExec(state(), config, request({ tty: true, detach: true }), hostFacts())).toThrow(/--console-socket/);
    expect(() => planExec(state(), config, request({ consoleSocket: '/tmp/s' }), hostFacts())).toThrow(/--tty/);
    const plan = planExec(state(), config, request({ tty: true, detach: true, consoleSocket: '/tmp/s' }), hostFacts());
    expect(plan.process.terminal).toBe(true);
  });

  it('takes a process file as the whole process; a command on the command line still wins', () => {
    const processFile: OciProcess = { user: { uid: 5, gid: 6 }, args: ['top'], env: ['ONLY=1'], cwd: '/srv' };
    const plan = planExec(state(), config, request({ args: [], processFile }), hostFacts());
    expect(plan.process).toMatchObject({ args: ['top'], env: ['ONLY=1'], cwd: '/srv', uid: 5, gid: 6, newSession: true });
    expect(plan.process.capabilities.bounding).toBe(0);
    expect(planExec(state(), config, request({ args: ['ls'], processFile }), hostFacts()).process.args).toEqual(['ls']);
  });

  it('needs a command', () => {
    expect(() => planExec(state(), config, request({ args: [] }), hostFacts())).toThrow(/exec needs a command/);
  });
});

describe('parseUserFlag', () => {
  it('reads UID and UID:GID, numbers only', () => {
    expect(parseUserFlag('1000')).toEqual({ uid: 1000, gid: undefined });
    expect(parseUserFlag('1000:50')).toEqual({ uid: 1000, gid: 50 });
    expect(() => parseUserFlag('www-data')).toThrow(/expected UID or UID:GID/);
  });
});
