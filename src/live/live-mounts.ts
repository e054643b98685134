// `mount add|rm|ls`: mounts on a running container. The helper clones the host tree (open_tree), makes it
// read-only while it is still detached, moves it onto the target from inside the container's mount namespace,
// then sets its propagation; the target is resolved in the container's root, so a symlink the container planted
// cannot send it anywhere else. The mount is recorded in the state; like a volume, its content never goes into
// `commit` (commit packs the upper layer, which a mount in the container's namespace does not write to).

import { posix } from 'node:path';
import { RuntimeError } from '../errors.js';
import * as k from '../plan/kernel-constants.js';
import { encodeLiveMountSpec } from '../spec/encode-spec.js';
import { VOLUME_NAME } from '../volumes/parse-volume.js';
import { VolumeStore } from '../volumes/volume-store.js';
import { runLiveHelper, withLiveContainer, type LiveContext } from './live-container.js';
import type { LiveMount } from './live-types.js';
import { LIVE_PROPAGATIONS, propagationName, readMountPropagation } from './propagation.js';

export interface MountAddOptions {
  readonly: boolean;
  /** private, slave, shared or unbindable. */
  propagation?: string | undefined;
  recursive: boolean;
}

/** A mount of the container as `mount ls` shows it. */
export interface ListedMount {
  target: string;
  source: string;
  type: string;
  readonly: boolean;
  /** As planned (create) or asked (live). */
  propagation: string;
  /** What the kernel says now (running containers only). */
  currentPropagation?: string | undefined;
  origin: 'create' | 'live';
}

export async function addMount(context: LiveContext, id: string, source: string, target: string, options: MountAddOptions): Promise<LiveMount> {
  if (!posix.isAbsolute(target)) throw new RuntimeError('usage', `mount add: the container path ${target} must be absolute`);
  if (!posix.isAbsolute(source) && !VOLUME_NAME.test(source)) {
    throw new RuntimeError('usage', `mount add: ${source} is neither an absolute host path nor a volume name`);
  }
  let propagation = 0;
  if (options.propagation !== undefined) {
    const value = LIVE_PROPAGATIONS[options.propagation];
    if (value === undefined) throw new RuntimeError('usage', `mount add: --propagation ${options.propagation}: expected private, slave, shared or unbindable`);
    propagation = value;
  }
  const cleanTarget = posix.normalize(target);
  if (cleanTarget === '/') throw new RuntimeError('usage', 'mount add: cannot mount over the container\'s /');
  return withLiveContainer(context, id, 'add a mount to', async ({ store, observed }) => {
    const state = observed.state;
    if ((state.liveMounts ?? []).some((mount) => mount.target === cleanTarget)) {
      throw new RuntimeError('already-exists', `a mount was already added at ${cleanTarget}`, { hint: `shim mount rm ${id} ${cleanTarget}` });
    }
    let hostPath = posix.normalize(source);
    let volume: string | undefined;
    if (!posix.isAbsolute(source)) {
      // As -v does: a named volume is made on first use.
      volume = source;
      hostPath = (await new VolumeStore(context.dataRoot).ensure(source)).info.mountpoint;
    }
    const request = {
      containerId: id, targetPid: state.pid, remove: false, source: hostPath, target: cleanTarget,
      recursive: options.recursive, readonly: options.readonly, propagation, createTarget: true,
    };
    await runLiveHelper(context, encodeLiveMountSpec(request));
    const volumeUseAdded = volume !== undefined && !(state.volumes ?? []).includes(volume);
    const mount: LiveMount = {
      source: hostPath, volume, volumeUseAdded, target: cleanTarget, readonly: options.readonly, propagation: options.propagation,
      recursive: options.recursive,
    };
    try {
      state.liveMounts = [...(state.liveMounts ?? []), mount];
      // `volume rm` reads who uses a volume from here.
      if (volume && volumeUseAdded) state.volumes = [...(state.volumes ?? []), volume];
      await store.writeState(state);
    } catch (error) {
      await runLiveHelper(context, encodeLiveMountSpec({ ...request, remove: true })).catch((undoError) =>
        context.log.warn(`mount add: undo: ${(undoError as Error).message}`),
      );
      throw error;
    }
    return mount;
  });
}

export async function removeMount(context: LiveContext, id: string, target: string): Promise<LiveMount> {
  const cleanTarget = posix.normalize(target);
  return withLiveContainer(context, id, 'remove a mount from', async ({ store, observed }) => {
    const state = observed.state;
    const mount = (state.liveMounts ?? []).find((candidate) => candidate.target === cleanTarget);
    if (!mount) throw new RuntimeError('not-found', `no mount was added at ${cleanTarget}`, { hint: `shim mount ls ${id}` });
    await runLiveHelper(context, encodeLiveMountSpec({
      containerId: id, targetPid: state.pid, remove: true, source: '', target: cleanTarget,
      recursive: mount.recursive, readonly: mount.readonly, propagation: 0, createTarget: false,
    }));
    state.liveMounts = (state.liveMounts ?? []).filter((candidate) => candidate !== mount);
    // Only a volume use the add brought in goes: one the container was created with stays in use.
    if (mount.volume && mount.volumeUseAdded && !(state.liveMounts ?? []).some((other) => other.volume === mount.volume)) {
      state.volumes = (state.volumes ?? []).filter((name) => name !== mount.volume);
    }
    await store.writeState(state);
    return mount;
  });
}

export async function listMounts(context: LiveContext, id: string): Promise<ListedMount[]> {
  return withLiveContainer(context, id, undefined, async ({ observed, plan }) => {
    const alive = observed.status === 'running' || observed.status === 'created' || observed.status === 'paused';
    const current = alive ? readMountPropagation(observed.state.pid) : new Map<string, string>();
    const rootDefault = propagationName(plan.rootfs.propagation | k.MS_REC) ?? 'rslave';
    const listed: ListedMount[] = plan.mounts.map((mount) => ({
      target: mount.target,
      source: mount.source,
      type: mount.fstype || 'none',
      readonly: (mount.flags & k.MS_RDONLY) !== 0,
      propagation: propagationName(mount.propagation) ?? `${rootDefault} (rootfs)`,
      currentPropagation: current.get(mount.target),
      origin: 'create',
    }));
    for (const mount of observed.state.liveMounts ?? []) {
      listed.push({
        target: mount.target, source: mount.source, type: 'bind', readonly: mount.readonly,
        propagation: mount.propagation ?? 'as cloned', currentPropagation: current.get(mount.target), origin: 'live',
      });
    }
    return listed;
  });
}
