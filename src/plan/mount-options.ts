// OCI mount option strings (mount(8) vocabulary) to the plain kernel values the helper passes to mount(2):
// flags to set, the propagation change to make afterwards, and the filesystem's own data string.

import { RuntimeError } from '../errors.js';
import * as k from './kernel-constants.js';

export interface MountOptions {
  /** MS_* flags to pass to mount(2) (MS_BIND and MS_REC for bind/rbind). */
  flags: number;
  /** Flags an option asked to clear (rw, suid, dev, exec, ...). Kept for the dry run and remount logic. */
  clearedFlags: number;
  /** MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE, with MS_REC for the r-variants; 0 for none. */
  propagation: number;
  /** Options the filesystem interprets itself ("mode=755,size=65536k"), comma-joined. */
  data: string;
  bind: boolean;
  /**
   * tmpcopyup (runc's extension, sent by podman for --read-only's tmpfs mounts): the tmpfs starts with a copy
   * of what the directory under it held. The planner takes it only where that directory is empty or absent,
   * so the copy is empty too (see copyUpTargets in the plan); the helper copies nothing.
   */
  copyUp: boolean;
  /** runtime-spec 1.2's idmap / ridmap (recursive) option. */
  idmap?: 'idmap' | 'ridmap' | undefined;
}

// [flag, set?]: set adds the flag, clear removes one an earlier option added.
const FLAG_OPTIONS: Readonly<Record<string, readonly [number, boolean]>> = {
  defaults: [0, true],
  ro: [k.MS_RDONLY, true],
  rw: [k.MS_RDONLY, false],
  nosuid: [k.MS_NOSUID, true],
  suid: [k.MS_NOSUID, false],
  nodev: [k.MS_NODEV, true],
  dev: [k.MS_NODEV, false],
  noexec: [k.MS_NOEXEC, true],
  exec: [k.MS_NOEXEC, false],
  sync: [k.MS_SYNCHRONOUS, true],
  async: [k.MS_SYNCHRONOUS, false],
  dirsync: [k.MS_DIRSYNC, true],
  remount: [k.MS_REMOUNT, true],
  mand: [k.MS_MANDLOCK, true],
  nomand: [k.MS_MANDLOCK, false],
  atime: [k.MS_NOATIME, false],
  noatime: [k.MS_NOATIME, true],
  diratime: [k.MS_NODIRATIME, false],
  nodiratime: [k.MS_NODIRATIME, true],
  relatime: [k.MS_RELATIME, true],
  norelatime: [k.MS_RELATIME, false],
  strictatime: [k.MS_STRICTATIME, true],
  nostrictatime: [k.MS_STRICTATIME, false],
  lazytime: [k.MS_LAZYTIME, true],
  nolazytime: [k.MS_LAZYTIME, false],
  iversion: [k.MS_I_VERSION, true],
  noiversion: [k.MS_I_VERSION, false],
  acl: [k.MS_POSIXACL, true],
  noacl: [k.MS_POSIXACL, false],
  silent: [k.MS_SILENT, true],
  loud: [k.MS_SILENT, false],
  nosymfollow: [k.MS_NOSYMFOLLOW, true],
  symfollow: [k.MS_NOSYMFOLLOW, false],
};

export const PROPAGATION_OPTIONS: Readonly<Record<string, number>> = {
  private: k.MS_PRIVATE,
  rprivate: k.MS_PRIVATE | k.MS_REC,
  slave: k.MS_SLAVE,
  rslave: k.MS_SLAVE | k.MS_REC,
  shared: k.MS_SHARED,
  rshared: k.MS_SHARED | k.MS_REC,
  unbindable: k.MS_UNBINDABLE,
  runbindable: k.MS_UNBINDABLE | k.MS_REC,
};

// Options that need mount_setattr(2) or id-mapped mounts (runtime-spec 1.1+), or runc's own extensions: the
// helper does not do them yet, and passing them on as filesystem data would fail obscurely.
const UNSUPPORTED_OPTIONS = new Set([
  'rro', 'rrw', 'rnosuid', 'rsuid', 'rnodev', 'rdev', 'rnoexec', 'rexec', 'rnodiratime', 'rdiratime',
  'rrelatime', 'rnorelatime', 'rnoatime', 'ratime', 'rstrictatime', 'rnostrictatime', 'rnosymfollow',
  'rsymfollow',
]);

/** Every option name planMountOptions turns into flags or propagation (for `shim features`). */
export function supportedMountOptions(): string[] {
  return [...Object.keys(FLAG_OPTIONS), ...Object.keys(PROPAGATION_OPTIONS), 'bind', 'rbind', 'tmpcopyup', 'idmap', 'ridmap'].sort();
}

/** `where` names the mount in errors ("mounts[3] (/data)"). */
export function planMountOptions(options: readonly string[], where = 'mount'): MountOptions {
  let flags = 0;
  let clearedFlags = 0;
  let propagation = 0;
  let bind = false;
  let copyUp = false;
  let idmap: MountOptions['idmap'];
  const data: string[] = [];
  for (const option of options) {
    if (option === 'bind' || option === 'rbind') {
      bind = true;
      flags |= k.MS_BIND | (option === 'rbind' ? k.MS_REC : 0);
      continue;
    }
    const flagOption = FLAG_OPTIONS[option];
    if (flagOption) {
      const [flag, set] = flagOption;
      if (set) {
        flags |= flag;
        clearedFlags &= ~flag;
      } else {
        flags &= ~flag;
        clearedFlags |= flag;
      }
      continue;
    }
    const propagationOption = PROPAGATION_OPTIONS[option];
    if (propagationOption !== undefined) {
      // mount(2) takes one propagation type per call; the last one asked for is the one that holds.
      propagation = propagationOption;
      continue;
    }
    if (option === 'tmpcopyup') {
      copyUp = true;
      continue;
    }
    // An idmapped mount (runtime-spec 1.2): src/userns/ plans it from these and mounts[].uidMappings.
    if (option === 'idmap' || option === 'ridmap') {
      idmap = option;
      continue;
    }
    if (UNSUPPORTED_OPTIONS.has(option)) {
      throw new RuntimeError('unsupported', `${where}: mount option ${option} is not supported yet`);
    }
    if (option === '') continue;
    data.push(option);
  }
  return { flags, clearedFlags, propagation, data: data.join(','), bind, copyUp, ...(idmap ? { idmap } : {}) };
}

/** linux.rootfsPropagation to the value the helper applies recursively to the whole tree. */
export function planRootfsPropagation(value: string | undefined, source = 'config.json'): number {
  // runc's default: the container sees host unmounts (so it never pins a host mount busy) and the host never
  // sees the container's mounts.
  if (value === undefined || value === '') return k.MS_SLAVE;
  const propagation = PROPAGATION_OPTIONS[value];
  if (propagation === undefined) {
    throw new RuntimeError('invalid-config', `${source}: linux.rootfsPropagation ${value} is not a propagation type`);
  }
  // The helper always applies rootfs propagation recursively; it takes the bare type.
  return propagation & ~k.MS_REC;
}
