// TaskOOM while a container runs, as containerd's runc shim sends it (its oom watchers: v1's eventfd on
// memory.oom_control, v2's inotify on memory.events).
//
// v2 (memory.events): the kernel notifies inotify watchers when the file changes, so fs.watch sees each OOM
// event as it happens. v1 (memory.oom_control): the kernel's notification is an eventfd registered through
// cgroup.event_control, and Node has no eventfd(2); the counter oom_kill (kernel 4.13+) is read instead, for
// every watched container on one timer every POLL_MS. An OOM kill is thus reported within that time.
// Either way an event is sent when the cgroup's oom_kill count has grown since the last look, so one burst
// of kills gives one TaskOOM, and a last look is taken when the init ends (its own OOM kill is reported
// before its TaskExit, in runc's shim's order).

import { existsSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { readKeyedFile } from '../cgroups/cgroup-files.js';
import type { Logger } from '../log.js';

const POLL_MS = 200;

interface Watched {
  file: { dir: string; name: 'memory.oom_control' | 'memory.events' };
  count: number;
  watcher?: FSWatcher | undefined;
}

export class OomWatch {
  readonly #watched = new Map<string, Watched>();
  readonly #onOom: (id: string) => void;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;

  constructor(onOom: (id: string) => void, log: Logger) {
    this.#onOom = onOom;
    this.#log = log;
  }

  /** Starts watching a container's cgroup; nothing happens when it has no memory controller. */
  async add(id: string, cgroupDirs: readonly string[]): Promise<void> {
    const v1 = cgroupDirs.find((dir) => existsSync(join(dir, 'memory.oom_control')));
    const v2 = v1 ? undefined : cgroupDirs.find((dir) => existsSync(join(dir, 'memory.events')));
    const file = v1 ? { dir: v1, name: 'memory.oom_control' as const } : v2 ? { dir: v2, name: 'memory.events' as const } : undefined;
    if (!file) {
      this.#log.debug(`container ${id}: no memory cgroup to watch for OOM kills`);
      return;
    }
    const entry: Watched = { file, count: (await this.#count(file)) ?? 0 };
    this.#watched.set(id, entry);
    if (file.name === 'memory.events') {
      try {
        entry.watcher = watch(join(file.dir, file.name), { persistent: false }, () => void this.check(id));
        entry.watcher.on('error', () => {});
        return;
      } catch (error) {
        this.#log.warn(`container ${id}: watch ${file.name}: ${(error as Error).message}; polling it instead`);
      }
    }
    this.#timer ??= setInterval(() => {
      for (const [watchedId, watched] of this.#watched) if (!watched.watcher) void this.check(watchedId);
    }, POLL_MS);
  }

  /** Sends TaskOOM when the count has grown since the last look. */
  async check(id: string): Promise<void> {
    const entry = this.#watched.get(id);
    if (!entry) return;
    const count = await this.#count(entry.file);
    if (count === undefined || count <= entry.count) return;
    entry.count = count;
    this.#onOom(id);
  }

  remove(id: string): void {
    this.#watched.get(id)?.watcher?.close();
    this.#watched.delete(id);
    if ([...this.#watched.values()].every((entry) => entry.watcher) && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  async #count(file: Watched['file']): Promise<number | undefined> {
    try {
      return (await readKeyedFile(file.dir, file.name))?.get('oom_kill');
    } catch {
      // The cgroup is gone (the container is being removed).
      return undefined;
    }
  }
}
