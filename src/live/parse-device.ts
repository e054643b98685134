// docker's device syntax: `--device HOST[:CTR][:PERMS]` and `--device-cgroup-rule 'TYPE MAJOR:MINOR PERMS'`
// (pure), and the host node's numbers (one stat).

import { statSync } from 'node:fs';
import { posix } from 'node:path';
import { RuntimeError, systemError } from '../errors.js';
import type { DeviceRule } from '../plan/container-plan.js';
import * as k from '../plan/kernel-constants.js';

export interface DeviceRequest {
  hostPath: string;
  containerPath: string;
  /** Some of r, w, m. */
  access: string;
}

const PERMISSIONS = /^[rwm]{1,3}$/;
const S_IFMT = 0o170000;

/** As docker's ParseDevice: HOST, HOST:CTR, HOST:PERMS, HOST:CTR:PERMS; CTR defaults to HOST, PERMS to rwm. */
export function parseDeviceSpec(spec: string, flag = '--device'): DeviceRequest {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((part) => part === '')) {
    throw new RuntimeError('usage', `${flag} ${spec}: expected HOST[:CONTAINER][:PERMISSIONS]`);
  }
  const [hostPath, second, third] = parts as [string, string?, string?];
  let containerPath = hostPath;
  let access = 'rwm';
  if (third !== undefined) {
    containerPath = second!;
    access = third;
    if (!PERMISSIONS.test(access)) throw new RuntimeError('usage', `${flag} ${spec}: permissions ${access} are not made of r, w and m`);
  } else if (second !== undefined) {
    if (PERMISSIONS.test(second)) access = second;
    else containerPath = second;
  }
  for (const path of [hostPath, containerPath]) {
    if (!posix.isAbsolute(path)) throw new RuntimeError('usage', `${flag} ${spec}: ${path} is not an absolute path`);
  }
  return { hostPath: posix.normalize(hostPath), containerPath: posix.normalize(containerPath), access: [...new Set(access)].join('') };
}

/** docker's --device-cgroup-rule: "c 1:3 rwm", "b *:* m", "a". */
export function parseDeviceCgroupRule(text: string): DeviceRule {
  const match = /^([abc])(?:\s+(\*|\d+):(\*|\d+)(?:\s+([rwm]{1,3}))?)?$/.exec(text.trim());
  if (!match) throw new RuntimeError('usage', `--device-cgroup-rule ${text}: expected 'TYPE MAJOR:MINOR PERMISSIONS' (c 1:3 rwm, b *:* m)`);
  const [, type, major, minor, access] = match;
  const number = (value: string | undefined) => (value === undefined || value === '*' ? '*' : Number(value));
  return { allow: true, type: type as DeviceRule['type'], major: number(major), minor: number(minor), access: access ?? 'rwm' };
}

export interface HostDevice {
  type: 'b' | 'c';
  major: number;
  minor: number;
  /** Permission bits. */
  permissions: number;
  uid: number;
  gid: number;
}

/** The host node's type and numbers; anything but a block or character device is refused. */
export function readHostDevice(path: string): HostDevice {
  let stat;
  try {
    stat = statSync(path, { bigint: true });
  } catch (error) {
    throw systemError(error, 'read host device', { path });
  }
  const format = Number(stat.mode) & S_IFMT;
  if (format !== k.S_IFBLK && format !== k.S_IFCHR) {
    throw new RuntimeError('invalid-config', 'not a device node', { path, hint: 'give a block or character device, e.g. /dev/loop0' });
  }
  // The kernel's new_encode_dev(), read back: 12 bits of major, 20 of minor, split around the low byte.
  const rdev = stat.rdev;
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & 0xfffff00n));
  return { type: format === k.S_IFBLK ? 'b' : 'c', major, minor, permissions: Number(stat.mode) & 0o7777, uid: Number(stat.uid), gid: Number(stat.gid) };
}
