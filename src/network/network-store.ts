// Networks: one CNI configuration list per network, data-root/networks/<name>.conflist, and the IPAM leases of
// all of them under data-root/networks/ipam (host-local's dataDir), so a data root holds its networks whole.
//
// Every network is a bridge network: bridge (+ host-local IPAM) and portmap (run only for containers that
// publish ports). The default network, "bridge", is made on first use with the bridge shim0 and the subnet
// 10.99.0.0/16 (off podman's 10.88.0.0/16 and docker's 172.17.0.0/16); `network create bridge ...` made
// before that chooses other values for it.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeError, hasErrnoCode, systemError } from '../errors.js';
import type { Logger } from '../log.js';
import { CNI_VERSION, pluginVersions, type CniConfList, type CniPluginConf } from './cni.js';
import { formatCidr, formatIpv4, overlaps, parseCidr, parseIpv4, contains, readHostRoutes, type Cidr } from './ipv4.js';

export const DEFAULT_NETWORK = 'bridge';
export const DEFAULT_BRIDGE = 'shim0';
export const DEFAULT_SUBNET = '10.99.0.0/16';

export interface NetworkInfo {
  name: string;
  id: string;
  bridge: string;
  subnet: string;
  gateway: string;
  internal: boolean;
  created: string;
  conflist: CniConfList;
}

export interface CreateNetworkOptions {
  subnet?: string | undefined;
  gateway?: string | undefined;
  internal?: boolean | undefined;
  /** The host bridge's name (docker's -o com.docker.network.bridge.name). */
  bridge?: string | undefined;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const LINK_PATTERN = /^[A-Za-z0-9_.-]{1,15}$/;

export class NetworkStore {
  readonly dir: string;
  /** host-local's dataDir: one directory per network, one file per leased address. */
  readonly ipamDir: string;

  constructor(dataRoot: string) {
    this.dir = join(dataRoot, 'networks');
    this.ipamDir = join(this.dir, 'ipam');
  }

  #file(name: string): string {
    return join(this.dir, `${name}.conflist`);
  }

  list(): NetworkInfo[] {
    let entries: string[];
    try {
      entries = readdirSync(this.dir);
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) return [];
      throw systemError(error, 'list networks', { path: this.dir });
    }
    return entries
      .filter((entry) => entry.endsWith('.conflist'))
      .map((entry) => this.find(entry.slice(0, -'.conflist'.length)))
      .filter((info): info is NetworkInfo => info !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  find(name: string): NetworkInfo | undefined {
    if (!NAME_PATTERN.test(name)) return undefined;
    const file = this.#file(name);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) return undefined;
      throw systemError(error, `read network ${name}`, { path: file });
    }
    let conflist: CniConfList;
    try {
      conflist = JSON.parse(text) as CniConfList;
      if (!Array.isArray(conflist.plugins)) throw new Error('no plugins list');
    } catch (error) {
      throw new RuntimeError('invalid-config', `network ${name}: ${(error as Error).message}`, { path: file });
    }
    const bridge = conflist.plugins.find((plugin) => plugin.type === 'bridge') ?? ({} as CniPluginConf);
    const range = ((bridge.ipam as { ranges?: { subnet: string; gateway: string }[][] } | undefined)?.ranges ?? [[]])[0]?.[0];
    return {
      name,
      id: networkId(name),
      bridge: String(bridge.bridge ?? ''),
      subnet: range?.subnet ?? '',
      gateway: range?.gateway ?? '',
      internal: bridge.ipMasq !== true,
      created: statSync(file).mtime.toISOString(),
      conflist,
    };
  }

  /** The network by name; the default one is made on first use. */
  async resolve(name: string, log: Logger): Promise<NetworkInfo> {
    const found = this.find(name);
    if (found) return found;
    if (name === DEFAULT_NETWORK) {
      try {
        return await this.create(DEFAULT_NETWORK, {}, log);
      } catch (error) {
        // Another run made it meanwhile.
        const made = this.find(name);
        if (made) return made;
        throw error;
      }
    }
    throw new RuntimeError('not-found', `network ${name} not found`, { stage: 'network', hint: 'shim network ls lists them; shim network create makes one' });
  }

  async create(name: string, options: CreateNetworkOptions, log: Logger): Promise<NetworkInfo> {
    if (!NAME_PATTERN.test(name)) throw new RuntimeError('usage', `network name ${name}: letters, digits, _ . - (up to 64, not starting with a symbol)`);
    if (['host', 'none'].includes(name) || name.startsWith('container:')) {
      throw new RuntimeError('usage', `network name ${name} is reserved (--net ${name} means something else)`);
    }
    if (this.find(name)) throw new RuntimeError('already-exists', `network ${name} already exists`);
    const others = this.list();
    const isDefault = name === DEFAULT_NETWORK;
    const bridge = options.bridge ?? (isDefault ? DEFAULT_BRIDGE : pickBridgeName(name, others));
    if (!LINK_PATTERN.test(bridge)) throw new RuntimeError('usage', `bridge name ${bridge}: up to 15 letters, digits, _ . -`);
    const sameBridge = others.find((other) => other.bridge === bridge);
    if (sameBridge) throw new RuntimeError('already-exists', `bridge ${bridge} is network ${sameBridge.name}'s`);
    // Someone else's link is never taken over (the default bridge may be left from an earlier data root).
    if (!isDefault && existsSync(`/sys/class/net/${bridge}`)) {
      throw new RuntimeError('already-exists', `a link named ${bridge} exists on the host already`, { hint: 'name another bridge' });
    }
    const subnet = options.subnet !== undefined ? parseCidr(options.subnet, '--subnet') : isDefault ? parseCidr(DEFAULT_SUBNET, 'subnet') : pickSubnet(others);
    checkSubnetFree(subnet, others, bridge);
    const gateway = planGateway(subnet, options.gateway);
    const conflist = planConflist(name, {
      bridge,
      subnet: formatCidr(subnet),
      gateway,
      internal: options.internal ?? false,
      ipamDir: this.ipamDir,
      forwardDrops: await forwardPolicyDrops(),
    });
    // VERSION of each plugin once, here, rather than a surprise at the first run.
    for (const plugin of conflist.plugins) {
      const versions = await pluginVersions(plugin.type, log);
      if (!versions.includes(CNI_VERSION)) throw new RuntimeError('unsupported', `cni plugin ${plugin.type} does not speak CNI ${CNI_VERSION} (it has ${versions.join(', ')})`);
    }
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const temporary = `${this.#file(name)}.${process.pid}.tmp`;
      writeFileSync(temporary, `${JSON.stringify(conflist, null, 2)}\n`, { mode: 0o644, flag: 'wx' });
      renameSync(temporary, this.#file(name));
    } catch (error) {
      throw systemError(error, `create network ${name}`, { path: this.#file(name) });
    }
    return this.find(name)!;
  }

  /** Removes the conflist, its IPAM directory and, when no container is attached to it, its bridge. */
  async remove(info: NetworkInfo, log: Logger): Promise<void> {
    rmSync(this.#file(info.name), { force: true });
    rmSync(join(this.ipamDir, info.name), { recursive: true, force: true });
    await removeBridge(info.bridge, log);
  }
}

export function networkId(name: string): string {
  return createHash('sha256').update(`shim-network:${name}`).digest('hex');
}

export interface ConflistValues {
  bridge: string;
  subnet: string;
  gateway: string;
  internal: boolean;
  ipamDir: string;
  /**
   * The host's FORWARD chain drops by default (as on a host with docker): the firewall plugin then adds an
   * ACCEPT for each container's address (removed by DEL). Where FORWARD accepts, it would be one Go exec and
   * a few iptables calls per ADD and DEL for nothing, so it is left out.
   */
  forwardDrops?: boolean | undefined;
}

export function planConflist(name: string, values: ConflistValues): CniConfList {
  const firewall: CniPluginConf[] = values.forwardDrops ? [{ type: 'firewall', backend: 'iptables' }] : [];
  return {
    cniVersion: CNI_VERSION,
    name,
    plugins: [
      {
        type: 'bridge',
        bridge: values.bridge,
        // The bridge carries the gateway address; only a network with a way out gets the default route and
        // the masquerade (the plugin's per-container chain, matching the subnet, removed by DEL).
        isGateway: true,
        isDefaultGateway: !values.internal,
        ipMasq: !values.internal,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: values.subnet, gateway: values.gateway }]],
          dataDir: values.ipamDir,
        },
      },
      ...firewall,
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  };
}

/** `iptables -S FORWARD` starts with "-P FORWARD DROP" on a host that drops forwarded packets by default. */
async function forwardPolicyDrops(): Promise<boolean> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile('iptables', ['-w', '-S', 'FORWARD'], (error, stdout) => resolve(!error && /^-P FORWARD (DROP|REJECT)/m.test(String(stdout))));
  });
}

function planGateway(subnet: Cidr, gateway: string | undefined): string {
  if (gateway === undefined) return formatIpv4(subnet.network + 1);
  const address = parseIpv4(gateway);
  if (address === undefined) throw new RuntimeError('usage', `--gateway ${gateway}: not an IPv4 address`);
  const broadcast = subnet.network + 2 ** (32 - subnet.prefix) - 1;
  if (!contains(subnet, address) || address === subnet.network || address === broadcast) {
    throw new RuntimeError('usage', `--gateway ${gateway} is not a host address of ${formatCidr(subnet)}`);
  }
  return gateway;
}

/** A subnet the host does not route already and no other network of this data root has. */
function checkSubnetFree(subnet: Cidr, others: NetworkInfo[], bridge: string): void {
  for (const other of others) {
    if (other.subnet && overlaps(subnet, parseCidr(other.subnet, 'subnet'))) {
      throw new RuntimeError('already-exists', `subnet ${formatCidr(subnet)} overlaps network ${other.name}'s ${other.subnet}`);
    }
  }
  for (const route of readHostRoutes()) {
    if (route.iface === bridge) continue;
    if (overlaps(subnet, route.cidr)) {
      throw new RuntimeError('already-exists', `subnet ${formatCidr(subnet)} overlaps the host's route to ${formatCidr(route.cidr)} on ${route.iface}`, {
        hint: 'choose another with --subnet',
      });
    }
  }
}

/** docker's pool for user networks is 172.18-31.0.0/16; shim takes 10.100-250.N.0/24, the first one free. */
function pickSubnet(others: NetworkInfo[]): Cidr {
  const taken = [...others.filter((other) => other.subnet).map((other) => parseCidr(other.subnet, 'subnet')), ...readHostRoutes().map((route) => route.cidr)];
  for (let second = 100; second <= 250; second++) {
    for (let third = 0; third < 256; third++) {
      const candidate = { network: ((10 << 24) | (second << 16) | (third << 8)) >>> 0, prefix: 24 };
      if (!taken.some((cidr) => overlaps(candidate, cidr))) return candidate;
    }
  }
  throw new RuntimeError('system', 'no free subnet in 10.100.0.0-10.250.255.0', { hint: 'give one with --subnet' });
}

function pickBridgeName(name: string, others: NetworkInfo[]): string {
  const used = new Set(others.map((other) => other.bridge));
  const base = `shim-${networkId(name).slice(0, 8)}`;
  for (let index = 0; ; index++) {
    const candidate = index === 0 ? base : `${base.slice(0, 12)}${index}`;
    if (!used.has(candidate) && !existsSync(`/sys/class/net/${candidate}`)) return candidate;
  }
}

/**
 * The bridge plugin makes the bridge on the first ADD and never removes it; it goes with its network here,
 * unless something is still attached to it (the default shim0 may serve another data root's network).
 */
async function removeBridge(bridge: string, log: Logger): Promise<void> {
  if (!bridge || !existsSync(`/sys/class/net/${bridge}/bridge`)) return;
  try {
    if (readdirSync(`/sys/class/net/${bridge}/brif`).length > 0) {
      log.warn(`network: bridge ${bridge} still has ports attached; left in place`);
      return;
    }
  } catch {
    return;
  }
  const { execFile } = await import('node:child_process');
  await new Promise<void>((resolve) => {
    execFile('ip', ['link', 'del', bridge, 'type', 'bridge'], (error) => {
      if (error && existsSync(`/sys/class/net/${bridge}`)) log.warn(`network: remove bridge ${bridge}: ${error.message.trim()}`);
      resolve();
    });
  });
}
