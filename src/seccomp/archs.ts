// The architectures a filter can be written for, and their syscall numbers. The numbers come from the kernel
// headers (src/seccomp/generated/syscall-tables.ts, made by scripts/gen-syscall-tables.mjs); each table is
// parsed the first time a profile needs it.

import * as tables from './generated/syscall-tables.js';

export type ArchName = 'x86_64' | 'i386' | 'x32' | 'aarch64' | 'arm';
/** What the host runs: its native arch and the ones its kernel also executes. */
export type ArchFamily = 'x86_64' | 'aarch64';

export interface Arch {
  name: ArchName;
  /** The profile's name for it. */
  scmpName: string;
  /** AUDIT_ARCH_*: what seccomp_data.arch holds for a syscall made under this arch. */
  auditArch: number;
  /**
   * Width of a syscall argument as libseccomp compares it: on 32-bit ABIs (x32 included, as libseccomp
   * treats it) only the low 32 bits of seccomp_data.args[i] are compared, against the low 32 bits of the value.
   */
  argBits: 32 | 64;
  family: ArchFamily;
}

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;
export const AUDIT_ARCH_ARM = 0x40000028;
/** x32 syscalls come in under AUDIT_ARCH_X86_64 with this bit set in the number. */
export const X32_SYSCALL_BIT = 0x40000000;

export const ARCHS: Record<ArchName, Arch> = {
  x86_64: { name: 'x86_64', scmpName: 'SCMP_ARCH_X86_64', auditArch: AUDIT_ARCH_X86_64, argBits: 64, family: 'x86_64' },
  i386: { name: 'i386', scmpName: 'SCMP_ARCH_X86', auditArch: AUDIT_ARCH_I386, argBits: 32, family: 'x86_64' },
  x32: { name: 'x32', scmpName: 'SCMP_ARCH_X32', auditArch: AUDIT_ARCH_X86_64, argBits: 32, family: 'x86_64' },
  aarch64: { name: 'aarch64', scmpName: 'SCMP_ARCH_AARCH64', auditArch: AUDIT_ARCH_AARCH64, argBits: 64, family: 'aarch64' },
  arm: { name: 'arm', scmpName: 'SCMP_ARCH_ARM', auditArch: AUDIT_ARCH_ARM, argBits: 32, family: 'aarch64' },
};

/** Each family's archs, native first. */
export const FAMILY_ARCHS: Record<ArchFamily, ArchName[]> = {
  x86_64: ['x86_64', 'i386', 'x32'],
  aarch64: ['aarch64', 'arm'],
};

/**
 * Every arch name libseccomp (and so runc's features) knows. The ones outside x86 and arm are accepted in a
 * profile and compile to nothing: this host's kernel never reports a syscall under them.
 */
export const KNOWN_SCMP_ARCHS = [
  'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X', 'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64',
] as const;

export function archOfScmpName(name: string): Arch | undefined {
  return Object.values(ARCHS).find((arch) => arch.scmpName === name);
}

export function hostFamily(): ArchFamily {
  return process.arch === 'arm64' ? 'aarch64' : 'x86_64';
}

const TABLE_TEXT: Record<ArchName, string> = {
  x86_64: tables.X86_64,
  i386: tables.I386,
  x32: tables.X32,
  aarch64: tables.AARCH64,
  arm: tables.ARM,
};

const parsed = new Map<string, Map<string, number>>();

function parseTable(key: string, text: string): Map<string, number> {
  let table = parsed.get(key);
  if (!table) {
    table = new Map();
    const words = text.split(' ');
    for (let index = 0; index + 1 < words.length; index += 2) table.set(words[index]!, Number(words[index + 1]));
    parsed.set(key, table);
  }
  return table;
}

/** name -> number for one arch (x32 numbers carry X32_SYSCALL_BIT, as the kernel sees them). */
export function syscallTable(arch: ArchName): Map<string, number> {
  return parseTable(arch, TABLE_TEXT[arch]);
}

/** A syscall name known to any arch's table; the family's own tables are asked first (the others are rarely read). */
export function isKnownSyscall(name: string, family: ArchFamily = hostFamily()): boolean {
  for (const arch of FAMILY_ARCHS[family]) if (syscallTable(arch).has(name)) return true;
  return (Object.keys(TABLE_TEXT) as ArchName[]).some((arch) => syscallTable(arch).has(name));
}

/** i386's multiplexed calls: name -> the call number socketcall(2) or ipc(2) takes as its first argument. */
export function socketcallCalls(): Map<string, number> {
  return parseTable('socketcall', tables.SOCKETCALL_CALLS);
}

export function ipcCalls(): Map<string, number> {
  return parseTable('ipc', tables.IPC_CALLS);
}
