// Cleanup order and error handling: reverse order, keep-on-success entries, secondary errors logged only.

import { describe, expect, it } from 'vitest';
import { UndoStack } from '../../src/undo-stack.js';
import type { Logger } from '../../src/log.js';

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { debugEnabled: false, debug() {}, warn: (message) => void warnings.push(message), warnings };
}

describe('UndoStack', () => {
  it('undoes in reverse order of acquisition', async () => {
    const order: string[] = [];
    const undo = new UndoStack(recordingLogger());
    undo.push('state', () => void order.push('state'));
    undo.push('layers', async () => void order.push('layers'));
    undo.push('cgroup', () => void order.push('cgroup'));
    await undo.unwind(false);
    expect(order).toEqual(['cgroup', 'layers', 'state']);
  });

  it('keeps what outlives a successful run, and undoes it after a failure', async () => {
    const order: string[] = [];
    const build = () => {
      const undo = new UndoStack(recordingLogger());
      undo.push('state', () => void order.push('state'), { keepOnSuccess: true });
      undo.push('cgroup', () => void order.push('cgroup'));
      return undo;
    };
    await build().unwind(true);
    expect(order).toEqual(['cgroup']);
    order.length = 0;
    await build().unwind(false);
    expect(order).toEqual(['cgroup', 'state']);
  });

  it('logs a failing undo and still runs the rest, throwing nothing', async () => {
    const log = recordingLogger();
    const order: string[] = [];
    const undo = new UndoStack(log);
    undo.push('state', () => void order.push('state'));
    undo.push('cgroup', () => {
      throw new Error('rmdir: busy');
    });
    await expect(undo.unwind(false)).resolves.toBeUndefined();
    expect(order).toEqual(['state']);
    expect(log.warnings).toEqual(['cleanup: cgroup: rmdir: busy']);
  });
});
