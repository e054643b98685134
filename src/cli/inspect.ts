// `shim inspect [--format TEMPLATE] ID`: one JSON document for a person debugging a container: its state,
// namespaces (with the /proc/PID/ns links, whose inode numbers tell which containers share one), the mounts
// as planned, cgroup paths, rootfs and upper dir, and the config. --format picks fields docker-style:
// '{{.State.Pid}}', '{{json .Namespaces}}': a path walk over the document, never an evaluation of code.

import { readlink } from '../host/fs-async.js';
import { readContainerState } from '../container/lifecycle.js';
import { RuntimeError } from '../errors.js';
import type { ContainerPlan } from '../plan/container-plan.js';
import { CONFIG_FILE, PLAN_FILE, StateStore, type ContainerState } from '../state/state-store.js';
import type { CliEnvironment } from './main.js';

const NS_FILES: Record<string, string> = { mount: 'mnt', pid: 'pid', uts: 'uts', ipc: 'ipc', net: 'net', cgroup: 'cgroup', user: 'user', time: 'time' };

export async function inspectVerb(root: string, id: string, format: string | undefined, cli: CliEnvironment): Promise<number> {
  const observed = await readContainerState(root, id);
  const store = new StateStore(root);
  const plan = await store.readJson<ContainerPlan>(id, PLAN_FILE);
  const config = await store.readJson<unknown>(id, CONFIG_FILE);
  const { state, status } = observed;
  const alive = status === 'created' || status === 'running';
  const namespaces = await Promise.all(
    (plan?.namespaces ?? []).map(async (ns) => {
      const path = alive ? `/proc/${state.pid}/ns/${NS_FILES[ns.type] ?? ns.type}` : undefined;
      return { type: ns.type, joined: ns.path ?? null, path: path ?? null, link: path ? await readlink(path).catch(() => null) : null };
    }),
  );
  const document = {
    Id: state.id,
    Created: state.created,
    State: {
      Status: status,
      Running: status === 'running',
      Pid: alive ? state.pid : 0,
      PidStartTime: state.pidStartTime ?? null,
      ExitCode: observed.exitCode ?? null,
      OOMKilled: observed.oomKilled ?? false,
      FinishedAt: observed.finished ?? null,
      MonitorPid: state.monitorPid ?? null,
    },
    Image: state.image ?? null,
    Bundle: state.bundle,
    Rootfs: state.rootfs,
    UpperDir: plan?.rootfs.upperDir || null,
    LowerDirs: plan?.rootfs.lowerDirs ?? [],
    LogPath: state.logPath ?? null,
    StateDir: store.dirOf(id),
    Namespaces: namespaces,
    Mounts: plan?.mounts ?? [],
    Cgroups: { Dirs: state.cgroupDirs, RemovableParents: state.cgroupParentDirs ?? [] },
    Process: plan?.process ?? null,
    Config: config ?? null,
    NetworkSettings: networkSettings(state),
  };
  let text: string;
  try {
    text = format === undefined ? JSON.stringify(document, null, 2) : renderTemplate(format, document);
  } catch (error) {
    throw error instanceof RuntimeError ? error.forContainer(id) : error;
  }
  cli.stdout(`${text}\n`);
  return 0;
}

/**
 * A docker-style template: text with {{.A.B}} or {{json .A.B}} actions. Each action is a dotted path from
 * the document's root ("." alone is the document); a field that does not exist is an error naming it.
 */
export function renderTemplate(template: string, document: unknown): string {
  return template.replace(/\{\{\s*(.*?)\s*\}\}/g, (_, action: string) => {
    const match = /^(json\s+)?(\.[A-Za-z0-9_.]*)$/.exec(action);
    if (!match) throw new RuntimeError('usage', `--format: cannot read {{${action}}}: expected {{.Path.To.Field}} or {{json .Path}}`);
    const value = walk(document, match[2]!);
    if (match[1] || (typeof value === 'object' && value !== null)) return JSON.stringify(value);
    return value === null || value === undefined ? '<no value>' : String(value);
  });
}

function walk(document: unknown, path: string): unknown {
  let value = document;
  for (const key of path.split('.').filter(Boolean)) {
    if (typeof value !== 'object' || value === null || !Object.prototype.hasOwnProperty.call(value, key)) {
      throw new RuntimeError('usage', `--format: ${path}: there is no field ${key}`);
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** docker's NetworkSettings: the address, gateway and MAC of a bridge network, its ports, by network name. */
function networkSettings(state: ContainerState) {
  const record = state.network;
  const attached = record?.mode === 'bridge' && !record.released ? record : undefined;
  const ports: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const port of attached?.ports ?? []) {
    (ports[`${port.containerPort}/${port.protocol}`] ??= []).push({ HostIp: port.hostIP, HostPort: String(port.hostPort) });
  }
  const endpoint = attached && {
    IPAddress: attached.ipAddress ?? '',
    IPPrefixLen: attached.prefixLen ?? 0,
    Gateway: attached.gateway ?? '',
    MacAddress: attached.macAddress ?? '',
    SandboxKey: attached.netnsPath ?? '',
  };
  return {
    Mode: record ? (record.mode === 'container' ? `container:${record.container}` : record.mode === 'bridge' ? record.network : record.mode) : null,
    SandboxKey: attached?.netnsPath ?? '',
    IPAddress: endpoint?.IPAddress ?? '',
    IPPrefixLen: endpoint?.IPPrefixLen ?? 0,
    Gateway: endpoint?.Gateway ?? '',
    MacAddress: endpoint?.MacAddress ?? '',
    Ports: ports,
    Networks: attached ? { [attached.network!]: endpoint } : {},
  };
}
