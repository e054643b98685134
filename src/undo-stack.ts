// Cleanup is structural: every resource registers its undo the moment it is acquired, and unwinding runs the
// undos in reverse. A failing undo is logged and the rest still run: a secondary error never hides the first.

import type { Logger } from './log.js';

export interface UndoOptions {
  /**
   * Undo only on failure: the resource outlives a successful run (a container's state and layer kept for
   * `docker ps -a`-style inspection when --rm was not given).
   */
  keepOnSuccess?: boolean;
}

interface UndoEntry {
  label: string;
  undo: () => Promise<void> | void;
  keepOnSuccess: boolean;
}

export class UndoStack {
  readonly #entries: UndoEntry[] = [];
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  push(label: string, undo: () => Promise<void> | void, options: UndoOptions = {}): void {
    this.#entries.push({ label, undo, keepOnSuccess: options.keepOnSuccess ?? false });
  }

  /**
   * Runs the undos in reverse order and empties the stack. With `succeeded`, entries marked keepOnSuccess
   * are dropped without running.
   */
  async unwind(succeeded: boolean): Promise<void> {
    while (this.#entries.length > 0) {
      const entry = this.#entries.pop()!;
      if (succeeded && entry.keepOnSuccess) continue;
      try {
        await entry.undo();
      } catch (error) {
        this.#log.warn(`cleanup: ${entry.label}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}
