// What this build of shim does, read from `dist/shim features` (and, where the OCI features document has no
// field for it, from one small probe), so the interop tier can gate the scenarios that need another branch's
// feature: they are skipped with a printed reason until that feature is there, and run as soon as it is.
// Nothing here fakes a feature: a gate only decides whether a real scenario runs.

import { execa } from 'execa';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { shimBin, testPrefix } from './shim.js';

export interface ShimFeatures {
  hooks?: string[];
  linux?: {
    namespaces?: string[];
    seccomp?: { enabled?: boolean };
    mountExtensions?: { idmap?: { enabled?: boolean } };
  };
  annotations?: Record<string, string>;
}

let cached: Promise<ShimFeatures> | undefined;

export function shimFeatures(): Promise<ShimFeatures> {
  cached ??= execa(shimBin, ['features']).then((result) => JSON.parse(String(result.stdout)) as ShimFeatures);
  return cached;
}

/** A gate: `reason` is printed when the scenario is skipped. */
export interface Gate {
  ok: boolean;
  reason: string;
}

/** seccomp (issue 11): podman then runs with its default profile instead of seccomp=unconfined. */
export async function seccompGate(): Promise<Gate> {
  const features = await shimFeatures();
  return { ok: features.linux?.seccomp?.enabled === true, reason: 'shim features: linux.seccomp.enabled is not true (the seccomp branch)' };
}

/** OCI hooks of the given kinds (the oci-fields branch). */
export async function hooksGate(...kinds: string[]): Promise<Gate> {
  const hooks = (await shimFeatures()).hooks ?? [];
  const missing = kinds.filter((kind) => !hooks.includes(kind));
  return { ok: missing.length === 0, reason: `shim features: hooks lacks ${missing.join(', ')} (the oci-fields branch)` };
}

/** User namespaces with uid/gid mappings (the userns branch). */
export async function userNamespaceGate(): Promise<Gate> {
  const namespaces = (await shimFeatures()).linux?.namespaces ?? [];
  return { ok: namespaces.includes('user'), reason: 'shim features: linux.namespaces lacks user (the userns branch)' };
}

let executableCheck: Promise<Gate> | undefined;

/**
 * runc's create-time check that the process binary exists (the oci-fields branch). The features document has
 * no field for it, so this asks shim itself once: `create` of a bundle whose process is /nonexistent must
 * fail, naming it. A throwaway root; the container is deleted whatever happens.
 */
export function missingExecutableGate(): Promise<Gate> {
  executableCheck ??= (async () => {
    const base = await mkdtemp(`/tmp/${testPrefix}probe-`);
    const id = 'missing-exec-probe';
    // Each test file (a process of its own) probes once: a cgroup parent per probe keeps two from colliding.
    const cgroupParent = base.split('/').pop()!;
    try {
      const bundle = join(base, 'bundle');
      await mkdir(join(bundle, 'rootfs'), { recursive: true });
      await execa('runc', ['spec', '--bundle', bundle]);
      const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'));
      config.process.terminal = false;
      config.process.args = ['/nonexistent'];
      config.linux.namespaces = config.linux.namespaces.filter((ns: { type: string }) => ns.type !== 'network');
      await writeFile(join(bundle, 'config.json'), JSON.stringify(config));
      // The init inherits create's stdio: a pipe would keep execa waiting for as long as the container lives.
      const errFile = join(base, 'create.err');
      const errFd = openSync(errFile, 'w');
      const created = await execa(shimBin, ['--root', join(base, 'run'), 'create', '--bundle', bundle, id], {
        reject: false, stdio: ['ignore', 'ignore', errFd] as never, env: { SHIM_CGROUP_PARENT: cgroupParent, SHIM_TEST_TAG: base }, timeout: 30_000,
      }).finally(() => closeSync(errFd));
      const stderr = await readFile(errFile, 'utf8');
      await execa(shimBin, ['--root', join(base, 'run'), 'delete', '--force', id], { reject: false, env: { SHIM_CGROUP_PARENT: cgroupParent } });
      const refused = created.exitCode !== 0 && /nonexistent/.test(stderr);
      return { ok: refused, reason: 'shim create of a bundle whose process is /nonexistent succeeds (the oci-fields branch adds runc\'s create-time check)' };
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  })();
  return executableCheck;
}

/** Skips the current test with the gate's reason printed, when the gate is closed. */
export function skipUnless(gate: Gate, context: { skip: (note?: string) => void }, what: string): void {
  if (gate.ok) return;
  console.log(`interop: skipped "${what}": ${gate.reason}`);
  context.skip(gate.reason);
}
