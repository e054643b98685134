// podman 4.3 (Debian's) with dist/shim as its OCI runtime: the calls conmon and podman really make (create
// with --pid-file, start, state, kill, delete --force, exec --process --detach [--tty --console-socket], pause,
// resume, --log-format json), checked through what the podman user sees and through the host's own files.
// Every scenario ends with nothing left: no container, conmon, cgroup, mount or shim state of ours.

import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hooksGate, missingExecutableGate, seccompGate, skipUnless, userNamespaceGate } from '../support/features.js';
import { BUSYBOX, ENV_IMAGE, loadImages, makePodman, type Podman, type RuntimeChoice } from '../support/podman.js';
import { shimBin, waitFor } from '../support/shim.js';

let p: Podman;

beforeAll(async () => {
  p = await makePodman();
  await loadImages(p);
}, 120_000);

afterEach(async () => {
  // Leaks first (a scenario that forgot a container is a failure), then clean, so the next starts empty.
  const leaks = await waitFor('the scenario to settle', async () => {
    const found = await p.leaks();
    return found.length === 0 ? found : undefined;
  }, 5_000).catch(async () => p.leaks());
  await p.removeAll();
  expect(leaks).toEqual([]);
});

afterAll(async () => {
  await p?.dispose();
});

const ok = (result: { exitCode: number; stderr: string }) => expect(result.exitCode, result.stderr).toBe(0);

describe.each<RuntimeChoice>(['path', 'runc'])('podman run --rm, runtime by %s', (runtime) => {
  it('passes output and exit codes through: 0, 3, 126 (not executable), 127 (not found)', async () => {
    expect(await p.run(['--rm', BUSYBOX, 'echo', 'hello from shim'], { runtime })).toMatchObject({ exitCode: 0, stdout: 'hello from shim\n' });
    expect((await p.run(['--rm', BUSYBOX, 'sh', '-c', 'exit 3'], { runtime })).exitCode).toBe(3);
    expect((await p.run(['--rm', BUSYBOX, '/etc/passwd'], { runtime })).exitCode).toBe(126);
    expect((await p.run(['--rm', BUSYBOX, '/nonexistent'], { runtime })).exitCode).toBe(127);
  });
});

describe('podman run --rm: what the container gets', () => {
  it("takes the image's Env, WorkingDir and Cmd, and -e / -w over them", async () => {
    expect(await p.run(['--rm', ENV_IMAGE])).toMatchObject({ exitCode: 0, stdout: 'from-image in /srv/app: from the image layer\n' });
    const over = await p.run(['--rm', '-e', 'GREETING=from-flag', '-w', '/tmp', ENV_IMAGE, 'sh', '-c', 'echo "$GREETING $(pwd)"']);
    expect(over).toMatchObject({ exitCode: 0, stdout: 'from-flag /tmp\n' });
  });

  it('runs as --user, with --hostname', async () => {
    const result = await p.run(['--rm', '--user', '65534:65534', '--hostname', 'interop-host', BUSYBOX, 'sh', '-c', 'id -u; id -g; hostname']);
    expect(result).toMatchObject({ exitCode: 0, stdout: '65534\n65534\ninterop-host\n' });
  });

  it('--read-only: the rootfs refuses writes, the tmpfs podman mounts (tmpcopyup) take them', async () => {
    const result = await p.run(['--rm', '--read-only', BUSYBOX, 'sh', '-c', 'touch /x 2>/dev/null && echo root-writable; touch /tmp/y && echo tmp-writable']);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'tmp-writable\n' });
  });

  it('--cap-drop all leaves no capability; masked paths are empty, /proc/sys read-only', async () => {
    const caps = await p.run(['--rm', '--cap-drop', 'all', BUSYBOX, 'grep', '-E', '^Cap(Prm|Eff|Bnd)', '/proc/self/status']);
    ok(caps);
    expect(caps.stdout).toBe('CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n');
    const masked = await p.run(['--rm', BUSYBOX, 'sh', '-c',
      'wc -c < /proc/timer_list; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo sys-ro']);
    expect(masked).toMatchObject({ exitCode: 0, stdout: '0\n0\nsys-ro\n' });
  });

  it('-i passes stdin through; -t gives a terminal', async () => {
    expect(await p.run(['--rm', '-i', BUSYBOX, 'sh', '-c', 'tr a-z A-Z'], { input: 'through stdin\n' })).toMatchObject({ exitCode: 0, stdout: 'THROUGH STDIN\n' });
    const tty = await p.run(['--rm', '-t', BUSYBOX, 'sh', '-c', 'tty; test -t 1 && echo is-a-tty']);
    ok(tty);
    expect(tty.stdout).toMatch(/^\/dev\/pts\/\d+\r\nis-a-tty\r\n$/);
  });

  it('-v binds a host directory read-write and read-only', async () => {
    const dir = join(p.base, 'volume');
    await mkdir(dir);
    await writeFile(join(dir, 'from-host'), 'host\n');
    const rw = await p.run(['--rm', '-v', `${dir}:/data`, BUSYBOX, 'sh', '-c', 'cat /data/from-host; echo ct > /data/from-ct']);
    expect(rw).toMatchObject({ exitCode: 0, stdout: 'host\n' });
    expect(await readFile(join(dir, 'from-ct'), 'utf8')).toBe('ct\n');
    const ro = await p.run(['--rm', '-v', `${dir}:/data:ro`, BUSYBOX, 'sh', '-c', 'cat /data/from-ct; echo x > /data/nope || echo refused']);
    expect(ro).toMatchObject({ exitCode: 0, stdout: 'ct\nrefused\n' });
  });

  it("a config shim refuses: shim's own message reaches podman's stderr, from the JSON log through the runc name", async () => {
    // tmpcopyup over a directory with files is one thing shim refuses by name (it copies nothing).
    const refused = await p.run(['--rm', '--mount', 'type=tmpfs,destination=/etc,tmpcopyup', BUSYBOX, 'true']);
    expect(refused.exitCode).not.toBe(0);
    // Read from the --log file conmon asked for in JSON (its "msg"), not from stderr: no "shim: " prefix.
    expect(refused.stderr).toMatch(/\/runc: create [0-9a-f]{12}: config\.json: mounts\[\d+\] \(\/etc\): tmpcopyup over a directory that is not empty is not supported yet/);
    // By path, podman asks for no JSON log and shows the runtime's stderr line as it is.
    const byPath = await p.run(['--rm', '--mount', 'type=tmpfs,destination=/etc,tmpcopyup', BUSYBOX, 'true'], { runtime: 'path' });
    expect(byPath.exitCode).not.toBe(0);
    expect(byPath.stderr).toMatch(/shim: create [0-9a-f]{12}: config\.json: mounts\[\d+\] \(\/etc\): tmpcopyup over a directory that is not empty/);
  });
});

describe('podman run -d: ps, logs, exec, pause, stop, start, rm', () => {
  it('runs detached; ps and logs see it; exec runs beside it with its own env, cwd, user, stdin and tty', async () => {
    const started = await p.run(['-d', '--name', 'd1', BUSYBOX, 'sh', '-c', 'echo started; exec sleep 1000']);
    ok(started);
    const id = started.stdout.trim();
    await waitFor('the log line', async () => (await p.podman(['logs', 'd1'])).stdout === 'started\n' || undefined);
    const ps = await p.podman(['ps', '--format', '{{.Names}} {{.Status}}']);
    expect(ps.stdout).toMatch(/^d1 Up /);
    expect(await p.podman(['exec', 'd1', 'echo', 'from exec'])).toMatchObject({ exitCode: 0, stdout: 'from exec\n' });
    expect((await p.podman(['exec', 'd1', 'sh', '-c', 'exit 5'])).exitCode).toBe(5);
    const flags = await p.podman(['exec', '-e', 'A=1', '-w', '/tmp', '-u', '65534', 'd1', 'sh', '-c', 'echo "$A $(pwd) $(id -u)"']);
    expect(flags).toMatchObject({ exitCode: 0, stdout: '1 /tmp 65534\n' });
    expect(await p.podman(['exec', '-i', 'd1', 'cat'], { input: 'to exec\n' })).toMatchObject({ exitCode: 0, stdout: 'to exec\n' });
    const tty = await p.podman(['exec', '-t', 'd1', 'sh', '-c', 'tty']);
    ok(tty);
    expect(tty.stdout).toMatch(/^\/dev\/pts\/\d+\r\n$/);
    // The init is the container's PID 1, as podman top (runc ps) sees it.
    const top = await p.podman(['top', 'd1', 'pid', 'args']);
    expect(top.stdout).toMatch(/\n\s*1\s+sleep 1000\s*\n/);
    ok(await p.podman(['rm', '-f', '-t', '0', id]));
  });

  it('pause freezes the cgroup and shim state says paused; unpause thaws', async () => {
    const started = await p.run(['-d', BUSYBOX, 'sleep', '1000']);
    ok(started);
    const id = started.stdout.trim();
    ok(await p.podman(['pause', id]));
    const freezerFile = await p.cgroupFile(id, 'freezer', 'freezer.state').then(() => 'freezer.state', () => 'cgroup.freeze');
    expect((await p.cgroupFile(id, 'freezer', freezerFile)).trim()).toMatch(/^(FROZEN|1)$/);
    const state = await execa(shimBin, ['state', id]);
    expect(JSON.parse(String(state.stdout)).status).toBe('paused');
    expect((await p.podman(['inspect', '--format', '{{.State.Status}}', id])).stdout.trim()).toBe('paused');
    ok(await p.podman(['unpause', id]));
    expect((await p.cgroupFile(id, 'freezer', freezerFile)).trim()).toMatch(/^(THAWED|0)$/);
    expect(JSON.parse(String((await execa(shimBin, ['state', id])).stdout)).status).toBe('running');
    ok(await p.podman(['rm', '-f', '-t', '0', id]));
  });

  it('stop -t 2 kills a PID 1 that ignores TERM after the timeout (137); stop delivers TERM to one that traps it', async () => {
    const deaf = (await p.run(['-d', BUSYBOX, 'sleep', '1000'])).stdout.trim();
    const before = Date.now();
    ok(await p.podman(['stop', '-t', '2', deaf]));
    expect(Date.now() - before).toBeGreaterThanOrEqual(1900);
    expect((await p.podman(['inspect', '--format', '{{.State.ExitCode}}', deaf])).stdout.trim()).toBe('137');

    const trapping = (await p.run(['-d', BUSYBOX, 'sh', '-c', 'trap "echo got TERM; exit 7" TERM; echo ready; while :; do sleep 0.1; done'])).stdout.trim();
    await waitFor('the trap', async () => (await p.podman(['logs', trapping])).stdout.includes('ready') || undefined);
    ok(await p.podman(['stop', '-t', '30', trapping]));
    expect((await p.podman(['logs', trapping])).stdout).toBe('ready\ngot TERM\n');
    expect((await p.podman(['inspect', '--format', '{{.State.ExitCode}}', trapping])).stdout.trim()).toBe('7');

    // A stopped container starts again (a new create + start of the same id), and rm -f removes a running one.
    ok(await p.podman(['start', trapping]));
    await waitFor('the second start', async () => (await p.podman(['logs', trapping])).stdout.split('ready').length === 3 || undefined);
    expect((await p.podman(['inspect', '--format', '{{.State.Status}}', trapping])).stdout.trim()).toBe('running');
    ok(await p.podman(['rm', '-f', trapping]));
    ok(await p.podman(['rm', deaf]));
  });

  it('--memory and --pids-limit land in the host cgroup files', async () => {
    const id = (await p.run(['-d', '--memory', '64m', '--pids-limit', '50', BUSYBOX, 'sleep', '1000'])).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const memory = await p.cgroupFile(id, 'memory', 'memory.limit_in_bytes').catch(() => p.cgroupFile(id, 'memory', 'memory.max'));
    expect(memory.trim()).toBe(String(64 * 1024 * 1024));
    expect((await p.cgroupFile(id, 'pids', 'pids.max')).trim()).toBe('50');
    ok(await p.podman(['rm', '-f', '-t', '0', id]));
  });
});

describe("scenarios that need another branch's feature (gated on shim features)", () => {
  it("podman's default seccomp profile is applied (no seccomp=unconfined)", async (context) => {
    skipUnless(await seccompGate(), context, 'default seccomp');
    const result = await p.podman(['run', '--rm', ...p.runFlags.filter((flag) => flag !== 'seccomp=unconfined' && flag !== '--security-opt'), BUSYBOX, 'grep', '^Seccomp:', '/proc/self/status']);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'Seccomp:\t2\n' });
  });

  it('a missing executable fails at create, with the message reaching podman', async (context) => {
    skipUnless(await missingExecutableGate(), context, 'missing executable message');
    const result = await p.run(['--rm', BUSYBOX, '/nonexistent']);
    expect(result.exitCode).toBe(127);
    expect(result.stderr).toMatch(/\/nonexistent/);
  });

  it('--uidmap: the container runs in a user namespace with the mapping', async (context) => {
    skipUnless(await userNamespaceGate(), context, '--uidmap');
    const result = await p.run(['--rm', '--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536', BUSYBOX, 'sh', '-c', 'cat /proc/self/uid_map; id -u']);
    ok(result);
    expect(result.stdout.split('\n')[0]!.trim().split(/\s+/)).toEqual(['0', '100000', '65536']);
    expect(result.stdout.split('\n')[1]).toBe('0');
  });

  it('an OCI hook from --hooks-dir runs at prestart and poststop with the state on stdin', async (context) => {
    skipUnless(await hooksGate('prestart', 'poststop'), context, 'hooks dir');
    const out = join(p.base, 'hook-out');
    await mkdir(out, { recursive: true });
    const script = join(p.base, 'hook.sh');
    await writeFile(script, `#!/bin/sh\ncat > ${out}/$1.json\n`);
    await chmod(script, 0o755);
    for (const stage of ['prestart', 'poststop']) {
      await writeFile(join(p.hooksDir, `${stage}.json`), JSON.stringify({
        version: '1.0.0', hook: { path: script, args: ['hook.sh', stage] }, when: { annotations: { 'interop-hook': 'yes' } }, stages: [stage],
      }));
    }
    const run = await p.run(['--rm', '--annotation', 'interop-hook=yes', BUSYBOX, 'true']);
    ok(run);
    const prestart = JSON.parse(await readFile(join(out, 'prestart.json'), 'utf8'));
    // runc's status for prestart (and so shim's, src/hooks/oci-hooks.ts); crun says 'created'.
    expect(prestart).toMatchObject({ status: 'creating' });
    expect(prestart.pid).toBeGreaterThan(0);
    const poststop = JSON.parse(await waitFor('the poststop hook', () => readFile(join(out, 'poststop.json'), 'utf8').catch(() => undefined)));
    expect(poststop.id).toBe(prestart.id);
  });
});

// podman's default network backend here is netavark: a bridge network of the test's own (its config dir, a
// subnet and bridge name no one else uses, no DNS server), two containers on it reaching each other by ping and
// TCP, and nothing of it left after: no bridge, no firewall rule naming it, no veth, no netns.
describe('podman with a netavark bridge network of its own', () => {
  it('a client container pings a server container and reads from its TCP port; the network goes away whole', async () => {
    const tag = Math.random().toString(36).slice(2, 7);
    const octet = 100 + Math.floor(Math.random() * 100);
    const subnet = `10.213.${octet}.0/24`;
    const serverIp = `10.213.${octet}.10`;
    const bridge = `shimpn${tag}`;
    const network = `shim-interop-${tag}`;
    const firewall = async () => {
      const rules = [(await execa('iptables-save', [], { reject: false })).stdout, (await execa('ip6tables-save', [], { reject: false })).stdout].join('\n');
      return rules.split('\n').filter((line) => line.includes(bridge) || line.includes(`10.213.${octet}.`));
    };
    // podman 4.3's `network create` has no --interface-name: the network's file, as podman writes one, names the bridge.
    await writeFile(join(p.base, 'networks', `${network}.json`), JSON.stringify({
      name: network, id: createHash('sha256').update(network).digest('hex'), driver: 'bridge', network_interface: bridge,
      created: new Date().toISOString(), subnets: [{ subnet, gateway: `10.213.${octet}.1` }],
      ipv6_enabled: false, internal: false, dns_enabled: false, ipam_options: { driver: 'host-local' },
    }));
    expect((await p.podman(['network', 'inspect', '--format', '{{.NetworkInterface}}', network])).stdout.trim()).toBe(bridge);
    try {
      const flags = p.runFlags.filter((flag, index, all) => !(flag === '--net' || all[index - 1] === '--net'));
      const server = await p.podman(['run', '-d', ...flags, '--net', network, '--ip', serverIp, BUSYBOX, 'sh', '-c', 'echo pong-from-server | nc -l -p 7777']);
      ok(server);
      // podman's network namespace for it (/run/netns/netns-...), named while it runs, must go with it.
      const sandbox = (await p.podman(['inspect', '--format', '{{.NetworkSettings.SandboxKey}}', server.stdout.trim()])).stdout.trim();
      expect(sandbox).toMatch(/^\/run\/netns\/netns-/);
      const client = await p.podman(['run', '--name', `${network}-client`, ...flags, '--cap-add', 'NET_RAW', '--net', network, BUSYBOX, 'sh', '-c',
        `ip -4 -o addr show eth0; ping -c 1 -W 5 ${serverIp} >/dev/null && echo ping-ok; for i in 1 2 3 4 5; do nc ${serverIp} 7777 && break; sleep 1; done`]);
      ok(client);
      expect(client.stdout).toMatch(new RegExp(`inet 10\\.213\\.${octet}\\.\\d+/24`));
      expect(client.stdout).toContain('ping-ok\n');
      expect(client.stdout).toContain('pong-from-server\n');
      // The server's nc ended with the connection: its container exits 0 on its own.
      await waitFor('the server to exit', async () => (await p.podman(['inspect', '--format', '{{.State.Status}}', server.stdout.trim()])).stdout.trim() === 'exited' || undefined, 15_000);
      for (const container of [server.stdout.trim(), `${network}-client`]) ok(await p.podman(['rm', container]));
      expect(existsSync(sandbox), sandbox).toBe(false);
      expect(await firewall()).toEqual([]);
    } finally {
      await p.removeAll();
      await p.podman(['network', 'rm', '-f', network]);
    }
    expect((await execa('ip', ['-o', 'link'])).stdout).not.toContain(bridge);
    expect(await firewall()).toEqual([]);
  });
});
