// The cgroup v2 device filter (pure): the container's device rules as a BPF_PROG_TYPE_CGROUP_DEVICE program,
// eBPF instructions the helper loads and attaches as bytes (it knows nothing of rules). The policy is here.
//
// The kernel calls the program with struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; },
// access_type = (access << 16) | type (type: BPF_DEVCG_DEV_BLOCK 1, BPF_DEVCG_DEV_CHAR 2; access: MKNOD 1,
// READ 2, WRITE 4), and allows the access when it returns 1. The rules are those written to the v1 devices
// controller, and mean the same: checked last to first, the first that matches decides, and a request no rule
// matches is denied. runc's devicefilter does the same walk; as there, a rule matches when the request's access
// bits are all among the rule's.

import type { DeviceRule } from '../plan/container-plan.js';

const DEV_BLOCK = 1;
const DEV_CHAR = 2;
const ACCESS_BITS: Record<string, number> = { m: 1, r: 2, w: 4 };

// Registers: r1 the context (then scratch), r2 type, r3 access, r4 major, r5 minor, r0 the verdict.
const R0 = 0;
const R1 = 1;
const R2 = 2;
const R3 = 3;
const R4 = 4;
const R5 = 5;

interface Instruction {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

// Opcodes (linux/bpf_common.h, linux/bpf.h): class | operation | source.
const LDX_MEM_W = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_X = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const ALU64_MOV_K = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const JMP_JNE_K = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const JMP_EXIT = 0x95; // BPF_JMP | BPF_EXIT

const insn = (code: number, dst: number, src: number, off: number, imm: number): Instruction => ({ code, dst, src, off, imm });

function accessMask(access: string): number {
  let mask = 0;
  for (const letter of access) mask |= ACCESS_BITS[letter] ?? 0;
  return mask;
}

/** One rule's block: jumps past itself (to the next rule) unless the request matches, then sets the verdict. */
function ruleBlock(rule: DeviceRule): Instruction[] {
  const tests: Instruction[][] = [];
  if (rule.type !== 'a') tests.push([insn(JMP_JNE_K, R2, 0, 0, rule.type === 'b' ? DEV_BLOCK : DEV_CHAR)]);
  const mask = accessMask(rule.access);
  if (mask !== 7) {
    // The request's access bits must all be the rule's: (access & mask) == access.
    tests.push([insn(ALU32_MOV_X, R1, R3, 0, 0), insn(ALU32_AND_K, R1, 0, 0, mask), insn(JMP_JNE_X, R1, R3, 0, 0)]);
  }
  if (rule.type !== 'a' && rule.major !== '*') tests.push([insn(JMP_JNE_K, R4, 0, 0, rule.major)]);
  if (rule.type !== 'a' && rule.minor !== '*') tests.push([insn(JMP_JNE_K, R5, 0, 0, rule.minor)]);
  const verdict = [insn(ALU64_MOV_K, R0, 0, 0, rule.allow ? 1 : 0), insn(JMP_EXIT, 0, 0, 0, 0)];
  const flat = [...tests.flat(), ...verdict];
  // Each jump goes to the first instruction after the block: its offset counts from the next instruction.
  return flat.map((instruction, index) => (instruction.code === JMP_JNE_K || instruction.code === JMP_JNE_X ? { ...instruction, off: flat.length - index - 1 } : instruction));
}

/** The program for these rules (in the order they are written to v1), as instructions. */
export function planDeviceProgram(rules: readonly DeviceRule[]): Instruction[] {
  const program: Instruction[] = [
    insn(LDX_MEM_W, R2, R1, 0, 0),
    insn(ALU32_AND_K, R2, 0, 0, 0xffff),
    insn(LDX_MEM_W, R3, R1, 0, 0),
    insn(ALU32_RSH_K, R3, 0, 0, 16),
    insn(LDX_MEM_W, R4, R1, 4, 0),
    insn(LDX_MEM_W, R5, R1, 8, 0),
  ];
  // Last rule first: the last one that matches decides, as in v1, where a later rule overrides an earlier.
  for (const rule of [...rules].reverse()) {
    program.push(...ruleBlock(rule));
    // An 'a' rule of every access matches everything: nothing before it can be reached.
    if (rule.type === 'a' && accessMask(rule.access) === 7) return program;
  }
  program.push(insn(ALU64_MOV_K, R0, 0, 0, 0), insn(JMP_EXIT, 0, 0, 0, 0));
  return program;
}

/** Instructions as the kernel takes them: 8 bytes each, little-endian (x86-64 and arm64 hosts). */
export function encodeDeviceProgram(program: readonly Instruction[]): Uint8Array {
  const bytes = new Uint8Array(program.length * 8);
  const view = new DataView(bytes.buffer);
  program.forEach((instruction, index) => {
    const at = index * 8;
    view.setUint8(at, instruction.code);
    view.setUint8(at + 1, (instruction.src << 4) | instruction.dst);
    view.setInt16(at + 2, instruction.off, true);
    view.setInt32(at + 4, instruction.imm | 0, true);
  });
  return bytes;
}

/**
 * Runs the program the way the kernel would, for tests: ctx is one access request. Only the instructions
 * planDeviceProgram emits are known.
 */
export function runDeviceProgram(program: readonly Instruction[], request: { type: 'b' | 'c'; access: string; major: number; minor: number }): number {
  const ctx = [(accessMask(request.access) << 16) | (request.type === 'b' ? DEV_BLOCK : DEV_CHAR), request.major, request.minor];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0; pc < program.length; pc++) {
    const { code, dst, src, off, imm } = program[pc]!;
    switch (code) {
      case LDX_MEM_W: r[dst] = ctx[off / 4]! >>> 0; break;
      case ALU32_AND_K: r[dst] = (r[dst]! & imm) >>> 0; break;
      case ALU32_RSH_K: r[dst] = r[dst]! >>> imm; break;
      case ALU32_MOV_X: r[dst] = r[src]! >>> 0; break;
      case ALU64_MOV_K: r[dst] = imm; break;
      case JMP_JNE_K: if (r[dst] !== imm) pc += off; break;
      case JMP_JNE_X: if (r[dst] !== r[src]) pc += off; break;
      case JMP_EXIT: return r[R0]!;
      default: throw new Error(`device program: unknown opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('device program: ran off its end');
}
