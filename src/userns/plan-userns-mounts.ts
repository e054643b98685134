// What changes in a container's mounts when it has a user namespace of its own. Pure, like the planner.
//
// - Device nodes: a user namespace may not mknod, so each node is the host's, bind-mounted (runc does the same).
// - sysfs: the kernel lets a user namespace mount sysfs only when it owns the network namespace too. Without a
//   new network namespace the mount fails with EPERM; crun then binds the host's /sys read-only, runc fails.
//   We take crun's way (the config's flags kept, so ro stays ro) and say so in a warning.
// - Idmapped mounts (mounts[].uidMappings/gidMappings, or the idmap/ridmap options with the container's maps).

import { RuntimeError } from '../errors.js';
import type { PlannedDevice, PlannedMount } from '../plan/container-plan.js';
import type { OciMount } from '../plan/oci-config.js';
import type { MountOptions } from '../plan/mount-options.js';
import { checkMappings, type PlannedUserNamespace } from './plan-user-namespace.js';

export interface UserNamespaceMountsRequest {
  mounts: PlannedMount[];
  devices: PlannedDevice[];
  netNamespaceIsNew: boolean;
  warnings: string[];
}

/** Changes request.mounts and request.devices in place. */
export function planUserNamespaceMounts(request: UserNamespaceMountsRequest): void {
  for (const device of request.devices) device.bindFromHost = true;
  if (request.netNamespaceIsNew) return;
  for (const mount of request.mounts) {
    if (mount.fstype !== 'sysfs') continue;
    mount.fallbackBindSource = '/sys';
    request.warnings.push(
      `mount sysfs on ${mount.target}: the container shares a network namespace its user namespace may not own; if the kernel refuses sysfs, the host's /sys is bound there instead`,
    );
  }
}

/** The idmapping of one config mount, or undefined when it is a plain mount. */
export function planIdmappedMount(
  mount: OciMount,
  where: string,
  bind: boolean,
  options: Pick<MountOptions, 'idmap'>,
  userNamespace: PlannedUserNamespace | undefined,
): PlannedMount['idmap'] {
  const given = (mount.uidMappings?.length ?? 0) > 0 || (mount.gidMappings?.length ?? 0) > 0;
  if (!given && options.idmap === undefined) return undefined;
  if (!bind) throw new RuntimeError('invalid-config', `${where}: only a bind mount can be idmapped`);
  if (!userNamespace) {
    throw new RuntimeError('invalid-config', `${where}: an idmapped mount needs the container to have a user namespace`);
  }
  if (!given) {
    // runtime-spec 1.2: idmap/ridmap with no mappings of its own takes the container's.
    if (userNamespace.path !== undefined) {
      throw new RuntimeError('unsupported', `${where}: idmap without mappings needs a new user namespace (one joined by path has no maps in config.json)`);
    }
    return { uidMappings: userNamespace.uidMappings, gidMappings: userNamespace.gidMappings, recursive: options.idmap === 'ridmap' };
  }
  const uidMappings = checkMappings(mount.uidMappings, `${where}.uidMappings`);
  const gidMappings = checkMappings(mount.gidMappings, `${where}.gidMappings`);
  if (uidMappings.length === 0 || gidMappings.length === 0) {
    throw new RuntimeError('invalid-config', `${where}: an idmapped mount needs both uidMappings and gidMappings`);
  }
  return { uidMappings, gidMappings, recursive: options.idmap === 'ridmap' };
}
