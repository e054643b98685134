// cgroup v1 (plus the empty cgroup2 hierarchy of a hybrid host): one directory per hierarchy.

import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasErrnoCode, systemError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PlannedCgroup, PlannedCgroupDir } from '../plan/container-plan.js';
import type { CgroupManager } from './cgroup-manager.js';
import { deviceRuleLine } from './device-rules.js';

// rmdir of a cgroup whose last task just exited can see EBUSY for a moment: the kernel drops the css
// references asynchronously.
const RMDIR_ATTEMPTS = 40;
const RMDIR_PAUSE_MS = 25;
const KILL_ROUNDS = 10;

export class CgroupV1Manager implements CgroupManager {
  readonly #plan: PlannedCgroup;
  readonly #log: Logger;

  constructor(plan: PlannedCgroup, log: Logger) {
    this.#plan = plan;
    this.#log = log;
  }

  procsFiles(): string[] {
    return this.#plan.dirs.map((dir) => `${dir.dir}/cgroup.procs`);
  }

  async apply(): Promise<void> {
    for (const dir of this.#plan.dirs) {
      await this.#createDir(dir);
    }
    const devices = this.#plan.dirs.find((dir) => dir.version === 1 && dir.controllers.includes('devices'));
    if (devices) await this.#applyDeviceRules(devices.dir);
  }

  async destroy(): Promise<void> {
    await this.#killRemaining();
    // Every hierarchy gets its attempt even when one fails; the first failure is what the caller sees.
    let firstError: unknown;
    for (const dir of this.#plan.dirs) {
      try {
        await removeCgroupDir(dir.dir);
      } catch (error) {
        if (firstError === undefined) firstError = error;
        else this.#log.warn(`cgroup: ${(error as Error).message}`);
      }
    }
    if (firstError !== undefined) throw firstError;
  }

  async #createDir(dir: PlannedCgroupDir): Promise<void> {
    const isCpuset = dir.version === 1 && dir.controllers.includes('cpuset');
    // Level by level, so that each new cpuset level is given its parent's cpus and mems before the next one
    // is made: an empty cpuset refuses tasks (ENOSPC) and children of an empty one stay empty.
    let current = dir.mountPoint;
    const levels = posix.relative(dir.mountPoint, dir.dir).split('/').filter(Boolean);
    for (const level of levels) {
      const parent = current;
      current = posix.join(current, level);
      try {
        await mkdir(current);
      } catch (error) {
        if (!hasErrnoCode(error, 'EEXIST')) throw systemError(error, 'create cgroup', { stage: 'cgroup', path: current });
      }
      if (isCpuset) await inheritCpuset(parent, current);
    }
  }

  async #applyDeviceRules(dir: string): Promise<void> {
    // One rule per write: the devices controller parses a single rule each time.
    for (const rule of this.#plan.deviceRules) {
      const file = posix.join(dir, rule.allow ? 'devices.allow' : 'devices.deny');
      const line = deviceRuleLine(rule);
      try {
        await writeFile(file, line);
      } catch (error) {
        throw systemError(error, `write device rule "${line}" to`, { stage: 'cgroup', path: file });
      }
    }
  }

  /**
   * Without a pid namespace nothing kills a container's other processes when its init ends; they would keep
   * the cgroup busy forever. runc kills them on delete; so does this.
   */
  async #killRemaining(): Promise<void> {
    const probe = this.#plan.dirs.find((dir) => dir.version === 1) ?? this.#plan.dirs[0];
    if (!probe) return;
    for (let round = 0; round < KILL_ROUNDS; round++) {
      const pids = await readProcs(probe.dir);
      if (pids.length === 0) return;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch (error) {
          if (!hasErrnoCode(error, 'ESRCH')) this.#log.warn(`cgroup: kill ${pid}: ${(error as Error).message}`);
        }
      }
      await sleep(RMDIR_PAUSE_MS);
    }
  }
}

async function inheritCpuset(parent: string, child: string): Promise<void> {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const own = (await readFile(posix.join(child, file), 'utf8')).trim();
    if (own !== '') continue;
    const inherited = (await readFile(posix.join(parent, file), 'utf8')).trim();
    try {
      await writeFile(posix.join(child, file), inherited);
    } catch (error) {
      throw systemError(error, `copy ${file} from the parent cgroup to`, { stage: 'cgroup', path: child });
    }
  }
}

async function readProcs(dir: string): Promise<number[]> {
  try {
    const text = await readFile(posix.join(dir, 'cgroup.procs'), 'utf8');
    return text.split('\n').filter(Boolean).map(Number);
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT')) return [];
    throw systemError(error, 'read cgroup.procs', { stage: 'cgroup', path: dir });
  }
}

async function removeCgroupDir(dir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) return;
      if (!hasErrnoCode(error, 'EBUSY') || attempt >= RMDIR_ATTEMPTS) {
        throw systemError(error, 'remove cgroup', { stage: 'cgroup', path: dir });
      }
      await sleep(RMDIR_PAUSE_MS);
    }
  }
}
