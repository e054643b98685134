// The seccomp compiler: a checked profile -> one classic BPF program for the host's archs. Pure.
//
// Shape of the program (docs/seccomp.md says why):
//   ld arch; one jeq per arch, native first; anything else is a bad arch: ret KILL_THREAD (libseccomp's).
//   per arch: ld nr; a balanced binary search (jge) over the whole 32-bit number space cut into intervals,
//   each with one outcome; runs of syscalls with the same outcome, and the gaps between them, are one
//   interval. An outcome is a `ret`, or, for a syscall with argument rules, the rules in order, each a
//   chain of 32-bit compares on both halves of the argument, then the default.
// The verdicts are libseccomp's, as runc 1.1 drives it:
//   - the native arch is always in the filter, listed or not; x32 numbers carry bit 30 and share
//     AUDIT_ARCH_X86_64: without x32 listed they are a bad arch (except nr -1, which gets the default);
//   - a rule whose action equals the default action is dropped; for one syscall, an unconditional rule
//     wins over conditional ones (the first unconditional one if several), otherwise the first rule whose
//     conditions all hold;
//   - on i386, a rule on a socket or SysV IPC call also covers socketcall(2)/ipc(2) with that call number
//     as the first argument (the rule's own condition on that argument is replaced);
//   - runc's -ENOSYS stub: unless the default action is ALLOW, LOG or TRACE, a syscall numbered above every
//     syscall the profile names (per listed arch) gets ENOSYS, so a newer libc falls back (clone3).

import { RuntimeError } from '../errors.js';
import { ARCHS, FAMILY_ARCHS, X32_SYSCALL_BIT, archOfScmpName, hostFamily, ipcCalls, isKnownSyscall, socketcallCalls, syscallTable } from './archs.js';
import type { Arch, ArchFamily, ArchName } from './archs.js';
import { Assembler, BPF_MAXINSNS, disassemble, encodeProgram, type Instruction, type Label } from './bpf.js';
import { ENOSYS, SECCOMP_ACTIONS, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_THREAD, type Condition, type Profile, type ProfileRule } from './profile.js';

export interface CompileOptions {
  /** The host's arch family; the running machine's by default. */
  family?: ArchFamily | undefined;
  /** Tokens of /proc/sys/kernel/seccomp/actions_avail; unchecked when undefined. */
  actionsAvailable?: readonly string[] | undefined;
  /** Prefix of messages. */
  where?: string | undefined;
  /** Say what each leaf means, for the text form (shim seccomp compile); off when only the bytes matter. */
  comments?: boolean | undefined;
}

export interface CompiledFilter {
  instructions: Instruction[];
  /** A comment per instruction, for the text form. */
  comments: (string | undefined)[];
  /** struct sock_filter[], what the helper installs. */
  program: Uint8Array;
  /** SECCOMP_FILTER_FLAG_*, NEW_LISTENER included for SCMP_ACT_NOTIFY. */
  flags: number;
  /** The archs the program answers for (AUDIT_ARCH_X86_64 carries x86_64 and x32). */
  archs: ArchName[];
  /** Names no arch's table knows: skipped, as runc and crun do. */
  unknownSyscalls: string[];
  warnings: string[];
}

const RET_ENOSYS = (SECCOMP_RET_ERRNO | ENOSYS) >>> 0;
const RET_BAD_ARCH = SECCOMP_RET_KILL_THREAD;
const NR_OFFSET = 0;
const ARCH_OFFSET = 4;
const argLow = (index: number) => 16 + index * 8;
const argHigh = (index: number) => 16 + index * 8 + 4;
const U32 = 0xffffffffn;

/** A syscall's rules on one arch, after the merge. */
interface ArgRule {
  conditions: Condition[];
  action: number;
  /** 32: only the low halves are compared (the values are narrowed already). */
  argBits: 32 | 64;
}

type Outcome = { kind: 'ret'; value: number } | { kind: 'rules'; rules: ArgRule[]; fallback: number };

interface Interval {
  first: number;
  last: number;
  outcome: Outcome;
  key: string;
}

export function compileSeccomp(profile: Profile, options: CompileOptions = {}): CompiledFilter {
  const where = options.where ?? 'config.json: linux.seccomp';
  const family = options.family ?? hostFamily();
  if (options.actionsAvailable) {
    for (const [avail, field] of profile.actionsUsed) {
      if (!options.actionsAvailable.includes(avail)) {
        throw new RuntimeError('unsupported', `${field}: this kernel does not have the ${avail} action (/proc/sys/kernel/seccomp/actions_avail: ${options.actionsAvailable.join(' ')})`);
      }
    }
  }

  const warnings: string[] = [];
  const unknown = new Set<string>();
  for (const rule of profile.rules) for (const name of rule.names) if (!unknown.has(name) && !isKnownSyscall(name, family)) unknown.add(name);
  if (unknown.size > 0) warnings.push(`unknown syscalls skipped: ${[...unknown].join(', ')}`);
  const unknownSyscalls = [...unknown];

  const listed = new Set(profile.architectures.map((name) => archOfScmpName(name)?.name).filter((name): name is ArchName => name !== undefined));
  const native = FAMILY_ARCHS[family][0]!;
  // libseccomp's filter always holds the native arch; the others only when listed.
  const present = FAMILY_ARCHS[family].filter((name) => name === native || listed.has(name));
  // runc's stub skips permissive defaults: a tracer or a log should see future syscalls, not ENOSYS.
  const stub = !['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(profile.defaultActionName);

  const rulesByArch = new Map<ArchName, Map<number, ArgRule[]>>();
  const highest = new Map<ArchName, number>();
  for (const name of present) {
    rulesByArch.set(name, collectRules(profile, ARCHS[name], where));
    highest.set(name, highestNamed(profile, ARCHS[name]));
  }

  const asm = new Assembler();
  // Audit archs in order, native first; x86_64 and x32 share one.
  const sections: { auditArch: number; archs: ArchName[]; label: Label }[] = [];
  for (const name of present) {
    const auditArch = ARCHS[name].auditArch;
    const section = sections.find((candidate) => candidate.auditArch === auditArch);
    if (section) section.archs.push(name);
    else sections.push({ auditArch, archs: [name], label: asm.label() });
  }
  asm.load(ARCH_OFFSET, 'arch');
  for (const section of sections) {
    const next = asm.label();
    asm.jump('jeq', section.auditArch, section.label, next);
    asm.bind(next);
  }
  asm.ret(RET_BAD_ARCH, 'an arch the profile does not list: kill, as libseccomp');

  for (const section of sections) {
    asm.bind(section.label);
    asm.load(NR_OFFSET, `syscall number (${section.archs.join(' + ')})`);
    const outcomeOf = (nr: number): Outcome => {
      // x32 numbers (bit 30) under AUDIT_ARCH_X86_64 belong to x32; everything else to the section's arch.
      const x32Half = section.auditArch === ARCHS.x86_64.auditArch && nr >= X32_SYSCALL_BIT;
      const arch = x32Half ? 'x32' : section.archs.find((name) => name !== 'x32');
      if (arch === undefined || !section.archs.includes(arch)) {
        // x32's half without x32 in the filter: libseccomp lets nr -1 (a tracer's "skip") reach the rules.
        if (x32Half && nr === 0xffffffff && section.archs.includes('x86_64')) return { kind: 'ret', value: profile.defaultAction };
        return { kind: 'ret', value: RET_BAD_ARCH };
      }
      const top = highest.get(arch)!;
      if (stub && listed.has(arch) && top > 0 && nr > top) return { kind: 'ret', value: RET_ENOSYS };
      const rules = rulesByArch.get(arch)!.get(nr);
      if (!rules) return { kind: 'ret', value: profile.defaultAction };
      return outcomeOfRules(rules, profile.defaultAction);
    };
    // Where the outcome may change: at each named syscall and right after it, after the highest, at the x32 bit.
    const cuts: number[] = [0];
    for (const arch of section.archs) {
      for (const nr of rulesByArch.get(arch)!.keys()) cuts.push(nr, nr + 1);
      const top = highest.get(arch)!;
      if (top > 0) cuts.push(top + 1);
    }
    if (section.auditArch === ARCHS.x86_64.auditArch) cuts.push(X32_SYSCALL_BIT, 0xffffffff);
    const sorted = Float64Array.from(cuts).sort();
    const boundaries: number[] = [];
    for (const cut of sorted) if (cut <= 0xffffffff && cut !== boundaries[boundaries.length - 1]) boundaries.push(cut);
    const intervals = buildIntervals(boundaries, outcomeOf);
    emitSearch(asm, intervals, 0, intervals.length - 1, options.comments ? syscallNames(section.archs) : undefined);
  }

  const { instructions, comments } = asm.assemble();
  if (instructions.length > BPF_MAXINSNS) {
    throw new RuntimeError('unsupported', `${where}: the filter needs ${instructions.length} BPF instructions, over the kernel's limit of ${BPF_MAXINSNS}`);
  }
  return { instructions, comments, program: encodeProgram(instructions), flags: profile.flags, archs: present, unknownSyscalls, warnings };
}

/** The text form: one instruction a line, with what each leaf means. */
export function formatFilter(filter: CompiledFilter): string {
  return disassemble(filter.instructions, filter.comments);
}

/** Every rule that reaches this arch, by syscall number, in profile order. */
function collectRules(profile: Profile, arch: Arch, where: string): Map<number, ArgRule[]> {
  const table = syscallTable(arch.name);
  const byNumber = new Map<number, ArgRule[]>();
  const add = (nr: number, rule: ArgRule) => {
    const list = byNumber.get(nr);
    if (list) list.push(rule);
    else byNumber.set(nr, [rule]);
  };
  const muxed = arch.name === 'i386' ? multiplexedCalls(table) : undefined;
  // Conditional rules by syscall number and condition set: libseccomp refuses a second rule with the same
  // conditions and another action (EEXIST), and so runc refuses the profile; shim does the same.
  const conditional = new Map<number, Map<string, ProfileRule>>();
  for (const rule of profile.rules) {
    // As runc: a rule that only restates the default is left out (libseccomp would refuse it).
    if (rule.action === profile.defaultAction) continue;
    const kept = rule.conditions.length === 0 ? rule.conditions : rule.conditions.map((condition) => narrow(condition, arch)).filter((condition): condition is Condition => condition !== null);
    // One object for every name of the rule: most profiles are a few long lists of names.
    const direct: ArgRule = { conditions: kept, action: rule.action, argBits: arch.argBits };
    const conditionsKey = kept.length === 0 ? undefined : conditionSetKey(kept);
    for (const name of rule.names) {
      const nr = table.get(name);
      if (nr !== undefined && conditionsKey !== undefined) refuseConflict(conditional, nr, conditionsKey, rule, name, where);
      if (nr !== undefined) add(nr, direct);
      const mux = muxed?.get(name);
      if (mux) {
        const first: Condition = { index: 0, op: 'EQ', value: BigInt(mux.call), valueTwo: 0n };
        add(mux.nr, { conditions: [first, ...kept.filter((condition) => condition.index !== 0)], action: rule.action, argBits: arch.argBits });
      }
    }
  }
  return byNumber;
}

/** The conditions as a set (libseccomp orders a rule's comparisons by argument index). */
function conditionSetKey(conditions: readonly Condition[]): string {
  return conditions
    .map((condition) => `${condition.index} ${condition.op} ${condition.value} ${condition.valueTwo}`)
    .sort()
    .join(',');
}

/**
 * Two rules for one syscall with the same conditions and different actions: libseccomp's rule tree cannot
 * hold both and seccomp_rule_add fails with EEXIST, which runc reports as "error adding seccomp rule for
 * syscall NAME: file exists". The same conditions with the same action are a harmless repeat; unconditional
 * rules never conflict (the first one wins, in libseccomp and here).
 */
function refuseConflict(seen: Map<number, Map<string, ProfileRule>>, nr: number, key: string, rule: ProfileRule, name: string, where: string): void {
  let byConditions = seen.get(nr);
  if (!byConditions) seen.set(nr, (byConditions = new Map()));
  const earlier = byConditions.get(key);
  if (!earlier) {
    byConditions.set(key, rule);
    return;
  }
  if (earlier.action === rule.action) return;
  throw new RuntimeError(
    'invalid-config',
    `${where}.syscalls[${rule.entry}]: ${name} has the same argument conditions as syscalls[${earlier.entry}] with another action (${rule.actionName} vs ${earlier.actionName}); libseccomp refuses it, as runc does: error adding seccomp rule for syscall ${name}: file exists`,
  );
}

let multiplexed: Map<string, { nr: number; call: number }> | undefined;

/** i386: name -> the multiplexer's number (socketcall or ipc) and the call number it takes. */
function multiplexedCalls(table: Map<string, number>): Map<string, { nr: number; call: number }> {
  if (!multiplexed) {
    multiplexed = new Map();
    for (const [multiplexer, calls] of [['socketcall', socketcallCalls()], ['ipc', ipcCalls()]] as const) {
      const nr = table.get(multiplexer);
      if (nr !== undefined) for (const [name, call] of calls) multiplexed.set(name, { nr, call });
    }
  }
  return multiplexed;
}

/** The condition as this arch compares it: on 32-bit ABIs only the low halves. null when it always holds. */
function narrow(condition: Condition, arch: Arch): Condition | null {
  if (arch.argBits === 64) {
    if (condition.op === 'MASKED_EQ' && condition.value === 0n) return null;
    return condition;
  }
  const value = condition.value & U32;
  if (condition.op === 'MASKED_EQ' && value === 0n) return null;
  return { ...condition, value, valueTwo: condition.valueTwo & U32 };
}

/** The highest number among the syscalls the profile names, for runc's ENOSYS stub (0: no stub). */
function highestNamed(profile: Profile, arch: Arch): number {
  const table = syscallTable(arch.name);
  // On i386 libseccomp resolves the socket and IPC names to its pseudo numbers, so they never count.
  const muxed = arch.name === 'i386' ? new Set([...socketcallCalls().keys(), ...ipcCalls().keys()]) : undefined;
  let top = 0;
  for (const rule of profile.rules) {
    for (const name of rule.names) {
      const nr = table.get(name);
      if (nr !== undefined && nr > top && !muxed?.has(name)) top = nr;
    }
  }
  return top;
}

function outcomeOfRules(rules: ArgRule[], defaultAction: number): Outcome {
  const unconditional = rules.find((rule) => rule.conditions.length === 0);
  if (unconditional) return { kind: 'ret', value: unconditional.action };
  return { kind: 'rules', rules, fallback: defaultAction };
}

function outcomeKey(outcome: Outcome): string {
  if (outcome.kind === 'ret') return `r${outcome.value}`;
  return JSON.stringify([outcome.fallback, outcome.rules.map((rule) => [rule.action, rule.argBits, rule.conditions.map((c) => [c.index, c.op, String(c.value), String(c.valueTwo)])])]);
}

/** The number space cut at the boundaries, neighbours with equal outcomes joined. */
function buildIntervals(boundaries: number[], outcomeOf: (nr: number) => Outcome): Interval[] {
  const intervals: Interval[] = [];
  boundaries.forEach((first, index) => {
    const last = index + 1 < boundaries.length ? boundaries[index + 1]! - 1 : 0xffffffff;
    const outcome = outcomeOf(first);
    const key = outcomeKey(outcome);
    const previous = intervals[intervals.length - 1];
    if (previous && previous.key === key) previous.last = last;
    else intervals.push({ first, last, outcome, key });
  });
  return intervals;
}

function emitSearch(asm: Assembler, intervals: Interval[], low: number, high: number, names: Map<number, string> | undefined): void {
  if (low === high) {
    emitOutcome(asm, intervals[low]!, names);
    return;
  }
  const middle = Math.ceil((low + high + 1) / 2);
  const left = asm.label();
  const right = asm.label();
  asm.jump('jge', intervals[middle]!.first, right, left);
  asm.bind(left);
  emitSearch(asm, intervals, low, middle - 1, names);
  asm.bind(right);
  emitSearch(asm, intervals, middle, high, names);
}

function emitOutcome(asm: Assembler, interval: Interval, names: Map<number, string> | undefined): void {
  const span = names ? describeSpan(interval, names) : undefined;
  if (interval.outcome.kind === 'ret') {
    asm.ret(interval.outcome.value, span && `${span}: ${describeAction(interval.outcome.value)}`);
    return;
  }
  let comment: string | undefined = span;
  for (const rule of interval.outcome.rules) {
    const fail = asm.label();
    for (const condition of rule.conditions) {
      emitCondition(asm, condition, rule.argBits, fail, comment);
      comment = undefined;
    }
    asm.ret(rule.action, span && `${span}: ${describeAction(rule.action)} when ${rule.conditions.map(describeCondition).join(' && ') || 'always'}`);
    asm.bind(fail);
  }
  asm.ret(interval.outcome.fallback, span && `${span}: ${describeAction(interval.outcome.fallback)} otherwise`);
}

/**
 * One condition over the 64-bit argument as two 32-bit compares (the high half decides unless equal), or
 * the low half alone for a 32-bit ABI (the value was narrowed). Falls through when it holds.
 */
function emitCondition(asm: Assembler, condition: Condition, argBits: 32 | 64, fail: Label, comment?: string): void {
  const { index, op } = condition;
  const wide = argBits === 64;
  const high = Number(condition.value >> 32n);
  const low = Number(condition.value & U32);
  const pass = asm.label();
  const next = () => asm.label();
  if (op === 'MASKED_EQ') {
    const maskHigh = high;
    const maskLow = low;
    const wantHigh = Number((condition.valueTwo >> 32n) & BigInt(maskHigh));
    const wantLow = Number(condition.valueTwo & BigInt(maskLow));
    if (wide && maskHigh !== 0) {
      const then = next();
      asm.load(argHigh(index), comment);
      asm.and(maskHigh);
      asm.jump('jeq', wantHigh, then, fail);
      asm.bind(then);
      comment = undefined;
    }
    if (maskLow !== 0) {
      asm.load(argLow(index), comment);
      asm.and(maskLow);
      asm.jump('jeq', wantLow, pass, fail);
    }
    asm.bind(pass);
    return;
  }
  if (!wide) {
    asm.load(argLow(index), comment);
    switch (op) {
      case 'EQ': asm.jump('jeq', low, pass, fail); break;
      case 'NE': asm.jump('jeq', low, fail, pass); break;
      case 'GT': asm.jump('jgt', low, pass, fail); break;
      case 'GE': asm.jump('jge', low, pass, fail); break;
      case 'LT': asm.jump('jge', low, fail, pass); break;
      case 'LE': asm.jump('jgt', low, fail, pass); break;
    }
    asm.bind(pass);
    return;
  }
  const lowHalf = next();
  asm.load(argHigh(index), comment);
  switch (op) {
    case 'EQ':
      asm.jump('jeq', high, lowHalf, fail);
      asm.bind(lowHalf);
      asm.load(argLow(index));
      asm.jump('jeq', low, pass, fail);
      break;
    case 'NE':
      asm.jump('jeq', high, lowHalf, pass);
      asm.bind(lowHalf);
      asm.load(argLow(index));
      asm.jump('jeq', low, fail, pass);
      break;
    case 'GT':
    case 'GE': {
      const equalHigh = next();
      asm.jump('jgt', high, pass, equalHigh);
      asm.bind(equalHigh);
      asm.jump('jeq', high, lowHalf, fail);
      asm.bind(lowHalf);
      asm.load(argLow(index));
      asm.jump(op === 'GT' ? 'jgt' : 'jge', low, pass, fail);
      break;
    }
    case 'LT':
    case 'LE': {
      const equalHigh = next();
      asm.jump('jgt', high, fail, equalHigh);
      asm.bind(equalHigh);
      asm.jump('jeq', high, lowHalf, pass);
      asm.bind(lowHalf);
      asm.load(argLow(index));
      asm.jump(op === 'LT' ? 'jge' : 'jgt', low, fail, pass);
      break;
    }
  }
  asm.bind(pass);
}

function syscallNames(archs: ArchName[]): Map<number, string> {
  const names = new Map<number, string>();
  for (const arch of archs) for (const [name, nr] of syscallTable(arch)) if (!names.has(nr)) names.set(nr, name);
  return names;
}

function describeSpan(interval: Interval, names: Map<number, string>): string {
  const name = (nr: number) => names.get(nr) ?? String(nr);
  if (interval.first === interval.last) return `${name(interval.first)}`;
  return `${interval.first}-${interval.last}`;
}

function describeAction(ret: number): string {
  const base = (ret & 0xffff0000) >>> 0;
  const data = ret & 0xffff;
  if (ret === SECCOMP_RET_KILL_THREAD) return 'KILL_THREAD';
  const name = Object.entries(SECCOMP_ACTIONS).find(([, info]) => info.ret === base)?.[0]?.replace('SCMP_ACT_', '') ?? `0x${ret.toString(16)}`;
  return base === SECCOMP_RET_ERRNO || (name === 'TRACE' && data) ? `${name}(${data})` : name;
}

function describeCondition(condition: Condition): string {
  if (condition.op === 'MASKED_EQ') return `(arg${condition.index} & 0x${condition.value.toString(16)}) == 0x${condition.valueTwo.toString(16)}`;
  const symbol = { EQ: '==', NE: '!=', GT: '>', GE: '>=', LT: '<', LE: '<=' }[condition.op];
  return `arg${condition.index} ${symbol} 0x${condition.value.toString(16)}`;
}
