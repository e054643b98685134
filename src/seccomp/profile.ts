// linux.seccomp of config.json (runtime-spec 1.0-1.3): its types, the names it may use, and the check that turns
// it into rules with kernel values. A wrong profile is refused with one line naming the field.

import { RuntimeError } from '../errors.js';
import { KNOWN_SCMP_ARCHS } from './archs.js';

export interface OciSeccompArg {
  index: number;
  /** uint64: a number, or (from a config.json integer beyond 2^53) its decimal digits. */
  value: number | string;
  valueTwo?: number | string | undefined;
  op: string;
}

export interface OciSeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number | undefined;
  args?: OciSeccompArg[] | undefined;
  comment?: string | undefined;
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number | undefined;
  architectures?: string[] | undefined;
  flags?: string[] | undefined;
  listenerPath?: string | undefined;
  listenerMetadata?: string | undefined;
  syscalls?: OciSeccompSyscall[] | undefined;
}

/** SECCOMP_RET_* (include/uapi/linux/seccomp.h). */
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;

const EPERM = 1;
export const ENOSYS = 38;

interface ActionInfo {
  ret: number;
  /** Its name in /proc/sys/kernel/seccomp/actions_avail. */
  avail: string;
  /** ERRNO and TRACE carry errnoRet in their low 16 bits (EPERM when unset, as runc). */
  takesErrno: boolean;
}

// SCMP_ACT_KILL is libseccomp's old name for killing the thread, as runc maps it.
export const SECCOMP_ACTIONS: Record<string, ActionInfo> = {
  SCMP_ACT_KILL: { ret: SECCOMP_RET_KILL_THREAD, avail: 'kill_thread', takesErrno: false },
  SCMP_ACT_KILL_THREAD: { ret: SECCOMP_RET_KILL_THREAD, avail: 'kill_thread', takesErrno: false },
  SCMP_ACT_KILL_PROCESS: { ret: SECCOMP_RET_KILL_PROCESS, avail: 'kill_process', takesErrno: false },
  SCMP_ACT_TRAP: { ret: SECCOMP_RET_TRAP, avail: 'trap', takesErrno: false },
  SCMP_ACT_ERRNO: { ret: SECCOMP_RET_ERRNO, avail: 'errno', takesErrno: true },
  SCMP_ACT_TRACE: { ret: SECCOMP_RET_TRACE, avail: 'trace', takesErrno: true },
  SCMP_ACT_ALLOW: { ret: SECCOMP_RET_ALLOW, avail: 'allow', takesErrno: false },
  SCMP_ACT_LOG: { ret: SECCOMP_RET_LOG, avail: 'log', takesErrno: false },
  SCMP_ACT_NOTIFY: { ret: SECCOMP_RET_USER_NOTIF, avail: 'user_notif', takesErrno: false },
};

export type Operator = 'NE' | 'LT' | 'LE' | 'EQ' | 'GE' | 'GT' | 'MASKED_EQ';
export const SECCOMP_OPERATORS: Record<string, Operator> = {
  SCMP_CMP_NE: 'NE',
  SCMP_CMP_LT: 'LT',
  SCMP_CMP_LE: 'LE',
  SCMP_CMP_EQ: 'EQ',
  SCMP_CMP_GE: 'GE',
  SCMP_CMP_GT: 'GT',
  SCMP_CMP_MASKED_EQ: 'MASKED_EQ',
};

/** SECCOMP_FILTER_FLAG_* a profile may ask for; NEW_LISTENER is shim's to set (for SCMP_ACT_NOTIFY). */
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;
export const SECCOMP_FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1 << 0,
  SECCOMP_FILTER_FLAG_LOG: 1 << 1,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 1 << 2,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 1 << 5,
};

export interface Condition {
  index: number;
  op: Operator;
  /** EQ...GT: the value; MASKED_EQ: the mask. */
  value: bigint;
  /** MASKED_EQ: the value the masked argument must equal. */
  valueTwo: bigint;
}

export interface ProfileRule {
  names: string[];
  /** The full SECCOMP_RET_* value, errno or trace data included. */
  action: number;
  actionName: string;
  /** ANDed. Conditions on one argument index were split into rules of their own (ORed), as runc does. */
  conditions: Condition[];
  /** Index in syscalls[], for messages. */
  entry: number;
}

export interface Profile {
  defaultAction: number;
  defaultActionName: string;
  /** The arch names listed (SCMP_ARCH_*), checked. */
  architectures: string[];
  flags: number;
  rules: ProfileRule[];
  notify: boolean;
  listenerPath?: string | undefined;
  listenerMetadata?: string | undefined;
  /** The actions used, by avail name, to check against the kernel's. */
  actionsUsed: Map<string, string>;
}

const UINT64_MAX = (1n << 64n) - 1n;

/**
 * Checks linux.seccomp and gives its rules kernel values. `where` prefixes messages ("config.json:
 * linux.seccomp"). Returns undefined when the profile asks for nothing (no defaultAction and no syscalls), as
 * runc takes it.
 */
export function readSeccompProfile(raw: OciSeccomp, where = 'config.json: linux.seccomp'): Profile | undefined {
  // A profile file (--security-opt seccomp=FILE) reaches here without config.json's schema check.
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`${where} must be an object`);
  for (const list of ['architectures', 'flags', 'syscalls'] as const) {
    if (raw[list] !== undefined && raw[list] !== null && !Array.isArray(raw[list])) throw invalid(`${where}.${list} must be an array`);
  }
  if (!raw.defaultAction && (raw.syscalls ?? []).length === 0) return undefined;
  const actionsUsed = new Map<string, string>();
  const action = (name: unknown, errnoRet: unknown, field: string, errnoField: string): { ret: number; name: string } => {
    const info = typeof name === 'string' ? SECCOMP_ACTIONS[name] : undefined;
    if (!info) throw invalid(`${where}.${field} ${String(name)} is not a seccomp action (${Object.keys(SECCOMP_ACTIONS).join(', ')})`);
    actionsUsed.set(info.avail, `${where}.${field} ${String(name)}`);
    if (errnoRet !== undefined && errnoRet !== null && (!Number.isInteger(errnoRet) || (errnoRet as number) < 0)) {
      throw invalid(`${where}.${errnoField} must be an unsigned integer`);
    }
    if (!info.takesErrno) return { ret: info.ret, name: name as string };
    const data = typeof errnoRet === 'number' ? errnoRet : EPERM;
    return { ret: (info.ret | (data & 0xffff)) >>> 0, name: name as string };
  };

  if (!raw.defaultAction) throw invalid(`${where}.defaultAction is required when syscalls are listed`);
  const defaultAction = action(raw.defaultAction, raw.defaultErrnoRet, 'defaultAction', 'defaultErrnoRet');
  if (defaultAction.name === 'SCMP_ACT_NOTIFY') {
    // The helper's own last syscalls (write among them) would wait on an agent that has no listener yet.
    throw invalid(`${where}.defaultAction SCMP_ACT_NOTIFY cannot be the default action (as runc)`);
  }

  const architectures: string[] = [];
  for (const [index, name] of (raw.architectures ?? []).entries()) {
    if (!(KNOWN_SCMP_ARCHS as readonly string[]).includes(name)) {
      throw invalid(`${where}.architectures[${index}] ${String(name)} is not a seccomp architecture`);
    }
    architectures.push(name);
  }

  let flags = 0;
  for (const [index, name] of (raw.flags ?? []).entries()) {
    const flag = SECCOMP_FLAGS[name];
    if (flag === undefined) {
      throw invalid(`${where}.flags[${index}] ${String(name)} is not a seccomp filter flag (${Object.keys(SECCOMP_FLAGS).join(', ')})`);
    }
    flags |= flag;
  }

  const rules: ProfileRule[] = [];
  let notify = false;
  for (const [entry, syscall] of (raw.syscalls ?? []).entries()) {
    const field = `syscalls[${entry}]`;
    if (typeof syscall !== 'object' || syscall === null || Array.isArray(syscall)) throw invalid(`${where}.${field} must be an object`);
    if (!Array.isArray(syscall.names)) throw invalid(`${where}.${field}.names must be an array of syscall names`);
    for (const [index, name] of syscall.names.entries()) {
      if (typeof name !== 'string' || name === '') throw invalid(`${where}.${field}.names[${index}] must be a syscall name`);
    }
    const ruleAction = action(syscall.action, syscall.errnoRet, `${field}.action`, `${field}.errnoRet`);
    if (ruleAction.name === 'SCMP_ACT_NOTIFY') {
      notify = true;
      // The helper reports through write(2) after the filter is in; an agent could never see that call
      // before it has the listener.
      if (syscall.names.includes('write')) throw invalid(`${where}.${field}: SCMP_ACT_NOTIFY cannot be used for write (as runc)`);
    }
    if (syscall.args !== undefined && syscall.args !== null && !Array.isArray(syscall.args)) throw invalid(`${where}.${field}.args must be an array`);
    const conditions = (syscall.args ?? []).map((arg, index) => readCondition(arg, `${where}.${field}.args[${index}]`));
    // As runc: conditions on distinct arguments are ANDed in one rule; if two name the same argument, each
    // condition becomes a rule of its own (ORed), which is what libseccomp can express.
    const sameIndexTwice = conditions.some((condition, index) => conditions.findIndex((other) => other.index === condition.index) !== index);
    const groups = sameIndexTwice ? conditions.map((condition) => [condition]) : [conditions];
    for (const group of groups) {
      rules.push({ names: [...syscall.names], action: ruleAction.ret, actionName: ruleAction.name, conditions: group, entry });
    }
  }

  if (notify && !raw.listenerPath) throw invalid(`${where}.listenerPath is required with SCMP_ACT_NOTIFY`);
  if (raw.listenerPath && !raw.listenerPath.startsWith('/')) throw invalid(`${where}.listenerPath must be an absolute path`);
  if ((flags & SECCOMP_FLAGS.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV!) !== 0 && !notify) {
    throw invalid(`${where}.flags SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a SCMP_ACT_NOTIFY rule`);
  }
  if (notify) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;

  return {
    defaultAction: defaultAction.ret,
    defaultActionName: defaultAction.name,
    architectures,
    flags,
    rules,
    notify,
    listenerPath: raw.listenerPath || undefined,
    listenerMetadata: raw.listenerMetadata || undefined,
    actionsUsed,
  };
}

function readCondition(arg: OciSeccompArg, field: string): Condition {
  if (typeof arg !== 'object' || arg === null) throw invalid(`${field} must be an object`);
  if (!Number.isInteger(arg.index) || arg.index < 0) throw invalid(`${field}.index must be an argument index, 0 to 5`);
  if (arg.index > 5) throw invalid(`${field}.index ${arg.index} is over 5: a syscall has six arguments`);
  const op = SECCOMP_OPERATORS[arg.op];
  if (!op) throw invalid(`${field}.op ${String(arg.op)} is not a seccomp operator (${Object.keys(SECCOMP_OPERATORS).join(', ')})`);
  return { index: arg.index, op, value: readUint64(arg.value, `${field}.value`), valueTwo: readUint64(arg.valueTwo ?? 0, `${field}.valueTwo`) };
}

function readUint64(value: unknown, field: string): bigint {
  let result: bigint | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) result = BigInt(value);
  else if (typeof value === 'string' && /^\d+$/.test(value)) result = BigInt(value);
  else if (typeof value === 'bigint') result = value;
  if (result === undefined || result < 0n || result > UINT64_MAX) throw invalid(`${field} must be an unsigned 64-bit integer`);
  return result;
}

function invalid(message: string): RuntimeError {
  return new RuntimeError('invalid-config', message);
}
