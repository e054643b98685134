// The verbs that act on a live container's cgroup, as library calls: pause, resume, update and stats. Each
// rebuilds the container's cgroup manager from the plan it was created with (plan.json), so it acts on the
// hierarchies and the v1/v2 backend chosen then, not on whatever the host looks like now.

import { RuntimeError, isRuntimeError, systemError } from '../errors.js';
import type { Logger } from '../log.js';
import { createCgroupManager, type CgroupManager, type CgroupStats } from '../cgroups/cgroup-manager.js';
import { planResources, type PlannedResources } from '../cgroups/resources.js';
import type { ContainerPlan } from '../plan/container-plan.js';
import type { OciResources } from '../plan/oci-config.js';
import { withContainerLock } from '../state/container-lock.js';
import { validateContainerId } from '../state/container-id.js';
import { PLAN_FILE, StateStore } from '../state/state-store.js';
import { observeContainer, type ObservedContainer } from './lifecycle.js';

interface OpenedCgroup {
  observed: ObservedContainer;
  plan: ContainerPlan;
  manager: CgroupManager;
  store: StateStore;
}

async function openCgroup(root: string, id: string, log: Logger): Promise<OpenedCgroup> {
  const store = new StateStore(root);
  const observed = await observeContainer(store, id);
  const plan = await store.readJson<ContainerPlan>(id, PLAN_FILE);
  if (!plan) throw new RuntimeError('system', 'the container has no readable plan.json', { stage: 'state', path: store.dirOf(id) });
  return { observed, plan, manager: createCgroupManager(plan.cgroup, log), store };
}

/** Runs `body` on the container's cgroup under its lock, with every error naming the container. */
async function withCgroup<T>(root: string, id: string, log: Logger, what: string, body: (opened: OpenedCgroup) => Promise<T>): Promise<T> {
  try {
    validateContainerId(id);
    return await withContainerLock(root, id, async () => body(await openCgroup(root, id, log)));
  } catch (error) {
    throw (isRuntimeError(error) ? error : systemError(error, what)).forContainer(id);
  }
}

function refused(verb: string, id: string, status: string): RuntimeError {
  return new RuntimeError('invalid-state', `cannot ${verb} a ${status} container`, { stage: 'state', containerId: id });
}

export async function pauseContainer(root: string, id: string, log: Logger): Promise<void> {
  await withCgroup(root, id, log, 'pause container', async ({ observed, manager }) => {
    if (observed.status !== 'running') throw refused('pause', id, observed.status);
    await manager.freeze();
  });
}

export async function resumeContainer(root: string, id: string, log: Logger): Promise<void> {
  await withCgroup(root, id, log, 'resume container', async ({ observed, manager }) => {
    if (observed.status !== 'paused') throw refused('resume', id, observed.status);
    await manager.thaw();
  });
}

/**
 * Sets new limits on a created, running or paused container, and records them in its plan so that inspect
 * shows what is in force. Fields not given are left as they are.
 */
export async function updateContainer(root: string, id: string, resources: OciResources, log: Logger): Promise<PlannedResources> {
  return withCgroup(root, id, log, 'update container', async ({ observed, plan, manager, store }) => {
    if (observed.status === 'stopped' || observed.status === 'creating') throw refused('update', id, observed.status);
    const planned = planResources(resources, 'update');
    await manager.setResources(planned);
    plan.cgroup.resources = mergeResources(plan.cgroup.resources ?? {}, planned);
    await store.writePlan(id, plan);
    return planned;
  });
}

/** A linux.resources object for `update` (a --resources file, containerd's Update), refused where it asks too much. */
export function checkUpdateResources(parsed: unknown, where: string): OciResources {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new RuntimeError('invalid-config', `${where}: must be a linux.resources object`);
  }
  const known = ['memory', 'cpu', 'pids', 'blockIO', 'devices'];
  const unknown = Object.keys(parsed).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new RuntimeError('unsupported', `${where}: ${unknown.join(', ')} cannot be updated`);
  const resources = parsed as OciResources;
  if (resources.devices?.length) throw new RuntimeError('unsupported', `${where}: devices cannot be updated (runc does not either)`);
  return resources;
}

function mergeResources(old: PlannedResources, update: PlannedResources): PlannedResources {
  const defined = <T extends object>(value: T | undefined): Partial<T> =>
    Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    memory: old.memory || update.memory ? { ...old.memory, ...defined(update.memory) } : undefined,
    cpu: old.cpu || update.cpu ? { ...old.cpu, ...defined(update.cpu) } : undefined,
    pids: update.pids ?? old.pids,
    blkioWeight: update.blkioWeight ?? old.blkioWeight,
  };
}

export async function readContainerStats(root: string, id: string, log: Logger): Promise<CgroupStats> {
  return (await readContainerMetrics(root, id, log)).stats;
}

/** The stats, and which cgroup API they come from (containerd's Metrics type differs between the two). */
export async function readContainerMetrics(root: string, id: string, log: Logger): Promise<{ version: 1 | 2; stats: CgroupStats }> {
  try {
    validateContainerId(id);
    const { observed, manager } = await openCgroup(root, id, log);
    if (observed.status === 'stopped' || observed.status === 'creating') throw refused('read stats of', id, observed.status);
    return { version: manager.version, stats: await manager.stats() };
  } catch (error) {
    throw (isRuntimeError(error) ? error : systemError(error, 'read container stats')).forContainer(id);
  }
}
