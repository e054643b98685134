// OCI hooks, the pure half: config checks, the state each hook gets (runc's key order and statuses), the split
// around the pid for the helper, and how the spec carries them.

import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../../src/errors.js';
import { hookStateJson, hookStateTemplate, planHooks } from '../../src/hooks/oci-hooks.js';
import { readStartFailure } from '../../src/hooks/start-failure.js';
import { encodeRunSpec, encodeStatusForTest, STAGES, STATUS_KINDS } from '../../src/spec/encode-spec.js';
import { decodeSpec } from '../support/decode-spec.js';
import { planContainer } from '../../src/plan/plan-container.js';
import { readOciConfig } from '../../src/plan/read-oci-config.js';

const base = { ociVersion: '1.2.0', id: 'c1', bundle: '/b', annotations: { 'io.podman.x': 'y' } };

describe('planHooks', () => {
  it('keeps the kinds that have entries and drops empty ones', () => {
    const planned = planHooks({ prestart: [], poststop: [{ path: '/bin/true', timeout: 3 }] }, base);
    expect(planned?.hooks).toEqual({ poststop: [{ path: '/bin/true', args: undefined, env: undefined, timeout: 3 }] });
    expect(planHooks({ prestart: [] }, base)).toBeUndefined();
  });

  it('refuses a relative path and a timeout that is not a whole number above 0', () => {
    expect(() => planHooks({ prestart: [{ path: 'true' }] }, base)).toThrow('config.json: hooks.prestart[0].path must be an absolute path');
    expect(() => planHooks({ poststart: [{ path: '/x', timeout: 0 }] }, base)).toThrow(RuntimeError);
    expect(() => planHooks({ poststart: [{ path: '/x', timeout: 1.5 }] }, base)).toThrow(/timeout must be a whole number/);
  });

  it('is read from config.json (every kind, with args, env and timeout)', () => {
    const raw = {
      ociVersion: '1.0.2-dev',
      root: { path: 'rootfs' },
      process: { user: { uid: 0, gid: 0 }, cwd: '/', args: ['true'] },
      linux: { namespaces: [{ type: 'mount' }] },
      hooks: Object.fromEntries(
        ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'].map((kind) => [
          kind,
          [{ path: '/bin/hook', args: ['hook', kind], env: ['A=1'], timeout: 5 }],
        ]),
      ),
    };
    expect(readOciConfig(raw).warnings).toEqual([]);
  });
});

describe('the state on stdin', () => {
  it('is runtime-spec State in its key order; pid only when there is one, annotations only when set', () => {
    expect(hookStateJson(base, 'creating', 42)).toBe(
      '{"ociVersion":"1.2.0","id":"c1","status":"creating","pid":42,"bundle":"/b","annotations":{"io.podman.x":"y"}}',
    );
    expect(hookStateJson({ ...base, annotations: {} }, 'stopped', undefined)).toBe('{"ociVersion":"1.2.0","id":"c1","status":"stopped","bundle":"/b"}');
  });

  it('splits around the pid for the helper, whatever the id and annotations hold', () => {
    const tricky = { ...base, id: 'pid', annotations: { pid: '"pid":1' } };
    const { before, after } = hookStateTemplate(tricky, 'created');
    expect(JSON.parse(`${before}4242${after}`)).toEqual({ ...JSON.parse(hookStateJson(tricky, 'created', 1)), pid: 4242 });
  });
});

describe('the spec', () => {
  const host = {
    cgroupHierarchies: [{ version: 2 as const, controllers: [], mountPoint: '/sys/fs/cgroup', root: '/', ownCgroup: '/' }],
    cgroupNamespaces: true,
    lastCapability: 40,
    procKcore: false,
  };
  const plan = (hooks: object) =>
    planContainer({
      containerId: 'c1',
      bundleDir: '/b',
      host,
      config: {
        ociVersion: '1.2.0',
        root: { path: 'rootfs' },
        process: { user: { uid: 0, gid: 0 }, cwd: '/', args: ['true'], env: ['PATH=/bin'] },
        linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] },
        hooks,
      },
    });

  it('pauses only for prestart or createRuntime, and carries the two kinds the helper runs', () => {
    const none = decodeSpec(encodeRunSpec(plan({ poststop: [{ path: '/x' }] }), { debug: false }));
    expect(none.pauseForHooks).toBe(false);
    const spec = decodeSpec(
      encodeRunSpec(
        plan({ createRuntime: [{ path: '/r' }], createContainer: [{ path: '/c', args: ['c', '1'], timeout: 2 }], startContainer: [{ path: '/s' }] }),
        { debug: false, runtimeEnv: ['SHIM=1'] },
      ),
    );
    expect(spec.pauseForHooks).toBe(true);
    expect(spec.createContainerHooks?.commands).toEqual([expect.objectContaining({ path: '/c', args: ['c', '1'], env: ['SHIM=1'], timeoutSec: 2 })]);
    // runc: a startContainer hook without env gets the process's.
    expect(spec.startContainerHooks?.commands?.[0]?.env).toEqual(['PATH=/bin']);
    const state = `${Buffer.from(spec.startContainerHooks!.stateBeforePid!).toString()}7${Buffer.from(spec.startContainerHooks!.stateAfterPid!).toString()}`;
    expect(JSON.parse(state)).toMatchObject({ id: 'c1', status: 'created', pid: 7, bundle: '/b' });
  });
});

describe('a startContainer failure on the start FIFO', () => {
  it('reads "E" + the ERROR frame as runc words it', () => {
    const frame = encodeStatusForTest({
      kind: STATUS_KINDS.STATUS_KIND_ERROR,
      error: { stage: STAGES.STAGE_START_CONTAINER_HOOKS, errnoValue: 0, message: 'hook #1: exit status 3, stdout: , stderr: no', path: '/s' },
    });
    const header = Buffer.alloc(5);
    header.write('E');
    header.writeUInt32LE(frame.length, 1);
    const error = readStartFailure(Buffer.concat([header, Buffer.from(frame)]));
    expect(error.message).toBe('error running startContainer hook #1: exit status 3, stdout: , stderr: no');
    expect(readStartFailure(Buffer.from('Ex')).message).toMatch(/unreadable/);
  });
});
