// Classic BPF, as seccomp runs it: the few instructions a filter needs, an assembler that resolves labels
// (conditional jumps reach at most 255 instructions ahead, so a far target gets a `ja` trampoline), the
// bytes the kernel takes (struct sock_filter, little-endian: x86_64 and arm64 both are), and a text form.

export const BPF_LD_W_ABS = 0x20;
export const BPF_ALU_AND_K = 0x54;
export const BPF_JMP_JA = 0x05;
export const BPF_JMP_JEQ_K = 0x15;
export const BPF_JMP_JGT_K = 0x25;
export const BPF_JMP_JGE_K = 0x35;
export const BPF_JMP_JSET_K = 0x45;
export const BPF_RET_K = 0x06;

/** The kernel refuses longer programs (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

/** One struct sock_filter. */
export interface Instruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export type Label = number;
export type JumpOp = 'jeq' | 'jgt' | 'jge' | 'jset';

const JUMP_CODES: Record<JumpOp, number> = { jeq: BPF_JMP_JEQ_K, jgt: BPF_JMP_JGT_K, jge: BPF_JMP_JGE_K, jset: BPF_JMP_JSET_K };

type Item =
  | { kind: 'label'; label: Label }
  | { kind: 'ld'; offset: number; comment?: string | undefined }
  | { kind: 'and'; k: number }
  | { kind: 'ret'; k: number; comment?: string | undefined }
  | { kind: 'jump'; op: JumpOp; k: number; jt: Label; jf: Label; farT: boolean; farF: boolean }
  | { kind: 'ja'; target: Label };

/** Builds a program out of labelled pieces; every jump goes forward, as classic BPF requires. */
export class Assembler {
  readonly #items: Item[] = [];
  #nextLabel = 0;

  label(): Label {
    return this.#nextLabel++;
  }

  bind(label: Label): void {
    this.#items.push({ kind: 'label', label });
  }

  load(offset: number, comment?: string): void {
    this.#items.push({ kind: 'ld', offset, comment });
  }

  and(k: number): void {
    this.#items.push({ kind: 'and', k: k >>> 0 });
  }

  ret(k: number, comment?: string): void {
    this.#items.push({ kind: 'ret', k: k >>> 0, comment });
  }

  jump(op: JumpOp, k: number, jt: Label, jf: Label): void {
    this.#items.push({ kind: 'jump', op, k: k >>> 0, jt, jf, farT: false, farF: false });
  }

  goto(target: Label): void {
    this.#items.push({ kind: 'ja', target });
  }

  /** Resolves the labels; returns the instructions and, per instruction, a comment for the text form. */
  assemble(): { instructions: Instruction[]; comments: (string | undefined)[] } {
    // Positions only grow as jumps turn far, so this settles; a program of a few thousand instructions
    // needs one or two rounds.
    for (;;) {
      const positions = this.#positions();
      let changed = false;
      let position = 0;
      for (const item of this.#items) {
        if (item.kind === 'label') continue;
        if (item.kind === 'jump') {
          const after = position + 1 + (item.farT ? 1 : 0) + (item.farF ? 1 : 0);
          if (!item.farT && positions.get(item.jt)! - (position + 1) > 255) {
            item.farT = true;
            changed = true;
          }
          if (!item.farF && positions.get(item.jf)! - (position + 1) > 255) {
            item.farF = true;
            changed = true;
          }
          position = after;
          continue;
        }
        position++;
      }
      if (!changed) return this.#emit(positions);
    }
  }

  #positions(): Map<Label, number> {
    const positions = new Map<Label, number>();
    let position = 0;
    for (const item of this.#items) {
      if (item.kind === 'label') positions.set(item.label, position);
      else if (item.kind === 'jump') position += 1 + (item.farT ? 1 : 0) + (item.farF ? 1 : 0);
      else position++;
    }
    return positions;
  }

  #emit(positions: Map<Label, number>): { instructions: Instruction[]; comments: (string | undefined)[] } {
    const instructions: Instruction[] = [];
    const comments: (string | undefined)[] = [];
    const forward = (from: number, label: Label): number => {
      const offset = positions.get(label)! - (from + 1);
      if (offset < 0) throw new Error(`bpf: backward jump to label ${label}`);
      return offset;
    };
    for (const item of this.#items) {
      const at = instructions.length;
      switch (item.kind) {
        case 'label':
          continue;
        case 'ld':
          instructions.push({ code: BPF_LD_W_ABS, jt: 0, jf: 0, k: item.offset });
          comments.push(item.comment);
          continue;
        case 'and':
          instructions.push({ code: BPF_ALU_AND_K, jt: 0, jf: 0, k: item.k });
          comments.push(undefined);
          continue;
        case 'ret':
          instructions.push({ code: BPF_RET_K, jt: 0, jf: 0, k: item.k });
          comments.push(item.comment);
          continue;
        case 'ja':
          instructions.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: forward(at, item.target) });
          comments.push(undefined);
          continue;
        case 'jump': {
          // A far branch lands on the `ja` right after the test: jt on the first, jf on the next one.
          const trampolineT = at + 1;
          const trampolineF = at + 1 + (item.farT ? 1 : 0);
          const jt = item.farT ? 0 : forward(at, item.jt);
          const jf = item.farF ? trampolineF - (at + 1) : forward(at, item.jf);
          instructions.push({ code: JUMP_CODES[item.op], jt, jf, k: item.k });
          comments.push(undefined);
          if (item.farT) {
            instructions.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: forward(trampolineT, item.jt) });
            comments.push(undefined);
          }
          if (item.farF) {
            instructions.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: forward(trampolineF, item.jf) });
            comments.push(undefined);
          }
          continue;
        }
      }
    }
    return { instructions, comments };
  }
}

/** struct sock_filter[], as seccomp(2) takes it: u16 code, u8 jt, u8 jf, u32 k, little-endian. */
export function encodeProgram(instructions: readonly Instruction[]): Uint8Array {
  const bytes = new Uint8Array(instructions.length * 8);
  const view = new DataView(bytes.buffer);
  instructions.forEach((instruction, index) => {
    view.setUint16(index * 8, instruction.code, true);
    view.setUint8(index * 8 + 2, instruction.jt);
    view.setUint8(index * 8 + 3, instruction.jf);
    view.setUint32(index * 8 + 4, instruction.k >>> 0, true);
  });
  return bytes;
}

export function decodeProgram(bytes: Uint8Array): Instruction[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const instructions: Instruction[] = [];
  for (let offset = 0; offset + 8 <= bytes.byteLength; offset += 8) {
    instructions.push({ code: view.getUint16(offset, true), jt: view.getUint8(offset + 2), jf: view.getUint8(offset + 3), k: view.getUint32(offset + 4, true) });
  }
  return instructions;
}

const hex = (value: number) => `0x${(value >>> 0).toString(16)}`;

/** One line per instruction, with absolute jump targets, in the style of bpf_dbg's disassembler. */
export function disassemble(instructions: readonly Instruction[], comments: readonly (string | undefined)[] = []): string {
  const width = String(instructions.length).length;
  return instructions
    .map((instruction, index) => {
      const at = String(index).padStart(width, '0');
      const next = index + 1;
      let text: string;
      switch (instruction.code) {
        case BPF_LD_W_ABS:
          text = `ld [${instruction.k}]`;
          break;
        case BPF_ALU_AND_K:
          text = `and #${hex(instruction.k)}`;
          break;
        case BPF_RET_K:
          text = `ret #${hex(instruction.k)}`;
          break;
        case BPF_JMP_JA:
          text = `ja ${next + instruction.k}`;
          break;
        default: {
          const op = Object.entries(JUMP_CODES).find(([, code]) => code === instruction.code)?.[0] ?? `op${hex(instruction.code)}`;
          text = `${op} #${hex(instruction.k)} jt ${next + instruction.jt} jf ${next + instruction.jf}`;
        }
      }
      const comment = comments[index];
      return comment ? `${at}: ${text.padEnd(36)}; ${comment}` : `${at}: ${text}`;
    })
    .join('\n');
}
