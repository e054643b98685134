// Config fields beyond the core against real containers: personality(2), scheduler and io priority, a uts
// namespace joined by path with a hostname, and SELinux/AppArmor labels ignored on this host (said with --debug).

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shimToFiles } from '../support/files-stdio.js';
import { makeBundle, makeRoots, settledLeaks, shim, type Roots } from '../support/shim.js';

let roots: Roots;

beforeEach(async () => {
  roots = await makeRoots();
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

async function bundle(args: string[], mutate: (config: any) => void = () => {}): Promise<string> {
  return makeBundle(join(roots.base, `bundle-${Math.random().toString(36).slice(2, 8)}`), (config) => {
    config.process.args = args;
    mutate(config);
  });
}

describe('config fields', () => {
  it('runs under linux.personality LINUX32 (uname says i686) and with ADDR_NO_RANDOMIZE', async () => {
    const linux32 = await shim(roots, ['run', '--bundle', await bundle(['uname', '-m'], (c) => (c.linux.personality = { domain: 'LINUX32' })), 'p1']);
    expect(linux32.exitCode, linux32.stderr).toBe(0);
    expect(linux32.stdout).toBe('i686\n');
    // /proc/self/personality is the value in hex.
    const flags = await shim(roots, ['run', '--bundle', await bundle(['cat', '/proc/self/personality'], (c) => (c.linux.personality = { domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] })), 'p2']);
    expect(flags.stdout).toBe('00040000\n');
  });

  it('runs under process.scheduler SCHED_BATCH nice 5 and process.ioPriority best-effort 4', async () => {
    const dir = await bundle(['sh', '-c', 'cat /proc/self/stat; ionice -p $$'], (c) => {
      c.process.scheduler = { policy: 'SCHED_BATCH', nice: 5 };
      c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 4 };
    });
    const result = await shim(roots, ['run', '--bundle', dir, 's1']);
    expect(result.exitCode, result.stderr).toBe(0);
    const [stat, ionice] = result.stdout.trim().split('\n');
    // proc(5): after the ")" of comm, field 19 is nice and field 41 the policy (SCHED_BATCH is 3).
    const fields = stat!.slice(stat!.lastIndexOf(')') + 2).split(' ');
    expect(fields[19 - 3]).toBe('5');
    expect(fields[41 - 3]).toBe('3');
    expect(ionice).toBe('best-effort: prio 4');
  });

  it('sets the hostname in a uts namespace joined by path, as runc does', async () => {
    expect((await shimToFiles(roots, ['create', '--bundle', await bundle(['sleep', '30'], (c) => (c.hostname = 'first')), 'u1'])).exitCode).toBe(0);
    const pid = JSON.parse((await shim(roots, ['state', 'u1'])).stdout).pid;
    const joiner = await bundle(['hostname'], (c) => {
      c.hostname = 'second';
      c.linux.namespaces = c.linux.namespaces.map((ns: any) => (ns.type === 'uts' ? { type: 'uts', path: `/proc/${pid}/ns/uts` } : ns));
    });
    const result = await shim(roots, ['run', '--bundle', joiner, 'u2']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('second\n');
    const seen = await shim(roots, ['exec', 'u1', 'hostname']);
    expect(seen.stdout).toBe('second\n');
  });

  it('ignores SELinux and AppArmor labels on a host without them, and says so with --debug', async () => {
    const dir = await bundle(['true'], (c) => {
      c.process.selinuxLabel = 'system_u:system_r:container_t:s0';
      c.linux.mountLabel = 'system_u:object_r:container_file_t:s0';
      c.process.apparmorProfile = 'containers-default-0.50.1';
    });
    const result = await shim(roots, ['run', '--bundle', dir, 'l1'], { globalArgs: ['--debug'] });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('shim: debug: config.json: process.apparmorProfile containers-default-0.50.1 ignored: this host has no AppArmor (as crun)');
    expect(result.stderr).toContain('shim: debug: config.json: process.selinuxLabel system_u:system_r:container_t:s0 ignored: this host has no SELinux (as crun)');
  });
});
