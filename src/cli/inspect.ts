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
  const oci = config as { process?: { args?: string[]; env?: string[]; cwd?: string; terminal?: boolean; user?: { uid: number; gid: number } }; hostname?: string; root?: { readonly?: boolean } } | null;
  const args = oci?.process?.args ?? [];
  const docker = state.docker;
  const dockerStatus = status === 'stopped' ? 'exited' : status;
  const document = {
    Id: state.id,
    Created: state.created,
    Path: args[0] ?? '',
    Args: args.slice(1),
    State: {
      Status: dockerStatus,
      Running: status === 'running',
      Paused: status === 'paused',
      Restarting: false,
      OOMKilled: observed.oomKilled ?? false,
      Dead: false,
      Pid: alive ? state.pid : 0,
      ExitCode: observed.exitCode ?? 0,
      Error: '',
      StartedAt: docker?.startedAt ?? state.created,
      FinishedAt: observed.finished ?? '0001-01-01T00:00:00Z',
      PidStartTime: state.pidStartTime ?? null,
      MonitorPid: state.monitorPid ?? null,
    },
    Image: state.imageId ?? state.image ?? '',
    Name: `/${state.id}`,
    RestartCount: docker?.restartCount ?? 0,
    LogPath: state.logPath ?? '',
    Config: {
      Hostname: oci?.hostname ?? '',
      User: docker?.user ?? '',
      Tty: oci?.process?.terminal ?? false,
      OpenStdin: docker?.interactive ?? false,
      Env: oci?.process?.env ?? [],
      Cmd: args,
      Image: state.image ?? '',
      WorkingDir: oci?.process?.cwd ?? '',
      Labels: docker?.labels ?? {},
      StopSignal: docker?.stopSignal ?? 'SIGTERM',
      StopTimeout: docker?.stopTimeout ?? null,
    },
    HostConfig: {
      RestartPolicy: docker?.restart
        ? { Name: docker.restart.name, MaximumRetryCount: docker.restart.name === 'on-failure' ? docker.restart.maximum : 0 }
        : { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: state.autoRemove,
      Privileged: docker?.privileged ?? false,
      ReadonlyRootfs: oci?.root?.readonly ?? false,
      CapAdd: docker?.capAdd ?? null,
      CapDrop: docker?.capDrop ?? null,
      Init: docker?.init ?? false,
      Tmpfs: Object.fromEntries((docker?.tmpfs ?? []).map((value) => { const at = value.indexOf(':'); return at === -1 ? [value, ''] : [value.slice(0, at), value.slice(at + 1)]; })),
    },
    Mounts: (plan?.mounts ?? []).filter((mount) => (mount.flags & 4096) !== 0).map((mount) => ({
      Type: 'bind',
      Source: mount.source,
      Destination: mount.target,
      RW: (mount.flags & 1) === 0,
    })),
    GraphDriver: {
      Name: 'overlay2',
      Data: {
        LowerDir: (plan?.rootfs.lowerDirs ?? []).join(':'),
        UpperDir: plan?.rootfs.upperDir ?? '',
        WorkDir: plan?.rootfs.workDir ?? '',
        MergedDir: plan?.rootfs.path ?? '',
      },
    },
    // shim's own, beside docker's fields.
    Bundle: state.bundle,
    Rootfs: state.rootfs,
    UpperDir: plan?.rootfs.upperDir || null,
    LowerDirs: plan?.rootfs.lowerDirs ?? [],
    StateDir: store.dirOf(id),
    Namespaces: namespaces,
    // Each planned mount with its propagation: as planned ("rslave (rootfs)" when it inherits the root's), and
    // for a live container as the kernel has it now (/proc/PID/mountinfo). Then what `mount add` added.
    // (`Mounts` is docker's shape, above.)
    PlannedMounts: describeMounts(plan, alive || status === 'paused' ? state.pid : 0),
    LiveMounts: state.liveMounts ?? [],
    LiveDevices: state.liveDevices ?? [],
    DeviceProgram: state.deviceProgram ?? null,
    Cgroups: { Dirs: state.cgroupDirs, RemovableParents: state.cgroupParentDirs ?? [] },
    Process: plan?.process ?? null,
    OciConfig: config ?? null,
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
 * A docker-style (Go text/template) subset: {{.A.B}}, {{json .A}}, {{range .List}}...{{end}} (. is each item
 * inside), {{index .Map "key"}}, {{join .List ","}}, {{upper .X}}, {{lower .X}}, {{println}}. Fields are a path
 * walk over the document, never an evaluation of code; a field that does not exist is an error naming it.
 */
export function renderTemplate(template: string, document: unknown): string {
  const tokens = template.split(/(\{\{-?\s*.*?\s*-?\}\})/s);
  const [text, rest] = renderTokens(tokens, 0, document);
  if (rest < tokens.length) throw new RuntimeError('usage', '--format: {{end}} without {{range}}');
  return text;
}

function renderTokens(tokens: string[], from: number, dot: unknown): [string, number] {
  let out = '';
  for (let index = from; index < tokens.length; index++) {
    const token = tokens[index]!;
    const action = /^\{\{-?\s*(.*?)\s*-?\}\}$/s.exec(token)?.[1];
    if (action === undefined) {
      out += token;
      continue;
    }
    if (action === 'end') return [out, index];
    const range = /^range\s+(.+)$/.exec(action);
    if (range) {
      const list = evaluate(range[1]!, dot);
      const items = Array.isArray(list) ? list : list && typeof list === 'object' ? Object.values(list) : [];
      const end = matchingEnd(tokens, index + 1);
      for (const item of items) out += renderTokens(tokens.slice(0, end), index + 1, item)[0];
      index = end;
      continue;
    }
    out += show(evaluate(action, dot));
  }
  return [out, tokens.length];
}

/** The {{end}} that closes the {{range}} whose body starts at `from`. */
function matchingEnd(tokens: string[], from: number): number {
  let depth = 0;
  for (let index = from; index < tokens.length; index++) {
    const action = /^\{\{-?\s*(.*?)\s*-?\}\}$/s.exec(tokens[index]!)?.[1];
    if (action === undefined) continue;
    if (/^range\s/.test(action)) depth++;
    else if (action === 'end' && depth-- === 0) return index;
  }
  throw new RuntimeError('usage', '--format: {{range}} without {{end}}');
}

class JsonText {
  constructor(readonly text: string) {}
}

function show(value: unknown): string {
  if (value instanceof JsonText) return value.text;
  if (value === null || value === undefined) return '<no value>';
  if (Array.isArray(value)) return `[${value.map(show).join(' ')}]`;
  if (typeof value === 'object') return `map[${Object.entries(value as Record<string, unknown>).map(([key, item]) => `${key}:${show(item)}`).join(' ')}]`;
  return String(value);
}

function evaluate(expression: string, dot: unknown): unknown {
  const words = expression.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
  const arg = (word: string | undefined) => {
    if (word === undefined) throw new RuntimeError('usage', `--format: {{${expression}}}: missing argument`);
    if (word.startsWith('"')) return JSON.parse(word) as string;
    if (word.startsWith('.')) return walk(dot, word);
    throw new RuntimeError('usage', `--format: cannot read {{${expression}}}: expected {{.Path.To.Field}}, {{json .Path}}, range, index, join, upper, lower or println`, {
      hint: "e.g. '{{.State.Pid}}', '{{json .Config}}', '{{range .Mounts}}{{.Destination}} {{end}}'",
    });
  };
  const [head, ...rest] = words;
  switch (head) {
    case 'json':
      return new JsonText(JSON.stringify(arg(rest[0])));
    case 'index': {
      const base = arg(rest[0]) as Record<string, unknown> | unknown[];
      const key = arg(rest[1]);
      return (base as Record<string, unknown>)?.[key as string];
    }
    case 'join':
      return ((arg(rest[0]) as unknown[]) ?? []).map(String).join(String(arg(rest[1])));
    case 'upper':
      return String(arg(rest[0])).toUpperCase();
    case 'lower':
      return String(arg(rest[0])).toLowerCase();
    case 'println':
      return `${rest.map((word) => show(arg(word))).join(' ')}\n`;
    default:
      if (words.length !== 1) throw new RuntimeError('usage', `--format: cannot read {{${expression}}}: expected {{.Path.To.Field}}, {{json .Path}}, range, index, join, upper, lower or println`);
      return arg(head);
  }
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
