// OCI mount option strings -> kernel flags, propagation and data, checked against <linux/mount.h> values.

import { describe, expect, it } from 'vitest';
import { planMountOptions, planRootfsPropagation } from '../../src/plan/mount-options.js';

describe('planMountOptions', () => {
  it('uses the kernel values', () => {
    // <linux/mount.h>: RDONLY 1, NOSUID 2, NODEV 4, NOEXEC 8, BIND 4096, REC 16384, PRIVATE 1<<18,
    // SLAVE 1<<19, SHARED 1<<20, RELATIME 1<<21, STRICTATIME 1<<24.
    expect(planMountOptions(['ro']).flags).toBe(1);
    expect(planMountOptions(['nosuid', 'nodev', 'noexec']).flags).toBe(2 | 4 | 8);
    expect(planMountOptions(['bind']).flags).toBe(4096);
    expect(planMountOptions(['rbind']).flags).toBe(4096 | 16384);
    expect(planMountOptions(['relatime']).flags).toBe(1 << 21);
    expect(planMountOptions(['strictatime']).flags).toBe(1 << 24);
    expect(planMountOptions(['noatime', 'nodiratime']).flags).toBe(1024 | 2048);
  });

  it('lets a clearing option undo an earlier setting one', () => {
    expect(planMountOptions(['ro', 'rw'])).toMatchObject({ flags: 0, clearedFlags: 1 });
    expect(planMountOptions(['nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec']).flags).toBe(0);
    expect(planMountOptions(['rw', 'ro'])).toMatchObject({ flags: 1, clearedFlags: 0 });
  });

  it('separates propagation from the flags; the last one given holds', () => {
    expect(planMountOptions(['rbind', 'rprivate'])).toMatchObject({ flags: 4096 | 16384, propagation: (1 << 18) | 16384, bind: true });
    expect(planMountOptions(['private']).propagation).toBe(1 << 18);
    expect(planMountOptions(['rslave']).propagation).toBe((1 << 19) | 16384);
    expect(planMountOptions(['shared', 'rshared']).propagation).toBe((1 << 20) | 16384);
    expect(planMountOptions(['unbindable']).propagation).toBe(1 << 17);
    expect(planMountOptions(['rslave', 'private']).propagation).toBe(1 << 18);
  });

  it('passes everything else to the filesystem as data, in order', () => {
    expect(planMountOptions(['nosuid', 'strictatime', 'mode=755', 'size=65536k'])).toEqual({
      flags: 2 | (1 << 24),
      clearedFlags: 0,
      propagation: 0,
      data: 'mode=755,size=65536k',
      bind: false,
      copyUp: false,
    });
    expect(planMountOptions(['newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']).data).toBe('newinstance,ptmxmode=0666,mode=0620,gid=5');
  });

  it('refuses options that need mount_setattr or id mapping, naming them', () => {
    expect(() => planMountOptions(['rro'], 'mounts[2] (/x)')).toThrow('mounts[2] (/x): mount option rro is not supported yet');
    expect(planMountOptions(['rbind', 'ridmap']).idmap).toBe('ridmap');
  });

  it("takes runc's tmpcopyup as a flag of its own, never as filesystem data", () => {
    expect(planMountOptions(['nosuid', 'tmpcopyup', 'size=1m'])).toMatchObject({ copyUp: true, data: 'size=1m' });
  });
});

describe('planRootfsPropagation', () => {
  it("defaults to runc's rslave and takes the bare type", () => {
    expect(planRootfsPropagation(undefined)).toBe(1 << 19);
    expect(planRootfsPropagation('rprivate')).toBe(1 << 18);
    expect(planRootfsPropagation('shared')).toBe(1 << 20);
    expect(() => planRootfsPropagation('sideways')).toThrow(/not a propagation type/);
  });
});
