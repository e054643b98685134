// `run --device HOST[:CTR][:PERMS]` and `--device-cgroup-rule RULE`, as docker takes them: each device becomes
// an OCI linux.devices node (the host node's type, numbers, mode and owner) and an allow rule with the
// permissions given; each cgroup rule an allow rule. Reads the host nodes (stat); plans nothing else.

import type { OciDevice, OciDeviceRule } from '../plan/oci-config.js';
import { parseDeviceCgroupRule, parseDeviceSpec, readHostDevice } from './parse-device.js';

export function planRunDevices(deviceSpecs: readonly string[], cgroupRules: readonly string[]): { devices: OciDevice[]; deviceRules: OciDeviceRule[] } {
  const devices: OciDevice[] = [];
  const deviceRules: OciDeviceRule[] = [];
  for (const spec of deviceSpecs) {
    const request = parseDeviceSpec(spec);
    const host = readHostDevice(request.hostPath);
    devices.push({ type: host.type, path: request.containerPath, major: host.major, minor: host.minor, fileMode: host.permissions, uid: host.uid, gid: host.gid });
    deviceRules.push({ allow: true, type: host.type, major: host.major, minor: host.minor, access: request.access });
  }
  for (const text of cgroupRules) {
    const rule = parseDeviceCgroupRule(text);
    deviceRules.push({ allow: true, type: rule.type, major: rule.major === '*' ? null : rule.major, minor: rule.minor === '*' ? null : rule.minor, access: rule.access });
  }
  return { devices, deviceRules };
}
