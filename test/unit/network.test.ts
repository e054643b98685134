// The pure parts of networking: -p and --add-host parsing, resolv.conf, IPv4 arithmetic, the conflist shim
// writes and what each plugin reads on stdin (CNI's runtimeConfig rule).

import { describe, expect, it } from 'vitest';
import { pluginStdin } from '../../src/network/cni.js';
import { parseAddHost, parsePublish, resolvText } from '../../src/network/container-network.js';
import { formatCidr, overlaps, parseCidr, parseIpv4 } from '../../src/network/ipv4.js';
import { planConflist } from '../../src/network/network-store.js';

describe('-p', () => {
  it('reads docker\'s forms', () => {
    expect(parsePublish('127.0.0.1:18080:80')).toEqual({ hostIP: '127.0.0.1', hostPort: 18080, containerPort: 80, protocol: 'tcp', pickHostPort: false });
    expect(parsePublish('8080:80/udp')).toMatchObject({ hostIP: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'udp' });
    expect(parsePublish('80')).toMatchObject({ hostPort: 0, containerPort: 80, pickHostPort: true });
    expect(parsePublish('127.0.0.1::80')).toMatchObject({ hostIP: '127.0.0.1', hostPort: 0, pickHostPort: true });
  });

  it.each(['', 'x', '80:80:80:80', '80:80/sctp', '0:80', '70000:80', '300.1.1.1:80:80', '80-90:80'])('refuses %j', (value) => {
    expect(() => parsePublish(value)).toThrow(/-p /);
  });
});

describe('--add-host', () => {
  it('reads NAME:IP, IPv6 included', () => {
    expect(parseAddHost('db.local:10.0.0.5')).toEqual({ name: 'db.local', address: '10.0.0.5' });
    expect(parseAddHost('v6:fd00::1')).toEqual({ name: 'v6', address: 'fd00::1' });
  });
  it.each(['nohost', ':1.2.3.4', 'a:not-an-ip'])('refuses %j', (value) => expect(() => parseAddHost(value)).toThrow(/--add-host/));
});

describe('resolv.conf', () => {
  const host = 'search example.org\nnameserver 127.0.0.53\nnameserver 192.0.2.53\noptions edns0\n';
  it('drops loopback resolvers in a namespace of its own, keeps search and options', () => {
    expect(resolvText({ dns: [] }, true, host)).toBe('search example.org\noptions edns0\nnameserver 192.0.2.53\n');
  });
  it('keeps them with the host\'s network', () => {
    expect(resolvText({ dns: [] }, false, host)).toContain('nameserver 127.0.0.53');
  });
  it('takes --dns instead of the host\'s servers, and public ones when nothing is left', () => {
    expect(resolvText({ dns: ['10.9.9.9'] }, true, host)).toMatch(/nameserver 10\.9\.9\.9\n$/);
    expect(resolvText({ dns: [] }, true, 'nameserver 127.0.0.53\n')).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  });
});

describe('IPv4', () => {
  it('parses, formats and compares subnets', () => {
    expect(parseIpv4('10.99.0.1')).toBe(0x0a630001);
    expect(parseIpv4('256.0.0.1')).toBeUndefined();
    expect(formatCidr(parseCidr('10.99.0.0/16', 'x'))).toBe('10.99.0.0/16');
    expect(overlaps(parseCidr('10.99.0.0/16', 'x'), parseCidr('10.99.7.0/24', 'x'))).toBe(true);
    expect(overlaps(parseCidr('10.99.0.0/16', 'x'), parseCidr('10.100.0.0/16', 'x'))).toBe(false);
    expect(() => parseCidr('10.99.0.1/16', '--subnet')).toThrow(/host bits are set/);
    expect(() => parseCidr('10.0.0.0/31', '--subnet')).toThrow(/N from 8 to 30/);
  });
});

describe('the conflist and each plugin\'s stdin', () => {
  const list = planConflist('web', { bridge: 'shim-x', subnet: '10.120.0.0/24', gateway: '10.120.0.1', internal: false, ipamDir: '/d/networks/ipam' });

  it('chains bridge (host-local IPAM in the data root, masquerade) and portmap', () => {
    expect(list.plugins.map((plugin) => plugin.type)).toEqual(['bridge', 'portmap']);
    expect(list.plugins[0]).toMatchObject({ bridge: 'shim-x', isGateway: true, isDefaultGateway: true, ipMasq: true, ipam: { type: 'host-local', dataDir: '/d/networks/ipam' } });
    const internal = planConflist('in', { bridge: 'b', subnet: '10.121.0.0/24', gateway: '10.121.0.1', internal: true, ipamDir: '/d' });
    expect(internal.plugins[0]).toMatchObject({ isDefaultGateway: false, ipMasq: false });
    const dropping = planConflist('d', { bridge: 'b', subnet: '10.122.0.0/24', gateway: '10.122.0.1', internal: false, ipamDir: '/d', forwardDrops: true });
    expect(dropping.plugins.map((plugin) => plugin.type)).toEqual(['bridge', 'firewall', 'portmap']);
  });

  it('gives a plugin name, cniVersion, prevResult, and runtimeConfig only for capabilities it declares', () => {
    const runtime = { containerId: 'c1', netns: '/n', ifName: 'eth0', capabilityArgs: { portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'tcp', hostIP: '' }] } };
    const previous = { cniVersion: '1.0.0', ips: [{ address: '10.120.0.2/24' }] };
    const bridge = pluginStdin(list, list.plugins[0]!, runtime, undefined);
    expect(bridge).toMatchObject({ name: 'web', cniVersion: '1.0.0', type: 'bridge' });
    expect(bridge).not.toHaveProperty('runtimeConfig');
    expect(bridge).not.toHaveProperty('prevResult');
    const portmap = pluginStdin(list, list.plugins[1]!, runtime, previous);
    expect(portmap).toMatchObject({ prevResult: previous, runtimeConfig: { portMappings: runtime.capabilityArgs.portMappings } });
  });
});
