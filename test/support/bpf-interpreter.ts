// A classic BPF interpreter for seccomp programs, written for the tests: it runs the compiler's output on a
// struct seccomp_data and says what the kernel would return. Independent of the compiler (it reads only the
// instruction bytes), and strict: an instruction the compiler should never emit, a jump out of the program
// or a fall off its end is an error, as the kernel's verifier would refuse it.

import { decodeProgram } from '../../src/seccomp/bpf.js';

export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  args?: readonly bigint[];
}

export interface RunResult {
  ret: number;
  /** Instructions executed: the filter's cost for this syscall. */
  steps: number;
}

function word(data: SeccompData, offset: number): number {
  if (offset === 0) return data.nr >>> 0;
  if (offset === 4) return data.arch >>> 0;
  if (offset === 8 || offset === 12) {
    const ip = data.instructionPointer ?? 0n;
    return Number(offset === 8 ? ip & 0xffffffffn : ip >> 32n);
  }
  if (offset >= 16 && offset < 64 && offset % 4 === 0) {
    const arg = data.args?.[(offset - 16) >> 3] ?? 0n;
    return Number((offset - 16) % 8 === 0 ? arg & 0xffffffffn : (arg >> 32n) & 0xffffffffn);
  }
  throw new Error(`bpf: load from offset ${offset} outside seccomp_data`);
}

export function runFilter(program: Uint8Array, data: SeccompData): RunResult {
  const instructions = decodeProgram(program);
  if (instructions.length === 0 || instructions.length > 4096) throw new Error(`bpf: ${instructions.length} instructions`);
  let a = 0;
  let pc = 0;
  let steps = 0;
  for (;;) {
    const instruction = instructions[pc];
    if (!instruction) throw new Error(`bpf: pc ${pc} outside the program`);
    steps++;
    const { code, jt, jf, k } = instruction;
    const jump = (taken: boolean) => {
      pc += 1 + (taken ? jt : jf);
    };
    switch (code) {
      case 0x20: // ld [k]
        a = word(data, k);
        pc++;
        break;
      case 0x54: // and #k
        a = (a & k) >>> 0;
        pc++;
        break;
      case 0x06: // ret #k
        return { ret: k >>> 0, steps };
      case 0x05: // ja
        pc += 1 + k;
        break;
      case 0x15:
        jump(a === k >>> 0);
        break;
      case 0x25:
        jump(a > k >>> 0);
        break;
      case 0x35:
        jump(a >= k >>> 0);
        break;
      case 0x45:
        jump(((a & k) >>> 0) !== 0);
        break;
      default:
        throw new Error(`bpf: unexpected opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
}
