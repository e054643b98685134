// Device access rules for the v1 devices controller (pure). The container gets, in order: the config's
// linux.resources.devices rules, runc's default allow list, and an allow for each device the config creates.

import { RuntimeError } from '../errors.js';
import type { OciDevice, OciDeviceRule } from '../plan/oci-config.js';
import type { DeviceRule } from '../plan/container-plan.js';
import { DEFAULT_ALLOWED_DEVICE_RULES } from '../plan/runtime-defaults.js';

export function planDeviceRules(resourceRules: readonly OciDeviceRule[], configDevices: readonly OciDevice[]): DeviceRule[] {
  const rules = resourceRules.map((rule, index) => readRule(rule, `linux.resources.devices[${index}]`));
  rules.push(...DEFAULT_ALLOWED_DEVICE_RULES);
  for (const device of configDevices) {
    if (device.type !== 'c' && device.type !== 'b' && device.type !== 'u') continue;
    // A device the resource rules already name (run --device HOST:CTR:r) keeps the access they give it.
    const type = device.type === 'b' ? 'b' : 'c';
    if (rules.some((rule) => rule.type === type && rule.major === device.major && rule.minor === device.minor)) continue;
    rules.push({
      allow: true,
      type: device.type === 'b' ? 'b' : 'c',
      major: device.major ?? '*',
      minor: device.minor ?? '*',
      access: 'rwm',
    });
  }
  return rules;
}

function readRule(rule: OciDeviceRule, where: string): DeviceRule {
  const type = rule.type ?? 'a';
  if (type !== 'a' && type !== 'b' && type !== 'c') {
    throw new RuntimeError('invalid-config', `config.json: ${where}.type ${type} is not a, b or c`);
  }
  const access = rule.access ?? 'rwm';
  if (!/^[rwm]*$/.test(access)) {
    throw new RuntimeError('invalid-config', `config.json: ${where}.access ${access} is not made of r, w and m`);
  }
  return { allow: rule.allow, type, major: rule.major ?? '*', minor: rule.minor ?? '*', access };
}

/**
 * The line written to devices.allow / devices.deny: "c 1:3 rwm", or "a" for everything (v1 reads any 'a'
 * rule as "all devices, all access": it cannot express a partial one).
 */
export function deviceRuleLine(rule: DeviceRule): string {
  if (rule.type === 'a') return 'a';
  return `${rule.type} ${rule.major}:${rule.minor} ${rule.access}`;
}
