// Networking through the real CLI and the real CNI plugins (Debian's containernetworking-plugins): bridge
// networks with veths, name resolution on a user network, published ports, --net host and container:ID, and
// bad input. Every test makes its own network (its own bridge name and subnet), sends traffic only to its
// containers' addresses or to loopback, and checks after itself: no veth on its bridge, no bridge once the
// network is removed, no netns mount, no IPAM lease, no iptables rule for its subnet.

import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeRoots, settledLeaks, shim, startShimInBackground, waitFor, type Roots, type ShimResult } from '../support/shim.js';

const hasPlugins = await readdir('/usr/lib/cni').then((names) => ['bridge', 'host-local', 'portmap'].every((name) => names.includes(name)), () => false);

let roots: Roots;
/** This test's network: created by `network()` below. */
let net: { name: string; bridge: string; subnet: string; prefix: string } | undefined;
let iptablesBefore: Set<string>;

beforeEach(async () => {
  roots = await makeRoots();
  net = undefined;
  iptablesBefore = await iptablesLines();
});

afterEach(async () => {
  try {
    for (const id of await readdir(roots.root).catch(() => [] as string[])) {
      if (id.startsWith('.')) continue;
      const result = await shim(roots, ['delete', '--force', id]);
      if (result.exitCode !== 0) console.error(`cleanup: ${result.stderr}`);
    }
    expect(await networkLeaks()).toEqual([]);
    if (net) {
      const removed = await shim(roots, ['network', 'rm', net.name]);
      expect(removed.stderr).toBe('');
      expect(await linkExists(net.bridge)).toBe(false);
    }
    expect(await settledLeaks(roots)).toEqual([]);
  } finally {
    await roots.dispose();
  }
});

/** `iptables-save` without counters, one rule or chain per entry. */
async function iptablesLines(): Promise<Set<string>> {
  const { stdout } = await execa('iptables-save', [], { reject: false });
  return new Set(String(stdout).split('\n').filter((line) => line && !line.startsWith('#')).map((line) => line.replace(/\[\d+:\d+\]/, '')));
}

/**
 * What this test's network left: a port on its bridge, a lease in its IPAM directory, an iptables line naming
 * its subnet or network (other suites on the machine add rules of their own meanwhile; only ours are ours).
 * portmap's shared chains (CNI-HOSTPORT-DNAT/SETMARK/MASQ and their jumps) stay by design, as under podman.
 */
async function networkLeaks(): Promise<string[]> {
  if (!net) return [];
  const leaks: string[] = [];
  const ports = await execa('ip', ['-o', 'link', 'show', 'master', net.bridge], { reject: false });
  for (const line of String(ports.stdout).split('\n').filter(Boolean)) leaks.push(`link ${line.split(':')[1]?.trim()}`);
  const ipamDir = join(roots.dataRoot, 'networks/ipam', net.name);
  for (const entry of await readdir(ipamDir).catch(() => [] as string[])) {
    if (entry !== 'lock' && !entry.startsWith('last_reserved_ip')) leaks.push(`lease ${entry}`);
  }
  for (const line of await iptablesLines()) {
    if (iptablesBefore.has(line)) continue;
    if (line.includes(net.prefix) || line.includes(`name: \\"${net.name}\\"`)) leaks.push(`iptables ${line}`);
  }
  return leaks;
}

/** One GET from the host, undefined until something answers. */
function httpGet(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = get(url, { timeout: 2000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += String(chunk)));
      response.on('end', () => resolve(response.statusCode === 200 ? body : undefined));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

async function linkExists(name: string): Promise<boolean> {
  const result = await execa('ip', ['link', 'show', name], { reject: false });
  return result.exitCode === 0;
}

/** A network of this test's own: a unique bridge and a /24 nobody routes (retried if another run took it). */
async function network(name = `n${randomBytes(3).toString('hex')}`, extra: string[] = []): Promise<typeof net & {}> {
  for (let attempt = 0; ; attempt++) {
    const bytes = randomBytes(3);
    const prefix = `10.${200 + (bytes[0]! % 50)}.${bytes[1]}.`;
    const bridge = `sht${bytes.toString('hex')}`;
    const created = await shim(roots, ['network', 'create', '--subnet', `${prefix}0/24`, '--bridge', bridge, ...extra, name]);
    if (created.exitCode === 0) {
      net = { name, bridge, subnet: `${prefix}0/24`, prefix };
      return net;
    }
    if (attempt > 5 || !/overlaps|exists/.test(created.stderr)) throw new Error(`network create: ${created.stderr}`);
  }
}

function ok(result: ShimResult): ShimResult {
  if (result.exitCode !== 0) throw new Error(`shim failed (${result.exitCode}): ${result.stderr}`);
  return result;
}

async function ipOf(id: string): Promise<string> {
  return ok(await shim(roots, ['inspect', '--format', '{{.NetworkSettings.IPAddress}}', id])).stdout.trim();
}

/** A command's failure: one line on stderr, naming what went wrong, and nothing left in the state root. */
async function expectOneLineFailure(args: string[], pattern: RegExp): Promise<void> {
  const result = await shim(roots, args);
  expect(result.exitCode).not.toBe(0);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(pattern);
  expect((await readdir(roots.root)).filter((entry) => !entry.startsWith('.'))).toEqual([]);
}

describe.skipIf(!hasPlugins)('bridge networks', () => {
  it('puts two containers on the default network; one pings the other by IP, and exec sees the same eth0', async () => {
    // The default network ("bridge") with this test's bridge and subnet, made before first use.
    await network('bridge');
    // No --net: the default, as docker (the harness's SHIM_NETWORK=none is cleared).
    const env = { SHIM_NETWORK: '' };
    ok(await shim(roots, ['run', '-d', '--name', 'a', 'busybox', 'sleep', '60'], { env }));
    const address = await ipOf('a');
    expect(address.startsWith(net!.prefix)).toBe(true);
    const ping = ok(await shim(roots, ['run', '--rm', 'busybox', 'ping', '-c', '1', '-W', '5', address], { env }));
    expect(ping.stdout).toContain('1 packets received');
    // exec joins the same namespace: the same eth0 with the same address and MAC.
    const shown = ok(await shim(roots, ['exec', 'a', 'ip', '-o', '-4', 'addr', 'show', 'eth0'])).stdout;
    expect(shown).toContain(`inet ${address}/24`);
    const settings = JSON.parse(ok(await shim(roots, ['inspect', '--format', '{{json .NetworkSettings}}', 'a'])).stdout);
    expect(settings).toMatchObject({ IPAddress: address, Gateway: `${net!.prefix}1`, IPPrefixLen: 24, Networks: { bridge: { IPAddress: address } } });
    const mac = ok(await shim(roots, ['exec', 'a', 'cat', '/sys/class/net/eth0/address'])).stdout.trim();
    expect(settings.MacAddress).toBe(mac);
    // The init layer's files carry the address and the name; resolv.conf has no loopback resolver.
    const hosts = ok(await shim(roots, ['exec', 'a', 'cat', '/etc/hosts'])).stdout;
    expect(hosts).toMatch(new RegExp(`^${address.replace(/\./g, '\\.')}\\t.*\\ba\\b`, 'm'));
    expect(ok(await shim(roots, ['exec', 'a', 'cat', '/etc/resolv.conf'])).stdout).not.toMatch(/nameserver 127\./);
    // CNI CHECK agrees that the network is as ADD left it.
    ok(await shim(roots, ['network', 'check', 'a']));
    // The network is refused removal while a container is on it.
    const refused = await shim(roots, ['network', 'rm', 'bridge']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/network bridge is in use by container a/);
    ok(await shim(roots, ['delete', '--force', 'a']));
  });

  it('lets containers on a user network reach each other by name, with --ip, --dns and --add-host', async () => {
    await network();
    ok(await shim(roots, ['run', '-d', '--name', 'web', '--net', net!.name, '--ip', `${net!.prefix}77`, 'busybox', 'sleep', '60']));
    expect(await ipOf('web')).toBe(`${net!.prefix}77`);
    // The same address again: the plugin's own error, as one line naming it; nothing of the second is left.
    const taken = await shim(roots, ['run', '--rm', '--name', 'web2', '--net', net!.name, '--ip', `${net!.prefix}77`, 'busybox', 'true']);
    expect(taken.exitCode).toBe(125);
    expect(taken.stderr).toMatch(new RegExp(`^shim: run web2: cni plugin bridge: ADD: .*requested IP address ${net!.prefix.replace(/\./g, '\\.')}77 is not available[^\n]*\n$`));
    expect(await readdir(roots.root)).toEqual(['web']);
    ok(await shim(roots, ['run', '-d', '--name', 'db', '--net', net!.name, '--dns', '10.9.9.9', '--add-host', 'extra.example:10.1.2.3', 'busybox', 'sleep', '60']));
    // Both ways: db was given web's name when it started, web learnt db's afterwards.
    expect(ok(await shim(roots, ['exec', 'db', 'ping', '-c', '1', '-W', '5', 'web'])).stdout).toContain(`(${net!.prefix}77)`);
    expect(ok(await shim(roots, ['exec', 'web', 'ping', '-c', '1', '-W', '5', 'db'])).stdout).toContain('1 packets received');
    const dbHosts = ok(await shim(roots, ['exec', 'db', 'cat', '/etc/hosts'])).stdout;
    expect(dbHosts).toContain('10.1.2.3\textra.example');
    expect(ok(await shim(roots, ['exec', 'db', 'cat', '/etc/resolv.conf'])).stdout).toMatch(/^nameserver 10\.9\.9\.9$/m);
    const inspected = JSON.parse(ok(await shim(roots, ['network', 'inspect', net!.name])).stdout);
    expect(Object.keys(inspected[0].Containers).sort()).toEqual(['db', 'web']);
    // Removing db takes its name out of web's hosts file.
    ok(await shim(roots, ['delete', '--force', 'db']));
    expect(ok(await shim(roots, ['exec', 'web', 'cat', '/etc/hosts'])).stdout).not.toMatch(/\bdb\b/);
    expect(ok(await shim(roots, ['network', 'ls', '-q'])).stdout.split('\n')).toContain(net!.name);
  });

  it('bridges a container in its own user namespace (--uidmap): eth0 and lo up, the peer reached', async () => {
    await network();
    ok(await shim(roots, ['run', '-d', '--name', 'peer', '--net', net!.name, 'busybox', 'sh', '-c', 'echo from the peer > /tmp/i; httpd -f -p 8080 -h /tmp']));
    // The network namespace is the host root's (CNI made it): the monitor joins it and brings lo up before the
    // init enters its new user namespace, where it could do neither.
    const mapped = await shim(roots, ['run', '--rm', '--name', 'mapped', '--uidmap', '0:100000:65536', '--net', net!.name, 'busybox', 'sh', '-c',
      // TCP, not ping: a raw socket needs CAP_NET_RAW over the namespace's owner, the host's user namespace.
      `cat /proc/self/uid_map; ip link show lo; wget -q -O - http://${await ipOf('peer')}:8080/i`]);
    expect(mapped.exitCode, mapped.stderr).toBe(0);
    expect(mapped.stdout).toMatch(/^\s+0\s+100000\s+65536$/m);
    expect(mapped.stdout).toMatch(/lo: <LOOPBACK,UP/);
    expect(mapped.stdout).toContain('from the peer');
  });

  it('publishes a port: httpd on -p 127.0.0.1:18080:80 answers on the host, and shim port shows it', async () => {
    await network();
    ok(await shim(roots, ['run', '-d', '--name', 'www', '--net', net!.name, '-p', '127.0.0.1:18080:80', 'busybox', 'sh', '-c',
      'mkdir /www && echo hello-from-www > /www/index.html && exec httpd -f -p 80 -h /www']));
    expect(ok(await shim(roots, ['port', 'www'])).stdout).toBe('80/tcp -> 127.0.0.1:18080\n');
    const body = await waitFor('httpd to answer', () => httpGet('http://127.0.0.1:18080/'));
    expect(body).toBe('hello-from-www\n');
    const settings = JSON.parse(ok(await shim(roots, ['inspect', '--format', '{{json .NetworkSettings.Ports}}', 'www'])).stdout);
    expect(settings).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }] });
    // The same host port again: one line, nothing left of the second container.
    const again = await shim(roots, ['run', '--rm', '--name', 'www2', '--net', net!.name, '-p', '127.0.0.1:18080:80', 'busybox', 'true']);
    expect(again.exitCode).toBe(125);
    expect(again.stderr).toMatch(/^shim: run www2: port 127\.0\.0\.1:18080\/tcp is already published by container www\n$/);
    expect((await readdir(roots.root)).sort()).toEqual(['www']);
    ok(await shim(roots, ['delete', '--force', 'www']));
  });

  it('--net container:ID shares lo; the first container cannot be deleted while the second uses its namespace', async () => {
    await network();
    ok(await shim(roots, ['run', '-d', '--name', 'srv', '--net', net!.name, 'busybox', 'sh', '-c',
      'mkdir /www && echo on-loopback > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www']));
    ok(await shim(roots, ['run', '-d', '--name', 'side', '--net', 'container:srv', 'busybox', 'sleep', '60']));
    const body = await waitFor('the server on the shared loopback', async () => {
      // No -T: Debian's busybox 1.35 wget crashes with it.
      const got = await shim(roots, ['exec', 'side', 'wget', '-q', '-O', '-', 'http://127.0.0.1:8080/']);
      return got.exitCode === 0 ? got.stdout : undefined;
    });
    expect(body).toBe('on-loopback\n');
    expect(ok(await shim(roots, ['exec', 'side', 'ip', '-o', '-4', 'addr', 'show', 'eth0'])).stdout).toContain(`inet ${await ipOf('srv')}/24`);
    // srv stopped, side still in its namespace: delete is refused (docker would let it go; shim keeps the
    // namespace's owner until its users are gone), --force or removing side first lets it go.
    ok(await shim(roots, ['kill', 'srv', 'KILL']));
    await waitFor('srv to stop', async () => (await shim(roots, ['state', 'srv'])).stdout.includes('"stopped"'));
    const refused = await shim(roots, ['delete', 'srv']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/cannot delete a container whose network namespace side uses/);
    ok(await shim(roots, ['delete', '--force', 'side']));
    ok(await shim(roots, ['delete', 'srv']));
  });

  it('cleans up after a shim killed by SIGKILL in the middle of run, with delete --force', async () => {
    await network();
    const background = startShimInBackground(roots, ['run', '--name', 'k', '--net', net!.name, '-p', '127.0.0.1:18081:80', 'busybox', 'sleep', '60']);
    await waitFor('the container to run', async () => {
      const state = await readFile(join(roots.root, 'k/state.json'), 'utf8').catch(() => '');
      return state.includes('"running"');
    });
    background.kill('SIGKILL');
    ok(await shim(roots, ['delete', '--force', 'k']));
    // Only now: the helper, which outlives the killed CLI until the container ends, holds its stdout.
    await background.result;
    expect(await networkLeaks()).toEqual([]);
    // Killed while the network is being set up: the record (written before the namespace, and after each
    // plugin) is all delete --force has. The kill lands somewhere in ADD, or just after it.
    const early = startShimInBackground(roots, ['run', '--name', 'k2', '--net', net!.name, '-p', '127.0.0.1:18082:80', 'busybox', 'sleep', '60']);
    await waitFor('the network record', async () => (await readFile(join(roots.root, 'k2/state.json'), 'utf8').catch(() => '')).includes('"netnsPath"'), 30_000);
    early.kill('SIGKILL');
    ok(await shim(roots, ['delete', '--force', 'k2']));
    await early.result;
    // afterEach: no veth, lease, netns mount or rule is left.
  });

  it('refuses bad input with one line and leaves nothing', async () => {
    await network();
    await expectOneLineFailure(['run', '--rm', '--net', 'no-such-net', 'busybox', 'true'], /network no-such-net not found/);
    await expectOneLineFailure(['run', '--rm', '--net', 'host', '-p', '80:80', 'busybox', 'true'], /-p cannot be used with --net host/);
    await expectOneLineFailure(['run', '--rm', '--net', net!.name, '-p', '80:80:tcp', 'busybox', 'true'], /-p 80:80:tcp: expected/);
    await expectOneLineFailure(['run', '--rm', '--net', 'container:nobody', 'busybox', 'true'], /no such container/);
    await expectOneLineFailure(['run', '--rm', '--ip', '10.1.1.1', '--net', net!.name, 'busybox', 'true'], /is not in network/);
    // A subnet the host routes already (its first link route), and one that overlaps this test's network.
    const route = String((await execa('ip', ['-4', '-o', 'route', 'show', 'scope', 'link'])).stdout).split('\n').map((line) => line.split(' ')[0]).find((dst) => dst?.includes('/'));
    if (route) {
      const overlap = await shim(roots, ['network', 'create', '--subnet', route, `x${randomBytes(3).toString('hex')}`]);
      expect(overlap.exitCode).toBe(1);
      expect(overlap.stderr).toMatch(/overlaps/);
    }
    const twice = await shim(roots, ['network', 'create', '--subnet', net!.subnet, 'other']);
    expect(twice.stderr).toMatch(new RegExp(`overlaps network ${net!.name}`));
    expect(ok(await shim(roots, ['network', 'ls', '-q'])).stdout).toBe(`${net!.name}\n`);
    expect(await networkLeaks()).toEqual([]);
    // prune takes every network no container uses.
    expect(ok(await shim(roots, ['network', 'prune'])).stdout).toBe(`${net!.name}\n`);
    expect(ok(await shim(roots, ['network', 'ls', '-q'])).stdout).toBe('');
    net = undefined;
  });
});

describe('--net host and none', () => {
  it('--net host sees the host\'s network namespace and interfaces', async () => {
    const hostNs = await execa('readlink', ['/proc/self/ns/net']);
    const inside = ok(await shim(roots, ['run', '--rm', '--net', 'host', 'busybox', 'sh', '-c', 'readlink /proc/self/ns/net; ls /sys/class/net']));
    const [ns, ...links] = inside.stdout.trim().split(/\s+/);
    expect(ns).toBe(String(hostNs.stdout));
    const hostLinks = String((await execa('ls', ['/sys/class/net'])).stdout).split(/\s+/);
    // Links of other tests may come and go meanwhile; the host's own (lo, eth0, ...) are there in both.
    for (const link of hostLinks.filter((name) => !/^(veth|sht|shim|cni|podman)/.test(name))) expect(links).toContain(link);
  });

  it('--net none gives only loopback', async () => {
    const inside = ok(await shim(roots, ['run', '--rm', '--net', 'none', 'busybox', 'ls', '/sys/class/net']));
    expect(inside.stdout.trim()).toBe('lo');
  });
});
