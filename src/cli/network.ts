// `shim network create|ls|inspect|rm|prune|check` and `shim port ID`: thin wrappers over src/network/.

import { RuntimeError, isRuntimeError, systemError } from '../errors.js';
import type { RuntimeContext } from '../container/run-container.js';
import { checkNetwork, formatPorts } from '../network/container-network.js';
import { DEFAULT_NETWORK, NetworkStore, type NetworkInfo } from '../network/network-store.js';
import { StateStore, type ContainerState } from '../state/state-store.js';
import type { CliEnvironment } from './main.js';

export async function networkVerb(raw: Record<string, unknown>, context: RuntimeContext, cli: CliEnvironment): Promise<number> {
  const store = new NetworkStore(context.dataRoot);
  const names = listOf(raw.args);
  const sub = String(raw.sub);
  switch (sub) {
    case 'create': {
      if (names.length !== 1) throw new RuntimeError('usage', 'network create takes one NAME', { hint: 'shim network create [--subnet CIDR] NAME' });
      let bridge = raw.bridge as string | undefined;
      for (const option of listOf(raw.opt)) {
        const [key, value] = [option.slice(0, option.indexOf('=')), option.slice(option.indexOf('=') + 1)];
        if (key === 'com.docker.network.bridge.name' && value) bridge = value;
        else throw new RuntimeError('usage', `-o ${option}: only com.docker.network.bridge.name=NAME is known`);
      }
      const info = await store.create(names[0]!, { subnet: raw.subnet as string | undefined, gateway: raw.gateway as string | undefined, internal: Boolean(raw.internal), bridge }, context.log);
      cli.stdout(`${info.id}\n`);
      return 0;
    }
    case 'ls': {
      const networks = store.list();
      if (raw.quiet) {
        cli.stdout(networks.map((info) => `${info.name}\n`).join(''));
        return 0;
      }
      const rows = [['NETWORK ID', 'NAME', 'DRIVER', 'BRIDGE', 'SUBNET', 'INTERNAL'], ...networks.map((info) => [info.id.slice(0, 12), info.name, 'bridge', info.bridge, info.subnet, String(info.internal)])];
      cli.stdout(formatTable(rows));
      return 0;
    }
    case 'inspect': {
      if (names.length === 0) throw new RuntimeError('usage', 'network inspect takes NAME...');
      const states = await readStates(context.root);
      const documents = names.map((name) => {
        const info = store.find(name);
        if (!info) throw new RuntimeError('not-found', `network ${name} not found`);
        return describeNetwork(info, states);
      });
      cli.stdout(`${JSON.stringify(documents, null, 2)}\n`);
      return 0;
    }
    case 'rm':
    case 'prune': {
      const states = await readStates(context.root);
      const targets = sub === 'rm' ? names.map((name) => store.find(name) ?? notFound(name)) : store.list().filter((info) => info.name !== DEFAULT_NETWORK);
      if (sub === 'rm' && names.length === 0) throw new RuntimeError('usage', 'network rm takes NAME...');
      for (const info of targets) {
        const users = usersOf(info.name, states);
        if (users.length > 0) {
          if (sub === 'prune') continue;
          throw new RuntimeError('invalid-state', `network ${info.name} is in use by container ${users.map((state) => state.id).join(', ')}`, {
            hint: 'remove those containers first',
          });
        }
        await store.remove(info, context.log);
        cli.stdout(`${info.name}\n`);
      }
      return 0;
    }
    case 'check': {
      // CNI CHECK: the plugins confirm the container's network is as ADD left it.
      if (names.length !== 1) throw new RuntimeError('usage', 'network check takes one container ID');
      const id = names[0]!;
      try {
        await checkNetwork(await new StateStore(context.root).readState(id), context.log);
      } catch (error) {
        throw (isRuntimeError(error) ? error : systemError(error, 'check network')).forContainer(id);
      }
      return 0;
    }
    default:
      throw new RuntimeError('usage', `network: unknown command ${sub}`, { hint: 'create, ls, inspect, rm, prune' });
  }
}

export async function portVerb(context: RuntimeContext, id: string, cli: CliEnvironment): Promise<number> {
  let state: ContainerState;
  try {
    state = await new StateStore(context.root).readState(id);
  } catch (error) {
    throw (isRuntimeError(error) ? error : systemError(error, 'read state')).forContainer(id);
  }
  const ports = state.network && !state.network.released ? state.network.ports : [];
  cli.stdout(formatPorts(ports).map((line) => `${line}\n`).join(''));
  return 0;
}

/** docker network inspect's shape, for the fields a bridge network has. */
function describeNetwork(info: NetworkInfo, states: ContainerState[]) {
  const containers: Record<string, unknown> = {};
  for (const state of usersOf(info.name, states)) {
    const record = state.network!;
    containers[state.id] = {
      Name: state.id,
      MacAddress: record.macAddress ?? '',
      IPv4Address: record.ipAddress ? `${record.ipAddress}/${record.prefixLen}` : '',
    };
  }
  return {
    Name: info.name,
    Id: info.id,
    Created: info.created,
    Scope: 'local',
    Driver: 'bridge',
    Internal: info.internal,
    IPAM: { Driver: 'host-local', Config: [{ Subnet: info.subnet, Gateway: info.gateway }] },
    Options: { 'com.docker.network.bridge.name': info.bridge },
    Containers: containers,
    ConfigList: info.conflist,
  };
}

function usersOf(network: string, states: ContainerState[]): ContainerState[] {
  return states.filter((state) => state.network?.mode === 'bridge' && state.network.network === network && !state.network.released);
}

async function readStates(root: string): Promise<ContainerState[]> {
  const store = new StateStore(root);
  const states: ContainerState[] = [];
  for (const id of await store.listIds().catch(() => [])) {
    const state = await store.readState(id).catch(() => undefined);
    if (state) states.push(state);
  }
  return states;
}

function notFound(name: string): never {
  throw new RuntimeError('not-found', `network ${name} not found`);
}

function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => `${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]! + 3))).join('')}\n`).join('');
}

function listOf(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}
