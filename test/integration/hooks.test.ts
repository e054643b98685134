// OCI hooks against real containers: one test per kind, each checking the state its hook got on stdin (status,
// id, pid, bundle, annotations) and the mount namespace it ran in (the host's or the container's), on the
// runc-style create/start/delete and on run; then a failing hook of each kind, timeouts, args and env.

import { chmod, mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shimToFiles, withoutWarnings } from '../support/files-stdio.js';
import { makeBundle, makeRoots, settledLeaks, shim, type Roots } from '../support/shim.js';

type Kind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';
const KINDS: Kind[] = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

let roots: Roots;
/** Where every hook writes (bound at /out in the container for startContainer, which runs inside). */
let out: string;
/** The hook on the host; startContainer's is /hook.sh in the rootfs. */
let hostHook: string;

beforeEach(async () => {
  roots = await makeRoots();
  out = join(roots.base, 'out');
  await mkdir(out);
  hostHook = join(roots.base, 'hook.sh');
  await writeFile(hostHook, hookScript(out));
  await chmod(hostHook, 0o755);
});

afterEach(async () => {
  try {
    for (const id of await readdir(roots.root).catch(() => [] as string[])) {
      if (!id.startsWith('.')) await shim(roots, ['delete', '--force', id]);
    }
    expect(await settledLeaks(roots)).toEqual([]);
  } finally {
    await roots.dispose();
  }
});

/** Records what the hook got and where it ran: $1 is its kind, $2 what it exits with. */
function hookScript(dir: string): string {
  return `#!/bin/sh
cat > ${dir}/$1.json
readlink /proc/self/ns/mnt > ${dir}/$1.ns
pwd > ${dir}/$1.cwd
echo "$1" >> ${dir}/order
echo "$*|$HOOK_ENV" > ${dir}/$1.argv
[ -n "$3" ] && sleep "$3"
[ "\${2:-0}" = 0 ] || echo "$1 says no" >&2
exit \${2:-0}
`;
}

interface HookOptions {
  exit?: number;
  sleep?: number;
  timeout?: number;
  env?: string[];
}

async function bundle(hooks: Partial<Record<Kind, HookOptions>>, script = 'sleep 2'): Promise<string> {
  const dir = await makeBundle(join(roots.base, `bundle-${Math.random().toString(36).slice(2, 8)}`), (config) => {
    config.process.args = ['sh', '-c', script];
    config.root.readonly = false;
    config.annotations = { 'io.podman.annotations.autoremove': 'FALSE', 'org.example/x': 'y' };
    config.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
    config.hooks = {};
    for (const [kind, options] of Object.entries(hooks) as [Kind, HookOptions][]) {
      const args = ['hook', kind, String(options.exit ?? 0), ...(options.sleep ? [String(options.sleep)] : [])];
      config.hooks[kind] = [{ path: kind === 'startContainer' ? '/hook.sh' : hostHook, args, env: options.env, timeout: options.timeout }];
    }
  });
  await writeFile(join(dir, 'rootfs/hook.sh'), hookScript('/out'));
  await chmod(join(dir, 'rootfs/hook.sh'), 0o755);
  return dir;
}

async function received(kind: Kind): Promise<{ state: any; mntNs: string; cwd: string; argv: string }> {
  return {
    state: JSON.parse(await readFile(join(out, `${kind}.json`), 'utf8')),
    mntNs: (await readFile(join(out, `${kind}.ns`), 'utf8')).trim(),
    cwd: (await readFile(join(out, `${kind}.cwd`), 'utf8')).trim(),
    argv: (await readFile(join(out, `${kind}.argv`), 'utf8')).trim(),
  };
}

const ran = (kind: Kind) => existsSync(join(out, `${kind}.json`));
const hostMntNs = () => readlink('/proc/self/ns/mnt');

async function create(dir: string, id: string) {
  return shimToFiles(roots, ['create', '--bundle', dir, id]);
}

async function pidOf(id: string): Promise<number> {
  return JSON.parse((await shim(roots, ['state', id])).stdout).pid;
}

function expectState(state: any, id: string, dir: string, status: string, pid: number | undefined): void {
  expect(state).toEqual({
    ociVersion: '1.2.0',
    id,
    status,
    ...(pid === undefined ? {} : { pid }),
    bundle: dir,
    annotations: { 'io.podman.annotations.autoremove': 'FALSE', 'org.example/x': 'y' },
  });
}

describe('each kind, on create/start/delete', () => {
  for (const kind of ['prestart', 'createRuntime'] as const) {
    it(`runs ${kind} at create, in the runtime's mount namespace, with status creating and the init's host pid`, async () => {
      const dir = await bundle({ [kind]: {} });
      expect((await create(dir, 'h1')).exitCode).toBe(0);
      const pid = await pidOf('h1');
      const got = await received(kind);
      expectState(got.state, 'h1', dir, 'creating', pid);
      expect(got.mntNs).toBe(await hostMntNs());
      expect(got.mntNs).not.toBe(await readlink(`/proc/${pid}/ns/mnt`));
    });
  }

  it('runs createContainer at create, in the container\'s mount namespace before pivot_root (cwd: the rootfs)', async () => {
    const dir = await bundle({ createContainer: {} });
    expect((await create(dir, 'h2')).exitCode).toBe(0);
    const pid = await pidOf('h2');
    const got = await received('createContainer');
    expectState(got.state, 'h2', dir, 'creating', pid);
    expect(got.mntNs).toBe(await readlink(`/proc/${pid}/ns/mnt`));
    expect(got.mntNs).not.toBe(await hostMntNs());
    // Before pivot_root the host's paths are still in view: the hook stands in the rootfs by its host path.
    expect(got.cwd).toBe(join(dir, 'rootfs'));
  });

  it('runs startContainer at start (not create), inside the container, with status created', async () => {
    const dir = await bundle({ startContainer: {} });
    expect((await create(dir, 'h3')).exitCode).toBe(0);
    expect(ran('startContainer')).toBe(false);
    const pid = await pidOf('h3');
    expect((await shim(roots, ['start', 'h3'])).exitCode).toBe(0);
    const got = await received('startContainer');
    expectState(got.state, 'h3', dir, 'created', pid);
    expect(got.mntNs).toBe(await readlink(`/proc/${pid}/ns/mnt`));
    // Its path resolved inside the container: /hook.sh exists only in the rootfs.
    expect(got.argv).toBe('startContainer 0|');
  });

  it('runs poststart at start, once the program runs, in the runtime\'s namespace, with status running', async () => {
    const dir = await bundle({ poststart: {} }, 'echo started > /out/program; sleep 2');
    expect((await create(dir, 'h4')).exitCode).toBe(0);
    expect(ran('poststart')).toBe(false);
    const pid = await pidOf('h4');
    expect((await shim(roots, ['start', 'h4'])).exitCode).toBe(0);
    const got = await received('poststart');
    expectState(got.state, 'h4', dir, 'running', pid);
    expect(got.mntNs).toBe(await hostMntNs());
  });

  it('runs poststop at delete, once the container is gone, with status stopped and no pid', async () => {
    const dir = await bundle({ poststop: {} }, 'true');
    expect((await create(dir, 'h5')).exitCode).toBe(0);
    expect((await shim(roots, ['start', 'h5'])).exitCode).toBe(0);
    expect(ran('poststop')).toBe(false);
    expect((await shim(roots, ['delete', '--force', 'h5'])).exitCode).toBe(0);
    const got = await received('poststop');
    expectState(got.state, 'h5', dir, 'stopped', undefined);
    expect(got.mntNs).toBe(await hostMntNs());
    expect(await readdir(roots.root)).toEqual([]);
  });
});

describe('all six', () => {
  it('run in the spec\'s order on a foreground run --bundle, with args and env as given', async () => {
    const all = Object.fromEntries(KINDS.map((kind) => [kind, { env: [`HOOK_ENV=${kind}-env`] }]));
    const dir = await bundle(all, 'true');
    const result = await shim(roots, ['run', '--bundle', dir, 'r1']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect((await readFile(join(out, 'order'), 'utf8')).trim().split('\n')).toEqual(KINDS);
    for (const kind of KINDS) {
      const got = await received(kind);
      expect(got.state.status).toBe({ prestart: 'creating', createRuntime: 'creating', createContainer: 'creating', startContainer: 'created', poststart: 'running', poststop: 'stopped' }[kind]);
      expect(got.argv).toBe(`${kind} 0|${kind}-env`);
    }
    expect((await received('poststop')).state.pid).toBeUndefined();
  });
});

describe('failures', () => {
  for (const kind of ['prestart', 'createRuntime', 'createContainer'] as const) {
    it(`a failing ${kind} hook fails create with runc's words and leaves nothing`, async () => {
      const dir = await bundle({ [kind]: { exit: 3 }, poststop: {} });
      const result = await create(dir, 'f1');
      expect(result.exitCode).toBe(1);
      expect(withoutWarnings(result.stderr)).toBe(`shim: create f1: error running ${kind} hook #0: exit status 3, stdout: , stderr: ${kind} says no\n`);
      expect(await readdir(roots.root)).toEqual([]);
      // The failed create was a delete: poststop ran.
      expect((await received('poststop')).state.status).toBe('stopped');
    });
  }

  it('a failing startContainer hook fails start with its words, and the container is stopped', async () => {
    const dir = await bundle({ startContainer: { exit: 4 } });
    expect((await create(dir, 'f2')).exitCode).toBe(0);
    const result = await shim(roots, ['start', 'f2']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe('shim: start f2: error running startContainer hook #0: exit status 4, stdout: , stderr: startContainer says no\n');
    expect(JSON.parse((await shim(roots, ['state', 'f2'])).stdout).status).toBe('stopped');
    expect((await shim(roots, ['delete', 'f2'])).exitCode).toBe(0);
  });

  it('a failing poststart hook fails start and kills the container (runtime-spec 1.3, runc)', async () => {
    const dir = await bundle({ poststart: { exit: 5 } }, 'sleep 30');
    expect((await create(dir, 'f3')).exitCode).toBe(0);
    const result = await shim(roots, ['start', 'f3']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe('shim: start f3: error running poststart hook #0: exit status 5, stdout: , stderr: poststart says no\n');
    expect(JSON.parse((await shim(roots, ['state', 'f3'])).stdout).status).toBe('stopped');
  });

  it('a failing poststop hook is a warning: delete goes on and succeeds', async () => {
    const dir = await bundle({ poststop: { exit: 6 } }, 'true');
    expect((await create(dir, 'f4')).exitCode).toBe(0);
    const result = await shim(roots, ['delete', 'f4']);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('shim: warning: error running poststop hook #0: exit status 6, stdout: , stderr: poststop says no\n');
    expect(await readdir(roots.root)).toEqual([]);
  });

  it('kills a hook past its timeout, in the shim and in the helper', async () => {
    for (const kind of ['createRuntime', 'createContainer'] as const) {
      const dir = await bundle({ [kind]: { sleep: 20, timeout: 1 } });
      const started = Date.now();
      const result = await create(dir, 't1');
      expect(result.exitCode).toBe(1);
      expect(withoutWarnings(result.stderr)).toBe(`shim: create t1: error running ${kind} hook #0: hook ran past specified timeout of 1s\n`);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(await readdir(roots.root)).toEqual([]);
    }
  });
});

describe('features', () => {
  it('lists the six hooks', async () => {
    const features = JSON.parse((await shim(roots, ['features'])).stdout);
    expect(features.hooks).toEqual(KINDS);
  });
});
