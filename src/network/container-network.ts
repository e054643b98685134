// A docker-style container's network: --net none|host|bridge|NAME|container:ID, -p, --ip, --dns, --add-host.
//
// Bridge networks get a network namespace that outlives any process: made before the container (unshare
// --net=FILE bind-mounts it on <state dir>/netns) and joined by path by the helper. CNI ADD then puts a veth
// into it (bridge + host-local, portmap when ports are published). Because the namespace is a file, DEL works
// on `delete` whatever happened to the container or to the shim, and --net container:ID can join it.
//
// What the container's record holds (state.json "network") is everything DEL needs: the configuration list
// as it was ADDed and the furthest result, written before the namespace exists and after each plugin, so a
// shim killed at any point leaves a record `delete --force` can undo.

import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import { RuntimeError, systemError } from '../errors.js';
import type { Logger } from '../log.js';
import { isLiveProcess } from '../state/process-start-time.js';
import { StateStore, type ContainerState } from '../state/state-store.js';
import { addNetworkList, checkNetworkList, delNetworkList, type CniConfList, type CniResult, type CniRuntimeConf } from './cni.js';
import { parseIpv4, parseCidr, contains } from './ipv4.js';
import { DEFAULT_NETWORK, NetworkStore } from './network-store.js';

export const CONTAINER_IFNAME = 'eth0';
export const NETNS_FILE = 'netns';
const NSFS_MAGIC = 0x6e736673;

export interface PortMapping {
  hostIP: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

/** The flags as typed. */
export interface NetworkFlags {
  /** --net / --network; undefined means the default (bridge). */
  net?: string | undefined;
  publish: string[];
  ip?: string | undefined;
  dns: string[];
  addHost: string[];
}

/** The record in state.json. */
export interface ContainerNetworkState {
  mode: 'none' | 'host' | 'bridge' | 'container';
  /** bridge: the network's name. */
  network?: string | undefined;
  /** container: the id of the container whose namespace this one joined. */
  container?: string | undefined;
  /** bridge: the namespace's bind mount. */
  netnsPath?: string | undefined;
  ifName?: string | undefined;
  /** bridge: the configuration list as ADDed (DEL gets the same). */
  conflist?: CniConfList | undefined;
  /** bridge: the furthest ADD result: the chain's, once it is done. */
  result?: CniResult | undefined;
  ports: PortMapping[];
  requestedIp?: string | undefined;
  ipAddress?: string | undefined;
  prefixLen?: number | undefined;
  gateway?: string | undefined;
  macAddress?: string | undefined;
  hostname: string;
  dns: string[];
  extraHosts: { name: string; address: string }[];
  /** DEL has run (a foreground run releases its network when it ends; the record stays for inspect). */
  released?: boolean | undefined;
}

/** What prepare decides: the namespace entry for the config, and the record acquire starts from. */
export interface PlannedNetwork {
  /** The config's network namespace: a path to join, none at all (host), or a new one (none). */
  namespace: { path: string } | 'host' | 'new';
  /** The helper brings lo up in a namespace it joins (one shim made, where nothing has yet). */
  loopbackUp: boolean;
  record: ContainerNetworkState;
}

export function parsePublish(value: string): PortMapping & { pickHostPort: boolean } {
  const match = /^(?:(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d*):)?(\d+)(?:\/(tcp|udp))?$/.exec(value);
  const bad = () => new RuntimeError('usage', `-p ${value}: expected [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]`);
  if (!match) throw bad();
  const [, hostIP = '', hostPortText = '', containerPortText, protocol = 'tcp'] = match;
  if (hostIP && parseIpv4(hostIP) === undefined) throw bad();
  const containerPort = Number(containerPortText);
  const hostPort = hostPortText === '' ? 0 : Number(hostPortText);
  if (containerPort < 1 || containerPort > 65535 || hostPort > 65535 || (hostPortText !== '' && hostPort < 1)) {
    throw new RuntimeError('usage', `-p ${value}: ports go from 1 to 65535`);
  }
  return { hostIP: hostIP || '0.0.0.0', hostPort, containerPort, protocol: protocol as 'tcp' | 'udp', pickHostPort: hostPort === 0 };
}

export function parseAddHost(value: string): { name: string; address: string } {
  const colon = value.indexOf(':');
  const name = value.slice(0, colon);
  const address = value.slice(colon + 1);
  if (colon < 1 || !/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(name) || (parseIpv4(address) === undefined && !/^[0-9a-fA-F:]+$/.test(address))) {
    throw new RuntimeError('usage', `--add-host ${value}: expected NAME:IP`);
  }
  return { name, address };
}

/**
 * Reads the flags into a plan. Reads (the network's file, the joined container's state), creates nothing.
 * `stateDir` is where the container's state will be (the namespace's bind mount goes there).
 */
export async function planNetwork(
  flags: NetworkFlags,
  context: { root: string; dataRoot: string },
  containerId: string,
  stateDir: string,
  hostname: string,
): Promise<PlannedNetwork> {
  const net = flags.net ?? DEFAULT_NETWORK;
  const dns = flags.dns.map((server) => {
    if (parseIpv4(server) === undefined && !/^[0-9a-fA-F:]+$/.test(server)) throw new RuntimeError('usage', `--dns ${server}: not an IP address`);
    return server;
  });
  const extraHosts = flags.addHost.map(parseAddHost);
  const ports = flags.publish.map(parsePublish);
  const base = { ports: [] as PortMapping[], hostname, dns, extraHosts };
  if (net === 'none' || net === 'host' || net.startsWith('container:')) {
    if (ports.length > 0) throw new RuntimeError('usage', `-p cannot be used with --net ${net}`, { hint: net === 'host' ? 'the container uses the host\'s ports directly' : undefined });
    if (flags.ip !== undefined) throw new RuntimeError('usage', `--ip cannot be used with --net ${net}`);
  }
  if (net === 'none') return { namespace: 'new', loopbackUp: true, record: { mode: 'none', ...base } };
  if (net === 'host') return { namespace: 'host', loopbackUp: false, record: { mode: 'host', ...base, hostname: hostHostname() } };
  if (net.startsWith('container:')) {
    const other = net.slice('container:'.length);
    if (other === containerId) throw new RuntimeError('usage', `--net ${net}: a container cannot join its own network namespace`);
    const path = await joinableNetns(context.root, other);
    return { namespace: { path }, loopbackUp: false, record: { mode: 'container', container: other, ...base } };
  }
  const store = new NetworkStore(context.dataRoot);
  const info = store.find(net);
  if (!info && net !== DEFAULT_NETWORK) {
    throw new RuntimeError('not-found', `network ${net} not found`, { stage: 'network', hint: 'shim network ls lists them; shim network create makes one' });
  }
  if (flags.ip !== undefined) {
    const address = parseIpv4(flags.ip);
    if (address === undefined) throw new RuntimeError('usage', `--ip ${flags.ip}: not an IPv4 address`);
    if (!info || net === DEFAULT_NETWORK) {
      throw new RuntimeError('usage', '--ip works on networks you create only (as docker)', { hint: 'shim network create --subnet CIDR NAME, then --net NAME' });
    }
    if (!contains(parseCidr(info.subnet, 'subnet'), address)) throw new RuntimeError('usage', `--ip ${flags.ip} is not in network ${net}'s subnet ${info.subnet}`);
  }
  const netnsPath = join(stateDir, NETNS_FILE);
  const planned = ports.map(({ pickHostPort: _, ...port }) => port);
  return {
    namespace: { path: netnsPath },
    loopbackUp: true,
    record: { mode: 'bridge', network: net, netnsPath, ifName: CONTAINER_IFNAME, requestedIp: flags.ip, ...base, ports: planned },
  };
}

/** The network namespace of a container that runs: its bind mount if it has one, else its init's. */
async function joinableNetns(root: string, id: string): Promise<string> {
  const store = new StateStore(root);
  let state: ContainerState;
  try {
    state = await store.readState(id);
  } catch {
    throw new RuntimeError('not-found', `--net container:${id}: no such container`);
  }
  if (!(await isLiveProcess(state.pid, state.pidStartTime))) {
    throw new RuntimeError('invalid-state', `--net container:${id}: that container is not running`);
  }
  const record = state.network as ContainerNetworkState | undefined;
  if (record?.mode === 'container' && record.container) return joinableNetns(root, record.container);
  if (record?.mode === 'host') throw new RuntimeError('usage', `--net container:${id}: that container uses the host's network (use --net host)`);
  if (record?.netnsPath && !record.released && isNetnsMount(record.netnsPath)) return record.netnsPath;
  return `/proc/${state.pid}/ns/net`;
}

export function isNetnsMount(path: string): boolean {
  try {
    return statfsSync(path).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

export interface AcquireNetworkInput {
  root: string;
  dataRoot: string;
  state: ContainerState;
  /** data-root/containers/<id>/init: the init layer whose etc/hosts and etc/resolv.conf are written here. */
  initDir?: string | undefined;
  log: Logger;
}

/**
 * Sets the container's network up: for bridge, the namespace (bind mount) and the CNI ADD, the result into the
 * record; for every mode the init layer's hosts and resolv.conf. The record is in `state` (written by the
 * caller before this starts). releaseNetwork is the undo, safe to call whatever point this reached.
 */
export async function acquireNetwork(input: AcquireNetworkInput, writeState: () => Promise<void>): Promise<void> {
  const { state, log } = input;
  const record = state.network!;
  if (record.mode === 'bridge') {
    const store = new NetworkStore(input.dataRoot);
    const info = await store.resolve(record.network!, log);
    record.ports = await checkPorts(record.ports, input.root, state.id);
    // portmap is left out of the chain of a container that publishes nothing: one Go exec less, for ADD and
    // DEL alike (the record keeps the list as ADDed).
    record.conflist = { ...info.conflist, plugins: info.conflist.plugins.filter((plugin) => plugin.type !== 'portmap' || record.ports.length > 0) };
    await writeState();
    await createNetns(record.netnsPath!);
    const result = await addNetworkList(record.conflist, cniRuntime(state.id, record, record.netnsPath!), log, (partial) => {
      record.result = partial;
      // Synchronous and atomic: the record is right even if the shim dies during the next plugin.
      void writeState();
    });
    readResultInto(record, result);
    await writeState();
  }
  if (input.initDir) writeNetworkFiles(input.initDir, state.id, record, await peersOf(input.root, state.id, record), input.root);
  if (record.mode === 'bridge' && record.network !== DEFAULT_NETWORK) await refreshPeers(input.root, state.id, record.network!, log);
}

/** DEL, then the namespace's bind mount; each step tolerates what is already gone. Peers forget the name. */
export async function releaseNetwork(root: string, state: ContainerState, log: Logger): Promise<void> {
  const record = state.network;
  if (!record || record.mode !== 'bridge' || record.released) return;
  const netnsPath = record.netnsPath ?? '';
  const mounted = isNetnsMount(netnsPath);
  let failure: unknown;
  if (record.conflist) {
    try {
      await delNetworkList(record.conflist, cniRuntime(state.id, record, mounted ? netnsPath : ''), record.result, log);
    } catch (error) {
      failure = error;
    }
  }
  if (mounted) await unmount(netnsPath);
  if (netnsPath && existsSync(netnsPath)) {
    try {
      unlinkSync(netnsPath);
    } catch (error) {
      failure ??= systemError(error, 'remove network namespace file', { path: netnsPath });
    }
  }
  if (failure) throw failure;
  record.released = true;
  if (record.network !== DEFAULT_NETWORK) await refreshPeers(root, state.id, record.network!, log, { leaving: true });
}

/** CNI CHECK of a container's network: the plugins confirm what ADD set up is still there. */
export async function checkNetwork(state: ContainerState, log: Logger): Promise<void> {
  const record = state.network;
  if (!record || record.mode !== 'bridge' || record.released || !record.conflist || !record.result) {
    throw new RuntimeError('invalid-state', 'the container has no bridge network to check');
  }
  await checkNetworkList(record.conflist, cniRuntime(state.id, record, record.netnsPath!), record.result, log);
}

function cniRuntime(containerId: string, record: ContainerNetworkState, netns: string): CniRuntimeConf {
  return {
    containerId,
    netns,
    ifName: record.ifName ?? CONTAINER_IFNAME,
    args: record.requestedIp ? [['IP', record.requestedIp]] : [],
    capabilityArgs: record.ports.length > 0 ? { portMappings: record.ports } : {},
  };
}

function readResultInto(record: ContainerNetworkState, result: CniResult): void {
  const interfaceIndex = (result.interfaces ?? []).findIndex((entry) => entry.name === record.ifName && entry.sandbox);
  const ip = (result.ips ?? []).find((entry) => entry.interface === interfaceIndex && !entry.address.includes(':')) ?? result.ips?.[0];
  if (ip) {
    const [address, prefix] = ip.address.split('/');
    record.ipAddress = address;
    record.prefixLen = Number(prefix);
    record.gateway = ip.gateway;
  }
  record.macAddress = result.interfaces?.[interfaceIndex]?.mac;
}

/** unshare(1) makes the namespace and bind-mounts /proc/self/ns/net on the file: no process stays in it. */
async function createNetns(path: string): Promise<void> {
  try {
    closeSync(openSync(path, 'wx', 0o444));
  } catch (error) {
    throw systemError(error, 'create network namespace file', { stage: 'network', path });
  }
  await run('unshare', [`--net=${path}`, 'true'], 'create network namespace').catch((error) => {
    try {
      unlinkSync(path);
    } catch {
      // Leave the first error.
    }
    throw error;
  });
}

async function unmount(path: string): Promise<void> {
  // MNT_DETACH: a namespace some process still holds open must not keep the file busy.
  await run('umount', ['-l', path], 'unmount network namespace');
}

function run(file: string, args: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, (error, _stdout, stderr) => {
      if (error) reject(new RuntimeError('system', `${what}: ${String(stderr).trim() || error.message}`, { stage: 'network' }));
      else resolve();
    });
  });
}

// --- ports ----------------------------------------------------------------------------------------------------

/**
 * Each host port is free: no other container of this root publishes it, and nothing on the host listens on it
 * (a probe bind, which also picks a port for -p CONTAINERPORT and proves the host IP is the host's).
 */
async function checkPorts(ports: PortMapping[], root: string, id: string): Promise<PortMapping[]> {
  if (ports.length === 0) return ports;
  const taken: { port: PortMapping; owner: string }[] = [];
  for (const other of await otherStates(root, id)) {
    const record = other.network;
    if (record?.mode !== 'bridge' || record.released) continue;
    for (const port of record.ports) taken.push({ port, owner: other.id });
  }
  const checked: PortMapping[] = [];
  for (const port of ports) {
    const clash = [...taken, ...checked.map((mine) => ({ port: mine, owner: id }))].find(
      ({ port: other }) =>
        other.protocol === port.protocol && other.hostPort === port.hostPort && (other.hostIP === port.hostIP || other.hostIP === '0.0.0.0' || port.hostIP === '0.0.0.0'),
    );
    if (clash && port.hostPort !== 0) {
      throw new RuntimeError('already-exists', `port ${port.hostIP}:${port.hostPort}/${port.protocol} is already published by container ${clash.owner}`, { stage: 'network' });
    }
    const hostPort = port.protocol === 'tcp' || port.hostPort === 0 ? await probePort(port.hostIP, port.hostPort) : port.hostPort;
    checked.push({ ...port, hostPort });
  }
  return checked;
}

function probePort(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'something on the host listens there already' : error.code === 'EADDRNOTAVAIL' ? `${host} is not an address of this host` : error.message;
      reject(new RuntimeError('already-exists', `port ${host}:${port}: ${why}`, { stage: 'network' }));
    });
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

export function formatPorts(ports: readonly PortMapping[]): string[] {
  return ports.map((port) => `${port.containerPort}/${port.protocol} -> ${port.hostIP}:${port.hostPort}`);
}

// --- /etc/hosts and /etc/resolv.conf ----------------------------------------------------------------------------

async function otherStates(root: string, id: string): Promise<ContainerState[]> {
  const store = new StateStore(root);
  const states: ContainerState[] = [];
  for (const other of await store.listIds().catch(() => [])) {
    if (other === id) continue;
    const state = await store.readState(other).catch(() => undefined);
    if (state) states.push(state);
  }
  return states;
}

/** Containers of the same user network that have an address (docker resolves names on those only). */
async function peersOf(root: string, id: string, record: ContainerNetworkState): Promise<ContainerState[]> {
  if (record.mode !== 'bridge' || record.network === DEFAULT_NETWORK) return [];
  return (await otherStates(root, id)).filter(
    (other) => other.network?.mode === 'bridge' && other.network.network === record.network && !other.network.released && other.network.ipAddress,
  );
}

/**
 * Rewrites every peer's hosts file with the current members of the network (in place: the init layer is
 * mounted as a lower layer, and the file keeps its inode). `leaving`: `id` is going, whatever its file says.
 */
async function refreshPeers(root: string, id: string, network: string, log: Logger, options: { leaving?: boolean } = {}): Promise<void> {
  const members = (await otherStates(root, options.leaving ? id : '')).filter(
    (state) => state.network?.mode === 'bridge' && state.network.network === network && !state.network.released,
  );
  for (const member of members) {
    if (member.id === id || !member.containerDir || !member.network) continue;
    const peers = members.filter((other) => other.id !== member.id && other.network?.ipAddress);
    try {
      writeFileSync(join(member.containerDir, 'init/etc/hosts'), hostsText(member.id, member.network, peers));
    } catch (error) {
      log.debug(`network: update ${member.id}'s hosts: ${(error as Error).message}`);
    }
  }
}

function hostsText(id: string, record: ContainerNetworkState, peers: ContainerState[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  // A generated id (64 hex digits) is left out: the hostname is its first 12, as docker writes it.
  const names = [...new Set([record.hostname, ...(id.length === 64 && id.startsWith(record.hostname) ? [] : [id])])].join(' ');
  lines.push(record.ipAddress ? `${record.ipAddress}\t${names}` : `127.0.1.1\t${names}`);
  for (const host of record.extraHosts) lines.push(`${host.address}\t${host.name}`);
  for (const peer of peers) {
    const peerNames = [...new Set([peer.id, peer.network!.hostname])].join(' ');
    lines.push(`${peer.network!.ipAddress}\t${peerNames}`);
  }
  return `${lines.join('\n')}\n`;
}

function writeNetworkFiles(initDir: string, id: string, record: ContainerNetworkState, peers: ContainerState[], root: string): void {
  const hostsPath = join(initDir, 'etc/hosts');
  const resolvPath = join(initDir, 'etc/resolv.conf');
  try {
    if (record.mode === 'host') {
      writeFileSync(hostsPath, `${readOr('/etc/hosts', hostsText(record.hostname, record, []))}${extraHostLines(record)}`);
      writeFileSync(resolvPath, resolvText(record, false));
      return;
    }
    if (record.mode === 'container' && record.container) {
      // The joined container's view of the network, as docker shares it.
      const other = readStateSync(root, record.container);
      if (other?.containerDir) {
        writeFileSync(hostsPath, `${readOr(join(other.containerDir, 'init/etc/hosts'), hostsText(record.hostname, record, []))}${extraHostLines(record)}`);
        writeFileSync(resolvPath, readOr(join(other.containerDir, 'init/etc/resolv.conf'), resolvText(record, true)));
        return;
      }
    }
    writeFileSync(hostsPath, hostsText(id, record, peers));
    writeFileSync(resolvPath, resolvText(record, record.mode === 'bridge'));
  } catch (error) {
    throw systemError(error, 'write /etc/hosts and /etc/resolv.conf', { stage: 'network', path: initDir });
  }
}

function extraHostLines(record: ContainerNetworkState): string {
  return record.extraHosts.map((host) => `${host.address}\t${host.name}\n`).join('');
}

function readStateSync(root: string, id: string): ContainerState | undefined {
  try {
    return JSON.parse(readFileSync(join(root, id, 'state.json'), 'utf8')) as ContainerState;
  } catch {
    return undefined;
  }
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/**
 * The host's resolv.conf, with --dns servers instead of its own when given. In a namespace of its own the
 * container cannot reach the host's loopback resolvers (systemd-resolved's 127.0.0.53): those are dropped,
 * and with none left it gets public ones, as docker does.
 */
export function resolvText(record: Pick<ContainerNetworkState, 'dns'>, ownNamespace: boolean, hostText = readOr('/etc/resolv.conf', '')): string {
  const lines = hostText.split('\n').filter((line) => line.trim() !== '');
  const isServer = (line: string) => /^\s*nameserver\s/.test(line);
  const others = lines.filter((line) => !isServer(line));
  let servers = lines.filter(isServer).map((line) => line.trim().split(/\s+/)[1]!);
  if (record.dns.length > 0) servers = record.dns;
  else if (ownNamespace) servers = servers.filter((server) => !/^127\.|^::1$/.test(server));
  if (servers.length === 0) servers = ['8.8.8.8', '8.8.4.4'];
  return `${[...others, ...servers.map((server) => `nameserver ${server}`)].join('\n')}\n`;
}

/** Running containers that joined `id`'s network namespace (--net container:id). */
export async function netnsSharers(root: string, id: string): Promise<string[]> {
  const sharers: string[] = [];
  for (const other of await otherStates(root, id)) {
    if (other.network?.mode === 'container' && other.network.container === id && (await isLiveProcess(other.pid, other.pidStartTime))) sharers.push(other.id);
  }
  return sharers;
}
