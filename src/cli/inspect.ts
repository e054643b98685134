// `shim inspect [--format TEMPLATE] ID`: one JSON document for a person debugging a container: its state,
// namespaces (with the /proc/PID/ns links, whose inode numbers tell which containers share one), the mounts
// as planned, cgroup paths, rootfs and upper dir, and the config. --format picks fields docker-style:
// '{{.State.Pid}}', '{{json .Namespaces}}': a path walk over the document, never an evaluation of code.

import { readlink } from '../host/fs-async.js';
import { readContainerState } from '../container/lifecycle.js';
import { RuntimeError } from '../errors.js';
import type { ContainerPlan } from '../plan/container-plan.js';
import { MS_REC } from '../plan/kernel-constants.js';
import { propagationName, readMountPropagation } from '../live/propagation.js';
import { CONFIG_FILE, PLAN_FILE, StateStore } from '../state/state-store.js';
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
    // Each mount with its propagation: as planned ("rslave (rootfs)" when it inherits the root's), and for a
    // live container as the kernel has it now (/proc/PID/mountinfo). Then what `mount add` added.
    Mounts: describeMounts(plan, alive || status === 'paused' ? state.pid : 0),
    LiveMounts: state.liveMounts ?? [],
    LiveDevices: state.liveDevices ?? [],
    DeviceProgram: state.deviceProgram ?? null,
    Cgroups: { Dirs: state.cgroupDirs, RemovableParents: state.cgroupParentDirs ?? [] },
    Process: plan?.process ?? null,
    Config: config ?? null,
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

function describeMounts(plan: ContainerPlan | undefined, pid: number): unknown[] {
  if (!plan) return [];
  const current = pid > 0 ? readMountPropagation(pid) : new Map<string, string>();
  const root = `${propagationName(plan.rootfs.propagation | MS_REC) ?? 'rslave'} (rootfs)`;
  return plan.mounts.map((mount) => ({
    ...mount,
    Propagation: propagationName(mount.propagation) ?? root,
    CurrentPropagation: current.get(mount.target) ?? null,
  }));
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
