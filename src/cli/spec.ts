// `shim spec [--bundle DIR] [--rootless]` writes a default config.json as runc spec does; `shim features`
// prints the OCI features document (features.md), saying only what shim really implements.

import { writeFile } from '../host/fs-async.js';
import { join, resolve } from 'node:path';
import { STATE_OCI_VERSION } from '../container/run-container.js';
import { RuntimeError, hasErrnoCode, systemError } from '../errors.js';
import { readHostFacts } from '../host/read-host-facts.js';
import { planDefaultSpec, planRootlessSpec } from '../plan/default-spec.js';
import { CAPABILITY_NUMBERS } from '../plan/kernel-constants.js';
import { supportedMountOptions } from '../plan/mount-options.js';
import { seccompFeatures } from '../seccomp/features.js';
import { MEMORY_POLICY_FLAGS, MEMORY_POLICY_MODES } from '../plan/other-fields.js';
import { release } from 'node:os';
import type { CliEnvironment } from './main.js';

export async function specVerb(bundle: string | undefined, rootless: boolean, cli: CliEnvironment): Promise<number> {
  const dir = resolve(cli.cwd, bundle ?? '.');
  const path = join(dir, 'config.json');
  let spec = planDefaultSpec(STATE_OCI_VERSION);
  if (rootless) spec = planRootlessSpec(spec, process.geteuid?.() ?? 0, process.getegid?.() ?? 0);
  try {
    // 'wx': never overwrite, as runc ("File config.json exists. Remove it first").
    await writeFile(path, `${JSON.stringify(spec, null, '\t')}\n`, { flag: 'wx', mode: 0o666 });
  } catch (error) {
    if (hasErrnoCode(error, 'EEXIST')) throw new RuntimeError('already-exists', `${path} exists: remove it first`);
    throw systemError(error, 'write', { path });
  }
  return 0;
}

export async function featuresVerb(version: string, cli: CliEnvironment): Promise<number> {
  const host = await readHostFacts();
  const capabilities = Object.entries(CAPABILITY_NUMBERS)
    .filter(([, number]) => number <= host.lastCapability)
    .sort(([, a], [, b]) => a - b)
    .map(([name]) => name);
  const features = {
    ociVersionMin: '1.0.0',
    // readOciConfig accepts 1.0.x to 1.3.x.
    ociVersionMax: '1.3.0',
    // src/hooks/: each where and when runtime-spec 1.3 says.
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: supportedMountOptions(),
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'],
      capabilities,
      // systemd: false: --systemd-cgroup takes a slice:prefix:name path but makes it through cgroupfs.
      // rdma: rdma.max is written where the host has the controller (src/plan/other-fields.ts).
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: true },
      seccomp: seccompFeatures(host.seccompActions ?? [], release()),
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      // open_tree + mount_setattr(MOUNT_ATTR_IDMAP), made by the helper's monitor (src/userns/, helper-c/idmap.c).
      mountExtensions: { idmap: { enabled: true } },
      // runtime-spec 1.2's features, as runc 1.3/1.4 list them (src/plan/other-fields.ts, src/network/net-devices.ts).
      netDevices: { enabled: true },
      memoryPolicy: { modes: MEMORY_POLICY_MODES, flags: MEMORY_POLICY_FLAGS },
    },
    annotations: {
      'io.github.shim.version': version,
      // v2 has no devices files: its device control is an eBPF program, which shim does not load.
      'io.github.shim.cgroup.v2.devices': 'not enforced',
    },
  };
  cli.stdout(`${JSON.stringify(features, null, 4)}\n`);
  return 0;
}
