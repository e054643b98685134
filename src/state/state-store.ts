// The state store: one directory per container under --root (default /run/shim), holding state.json and the
// config.json it was started from. Every write goes to a temporary file renamed over the old one, so a reader
// (or a crash) never sees half a file. Verbs that change a container hold its lock (container-lock.ts).
//
// The file operations are synchronous: each is a few microseconds on a small file, while each awaited
// fs/promises call is a threadpool round trip that costs more than the operation, and run and exec wait on
// these one after another anyway. The methods stay async so that callers need not care.

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeError, hasErrnoCode, systemError } from '../errors.js';
import type { OciConfig } from '../plan/oci-config.js';
import type { PlannedHooks } from '../hooks/oci-hooks.js';
import type { LiveDevice, LiveDeviceProgram, LiveMount } from '../live/live-types.js';
import { validateContainerId } from './container-id.js';
import { FAST_PATH_FILE, fastPathRecord } from './fast-path-record.js';
import type { ContainerNetworkState } from '../network/container-network.js';

/** OCI state statuses (runtime.md), with the creating step in front. */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

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
  /**
   * Default cgroup parents (/<parent>, SHIM_CGROUP_PARENT), removed when their last container goes. Empty
   * for a config's linux.cgroupsPath: a parent an orchestrator chose is never removed.
   */
  cgroupParentDirs?: string[] | undefined;
  /** v1 freezer.state or v2 cgroup.events: where `state` reads whether the container is paused. */
  freezeStateFile?: string | undefined;
  /** `create`: the FIFO the init waits on until `start`; it exists exactly while the container is created. */
  startFifo?: string | undefined;
  /** `run -d`: the helper's background monitor, which records the exit status. */
  monitorPid?: number | undefined;
  monitorStartTime?: string | undefined;
  /** `run -d`: the container's stdout and stderr. */
  logPath?: string | undefined;
  /** Docker-style runs: the network mode, and for bridge networks what CNI DEL needs (src/network/). */
  network?: ContainerNetworkState | undefined;
  /** config.json's poststart and poststop hooks and the state they get, for start and delete (src/hooks/). */
  hooks?: PlannedHooks | undefined;
  /** The init runs startContainer hooks when started: a failure comes back on the start FIFO for start to report. */
  startContainerHooks?: true | undefined;
  /** docker-style runs: the options start, stop, restart and inspect need (src/container/docker-run.ts). */
  docker?: import('../container/docker-run.js').DockerState | undefined;
  /** `device add` / `mount add` on the running container (src/live/). */
  liveDevices?: LiveDevice[] | undefined;
  liveMounts?: LiveMount[] | undefined;
  deviceProgram?: LiveDeviceProgram | undefined;
}

/** What the background monitor writes when the container ends (proto/shim.proto, exit_status_path). */
export interface ExitStatus {
  exitCode: number;
  termSignal: number;
  coreDumped: boolean;
  finishedSec: number;
  finishedNsec: number;
}

export const STATE_FILE = 'state.json';
export const CONFIG_FILE = 'config.json';
export const EXIT_STATUS_FILE = 'exit.json';
export const START_FIFO = 'exec.fifo';
export const PLAN_FILE = 'plan.json';

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
      // 0700 as runc: the state names pids and paths other users have no business reading. The root is
      // made only when missing: one mkdir in the usual case.
      try {
        mkdirSync(dir, { mode: 0o700 });
      } catch (error) {
        if (!hasErrnoCode(error, 'ENOENT')) throw error;
        mkdirSync(this.root, { recursive: true, mode: 0o700 });
        mkdirSync(dir, { mode: 0o700 });
      }
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

  /**
   * Writes state.json and, beside it, dist/shim's fast-path record for the same state (or removes
   * it): a record is removed before the state changes and written after, so dist/shim never acts on a
   * record that describes an older state than state.json's.
   */
  async writeState(state: ContainerState): Promise<void> {
    const record = fastPathRecord(state);
    if (record === undefined) this.#removeFastPathRecord(state.id);
    await this.#writeAtomically(state.id, STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
    if (record !== undefined) await this.#writeAtomically(state.id, FAST_PATH_FILE, record);
  }

  #removeFastPathRecord(id: string): void {
    const path = join(this.dirOf(id), FAST_PATH_FILE);
    // Nearly always absent: existsSync says so without the cost of an ENOENT error object (~1-2 ms a throw).
    if (!existsSync(path)) return;
    try {
      unlinkSync(path);
    } catch (error) {
      if (!hasErrnoCode(error, 'ENOENT')) throw systemError(error, `remove ${FAST_PATH_FILE}`, { stage: 'state', path });
    }
  }

  async writeConfig(id: string, config: OciConfig): Promise<void> {
    await this.#writeAtomically(id, CONFIG_FILE, `${JSON.stringify(config, null, 2)}\n`);
  }

  /** What a monitor that is not the helper's background one (the runtime v2 server) saw the init end with. */
  async writeExitStatus(id: string, exit: ExitStatus): Promise<void> {
    await this.#writeAtomically(id, EXIT_STATUS_FILE, `${JSON.stringify(exit)}\n`);
  }

  async writePlan(id: string, plan: unknown): Promise<void> {
    await this.#writeAtomically(id, PLAN_FILE, `${JSON.stringify(plan, null, 2)}\n`);
  }

  /** A JSON file of the state directory, or undefined when it is missing or unreadable. */
  async readJson<T>(id: string, name: string): Promise<T | undefined> {
    try {
      return JSON.parse(readFileSync(join(this.dirOf(id), name), 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  async readExitStatus(id: string): Promise<ExitStatus | undefined> {
    return this.readJson<ExitStatus>(id, EXIT_STATUS_FILE);
  }

  /** True when the id has a state directory (even one whose state.json is missing or half made). */
  async exists(id: string): Promise<boolean> {
    try {
      return statSync(this.dirOf(id)).isDirectory();
    } catch {
      return false;
    }
  }

  notFound(id: string): RuntimeError {
    return new RuntimeError('not-found', `container ${id} does not exist`, { stage: 'state', containerId: id });
  }

  async readState(id: string): Promise<ContainerState> {
    const path = join(this.dirOf(id), STATE_FILE);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) {
        if (await this.exists(id)) {
          throw new RuntimeError('system', 'read state: state.json is missing (the create that made it was interrupted)', {
            stage: 'state', path, containerId: id, hint: `shim delete --force ${id} removes it`,
          });
        }
        throw this.notFound(id);
      }
      throw systemError(error, 'read state', { stage: 'state', path });
    }
    try {
      return JSON.parse(text) as ContainerState;
    } catch (error) {
      throw new RuntimeError('system', 'read state: not valid JSON', {
        stage: 'state', path, cause: error, containerId: id, hint: `shim delete --force ${id} removes it`,
      });
    }
  }

  /** The config the container was started from, as writeConfig stored it (already validated then). */
  async readConfig(id: string): Promise<OciConfig> {
    const path = join(this.dirOf(id), CONFIG_FILE);
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as OciConfig;
    } catch (error) {
      throw systemError(error, 'read the container\'s config', { stage: 'state', path, containerId: id });
    }
  }

  /** Ids with a state directory. */
  async listIds(): Promise<string[]> {
    try {
      const entries = readdirSync(this.root, { withFileTypes: true });
      return entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name).sort();
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) return [];
      throw systemError(error, 'list containers', { stage: 'state', path: this.root });
    }
  }

  async remove(id: string): Promise<void> {
    const dir = this.dirOf(id);
    try {
      removeTree(dir);
    } catch (error) {
      throw systemError(error, 'remove state directory', { stage: 'state', path: dir });
    }
  }

  async #writeAtomically(id: string, name: string, text: string): Promise<void> {
    const dir = this.dirOf(id);
    const path = join(dir, name);
    // Unique per write: two writers of one file (a verb and a dying run's cleanup) must not share a temporary.
    const temporary = join(dir, `.${name}.${uniqueTemporarySuffix()}.tmp`);
    try {
      writeFileSync(temporary, text, { mode: 0o600 });
      renameSync(temporary, path);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw systemError(error, `write ${name}`, { stage: 'state', path });
    }
  }
}

let processTag: string | undefined;
let temporaryCount = 0;

/**
 * A name part no other write uses: this process's pid and the boot clock when it first wrote (two processes of
 * one pid in different pid namespaces), then a count. Not random bytes: the first read of /dev/urandom and
 * its hex text cost a fresh process ~0.5 ms, and every create writes its state files before anything else does.
 */
function uniqueTemporarySuffix(): string {
  processTag ??= `${process.pid}-${process.hrtime.bigint().toString(36)}`;
  return `${processTag}-${++temporaryCount}`;
}

/**
 * Removes a directory tree (a state directory, a container's layer directories) with one listing per
 * directory and one unlink or rmdir per entry: the listing's file types say which is which, where a recursive
 * rm stats every entry and tries rmdir on every directory before listing it. Should anything get in the way,
 * the recursive rm has the last word (and its error). A missing directory is not an error.
 */
export function removeTree(dir: string): void {
  try {
    removeEntries(dir);
  } catch {
    rmSync(dir, { recursive: true, force: true });
  }
}

function removeEntries(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) removeEntries(path);
    else unlinkSync(path);
  }
  rmdirSync(dir);
}
