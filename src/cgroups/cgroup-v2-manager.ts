// cgroup v2 (a pure cgroup2 host): one directory. Controllers are enabled level by level in each parent's
// cgroup.subtree_control, only those a limit needs, as they must be on the way down before the leaf can use
// them. Device rules are not enforced here: v2 controls devices through an eBPF program, which shim does not
// load (`features` says so, and apply warns).

import { mkdirSync } from 'node:fs';
import { posix } from 'node:path';
import { RuntimeError, hasErrnoCode, systemError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PlannedCgroup, PlannedCgroupDir } from '../plan/container-plan.js';
import type { CgroupManager, CgroupStats } from './cgroup-manager.js';
import { chownDelegated, parseIoStat, readCgroupFile, readCgroupNumber, readKeyedFile, readKeyedRecord, waitUntil, writeCgroupFile } from './cgroup-files.js';
import { destroyCgroupDirs } from './cgroup-v1-manager.js';
import { v2ResourceWrites, type PlannedResources } from './resources.js';

const FREEZE_WAIT_MS = 10_000;

export class CgroupV2Manager implements CgroupManager {
  readonly version = 2;
  readonly #plan: PlannedCgroup;
  readonly #log: Logger;
  readonly #dir: PlannedCgroupDir;

  constructor(plan: PlannedCgroup, log: Logger) {
    this.#plan = plan;
    this.#log = log;
    const dir = plan.dirs.find((d) => d.version === 2);
    if (!dir) throw new RuntimeError('unsupported', 'no cgroup2 hierarchy is mounted', { stage: 'cgroup' });
    this.#dir = dir;
  }

  get dir(): string {
    return this.#dir.dir;
  }

  procsFiles(): string[] {
    return [`${this.#dir.dir}/cgroup.procs`];
  }

  async apply(): Promise<void> {
    let current = this.#dir.mountPoint;
    for (const level of posix.relative(this.#dir.mountPoint, this.#dir.dir).split('/').filter(Boolean)) {
      current = posix.join(current, level);
      try {
        mkdirSync(current);
      } catch (error) {
        if (!hasErrnoCode(error, 'EEXIST')) throw systemError(error, 'create cgroup', { stage: 'cgroup', path: current });
      }
    }
    if (this.#plan.deviceRules.some((rule) => !rule.allow || rule.type !== 'a')) {
      this.#log.warn('cgroup v2: device rules are not enforced (that needs an eBPF program, which shim does not load)');
    }
    if (this.#plan.resources) await this.setResources(this.#plan.resources);
    if (this.#plan.ownerUid !== undefined) await chownDelegated(this.#dir.dir, this.#plan.ownerUid);
  }

  async destroy(): Promise<void> {
    await destroyCgroupDirs([this.#dir.dir], this.#plan.removableParentDirs, this.#log);
  }

  async setResources(resources: PlannedResources): Promise<void> {
    const writes = v2ResourceWrites(resources);
    // linux.resources.unified last, as runc's fs2 does, so it has the final word: its controller is the file
    // name's prefix ("memory.high"); cgroup.* files belong to no controller.
    const unified = Object.entries(resources.unified ?? {});
    const controllers = [
      ...new Set([...writes.map((write) => write.controller as string), ...unified.map(([file]) => file.split('.')[0]!).filter((name) => name !== 'cgroup')]),
    ];
    if (controllers.length > 0) await this.#enableControllers(controllers);
    for (const write of writes) await writeCgroupFile(this.#dir.dir, write.file, write.value);
    // runc's fs2 writes the reservation limit too where the kernel has it (5.11+), so that a reserved page counts.
    for (const { pageSize, limit } of resources.hugepageLimits ?? []) {
      if ((await readCgroupFile(this.#dir.dir, `hugetlb.${pageSize}.rsvd.max`)) !== undefined) {
        await writeCgroupFile(this.#dir.dir, `hugetlb.${pageSize}.rsvd.max`, String(limit));
      }
    }
    for (const [file, value] of unified) await writeCgroupFile(this.#dir.dir, file, value);
  }

  /** Adds each controller to cgroup.subtree_control from the mount point down to the container's parent. */
  async #enableControllers(controllers: readonly string[]): Promise<void> {
    const levels = posix.relative(this.#dir.mountPoint, this.#dir.dir).split('/').filter(Boolean);
    let current = this.#dir.mountPoint;
    for (const level of levels) {
      const available = ((await readCgroupFile(current, 'cgroup.controllers')) ?? '').split(/\s+/);
      const missing = controllers.filter((controller) => !available.includes(controller));
      if (missing.length > 0) {
        throw new RuntimeError('unsupported', `cgroup v2: the ${missing.join(', ')} controller is not available in ${current}`, {
          stage: 'cgroup',
          hint: 'on a hybrid host the controllers are bound to the v1 hierarchies',
        });
      }
      const enabled = ((await readCgroupFile(current, 'cgroup.subtree_control')) ?? '').split(/\s+/);
      const toEnable = controllers.filter((controller) => !enabled.includes(controller));
      if (toEnable.length > 0) await writeCgroupFile(current, 'cgroup.subtree_control', toEnable.map((c) => `+${c}`).join(' '));
      current = posix.join(current, level);
    }
  }

  async freeze(): Promise<void> {
    await writeCgroupFile(this.#dir.dir, 'cgroup.freeze', '1');
    if (!(await waitUntil(() => this.isFrozen(), FREEZE_WAIT_MS))) {
      await writeCgroupFile(this.#dir.dir, 'cgroup.freeze', '0');
      throw new RuntimeError('system', `freeze: the cgroup did not report frozen in ${FREEZE_WAIT_MS / 1000}s; thawed it again`, {
        stage: 'cgroup',
        path: this.#dir.dir,
      });
    }
  }

  async thaw(): Promise<void> {
    await writeCgroupFile(this.#dir.dir, 'cgroup.freeze', '0');
    await waitUntil(async () => !(await this.isFrozen()), FREEZE_WAIT_MS);
  }

  async isFrozen(): Promise<boolean> {
    return (await readKeyedFile(this.#dir.dir, 'cgroup.events'))?.get('frozen') === 1;
  }

  async stats(): Promise<CgroupStats> {
    const dir = this.#dir.dir;
    // cpu.stat exists without the cpu controller (usage only); v2 counts microseconds, runc reports ns.
    const cpu = (await readKeyedFile(dir, 'cpu.stat')) ?? new Map<string, number>();
    const events = await readKeyedFile(dir, 'memory.events');
    const ioText = await readCgroupFile(dir, 'io.stat');
    const io = ioText === undefined ? undefined : parseIoStat(ioText);
    return {
      cpu: {
        usage: { total: (cpu.get('usage_usec') ?? 0) * 1000, kernel: (cpu.get('system_usec') ?? 0) * 1000, user: (cpu.get('user_usec') ?? 0) * 1000 },
        throttling: {
          periods: cpu.get('nr_periods') ?? 0,
          throttled_periods: cpu.get('nr_throttled') ?? 0,
          throttled_time: (cpu.get('throttled_usec') ?? 0) * 1000,
        },
      },
      memory: {
        usage: {
          usage: await readCgroupNumber(dir, 'memory.current'),
          max: await readCgroupNumber(dir, 'memory.peak'),
          limit: await readCgroupNumber(dir, 'memory.max'),
          failcnt: events?.get('max') ?? 0,
        },
        swap: { usage: await readCgroupNumber(dir, 'memory.swap.current'), limit: await readCgroupNumber(dir, 'memory.swap.max') },
        oom_kill: events?.get('oom_kill'),
        stats: await readKeyedRecord(dir, 'memory.stat'),
        events: events ? Object.fromEntries(events) : undefined,
      },
      pids: { current: await readCgroupNumber(dir, 'pids.current'), limit: await readCgroupNumber(dir, 'pids.max') },
      blkio: io ? { io_service_bytes_recursive: io.bytes, io_serviced_recursive: io.ios } : undefined,
    };
  }

  async oomKillCount(): Promise<number | undefined> {
    return (await readKeyedFile(this.#dir.dir, 'memory.events'))?.get('oom_kill');
  }

  async memoryLimit(): Promise<number | undefined> {
    const limit = await readCgroupNumber(this.#dir.dir, 'memory.max');
    return limit > 0 ? limit : undefined;
  }
}
