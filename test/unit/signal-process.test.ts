// The one way the runtime signals a process: never a process group by accident (pid 0 is what a stopped
// container's state holds, and kill(0, ...) would hit the shim's own caller).

import { describe, expect, it } from 'vitest';
import { signalProcess } from '../../src/host/signal-process.js';

describe('signalProcess', () => {
  it('refuses pids that name process groups or nothing', () => {
    for (const pid of [0, -1, -process.pid, 1.5, Number.NaN]) {
      expect(() => signalProcess(pid, 0), String(pid)).toThrow(/refusing to signal pid .*: not one process/);
    }
  });

  it('signals one real process', () => {
    expect(() => signalProcess(process.pid, 0)).not.toThrow();
  });
});
