// A minimal `rm ID` for stopped containers: its state, its layer directory and its anonymous volumes. (The
// lifecycle work brings the full delete; this is the part images and volumes need: a container that is gone
// no longer holds its image or its volumes.)

import { rm } from '../host/fs-async.js';
import { RuntimeError } from '../errors.js';
import { StateStore } from '../state/state-store.js';
import { VolumeStore } from '../volumes/volume-store.js';
import { signalProcess } from '../host/signal-process.js';
import { releaseNetwork } from '../network/container-network.js';
import { refuseWhileShared } from './lifecycle.js';
import { silentLogger } from '../log.js';

export async function removeStoppedContainer(root: string, dataRoot: string, id: string): Promise<void> {
  const store = new StateStore(root);
  const state = await store.readState(id);
  if (state.pid > 0 && isAlive(state.pid)) {
    throw new RuntimeError('unsupported', `cannot remove a running container`, { containerId: id, hint: 'stop it first' });
  }
  if (state.network) {
    await refuseWhileShared(root, id);
    await releaseNetwork(root, state, silentLogger);
  }
  if (state.containerDir) await rm(state.containerDir, { recursive: true, force: true });
  const volumes = new VolumeStore(dataRoot);
  for (const name of state.anonymousVolumes ?? []) await volumes.destroy(name);
  await store.remove(id);
}

function isAlive(pid: number): boolean {
  try {
    signalProcess(pid, 0);
    return true;
  } catch {
    return false;
  }
}
