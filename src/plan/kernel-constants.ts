// Kernel values the plan hands to the helper. Checked against the headers of Debian 12
// (linux-libc-dev: <linux/mount.h>, <linux/capability.h>, <asm-generic/resource.h>, <linux/stat.h>), not
// written from memory: the helper passes them to the kernel unchanged.

// <linux/mount.h>
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_SYNCHRONOUS = 16;
export const MS_REMOUNT = 32;
export const MS_MANDLOCK = 64;
export const MS_DIRSYNC = 128;
export const MS_NOSYMFOLLOW = 256;
export const MS_NOATIME = 1024;
export const MS_NODIRATIME = 2048;
export const MS_BIND = 4096;
export const MS_MOVE = 8192;
export const MS_REC = 16384;
export const MS_SILENT = 32768;
export const MS_POSIXACL = 1 << 16;
export const MS_UNBINDABLE = 1 << 17;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;
export const MS_RELATIME = 1 << 21;
export const MS_I_VERSION = 1 << 23;
export const MS_STRICTATIME = 1 << 24;
export const MS_LAZYTIME = 1 << 25;

/** Names for the flags above, in bit order, for --dry-run. */
export const MOUNT_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [MS_RDONLY, 'ro'],
  [MS_NOSUID, 'nosuid'],
  [MS_NODEV, 'nodev'],
  [MS_NOEXEC, 'noexec'],
  [MS_SYNCHRONOUS, 'sync'],
  [MS_REMOUNT, 'remount'],
  [MS_MANDLOCK, 'mand'],
  [MS_DIRSYNC, 'dirsync'],
  [MS_NOSYMFOLLOW, 'nosymfollow'],
  [MS_NOATIME, 'noatime'],
  [MS_NODIRATIME, 'nodiratime'],
  [MS_BIND, 'bind'],
  [MS_MOVE, 'move'],
  [MS_REC, 'rec'],
  [MS_SILENT, 'silent'],
  [MS_POSIXACL, 'acl'],
  [MS_UNBINDABLE, 'unbindable'],
  [MS_PRIVATE, 'private'],
  [MS_SLAVE, 'slave'],
  [MS_SHARED, 'shared'],
  [MS_RELATIME, 'relatime'],
  [MS_I_VERSION, 'iversion'],
  [MS_STRICTATIME, 'strictatime'],
  [MS_LAZYTIME, 'lazytime'],
];

export function mountFlagNames(flags: number): string[] {
  const names: string[] = [];
  let rest = flags;
  for (const [bit, name] of MOUNT_FLAG_NAMES) {
    if ((flags & bit) !== 0) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names;
}

/** A propagation change as mount(8) names it: MS_PRIVATE|MS_REC -> "rprivate". */
export function propagationName(value: number): string {
  if (value === 0) return 'unchanged';
  const recursive = (value & MS_REC) !== 0 ? 'r' : '';
  const type =
    (value & MS_PRIVATE) !== 0 ? 'private'
    : (value & MS_SLAVE) !== 0 ? 'slave'
    : (value & MS_SHARED) !== 0 ? 'shared'
    : (value & MS_UNBINDABLE) !== 0 ? 'unbindable'
    : `0x${value.toString(16)}`;
  return recursive + type;
}

// <linux/capability.h>: bit N of a capability mask is capability N.
export const CAPABILITY_NUMBERS: Readonly<Record<string, number>> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
};

/**
 * A set of capabilities as the helper's uint64 mask. The highest capability is 40, so the mask stays below
 * 2^53 and a JS number holds it exactly (the generated code is built with --force-number).
 */
export function capabilityMask(numbers: readonly number[]): number {
  let mask = 0;
  for (const number of new Set(numbers)) mask += 2 ** number;
  return mask;
}

/** a AND b for masks wider than the 32 bits JS bitwise operators work on. */
export function intersectMasks(a: number, b: number): number {
  return Number(BigInt(a) & BigInt(b));
}

export function capabilityNamesOfMask(mask: number): string[] {
  const names: string[] = [];
  for (const [name, number] of Object.entries(CAPABILITY_NUMBERS)) {
    if (Math.floor(mask / 2 ** number) % 2 === 1) names.push(name);
  }
  return names;
}

// <asm-generic/resource.h>
export const RLIMIT_NUMBERS: Readonly<Record<string, number>> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

// <linux/stat.h>
export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
