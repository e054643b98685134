// --dry-run output: the plan as readable text, or as JSON with the kernel values and their names side by side.

import { MS_PRIVATE, MS_REC, capabilityNamesOfMask, mountFlagNames, propagationName } from './kernel-constants.js';
import type { ContainerPlan, PlannedCapabilities, RlimitValue } from './container-plan.js';

export function formatPlanJson(plan: ContainerPlan): string {
  const view = {
    ...plan,
    rootfs: { ...plan.rootfs, propagationName: propagationName((plan.rootfs.propagation || MS_PRIVATE) | MS_REC) },
    mounts: plan.mounts.map((mount) => ({
      ...mount,
      flagNames: mountFlagNames(mount.flags),
      propagationName: propagationName(mount.propagation),
    })),
    devices: plan.devices.map((device) => ({ ...device, modeOctal: device.mode.toString(8) })),
    process: { ...plan.process, capabilityNames: capabilitySetNames(plan.process.capabilities) },
  };
  return `${JSON.stringify(view, null, 2)}\n`;
}

export function formatPlanText(plan: ContainerPlan): string {
  const lines: string[] = [];
  const { rootfs, process } = plan;
  lines.push(`container ${plan.containerId}`);
  for (const warning of plan.warnings) lines.push(`warning: ${warning}`);
  lines.push(`hostname ${plan.hostname || '(inherited)'}${plan.domainname ? `  domainname ${plan.domainname}` : ''}`);

  lines.push('', 'namespaces');
  for (const ns of plan.namespaces) lines.push(`  ${ns.type.padEnd(7)} ${ns.path ? `join ${ns.path}` : 'new'}`);
  if (plan.loopbackUp) lines.push('  (lo brought up in the new network namespace)');

  lines.push('', 'rootfs');
  if (rootfs.lowerDirs.length > 0) {
    lines.push(`  overlay on ${rootfs.path}`);
    lines.push(`    lower ${rootfs.lowerDirs.join(':')}`);
    lines.push(`    upper ${rootfs.upperDir || '(none: read-only)'}`);
    lines.push(`    work  ${rootfs.workDir || '-'}`);
  } else {
    lines.push(`  ${rootfs.path}`);
  }
  // The helper applies the rootfs propagation to the whole tree (0 meaning private), hence the r-form.
  lines.push(`  ${rootfs.readonly ? 'read-only' : 'read-write'}, propagation ${propagationName((rootfs.propagation || MS_PRIVATE) | MS_REC)}${rootfs.noPivot ? ', no pivot_root' : ''}`);

  lines.push('', 'mounts (in order)');
  plan.mounts.forEach((mount, index) => {
    const flags = mountFlagNames(mount.flags).join(',') || '-';
    const propagation = mount.propagation ? `  propagation=${propagationName(mount.propagation)}` : '';
    const data = mount.data ? `  ${mount.data}` : '';
    lines.push(`  ${String(index + 1).padStart(2)}. ${mount.target}  ${mount.fstype || '-'}  ${mount.source}  [${flags}]${data}${propagation}`);
  });

  lines.push('', 'devices');
  for (const device of plan.devices) {
    lines.push(`  ${device.path}  ${device.type} ${device.major}:${device.minor}  mode ${(device.mode & 0o7777).toString(8).padStart(4, '0')}  ${device.uid}:${device.gid}`);
  }
  lines.push('', 'symlinks');
  for (const link of plan.symlinks) lines.push(`  ${link.path} -> ${link.target}`);
  lines.push('', `masked paths    ${plan.maskedPaths.join(' ') || '-'}`);
  lines.push(`readonly paths  ${plan.readonlyPaths.join(' ') || '-'}`);
  if (plan.sysctls.length > 0) lines.push(`sysctls         ${plan.sysctls.map((s) => `${s.key}=${s.value}`).join(' ')}`);

  lines.push('', 'cgroup');
  for (const dir of plan.cgroup.dirs) lines.push(`  ${dir.dir}`);
  lines.push(`  devices: ${plan.cgroup.deviceRules.map((rule) => `${rule.allow ? 'allow' : 'deny'} ${rule.type} ${rule.major}:${rule.minor} ${rule.access}`).join(', ')}`);
  const limits = plan.cgroup.resources ? JSON.stringify(plan.cgroup.resources) : '{}';
  if (limits !== '{}') lines.push(`  limits: ${limits}`);

  lines.push('', 'process');
  lines.push(`  args    ${process.args.map(quoteArg).join(' ')}`);
  lines.push(`  cwd     ${process.cwd}`);
  lines.push(`  user    ${process.uid}:${process.gid}${process.additionalGids.length ? ` groups ${process.additionalGids.join(',')}` : ''}${process.umask !== undefined ? ` umask ${process.umask.toString(8).padStart(4, '0')}` : ''}`);
  lines.push(`  env     ${process.env.join('\n          ') || '-'}`);
  const caps = process.capabilities;
  for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) {
    const names = capabilityNamesOfMask(caps[set]).map((name) => name.replace(/^CAP_/, ''));
    lines.push(`  ${`caps.${set}`.padEnd(17)} ${names.join(' ') || '-'}`);
  }
  lines.push(`  rlimits ${process.rlimits.map((r) => `${r.name.replace(/^RLIMIT_/, '')}=${limitText(r.soft)}:${limitText(r.hard)}`).join(' ') || '-'}`);
  lines.push(`  no_new_privileges ${process.noNewPrivileges}  new_session ${process.newSession}  terminal ${process.terminal}${process.oomScoreAdj !== undefined ? `  oom_score_adj ${process.oomScoreAdj}` : ''}`);
  return `${lines.join('\n')}\n`;
}

function capabilitySetNames(capabilities: PlannedCapabilities): Record<string, string[]> {
  return Object.fromEntries(Object.entries(capabilities).map(([set, mask]) => [set, capabilityNamesOfMask(mask)]));
}

function limitText(value: RlimitValue): string {
  return value === 'unlimited' ? 'unlimited' : String(value);
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
