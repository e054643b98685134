// The options containerd sends with Create (CreateTaskRequest.options): runc's Options when the runtime is
// configured as runc's (CRI's runtime options, `ctr run --runc-*`), or the generic runtimeoptions.v1 ones.
// What applies to a runtime without runc is honoured; the rest is ignored with a line in containerd's log
// saying why, never silently.

import { containerd, runtimeoptions, type google } from './generated/containerd.js';
import { Code, TtrpcError } from './ttrpc.js';

export interface CreateOptions {
  /** no_pivot_root: MS_MOVE + chroot instead of pivot_root, as `runc create --no-pivot`. */
  noPivot: boolean;
  /** systemd_cgroup: linux.cgroupsPath in systemd's slice:prefix:name form, as `--systemd-cgroup`. */
  systemdCgroup: boolean;
  /** io_uid/io_gid: the owner given to the process's stdio FIFOs, so a non-root process can reopen them. */
  ioOwner?: { uid: number; gid: number } | undefined;
  /** What was ignored, and why: one log line each. */
  notes: string[];
}

export function createOptionsOf(any: google.protobuf.IAny | null | undefined): CreateOptions {
  const options: CreateOptions = { noPivot: false, systemdCgroup: false, notes: [] };
  if (!any?.type_url) return options;
  // containerd's typeurl names these without a host ("containerd.runc.v1.Options"); a full
  // "type.googleapis.com/…" form is taken too.
  const type = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
  const value = any.value ?? new Uint8Array(0);
  if (type === 'runtimeoptions.v1.Options') {
    const generic = runtimeoptions.v1.Options.decode(value);
    if (generic.configPath) options.notes.push(`runtime options: config_path ${generic.configPath} ignored: shim's server takes no runtime config file`);
    return options;
  }
  if (type !== 'containerd.runc.v1.Options') {
    throw new TtrpcError(Code.INVALID_ARGUMENT, `create: runtime options of type ${any.type_url} are not runc's or runtimeoptions.v1's`);
  }
  const runc = containerd.runc.v1.Options.decode(value);
  options.noPivot = runc.noPivotRoot;
  options.systemdCgroup = runc.systemdCgroup;
  if (runc.ioUid || runc.ioGid) options.ioOwner = { uid: runc.ioUid, gid: runc.ioGid };
  // shim never joins a new session keyring, with or without this option (the keyring is the host's).
  if (runc.binaryName) options.notes.push(`runc options: binary_name ${runc.binaryName} ignored: this runtime runs no runc binary`);
  if (runc.root) options.notes.push(`runc options: root ${runc.root} ignored: the state lives in shim's store (SHIM_CONTAINERD_ROOT), where \`shim --root\` and the clean-up find it`);
  if (runc.shimCgroup) options.notes.push(`runc options: shim_cgroup ${runc.shimCgroup} ignored: one server serves a whole group of containers and stays in its own cgroup`);
  if (runc.criuPath || runc.criuImagePath || runc.criuWorkPath) options.notes.push('runc options: criu paths ignored: shim cannot checkpoint');
  return options;
}
