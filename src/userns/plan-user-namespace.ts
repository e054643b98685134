// User namespaces: what the config's linux.uidMappings/gidMappings and a `user` namespace ask for, checked the
// way the kernel will check them, so a bad mapping is refused with one line before anything is made.
// Pure: the planner calls it with the config; nothing here reads the host.

import { RuntimeError } from '../errors.js';
import type { OciConfig, OciIdMapping, OciProcess } from '../plan/oci-config.js';

export interface IdMapping {
  containerId: number;
  hostId: number;
  size: number;
}

export interface PlannedUserNamespace {
  /** Joined at this host path; undefined when a new one is made. */
  path?: string | undefined;
  /** Written for a new namespace (empty when joining one: it has its maps already). */
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
  /** Something the plan leaves out of what the config asked, said out loud. */
  warning?: string | undefined;
}

/** The kernel's limit on lines in one uid_map or gid_map (since 4.15). */
const MAX_MAP_LINES = 340;
const ID_LIMIT = 2 ** 32;

/** undefined when the container has no user namespace of its own (it shares the caller's). */
export function planUserNamespace(config: OciConfig): PlannedUserNamespace | undefined {
  const linux = config.linux ?? {};
  const entry = (linux.namespaces ?? []).find((ns) => ns.type === 'user');
  const uidMappings = checkMappings(linux.uidMappings, 'linux.uidMappings');
  const gidMappings = checkMappings(linux.gidMappings, 'linux.gidMappings');
  if (!entry) {
    if (uidMappings.length > 0 || gidMappings.length > 0) {
      throw new RuntimeError('invalid-config', 'config.json: linux.uidMappings/gidMappings are given, but linux.namespaces has no user namespace');
    }
    return undefined;
  }
  if (entry.path) {
    // The joined namespace has its maps; given ones are not written again (the kernel would refuse). runc
    // compares them with the namespace's own; shim does not read them, and says so.
    const given = uidMappings.length > 0 || gidMappings.length > 0;
    return {
      path: entry.path,
      uidMappings: [],
      gidMappings: [],
      ...(given ? { warning: `linux.uidMappings/gidMappings ignored: the user namespace ${entry.path} is joined with the maps it has` } : {}),
    };
  }
  if (uidMappings.length === 0 || gidMappings.length === 0) {
    throw new RuntimeError(
      'invalid-config',
      'config.json: a new user namespace needs both linux.uidMappings and linux.gidMappings (or a path to join)',
    );
  }
  checkProcessIds(config.process, uidMappings, gidMappings);
  return { uidMappings, gidMappings };
}

/** Refuses what the kernel would refuse when the map is written (EINVAL, with no word on which line). */
export function checkMappings(raw: readonly OciIdMapping[] | undefined, where: string): IdMapping[] {
  const mappings = (raw ?? []).map((mapping, index): IdMapping => {
    const at = `config.json: ${where}[${index}]`;
    const containerId = mapping.containerID;
    const hostId = mapping.hostID;
    const size = mapping.size;
    for (const [name, value] of [['containerID', containerId], ['hostID', hostId], ['size', size]] as const) {
      if (!Number.isInteger(value) || value < 0 || value >= ID_LIMIT) {
        throw new RuntimeError('invalid-config', `${at}.${name} ${value} is not a 32-bit id`);
      }
    }
    if (size === 0) throw new RuntimeError('invalid-config', `${at}.size is 0`);
    if (containerId + size > ID_LIMIT || hostId + size > ID_LIMIT) {
      throw new RuntimeError('invalid-config', `${at} runs past id 4294967295`);
    }
    return { containerId, hostId, size };
  });
  if (mappings.length > MAX_MAP_LINES) {
    throw new RuntimeError('invalid-config', `config.json: ${where} has ${mappings.length} ranges; the kernel takes at most ${MAX_MAP_LINES}`);
  }
  for (let i = 0; i < mappings.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = mappings[j]!;
      const b = mappings[i]!;
      if (overlaps(a.containerId, b.containerId, a.size, b.size)) {
        throw new RuntimeError('invalid-config', `config.json: ${where}[${i}] and [${j}] overlap in container ids (${describe(b)} and ${describe(a)})`);
      }
      if (overlaps(a.hostId, b.hostId, a.size, b.size)) {
        throw new RuntimeError('invalid-config', `config.json: ${where}[${i}] and [${j}] overlap in host ids (${describe(b)} and ${describe(a)})`);
      }
    }
  }
  return mappings;
}

/** The container id as a host id, or undefined when it is not mapped. */
export function toHostId(mappings: readonly IdMapping[], containerId: number): number | undefined {
  const range = mappings.find((mapping) => containerId >= mapping.containerId && containerId < mapping.containerId + mapping.size);
  return range === undefined ? undefined : range.hostId + (containerId - range.containerId);
}

/** An id the process would take that the namespace does not map makes setuid/setgid fail (EINVAL) at start. */
function checkProcessIds(process: OciProcess | undefined, uidMappings: IdMapping[], gidMappings: IdMapping[]): void {
  if (!process) return;
  const { uid, gid, additionalGids } = process.user;
  if (toHostId(uidMappings, uid) === undefined) {
    throw new RuntimeError('invalid-config', `config.json: process.user.uid ${uid} is not mapped by linux.uidMappings`);
  }
  for (const id of [gid, ...(additionalGids ?? [])]) {
    if (toHostId(gidMappings, id) === undefined) {
      throw new RuntimeError('invalid-config', `config.json: process.user gid ${id} is not mapped by linux.gidMappings`);
    }
  }
}

function overlaps(a: number, b: number, sizeA: number, sizeB: number): boolean {
  return a < b + sizeB && b < a + sizeA;
}

function describe(mapping: IdMapping): string {
  return `${mapping.containerId}:${mapping.hostId}:${mapping.size}`;
}

/** podman's --uidmap CONTAINER:HOST:SIZE (several may be given). */
export function parseIdMapFlag(value: string, flag: string): IdMapping {
  const match = /^(\d+):(\d+):(\d+)$/.exec(value);
  if (!match) throw new RuntimeError('usage', `${flag} ${value}: expected CONTAINER_ID:HOST_ID:SIZE`);
  return { containerId: Number(match[1]), hostId: Number(match[2]), size: Number(match[3]) };
}

export function toOciMappings(mappings: readonly IdMapping[]): OciIdMapping[] {
  return mappings.map((mapping) => ({ containerID: mapping.containerId, hostID: mapping.hostId, size: mapping.size }));
}
