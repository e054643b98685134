// What `device` and `mount` share: the container's lock, its status (only a running or created container takes
// a change), its plan, and one helper run that either succeeds or says why in one line.

import { RuntimeError, isRuntimeError, systemError } from '../errors.js';
import type { Logger } from '../log.js';
import { observeContainer, type ObservedContainer } from '../container/lifecycle.js';
import { runHelper } from '../helper/run-helper.js';
import type { ContainerPlan } from '../plan/container-plan.js';
import { withContainerLock } from '../state/container-lock.js';
import { validateContainerId } from '../state/container-id.js';
import { PLAN_FILE, StateStore } from '../state/state-store.js';

export interface LiveContext {
  root: string;
  dataRoot: string;
  helperPath: string;
  log: Logger;
}

export interface OpenedContainer {
  store: StateStore;
  observed: ObservedContainer;
  plan: ContainerPlan;
}

/**
 * Runs body under the container's lock once it is known to run. `change` words the refusal: "add a device to"
 * gives "cannot add a device to a stopped container". Every error names the container.
 */
export async function withLiveContainer<T>(
  context: LiveContext,
  id: string,
  change: string | undefined,
  body: (opened: OpenedContainer) => Promise<T>,
): Promise<T> {
  try {
    validateContainerId(id);
    return await withContainerLock(context.root, id, async () => {
      const store = new StateStore(context.root);
      const observed = await observeContainer(store, id);
      if (change !== undefined && observed.status !== 'running' && observed.status !== 'created') {
        throw new RuntimeError('invalid-state', `cannot ${change} a ${observed.status} container`, { stage: 'state', containerId: id });
      }
      const plan = await store.readJson<ContainerPlan>(id, PLAN_FILE);
      if (!plan) throw new RuntimeError('system', 'the container has no readable plan.json', { stage: 'state', path: store.dirOf(id) });
      return body({ store, observed, plan });
    });
  } catch (error) {
    throw (isRuntimeError(error) ? error : systemError(error, change ?? 'read container')).forContainer(id);
  }
}

/** One helper run of a live action: no frame and exit 0 on success, one ERROR frame otherwise. */
export async function runLiveHelper(context: LiveContext, spec: Uint8Array): Promise<void> {
  const outcome = await runHelper({ helperPath: context.helperPath, spec, log: context.log, stdin: 'ignore' });
  // As run's helperFailure, without loading run's module (the planner and the image store) for it.
  if (outcome.error) {
    const { stage, errno, message, path } = outcome.error;
    throw new RuntimeError('setup-failed', message || `stage ${stage} failed`, { stage, errno, path });
  }
  if (outcome.helperExitCode !== 0) {
    const how = outcome.helperSignal ? `was killed by ${outcome.helperSignal}` : `exited with code ${outcome.helperExitCode}`;
    throw new RuntimeError('helper-failed', `helper ${how} without saying why`);
  }
}
