// The state store: one directory per container under --root (default /run/shim), holding state.json and the
// config.json it was started from. Every write goes to a temporary file renamed over the old one, so a reader
// (or a crash) never sees half a file. Per-container locks arrive with create/start/delete.

import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RuntimeError, hasErrnoCode, systemError } from '../errors.js';
import type { OciConfig } from '../plan/oci-config.js';
import { validateContainerId } from './container-id.js';

/** OCI state statuses (runtime.md), with the creating step in front. */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'stopped';

export interface ContainerState {
  /** The runtime-spec version this state follows. */
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  /** Host pid of the init while it runs; 0 before it starts and after it stops. */
  pid: number;
  /** Field 22 of /proc/PID/stat at start: tells the init from a later process that got the same pid. */
  pidStartTime?: string | undefined;
  /** The bundle directory (a docker-style run's is its state directory, where config.json is kept). */
  bundle: string;
  rootfs: string;
  created: string;
  finished?: string | undefined;
  exitCode?: number | undefined;
  /** The signal that killed the init, when one did. */
  exitSignal?: number | undefined;
  annotations?: Record<string, string> | undefined;
  /** The image a docker-style run used ("busybox" or a rootfs path). */
  image?: string | undefined;
  /** The image's id (its config digest), so `image rm` can tell the image is in use. */
  imageId?: string | undefined;
  /** Names of the volumes it mounts (named and anonymous), so `volume rm` can tell one is in use. */
  volumes?: string[] | undefined;
  /** Those of them that are anonymous: they go with the container. */
  anonymousVolumes?: string[] | undefined;
  /** Host directories of the container's cgroups, for kill/delete. */
  cgroupDirs: string[];
  /** data-root/containers/<id>, for docker-style runs. */
  containerDir?: string | undefined;
  /** --rm (or a bundle run without --keep): everything goes when the container ends. */
  autoRemove: boolean;
}

export const STATE_FILE = 'state.json';
export const CONFIG_FILE = 'config.json';

export class StateStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  dirOf(id: string): string {
    return join(this.root, validateContainerId(id));
  }

  /**
   * Takes the id: makes its directory, failing if it exists. mkdir is atomic, so two runs racing for one
   * id cannot both win.
   */
  async claim(id: string): Promise<string> {
    const dir = this.dirOf(id);
    try {
      // 0700 as runc: the state names pids and paths other users have no business reading.
      await mkdir(this.root, { recursive: true, mode: 0o700 });
      await mkdir(dir, { mode: 0o700 });
    } catch (error) {
      if (hasErrnoCode(error, 'EEXIST')) {
        throw new RuntimeError('already-exists', `container ${id} already exists`, {
          stage: 'state',
          containerId: id,
          hint: `its state is in ${dir}`,
        });
      }
      throw systemError(error, 'create state directory', { stage: 'state', path: dir });
    }
    return dir;
  }

  async writeState(state: ContainerState): Promise<void> {
    await this.#writeAtomically(state.id, STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
  }

  async writeConfig(id: string, config: OciConfig): Promise<void> {
    await this.#writeAtomically(id, CONFIG_FILE, `${JSON.stringify(config, null, 2)}\n`);
  }

  async readState(id: string): Promise<ContainerState> {
    const path = join(this.dirOf(id), STATE_FILE);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) {
        throw new RuntimeError('not-found', `container ${id} does not exist`, { stage: 'state', containerId: id });
      }
      throw systemError(error, 'read state', { stage: 'state', path });
    }
    try {
      return JSON.parse(text) as ContainerState;
    } catch (error) {
      throw new RuntimeError('system', 'read state: not valid JSON', { stage: 'state', path, cause: error });
    }
  }

  /** The config the container was started from, as writeConfig stored it (already validated then). */
  async readConfig(id: string): Promise<OciConfig> {
    const path = join(this.dirOf(id), CONFIG_FILE);
    try {
      return JSON.parse(await readFile(path, 'utf8')) as OciConfig;
    } catch (error) {
      throw systemError(error, 'read the container\'s config', { stage: 'state', path, containerId: id });
    }
  }

  /** Ids with a state directory. */
  async listIds(): Promise<string[]> {
    try {
      const entries = await readdir(this.root, { withFileTypes: true });
      return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) return [];
      throw systemError(error, 'list containers', { stage: 'state', path: this.root });
    }
  }

  async remove(id: string): Promise<void> {
    const dir = this.dirOf(id);
    try {
      await rm(dir, { recursive: true, force: true });
    } catch (error) {
      throw systemError(error, 'remove state directory', { stage: 'state', path: dir });
    }
  }

  async #writeAtomically(id: string, name: string, text: string): Promise<void> {
    const dir = this.dirOf(id);
    const path = join(dir, name);
    const temporary = join(dir, `.${name}.${process.pid}.tmp`);
    try {
      await writeFile(temporary, text, { mode: 0o600 });
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => {});
      throw systemError(error, `write ${name}`, { stage: 'state', path });
    }
  }
}
