// `device add|rm|ls`: device nodes on a running container. The order of an add, each step's undo registered as
// it is done:
//   1. the helper makes the node inside the container's root (in its own /dev mount: a node made from the host
//      in the rootfs directory would sit under that mount, unseen, seed 004) and attaches the cgroup2 device
//      program that now allows it; it undoes its own part if the attach fails;
//   2. the v1 devices controller gets the allow rule (devices.allow);
//   3. the state and the plan record the device and the rule.
// `rm` goes the other way round: the node goes and the program no longer allows it, then devices.deny.
//
// On this hybrid host both apply: the v1 controller (the devices hierarchy) and the program on the cgroup2
// hierarchy are each checked by the kernel, and an access must pass both. A pure v2 host has only the program.

import { posix } from 'node:path';
import { RuntimeError } from '../errors.js';
import { writeCgroupFile } from '../cgroups/cgroup-files.js';
import { deviceRuleLine } from '../cgroups/device-rules.js';
import { encodeDeviceProgram, planDeviceProgram } from '../cgroups/device-program.js';
import type { ContainerPlan, DeviceRule, PlannedCgroupDir } from '../plan/container-plan.js';
import * as k from '../plan/kernel-constants.js';
import { encodeLiveDeviceSpec, type LiveDeviceRequest } from '../spec/encode-spec.js';
import type { ContainerState } from '../state/state-store.js';
import { UndoStack } from '../undo-stack.js';
import { runLiveHelper, withLiveContainer, type LiveContext } from './live-container.js';
import type { LiveDevice, LiveDeviceProgram } from './live-types.js';
import { parseDeviceSpec, readHostDevice } from './parse-device.js';

export interface DeviceAddOptions {
  /** Permission bits of the node; the host node's when undefined. */
  mode?: number | undefined;
  uid?: number | undefined;
  gid?: number | undefined;
}

/** A device of the container as `device ls` shows it. */
export interface ListedDevice {
  path: string;
  type: string;
  major: number;
  minor: number;
  access: string;
  /** 'create' for the nodes the container was created with, 'live' for `device add`. */
  origin: 'create' | 'live';
  hostPath?: string | undefined;
}

function v1DevicesDir(plan: ContainerPlan): PlannedCgroupDir | undefined {
  return plan.cgroup.dirs.find((dir) => dir.version === 1 && dir.controllers.includes('devices'));
}

function v2Dir(plan: ContainerPlan): PlannedCgroupDir | undefined {
  return plan.cgroup.dirs.find((dir) => dir.version === 2);
}

/** bpftool shows this name: "shim_" and the start of the id, in the characters a program name may have. */
export function deviceProgramName(id: string): string {
  return `shim_${id.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 10)}`;
}

function programFor(plan: ContainerPlan, rules: readonly DeviceRule[]): LiveDeviceRequest['program'] & { name: string; cgroup: string } | undefined {
  const dir = v2Dir(plan);
  if (!dir) return undefined;
  return { bytes: encodeDeviceProgram(planDeviceProgram(rules)), name: deviceProgramName(plan.containerId), cgroup: dir.dir };
}

/** What puts the previous program back: the one for the old rules if one was attached, else a detach. */
function restoreProgram(plan: ContainerPlan, previous: LiveDeviceProgram | undefined, rules: readonly DeviceRule[]): LiveDeviceRequest['program'] {
  if (previous) return programFor(plan, rules);
  const dir = v2Dir(plan);
  return dir ? { detach: true, cgroup: dir.dir } : undefined;
}

function sameRule(a: DeviceRule, b: DeviceRule): boolean {
  return a.allow === b.allow && a.type === b.type && a.major === b.major && a.minor === b.minor && a.access === b.access;
}

export async function addDevice(context: LiveContext, id: string, spec: string, options: DeviceAddOptions = {}): Promise<LiveDevice> {
  const request = parseDeviceSpec(spec, 'device add');
  return withLiveContainer(context, id, 'add a device to', async ({ store, observed, plan }) => {
    const state = observed.state;
    if ((state.liveDevices ?? []).some((device) => device.path === request.containerPath)) {
      throw new RuntimeError('already-exists', `device ${request.containerPath} was already added`, { hint: `shim device rm ${id} ${request.containerPath}` });
    }
    const host = readHostDevice(request.hostPath);
    const device: LiveDevice = {
      path: request.containerPath,
      hostPath: request.hostPath,
      type: host.type,
      major: host.major,
      minor: host.minor,
      access: request.access,
      mode: (host.type === 'b' ? k.S_IFBLK : k.S_IFCHR) | ((options.mode ?? host.permissions) & 0o7777),
      uid: options.uid ?? host.uid,
      gid: options.gid ?? host.gid,
    };
    const rule: DeviceRule = { allow: true, type: device.type, major: device.major, minor: device.minor, access: device.access };
    const oldRules = plan.cgroup.deviceRules;
    const newRules = [...oldRules, rule];
    const node = { path: device.path, mode: device.mode, major: device.major, minor: device.minor, uid: device.uid, gid: device.gid };
    const program = programFor(plan, newRules);

    const undo = new UndoStack(context.log);
    try {
      await runLiveHelper(context, encodeLiveDeviceSpec({ containerId: id, targetPid: state.pid, node, remove: false, program }));
      undo.push('remove the device node and restore the device program', () =>
        runLiveHelper(context, encodeLiveDeviceSpec({ containerId: id, targetPid: state.pid, node, remove: true, program: restoreProgram(plan, state.deviceProgram, oldRules) })),
        { keepOnSuccess: true },
      );
      const v1 = v1DevicesDir(plan);
      if (v1) {
        await writeCgroupFile(v1.dir, 'devices.allow', deviceRuleLine(rule));
        undo.push('revoke the devices.allow rule', () => revokeV1(v1.dir, rule, oldRules), { keepOnSuccess: true });
      }
      plan.cgroup.deviceRules = newRules;
      plan.devices.push({ path: device.path, type: device.type, mode: device.mode, major: device.major, minor: device.minor, uid: device.uid, gid: device.gid });
      await store.writePlan(id, plan);
      state.liveDevices = [...(state.liveDevices ?? []), device];
      if (program) state.deviceProgram = { cgroup: program.cgroup, name: program.name };
      await store.writeState(state);
      await undo.unwind(true);
      return device;
    } catch (error) {
      await undo.unwind(false);
      throw error;
    }
  });
}

/** devices.deny for the rule, then the remaining allow rules for the same numbers again (deny removes them all). */
async function revokeV1(dir: string, rule: DeviceRule, remaining: readonly DeviceRule[]): Promise<void> {
  await writeCgroupFile(dir, 'devices.deny', deviceRuleLine(rule));
  for (const other of remaining) {
    if (other.allow && other.type === rule.type && other.major === rule.major && other.minor === rule.minor) {
      await writeCgroupFile(dir, 'devices.allow', deviceRuleLine(other));
    }
  }
}

export async function removeDevice(context: LiveContext, id: string, containerPath: string): Promise<LiveDevice> {
  const path = posix.normalize(containerPath);
  return withLiveContainer(context, id, 'remove a device from', async ({ store, observed, plan }) => {
    const state: ContainerState = observed.state;
    const device = (state.liveDevices ?? []).find((candidate) => candidate.path === path);
    if (!device) {
      throw new RuntimeError('not-found', `no device was added at ${path}`, { hint: `shim device ls ${id}` });
    }
    const rule: DeviceRule = { allow: true, type: device.type, major: device.major, minor: device.minor, access: device.access };
    let at = plan.cgroup.deviceRules.length - 1;
    while (at >= 0 && !sameRule(plan.cgroup.deviceRules[at]!, rule)) at--;
    const newRules = plan.cgroup.deviceRules.filter((_, index) => index !== at);
    const node = { path: device.path, mode: device.mode, major: device.major, minor: device.minor, uid: device.uid, gid: device.gid };
    await runLiveHelper(context, encodeLiveDeviceSpec({ containerId: id, targetPid: state.pid, node, remove: true, program: programFor(plan, newRules) }));
    const v1 = v1DevicesDir(plan);
    if (v1) await revokeV1(v1.dir, rule, newRules);
    plan.cgroup.deviceRules = newRules;
    plan.devices = plan.devices.filter((planned) => planned.path !== device.path);
    await store.writePlan(id, plan);
    state.liveDevices = (state.liveDevices ?? []).filter((candidate) => candidate !== device);
    await store.writeState(state);
    return device;
  });
}

export async function listDevices(context: LiveContext, id: string): Promise<ListedDevice[]> {
  return withLiveContainer(context, id, undefined, async ({ observed, plan }) => {
    const live = observed.state.liveDevices ?? [];
    const listed: ListedDevice[] = [];
    for (const device of plan.devices) {
      const added = live.find((candidate) => candidate.path === device.path);
      if (added) continue;
      listed.push({ path: device.path, type: device.type, major: device.major, minor: device.minor, access: ruleAccessFor(plan, device.type, device.major, device.minor), origin: 'create' });
    }
    for (const device of live) {
      listed.push({ path: device.path, type: device.type, major: device.major, minor: device.minor, access: device.access, origin: 'live', hostPath: device.hostPath });
    }
    return listed;
  });
}

/** The access the container's rules give a node (the last matching rule decides), for `device ls`. */
function ruleAccessFor(plan: ContainerPlan, type: string, major: number, minor: number): string {
  for (const rule of [...plan.cgroup.deviceRules].reverse()) {
    const typeMatches = rule.type === 'a' || rule.type === type;
    if (typeMatches && (rule.major === '*' || rule.major === major) && (rule.minor === '*' || rule.minor === minor)) {
      return rule.allow ? rule.access : '-';
    }
  }
  return '-';
}
