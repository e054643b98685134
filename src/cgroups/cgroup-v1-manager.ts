// cgroup v1 (plus the empty cgroup2 hierarchy of a hybrid host): one directory per hierarchy. The helpers at
// the bottom (destroyCgroupDirs, readCgroupPids, thawDirs) work from paths alone, on v1 and v2 directories
// alike: delete, kill --all and the v2 backend use them with what the state recorded.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, writeFileSync, writeSync } from 'node:fs';
import { posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasErrnoCode, systemError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PlannedCgroup, PlannedCgroupDir } from '../plan/container-plan.js';
import type { CgroupManager, CgroupStats } from './cgroup-manager.js';
import { chownDelegated, parseBlkioLines, readCgroupFile, readCgroupNumber, readKeyedFile, readKeyedRecord, waitUntil, writeCgroupFile } from './cgroup-files.js';
import { deviceRuleLine } from './device-rules.js';
import { RuntimeError } from '../errors.js';
import { signalProcess } from '../host/signal-process.js';
import { v1ResourceWrites, type PlannedResources } from './resources.js';

// rmdir of a cgroup whose last task just exited can see EBUSY for a moment: the kernel drops the css
// references asynchronously.
const RMDIR_ATTEMPTS = 40;
const RMDIR_PAUSE_MS = 25;
const KILL_ROUNDS = 10;
const PARENT_RACE_ATTEMPTS = 5;
const FREEZE_WAIT_MS = 10_000;
// v1's "unlimited" memory: PAGE_COUNTER_MAX pages, rounded down to a page; anything this large is no limit.
const V1_UNLIMITED = 2 ** 62;

export class CgroupV1Manager implements CgroupManager {
  readonly version = 1;
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
    if (this.#plan.resources) await this.setResources(this.#plan.resources);
    // A hybrid host's cgroup2 directory is the one a container with its own cgroup namespace can delegate in.
    const unified = this.#plan.dirs.find((dir) => dir.version === 2);
    if (unified && this.#plan.ownerUid !== undefined) await chownDelegated(unified.dir, this.#plan.ownerUid);
  }

  async setResources(requested: PlannedResources): Promise<void> {
    const resources = await this.#keepSwapAllowance(requested);
    const writes = v1ResourceWrites(resources);
    const memory = resources.memory;
    // runc's order for an update: a new memory limit above the current memory+swap limit is refused by the
    // kernel until memsw is raised first (and lowering memsw below the memory limit the other way round).
    if (memory?.limit && memory.swap) {
      const dir = this.#dirOf('memory');
      const current = await readCgroupNumber(dir, 'memory.memsw.limit_in_bytes');
      if (memory.swap === -1 || (current !== 0 && current < memory.swap)) {
        const swapFirst = writes.findIndex((write) => write.file === 'memory.memsw.limit_in_bytes');
        const [swap] = writes.splice(swapFirst, 1);
        writes.unshift(swap!);
      }
    }
    for (const write of writes) {
      const dir = this.#dirOf(write.controller);
      // Without swap accounting (swapaccount=0) there is no memsw file: the memory limit still holds, as with
      // docker, which warns and goes on.
      if (write.file === 'memory.memsw.limit_in_bytes' && (await readCgroupFile(dir, write.file)) === undefined) {
        this.#log.warn('cgroup: this kernel does not account swap (no memory.memsw.limit_in_bytes): swap is not limited');
        continue;
      }
      await writeCgroupFile(dir, write.file, write.value);
    }
  }

  /**
   * A new memory limit without a word about swap keeps the swap the container had beyond its limit (none,
   * after run --memory): memsw moves with the limit. Otherwise raising the limit above the old memsw would be
   * refused by the kernel, and lowering it would quietly grant more swap.
   */
  async #keepSwapAllowance(resources: PlannedResources): Promise<PlannedResources> {
    const memory = resources.memory;
    if (!memory?.limit || memory.limit < 0 || memory.swap !== undefined) return resources;
    const dir = this.#optionalDir('memory');
    if (!dir) return resources;
    const oldLimit = await readCgroupNumber(dir, 'memory.limit_in_bytes');
    const oldSwap = await readCgroupNumber(dir, 'memory.memsw.limit_in_bytes');
    if (oldLimit <= 0 || oldLimit >= V1_UNLIMITED || oldSwap <= 0 || oldSwap >= V1_UNLIMITED) return resources;
    return { ...resources, memory: { ...memory, swap: memory.limit + (oldSwap - oldLimit) } };
  }

  async freeze(): Promise<void> {
    const dir = this.#dirOf('freezer');
    await writeCgroupFile(dir, 'freezer.state', 'FROZEN');
    // FREEZING until every task has stopped; a task in an uninterruptible sleep can hold it there for a while.
    const frozen = await waitUntil(async () => (await readCgroupFile(dir, 'freezer.state')) === 'FROZEN', FREEZE_WAIT_MS);
    if (!frozen) {
      await writeCgroupFile(dir, 'freezer.state', 'THAWED');
      throw new RuntimeError('system', `freeze: the cgroup did not reach FROZEN in ${FREEZE_WAIT_MS / 1000}s; thawed it again`, { stage: 'cgroup', path: dir });
    }
  }

  async thaw(): Promise<void> {
    const dir = this.#dirOf('freezer');
    await writeCgroupFile(dir, 'freezer.state', 'THAWED');
    await waitUntil(async () => (await readCgroupFile(dir, 'freezer.state')) === 'THAWED', FREEZE_WAIT_MS);
  }

  async isFrozen(): Promise<boolean> {
    const dir = this.#plan.dirs.find((d) => d.version === 1 && d.controllers.includes('freezer'));
    return dir !== undefined && (await readCgroupFile(dir.dir, 'freezer.state')) === 'FROZEN';
  }

  async stats(): Promise<CgroupStats> {
    const cpuacct = this.#optionalDir('cpuacct');
    const cpu = this.#optionalDir('cpu');
    const memory = this.#optionalDir('memory');
    const pids = this.#optionalDir('pids');
    const blkio = this.#optionalDir('blkio');
    // cpuacct.stat is in USER_HZ ticks (100 a second); runc reports nanoseconds.
    const ticks = cpuacct ? await readKeyedFile(cpuacct, 'cpuacct.stat') : undefined;
    const percpu = cpuacct ? await readCgroupFile(cpuacct, 'cpuacct.usage_percpu') : undefined;
    const throttling = cpu ? await readKeyedFile(cpu, 'cpu.stat') : undefined;
    const limit = memory ? await readCgroupNumber(memory, 'memory.limit_in_bytes') : 0;
    const swapLimit = memory ? await readCgroupNumber(memory, 'memory.memsw.limit_in_bytes') : 0;
    return {
      cpu: {
        usage: {
          total: cpuacct ? await readCgroupNumber(cpuacct, 'cpuacct.usage') : 0,
          percpu: percpu ? percpu.split(/\s+/).filter(Boolean).map(Number) : undefined,
          kernel: (ticks?.get('system') ?? 0) * 10_000_000,
          user: (ticks?.get('user') ?? 0) * 10_000_000,
        },
        throttling: {
          periods: throttling?.get('nr_periods') ?? 0,
          throttled_periods: throttling?.get('nr_throttled') ?? 0,
          throttled_time: throttling?.get('throttled_time') ?? 0,
        },
      },
      memory: {
        usage: {
          usage: memory ? await readCgroupNumber(memory, 'memory.usage_in_bytes') : 0,
          max: memory ? await readCgroupNumber(memory, 'memory.max_usage_in_bytes') : 0,
          limit,
          failcnt: memory ? await readCgroupNumber(memory, 'memory.failcnt') : 0,
        },
        swap: memory ? { usage: await readCgroupNumber(memory, 'memory.memsw.usage_in_bytes'), limit: swapLimit } : undefined,
        oom_kill: await this.oomKillCount(),
        stats: memory ? await readKeyedRecord(memory, 'memory.stat') : undefined,
      },
      pids: {
        current: pids ? await readCgroupNumber(pids, 'pids.current') : 0,
        limit: pids ? await readCgroupNumber(pids, 'pids.max') : 0,
      },
      blkio: blkio ? await this.#blkioStats(blkio) : undefined,
    };
  }

  // As runc: the CFQ scheduler's counters, or the throttle layer's when those are empty (blk-mq has no CFQ).
  async #blkioStats(dir: string): Promise<NonNullable<CgroupStats['blkio']>> {
    const read = async (name: string) => {
      const entries = parseBlkioLines(await readCgroupFile(dir, `blkio.${name}`));
      return entries.length > 0 ? entries : parseBlkioLines(await readCgroupFile(dir, `blkio.throttle.${name}`));
    };
    return { io_service_bytes_recursive: await read('io_service_bytes_recursive'), io_serviced_recursive: await read('io_serviced_recursive') };
  }

  async oomKillCount(): Promise<number | undefined> {
    const memory = this.#optionalDir('memory');
    // oom_kill is in memory.oom_control from kernel 4.13.
    return memory ? (await readKeyedFile(memory, 'memory.oom_control'))?.get('oom_kill') : undefined;
  }

  async memoryLimit(): Promise<number | undefined> {
    const memory = this.#optionalDir('memory');
    const limit = memory ? await readCgroupNumber(memory, 'memory.limit_in_bytes') : 0;
    return limit > 0 && limit < V1_UNLIMITED ? limit : undefined;
  }

  #optionalDir(controller: string): string | undefined {
    return this.#plan.dirs.find((dir) => dir.version === 1 && dir.controllers.includes(controller))?.dir;
  }

  #dirOf(controller: string): string {
    const dir = this.#optionalDir(controller);
    if (!dir) {
      throw new RuntimeError('unsupported', `this host has no ${controller} cgroup hierarchy mounted`, {
        stage: 'cgroup',
        hint: controller === 'blkio' ? undefined : `mount it at /sys/fs/cgroup/${controller}`,
      });
    }
    return dir;
  }

  async destroy(): Promise<void> {
    await destroyCgroupDirs(this.#plan.dirs.map((dir) => dir.dir), this.#plan.removableParentDirs, this.#log);
  }

  async #createDir(dir: PlannedCgroupDir): Promise<void> {
    // The usual case is one mkdir: the parent (/shim) is there already, made by an earlier container.
    if (this.#createLeaf(dir)) return;
    // A delete of the last container under the default parent removes that parent; if it does so between
    // our mkdir of the parent and of the level below, the lower mkdir sees ENOENT: start again from the top.
    for (let attempt = 1; ; attempt++) {
      try {
        this.#createLevels(dir);
        return;
      } catch (error) {
        const cause = (error as { cause?: unknown }).cause;
        if (!hasErrnoCode(cause, 'ENOENT') || attempt >= PARENT_RACE_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * mkdir of the container's own directory alone; true when that was all there was to do. False (nothing
   * done) when a level above is missing, or when the directory existed already and is a cpuset, which then
   * goes level by level to make sure every level has its cpus and mems.
   */
  #createLeaf(dir: PlannedCgroupDir): boolean {
    const isCpuset = dir.version === 1 && dir.controllers.includes('cpuset');
    try {
      mkdirSync(dir.dir);
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) return false;
      if (hasErrnoCode(error, 'EEXIST')) return !isCpuset;
      throw systemError(error, 'create cgroup', { stage: 'cgroup', path: dir.dir });
    }
    if (!isCpuset) return true;
    // A new cpuset is empty, and an empty one refuses tasks (ENOSPC): it takes its parent's cpus and mems. A
    // parent that is itself empty (left so by a shim killed halfway) has the levels fixed from the top.
    const parent = posix.dirname(dir.dir);
    try {
      const inherited = CPUSET_FILES.map((file) => readFileSync(posix.join(parent, file), 'utf8').trim());
      if (inherited.some((value) => value === '')) return false;
      CPUSET_FILES.forEach((file, index) => writeFileSync(posix.join(dir.dir, file), inherited[index]!));
    } catch (error) {
      throw systemError(error, 'copy cpuset from the parent cgroup to', { stage: 'cgroup', path: dir.dir });
    }
    return true;
  }

  #createLevels(dir: PlannedCgroupDir): void {
    const isCpuset = dir.version === 1 && dir.controllers.includes('cpuset');
    // Level by level, so that each new cpuset level is given its parent's cpus and mems before the next one
    // is made: an empty cpuset refuses tasks (ENOSPC) and children of an empty one stay empty.
    let current = dir.mountPoint;
    const levels = posix.relative(dir.mountPoint, dir.dir).split('/').filter(Boolean);
    for (const level of levels) {
      const parent = current;
      current = posix.join(current, level);
      try {
        mkdirSync(current);
      } catch (error) {
        if (!hasErrnoCode(error, 'EEXIST')) throw systemError(error, 'create cgroup', { stage: 'cgroup', path: current });
      }
      if (isCpuset) {
        try {
          inheritCpuset(parent, current);
        } catch (error) {
          throw systemError(error, 'copy cpuset from the parent cgroup to', { stage: 'cgroup', path: current });
        }
      }
    }
  }

  async #applyDeviceRules(dir: string): Promise<void> {
    // One rule per write: the devices controller parses a single rule each time. Consecutive rules for one
    // file share one open.
    let file: string | undefined;
    let fd: number | undefined;
    try {
      for (const rule of this.#plan.deviceRules) {
        const ruleFile = posix.join(dir, rule.allow ? 'devices.allow' : 'devices.deny');
        if (ruleFile !== file) {
          if (fd !== undefined) closeSync(fd);
          fd = undefined;
          file = ruleFile;
          try {
            fd = openSync(file, 'w');
          } catch (error) {
            throw systemError(error, 'open', { stage: 'cgroup', path: file });
          }
        }
        const line = deviceRuleLine(rule);
        try {
          writeSync(fd!, line);
        } catch (error) {
          throw systemError(error, `write device rule "${line}" to`, { stage: 'cgroup', path: file });
        }
      }
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

/**
 * Kills whatever still runs in the cgroup dirs and removes them, then tries the removable parents (a parent
 * still holding another container's cgroup stays: ENOTEMPTY/EBUSY are expected there). Works from the paths
 * alone, so `delete` can call it with what the state file recorded. Missing directories are not an error.
 */
export async function destroyCgroupDirs(dirs: readonly string[], removableParents: readonly string[], log: Logger): Promise<void> {
  // rmdir first: a cgroup whose processes are all gone (every foreground run that ends normally) goes at
  // once, without reading any cgroup.procs. Only those the kernel says are busy are emptied and retried.
  const busy: string[] = [];
  let firstError: unknown;
  const fail = (error: unknown) => {
    if (firstError === undefined) firstError = error;
    else log.warn(`cgroup: ${(error as Error).message}`);
  };
  for (const dir of dirs) {
    try {
      rmdirSync(dir);
    } catch (error) {
      // ENOTDIR: a path through a file (a mkdir that failed so) was never made.
      if (hasErrnoCode(error, 'ENOENT') || hasErrnoCode(error, 'ENOTDIR')) continue;
      if (hasErrnoCode(error, 'EBUSY')) busy.push(dir);
      else fail(systemError(error, 'remove cgroup', { stage: 'cgroup', path: dir }));
    }
  }
  if (busy.length > 0) {
    await killRemaining(busy, log);
    // Every hierarchy gets its attempt even when one fails; the first failure is what the caller sees.
    for (const dir of busy) {
      try {
        await removeCgroupDir(dir);
      } catch (error) {
        fail(error);
      }
    }
  }
  if (firstError !== undefined) throw firstError;
  for (const parent of removableParents) {
    try {
      rmdirSync(parent);
    } catch (error) {
      if (!['ENOENT', 'ENOTDIR', 'ENOTEMPTY', 'EBUSY', 'EEXIST'].some((code) => hasErrnoCode(error, code))) {
        log.warn(`cgroup: remove parent ${parent}: ${(error as Error).message}`);
      }
    }
  }
}

/** The pids in a container's cgroup (the first hierarchy that has the directory). */
export async function readCgroupPids(dirs: readonly string[]): Promise<number[]> {
  for (const dir of dirs) {
    const pids = await readProcs(dir);
    if (pids.length > 0) return pids;
  }
  return [];
}

/**
 * Without a pid namespace nothing kills a container's other processes when its init ends; they would keep
 * the cgroup busy forever. runc kills them on delete; so does this.
 */
async function killRemaining(dirs: readonly string[], log: Logger): Promise<void> {
  if (dirs.length === 0) return;
  for (let round = 0; round < KILL_ROUNDS; round++) {
    const pids = await readCgroupPids(dirs);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        signalProcess(pid, 'SIGKILL');
      } catch (error) {
        if (!hasErrnoCode(error, 'ESRCH')) log.warn(`cgroup: kill ${pid}: ${(error as Error).message}`);
      }
    }
    // A frozen task does not act on SIGKILL until it is thawed: thaw after the signal (as runc does), so a
    // paused container dies without running another instruction of its own.
    if (round === 0) await thawDirs(dirs, log);
    await sleep(RMDIR_PAUSE_MS);
  }
}

/** Thaws the container's cgroup wherever it has a freezer (v1 freezer.state, v2 cgroup.freeze). */
export async function thawDirs(dirs: readonly string[], log: Logger): Promise<void> {
  for (const dir of dirs) {
    for (const [file, value] of [['freezer.state', 'THAWED'], ['cgroup.freeze', '0']] as const) {
      const path = posix.join(dir, file);
      // Only where the file is: cgroupfs refuses to create one (EACCES) in a hierarchy without a freezer.
      if (!existsSync(path)) continue;
      try {
        writeFileSync(path, value);
      } catch (error) {
        if (!hasErrnoCode(error, 'ENOENT')) log.warn(`cgroup: thaw ${dir}: ${(error as Error).message}`);
      }
    }
  }
}

const CPUSET_FILES = ['cpuset.cpus', 'cpuset.mems'] as const;

function inheritCpuset(parent: string, child: string): void {
  for (const file of CPUSET_FILES) {
    const own = readFileSync(posix.join(child, file), 'utf8').trim();
    if (own !== '') continue;
    const inherited = readFileSync(posix.join(parent, file), 'utf8').trim();
    try {
      writeFileSync(posix.join(child, file), inherited);
    } catch (error) {
      throw systemError(error, `copy ${file} from the parent cgroup to`, { stage: 'cgroup', path: child });
    }
  }
}

async function readProcs(dir: string): Promise<number[]> {
  try {
    const text = readFileSync(posix.join(dir, 'cgroup.procs'), 'utf8');
    return text.split('\n').filter(Boolean).map(Number);
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT')) return [];
    throw systemError(error, 'read cgroup.procs', { stage: 'cgroup', path: dir });
  }
}

async function removeCgroupDir(dir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      rmdirSync(dir);
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
