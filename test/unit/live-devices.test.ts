// The pure parts of live changes: the cgroup2 device program (run as the kernel would run it, against the v1
// semantics it must match), docker's --device and --device-cgroup-rule syntax, propagation names, and the
// docker config's root propagation for shared volumes.

import { describe, expect, it } from 'vitest';
import { encodeDeviceProgram, planDeviceProgram, runDeviceProgram } from '../../src/cgroups/device-program.js';
import { planDeviceRules } from '../../src/cgroups/device-rules.js';
import { deviceProgramName } from '../../src/live/live-devices.js';
import { parseDeviceCgroupRule, parseDeviceSpec } from '../../src/live/parse-device.js';
import { propagationName, propagationOfFields } from '../../src/live/propagation.js';
import { planDockerConfig } from '../../src/plan/docker-config.js';
import type { DeviceRule } from '../../src/plan/container-plan.js';
import { DEFAULT_ALLOWED_DEVICE_RULES } from '../../src/plan/runtime-defaults.js';
import { parseVolumeSpec } from '../../src/volumes/parse-volume.js';
import * as k from '../../src/plan/kernel-constants.js';

const denyAll: DeviceRule = { allow: false, type: 'a', major: '*', minor: '*', access: 'rwm' };
const loop0: DeviceRule = { allow: true, type: 'b', major: 7, minor: 0, access: 'rw' };

describe('device program', () => {
  const program = planDeviceProgram([denyAll, ...DEFAULT_ALLOWED_DEVICE_RULES, loop0]);
  const run = (type: 'b' | 'c', major: number, minor: number, access: string) => runDeviceProgram(program, { type, major, minor, access });

  it('allows what the rules allow and nothing else', () => {
    expect(run('c', 1, 3, 'rw')).toBe(1); // /dev/null
    expect(run('b', 7, 0, 'r')).toBe(1);
    expect(run('b', 7, 0, 'rw')).toBe(1);
    expect(run('b', 7, 0, 'm')).toBe(1); // "b *:* m" from the defaults
    expect(run('b', 7, 1, 'r')).toBe(0);
    expect(run('c', 7, 0, 'r')).toBe(0);
    expect(run('b', 8, 0, 'w')).toBe(0);
    expect(run('c', 136, 42, 'rw')).toBe(1); // a pty, c 136:*
  });

  it('takes the last matching rule, as v1 does', () => {
    const rules: DeviceRule[] = [denyAll, { allow: true, type: 'b', major: 7, minor: '*', access: 'rwm' }, { allow: false, type: 'b', major: 7, minor: 3, access: 'rwm' }];
    const later = planDeviceProgram(rules);
    expect(runDeviceProgram(later, { type: 'b', major: 7, minor: 2, access: 'r' })).toBe(1);
    expect(runDeviceProgram(later, { type: 'b', major: 7, minor: 3, access: 'r' })).toBe(0);
    // Nothing before an 'a' rule of every access is reached, and it is not emitted.
    expect(planDeviceProgram([loop0, denyAll])).toHaveLength(planDeviceProgram([denyAll]).length);
    expect(runDeviceProgram(planDeviceProgram([loop0, denyAll]), { type: 'b', major: 7, minor: 0, access: 'r' })).toBe(0);
  });

  it('denies what no rule matches, and encodes 8 bytes per instruction, little-endian', () => {
    expect(runDeviceProgram(planDeviceProgram([]), { type: 'c', major: 1, minor: 3, access: 'r' })).toBe(0);
    const bytes = encodeDeviceProgram(program);
    expect(bytes.length).toBe(program.length * 8);
    // r2 = *(u32 *)(r1 + 0): opcode 0x61, dst 2, src 1.
    expect([...bytes.subarray(0, 8)]).toEqual([0x61, 0x12, 0, 0, 0, 0, 0, 0]);
    // The last instruction is exit.
    expect(bytes[bytes.length - 8]).toBe(0x95);
  });

  it('names the program after the container in the characters a program name may have', () => {
    expect(deviceProgramName('web-1')).toBe('shim_web_1');
    expect(deviceProgramName('a'.repeat(64))).toHaveLength(15);
  });
});

describe('--device and --device-cgroup-rule', () => {
  it('reads docker\'s forms', () => {
    expect(parseDeviceSpec('/dev/loop0')).toEqual({ hostPath: '/dev/loop0', containerPath: '/dev/loop0', access: 'rwm' });
    expect(parseDeviceSpec('/dev/loop0:/dev/xvdb')).toEqual({ hostPath: '/dev/loop0', containerPath: '/dev/xvdb', access: 'rwm' });
    expect(parseDeviceSpec('/dev/loop0:r')).toEqual({ hostPath: '/dev/loop0', containerPath: '/dev/loop0', access: 'r' });
    expect(parseDeviceSpec('/dev/loop0:/dev/xvdb:rw')).toEqual({ hostPath: '/dev/loop0', containerPath: '/dev/xvdb', access: 'rw' });
    expect(() => parseDeviceSpec('loop0:/dev/xvdb')).toThrow(/not an absolute path/);
    expect(() => parseDeviceSpec('/dev/loop0:/dev/xvdb:rx')).toThrow(/not made of r, w and m/);
    expect(() => parseDeviceSpec('/a:/b:rw:x')).toThrow(/expected HOST/);
  });

  it('reads cgroup rules', () => {
    expect(parseDeviceCgroupRule('c 1:3 rwm')).toEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
    expect(parseDeviceCgroupRule('b 7:* r')).toEqual({ allow: true, type: 'b', major: 7, minor: '*', access: 'r' });
    expect(parseDeviceCgroupRule('a')).toEqual({ allow: true, type: 'a', major: '*', minor: '*', access: 'rwm' });
    expect(() => parseDeviceCgroupRule('x 1:3 rwm')).toThrow(/expected 'TYPE MAJOR:MINOR PERMISSIONS'/);
  });

  it('keeps the access a resource rule gives a device the config makes', () => {
    const rules = planDeviceRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 7, minor: 0, access: 'r' }], [
      { type: 'b', path: '/dev/xvdb', major: 7, minor: 0 },
      { type: 'c', path: '/dev/other', major: 10, minor: 1 },
    ]);
    expect(rules.filter((rule) => rule.type === 'b' && rule.major === 7)).toEqual([{ allow: true, type: 'b', major: 7, minor: 0, access: 'r' }]);
    expect(rules).toContainEqual({ allow: true, type: 'c', major: 10, minor: 1, access: 'rwm' });
  });
});

describe('propagation', () => {
  it('names kernel flags and mountinfo fields', () => {
    expect(propagationName(k.MS_SLAVE | k.MS_REC)).toBe('rslave');
    expect(propagationName(k.MS_SHARED)).toBe('shared');
    expect(propagationName(k.MS_UNBINDABLE | k.MS_REC)).toBe('runbindable');
    expect(propagationName(0)).toBeUndefined();
    expect(propagationOfFields(['shared:3'])).toBe('shared');
    expect(propagationOfFields(['shared:3', 'master:2'])).toBe('shared,slave');
    expect(propagationOfFields(['master:2'])).toBe('slave');
    expect(propagationOfFields(['unbindable'])).toBe('unbindable');
    expect(propagationOfFields([])).toBe('private');
  });

  it('-v takes unbindable, and a shared volume makes the root rshared as docker does', () => {
    expect(parseVolumeSpec('/h:/c:ro,runbindable')).toMatchObject({ readonly: true, propagation: 'runbindable' });
    const base = {
      containerId: 'c1', rootfs: '/r', command: ['sh'], imageCommand: [], imageEnv: [], env: [], cgroupNamespace: false,
    };
    const shared = planDockerConfig({ ...base, volumes: [{ source: '/h', destination: '/c', readonly: false, propagation: 'rshared' }] });
    expect(shared.linux?.rootfsPropagation).toBe('rshared');
    const slave = planDockerConfig({ ...base, volumes: [{ source: '/h', destination: '/c', readonly: false, propagation: 'rslave' }] });
    expect(slave.linux?.rootfsPropagation).toBeUndefined();
  });
});
