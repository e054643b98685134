// A docker-style `run IMAGE [CMD...]` becomes an OCI config first (runc spec's defaults, docker's security
// defaults, then the flags), so that it goes through the same planner as a bundle.

import type { OciConfig, OciDevice, OciDeviceRule, OciMount, OciResources } from './oci-config.js';
import { toOciMappings, type IdMapping } from '../userns/plan-user-namespace.js';
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  defaultMounts,
} from './runtime-defaults.js';

export interface VolumeBind {
  /** Absolute host path. */
  source: string;
  /** Absolute path in the container. */
  destination: string;
  readonly: boolean;
  /** A propagation option (rprivate, rslave, ...); docker's default is rprivate. */
  propagation?: string | undefined;
}

export interface DockerRunRequest {
  containerId: string;
  /** The image's rootfs directory (the overlay's lower layer). */
  rootfs: string;
  /** CMD from the command line; the image's default when empty. */
  command: string[];
  imageCommand: string[];
  imageEnv: string[];
  /** The image's Entrypoint; --entrypoint replaces it (and then the image's Cmd is dropped, as docker). */
  imageEntrypoint?: string[] | undefined;
  entrypoint?: string | undefined;
  imageWorkdir?: string | undefined;
  /** The image's USER, resolved to ids. */
  imageUser?: { uid: number; gid: number; additionalGids?: number[] | undefined } | undefined;
  /** -e values, each KEY=VALUE (bare -e KEY is resolved against the caller's environment by the CLI). */
  env: string[];
  workdir?: string | undefined;
  hostname?: string | undefined;
  volumes: VolumeBind[];
  /** -t; not offered by the CLI yet, but it decides TERM like docker. */
  tty?: boolean | undefined;
  /** Add a cgroup namespace (when the kernel has them). */
  cgroupNamespace: boolean;
  /** --memory, --cpus, --pids-limit. */
  resources?: OciResources | undefined;
  /** --net: a namespace to join by path, the host's (no namespace), or a new one (the default). */
  networkNamespace?: { path: string } | 'host' | 'new' | undefined;
  /** --device nodes and the rules that allow them, then --device-cgroup-rule's (src/live/run-devices.ts). */
  devices?: OciDevice[] | undefined;
  deviceRules?: OciDeviceRule[] | undefined;
  /** --uidmap/--gidmap: run in a new user namespace with these maps. */
  userNamespace?: { uidMappings: IdMapping[]; gidMappings: IdMapping[] } | undefined;
}

export function planDockerConfig(request: DockerRunRequest): OciConfig {
  const hostname = request.hostname ?? request.containerId.slice(0, 12);
  // docker: ENTRYPOINT + CMD; CMD args replace the image's Cmd; --entrypoint replaces the Entrypoint and
  // clears the image's Cmd ('' clears the Entrypoint).
  const entrypoint = request.entrypoint !== undefined ? (request.entrypoint === '' ? [] : [request.entrypoint]) : (request.imageEntrypoint ?? []);
  const command = request.command.length > 0 ? request.command : request.entrypoint !== undefined ? [] : request.imageCommand;
  const args = [...entrypoint, ...command];
  const mounts: OciMount[] = defaultMounts();
  for (const volume of request.volumes) {
    mounts.push({
      destination: volume.destination,
      type: 'bind',
      source: volume.source,
      options: ['rbind', volume.propagation ?? 'rprivate', volume.readonly ? 'ro' : 'rw'],
    });
  }
  // As docker: a shared volume needs a shared root, or nothing the container mounts there could reach the
  // host (the container's copies of the host's mounts would be slaves); otherwise runc's default (rslave).
  const sharedVolume = request.volumes.some((volume) => volume.propagation === 'shared' || volume.propagation === 'rshared');
  const network = request.networkNamespace ?? 'new';
  const namespaces: { type: string; path?: string }[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (network !== 'host') namespaces.splice(1, 0, network === 'new' ? { type: 'network' } : { type: 'network', path: network.path });
  if (request.cgroupNamespace) namespaces.push({ type: 'cgroup' });
  if (request.userNamespace) namespaces.push({ type: 'user' });
  return {
    ociVersion: '1.2.0',
    process: {
      terminal: request.tty ?? false,
      user: request.imageUser ? { uid: request.imageUser.uid, gid: request.imageUser.gid, ...(request.imageUser.additionalGids ? { additionalGids: request.imageUser.additionalGids } : {}) } : { uid: 0, gid: 0 },
      args,
      env: mergeEnv([DEFAULT_PATH_ENV, `HOSTNAME=${hostname}`, ...(request.tty ? ['TERM=xterm'] : []), ...request.imageEnv, ...request.env]),
      cwd: request.workdir ?? request.imageWorkdir ?? '/',
      capabilities: {
        bounding: [...DEFAULT_CAPABILITIES],
        effective: [...DEFAULT_CAPABILITIES],
        permitted: [...DEFAULT_CAPABILITIES],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: request.rootfs, readonly: false },
    hostname,
    mounts,
    linux: {
      resources: { ...request.resources, devices: [{ allow: false, access: 'rwm' }, ...(request.deviceRules ?? [])] },
      ...(request.devices?.length ? { devices: request.devices } : {}),
      namespaces,
      ...(sharedVolume ? { rootfsPropagation: 'rshared' } : {}),
      ...(request.userNamespace
        ? { uidMappings: toOciMappings(request.userNamespace.uidMappings), gidMappings: toOciMappings(request.userNamespace.gidMappings) }
        : {}),
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
}

/** Later KEY=VALUE entries replace earlier ones with the same KEY, keeping the first one's position. */
export function mergeEnv(entries: readonly string[]): string[] {
  const byKey = new Map<string, string>();
  for (const entry of entries) {
    const equals = entry.indexOf('=');
    const key = equals === -1 ? entry : entry.slice(0, equals);
    byKey.set(key, entry);
  }
  return [...byKey.values()];
}
