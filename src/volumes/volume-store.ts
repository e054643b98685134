// Volumes in the data root: volumes/<name>/_data is the directory bind-mounted into containers (docker's
// layout, so `volume inspect` shows a familiar mount point), volumes/<name>/volume.json what is known about
// it. Anonymous volumes are named by 64 random hex digits. Which containers use a volume is read from the
// containers' state (ContainerState.volumes), so there is no second record to drift out of step.

import { mkdir, readFile, readdir, rename, rm, writeFile } from '../host/fs-async.js';
import { join } from 'node:path';
import { RuntimeError, hasErrnoCode, systemError } from '../errors.js';
import { randomHex } from '../host/random-hex.js';
import { StateStore } from '../state/state-store.js';
import { VOLUME_NAME } from './parse-volume.js';

export interface VolumeInfo {
  name: string;
  driver: 'local';
  /** The host directory mounted into containers. */
  mountpoint: string;
  created: string;
  anonymous: boolean;
}

export class VolumeStore {
  readonly dir: string;

  constructor(dataRoot: string) {
    this.dir = join(dataRoot, 'volumes');
  }

  dataDir(name: string): string {
    return join(this.dir, checkName(name), '_data');
  }

  /** Creates the volume unless it exists; `created` says which. */
  async ensure(name: string, anonymous = false): Promise<{ info: VolumeInfo; created: boolean }> {
    const existing = await this.find(name);
    if (existing) return { info: existing, created: false };
    const info: VolumeInfo = { name, driver: 'local', mountpoint: this.dataDir(name), created: new Date().toISOString(), anonymous };
    // Built beside its place and renamed there: two containers creating one volume at once end with one.
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const building = join(this.dir, `.${name}-${randomHex(6)}`);
    try {
      await mkdir(join(building, '_data'), { recursive: true });
      await writeFile(join(building, 'volume.json'), `${JSON.stringify(info, null, 2)}\n`);
      await rename(building, join(this.dir, name));
      return { info, created: true };
    } catch (error) {
      await rm(building, { recursive: true, force: true });
      if (hasErrnoCode(error, 'ENOTEMPTY') || hasErrnoCode(error, 'EEXIST')) return { info: (await this.find(name))!, created: false };
      throw systemError(error, `create volume ${name}`, { path: join(this.dir, name) });
    }
  }

  async createAnonymous(): Promise<VolumeInfo> {
    return (await this.ensure(randomHex(32), true)).info;
  }

  async find(name: string): Promise<VolumeInfo | undefined> {
    const path = join(this.dir, checkName(name), 'volume.json');
    try {
      return JSON.parse(await readFile(path, 'utf8')) as VolumeInfo;
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) return undefined;
      throw systemError(error, `read volume ${name}`, { path });
    }
  }

  async get(name: string): Promise<VolumeInfo> {
    const info = await this.find(name);
    if (!info) throw new RuntimeError('not-found', `volume ${name} not found`, { hint: 'see shim volume ls' });
    return info;
  }

  async list(): Promise<VolumeInfo[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const volumes: VolumeInfo[] = [];
    for (const name of names.filter((entry) => VOLUME_NAME.test(entry)).sort()) {
      const info = await this.find(name);
      if (info) volumes.push(info);
    }
    return volumes;
  }

  /** Containers (any status) whose state names the volume. */
  async users(name: string, stateRoot: string): Promise<string[]> {
    const states = new StateStore(stateRoot);
    const users: string[] = [];
    for (const id of await states.listIds()) {
      const state = await states.readState(id).catch(() => undefined);
      if (state?.volumes?.includes(name)) users.push(id);
    }
    return users;
  }

  async remove(name: string, stateRoot: string): Promise<void> {
    await this.get(name);
    const users = await this.users(name, stateRoot);
    if (users.length > 0) {
      throw new RuntimeError('already-exists', `remove volume ${name}: it is in use by container ${users.join(', ')}`, {
        hint: 'remove the container first',
      });
    }
    if (!(await this.#removeAside(name))) throw new RuntimeError('not-found', `volume ${name} not found`, { hint: 'see shim volume ls' });
  }

  /** Removes without asking (a --rm container's anonymous volume). */
  async destroy(name: string): Promise<void> {
    await this.#removeAside(name);
  }

  /**
   * The directory is first renamed aside (a
   * dot name, never listed): of two removals at once exactly one wins and the other is told the volume is
   * gone, and a removal killed half-way leaves no half volume under its name. Returns false if it was not there.
   */
  async #removeAside(name: string): Promise<boolean> {
    const path = join(this.dir, checkName(name));
    const aside = join(this.dir, `.removing-${name}-${randomHex(6)}`);
    try {
      await rename(path, aside);
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) return false;
      throw systemError(error, `remove volume ${name}`, { path });
    }
    await rm(aside, { recursive: true, force: true });
    return true;
  }
}

function checkName(name: string): string {
  if (!VOLUME_NAME.test(name)) throw new RuntimeError('usage', `${JSON.stringify(name)} is not a volume name`, { hint: 'letters, digits, _ . and -' });
  return name;
}
