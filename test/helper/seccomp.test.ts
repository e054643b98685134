// The helper's seccomp fields, as raw spec bytes: the checks before anything is made, and the install with
// its errno when the kernel refuses the program.

import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBusyboxRootfs, makeRoots, settledLeaks, type Roots } from '../support/shim.js';
import { errorFrame, runHelper, specFrame, v1 } from './run-helper.js';
import type { shim } from '../../src/spec/generated/shim.js';

let roots: Roots;
let rootfs: string;

beforeEach(async () => {
  roots = await makeRoots();
  rootfs = await makeBusyboxRootfs(join(roots.base, 'rootfs'));
});

afterEach(async () => {
  try {
    expect(await settledLeaks(roots)).toEqual([]);
  } finally {
    await roots.dispose();
  }
});

const NS = v1.NamespaceType;
/** ld [0]; ret ALLOW: a filter that allows everything. */
const ALLOW_ALL = Buffer.from([0x20, 0, 0, 0, 0, 0, 0, 0, 0x06, 0, 0, 0, 0x00, 0x00, 0xff, 0x7f]);

function spec(extra: shim.v1.ISpec): shim.v1.ISpec {
  return {
    action: v1.Action.ACTION_RUN_CONTAINER,
    containerId: 'seccomp-helper-test',
    namespaces: [{ type: NS.NAMESPACE_TYPE_MOUNT }, { type: NS.NAMESPACE_TYPE_PID }],
    rootfs: { path: rootfs },
    mounts: [{ source: 'proc', target: '/proc', fstype: 'proc' }],
    process: { args: ['grep', 'Seccomp:', '/proc/self/status'], env: ['PATH=/bin'], cwd: '/', newSession: true, noNewPrivileges: true },
    ...extra,
  };
}

describe('Spec.seccomp_filter', () => {
  it('is installed: the process runs under it', async () => {
    const result = await runHelper(specFrame(spec({ seccompFilter: ALLOW_ALL })));
    expect({ exitCode: result.exitCode, stdout: result.stdout }).toEqual({ exitCode: 0, stdout: 'Seccomp:\t2\n' });
  });

  it('refuses a filter that is not whole instructions, before anything is made', async () => {
    const result = await runHelper(specFrame(spec({ seccompFilter: ALLOW_ALL.subarray(0, 12) })));
    expect(result.exitCode).toBe(125);
    expect(errorFrame(result).error).toMatchObject({ stage: v1.Stage.STAGE_READ_SPEC, message: 'spec: seccomp_filter is 12 bytes, not 1 to 4096 instructions of 8 bytes' });
  });

  it('refuses a listener path without NEW_LISTENER, and flags without a filter', async () => {
    const listener = await runHelper(specFrame(spec({ seccompFilter: ALLOW_ALL, seccompListenerPath: '/run/agent.sock' })));
    expect(errorFrame(listener).error!.message).toBe('spec: seccomp_listener_path goes with SECCOMP_FILTER_FLAG_NEW_LISTENER');
    const flags = await runHelper(specFrame(spec({ seccompFlags: 2 })));
    expect(errorFrame(flags).error!.message).toBe('spec: seccomp flags without a filter');
  });

  it('reports the kernel refusing the program with its errno, at STAGE_SECCOMP', async () => {
    // A jump past the end: the kernel's checker refuses it (EINVAL).
    const bad = Buffer.from([0x05, 0, 0, 0, 0x10, 0, 0, 0, 0x06, 0, 0, 0, 0x00, 0x00, 0xff, 0x7f]);
    const result = await runHelper(specFrame(spec({ seccompFilter: bad })));
    expect(result.exitCode).toBe(125);
    expect(errorFrame(result).error).toMatchObject({ stage: v1.Stage.STAGE_SECCOMP, errnoValue: 22 });
    expect(errorFrame(result).error!.message).toMatch(/^install seccomp filter \(2 instructions, flags 0x0\)/);
  });
});
