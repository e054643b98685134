// What `device add` and `mount add` record in the container's state (state.json), so that `device ls`,
// `mount ls`, `inspect` and a later `rm` see what was changed on the running container.

/** A device node added to a running container. */
export interface LiveDevice {
  /** Absolute path inside the container. */
  path: string;
  /** The host node it copies. */
  hostPath: string;
  type: 'b' | 'c';
  major: number;
  minor: number;
  /** The cgroup rule's access: some of r, w, m. */
  access: string;
  /** st_mode of the node made (type and permission bits), its owner. */
  mode: number;
  uid: number;
  gid: number;
}

/** A mount added to a running container. */
export interface LiveMount {
  /** Host path (for a volume, its _data directory). */
  source: string;
  /** The named volume it mounts, when SOURCE was a volume name. */
  volume?: string | undefined;
  target: string;
  readonly: boolean;
  /** private, slave, shared or unbindable; undefined: as cloned from the host. */
  propagation?: string | undefined;
  recursive: boolean;
  /** The add put the volume in the state's volumes (the container was not created with it). */
  volumeUseAdded?: boolean | undefined;
}

/** The cgroup2 device program `device add` attached (one per container: each change replaces it). */
export interface LiveDeviceProgram {
  cgroup: string;
  name: string;
}
