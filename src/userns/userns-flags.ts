// The docker/podman-style flags of `shim run IMAGE`: --uidmap and --gidmap (podman's CONTAINER:HOST:SIZE,
// repeatable) and --userns. Only the runner's flags are read here; the planner checks the maps themselves.

import { RuntimeError } from '../errors.js';
import { parseIdMapFlag, type IdMapping } from './plan-user-namespace.js';

export interface UserNamespaceFlags {
  uidmap?: string[] | undefined;
  gidmap?: string[] | undefined;
  userns?: string | undefined;
}

/** undefined: the container shares the host's user namespace. */
export function readUserNamespaceFlags(flags: UserNamespaceFlags): { uidMappings: IdMapping[]; gidMappings: IdMapping[] } | undefined {
  const uidMappings = (flags.uidmap ?? []).map((value) => parseIdMapFlag(value, '--uidmap'));
  const gidMappings = (flags.gidmap ?? []).map((value) => parseIdMapFlag(value, '--gidmap'));
  const mapped = uidMappings.length > 0 || gidMappings.length > 0;
  if (flags.userns !== undefined && flags.userns !== 'host') {
    throw new RuntimeError('usage', `--userns ${flags.userns}: only "host" is supported; give --uidmap/--gidmap for a user namespace of its own`);
  }
  if (flags.userns === 'host') {
    if (mapped) throw new RuntimeError('usage', '--userns host cannot go with --uidmap/--gidmap');
    return undefined;
  }
  if (!mapped) return undefined;
  // As podman: one of the two alone maps both.
  return {
    uidMappings: uidMappings.length > 0 ? uidMappings : gidMappings,
    gidMappings: gidMappings.length > 0 ? gidMappings : uidMappings,
  };
}
