#!/usr/bin/env node
// seccomp-cost.mjs SHIM.bpf RUNC.bpf NAME...: runs both programs (raw struct sock_filter, as the kernel holds
// them; bench/seccomp-dump.c reads them) on every x86_64 syscall number and prints, as a markdown table, how
// many BPF instructions each executes: for the NAMEs, and the mean and worst over every syscall the kernel has.
// The kernel runs the same instructions (JIT-compiled), so this is the filter's cost, free of the noise a
// shared machine puts on a wall-clock loop.

import { readFileSync } from 'node:fs';

const AUDIT_ARCH_X86_64 = 0xc000003e;
const [shimFile, runcFile, ...names] = process.argv.slice(2);

function decode(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const program = [];
  for (let offset = 0; offset + 8 <= bytes.byteLength; offset += 8) {
    program.push({ code: view.getUint16(offset, true), jt: view.getUint8(offset + 2), jf: view.getUint8(offset + 3), k: view.getUint32(offset + 4, true) });
  }
  return program;
}

/** Instructions executed for one syscall (all arguments 0), and the verdict. */
function run(program, nr) {
  let a = 0, pc = 0, steps = 0;
  for (;;) {
    const { code, jt, jf, k } = program[pc];
    steps++;
    switch (code) {
      case 0x20: a = k === 0 ? nr : k === 4 ? AUDIT_ARCH_X86_64 : 0; pc++; break;
      case 0x54: a = (a & k) >>> 0; pc++; break;
      case 0x06: return { steps, ret: k >>> 0 };
      case 0x05: pc += 1 + k; break;
      case 0x15: pc += 1 + (a === k ? jt : jf); break;
      case 0x25: pc += 1 + (a > k ? jt : jf); break;
      case 0x35: pc += 1 + (a >= k ? jt : jf); break;
      case 0x45: pc += 1 + ((a & k) !== 0 ? jt : jf); break;
      default: throw new Error(`opcode 0x${code.toString(16)}`);
    }
  }
}

const table = new Map();
for (const match of readFileSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h', 'utf8').matchAll(/#define __NR_(\w+) (\d+)/g)) table.set(match[1], Number(match[2]));
const shim = decode(readFileSync(shimFile));
const runc = decode(readFileSync(runcFile));
const row = (label, a, b) => `| ${label} | ${a} | ${b} | ${(a / b).toFixed(2)} |`;
console.log(`| syscall | shim: instructions run | libseccomp (runc): instructions run | shim / libseccomp |`);
console.log('| --- | ---: | ---: | ---: |');
let mismatches = 0;
for (const name of names) {
  const nr = table.get(name);
  const ours = run(shim, nr);
  const theirs = run(runc, nr);
  if (ours.ret !== theirs.ret) mismatches++;
  console.log(row(name, ours.steps, theirs.steps));
}
let sumOurs = 0, sumTheirs = 0, maxOurs = 0, maxTheirs = 0;
for (const nr of table.values()) {
  const ours = run(shim, nr).steps;
  const theirs = run(runc, nr).steps;
  sumOurs += ours; sumTheirs += theirs;
  maxOurs = Math.max(maxOurs, ours); maxTheirs = Math.max(maxTheirs, theirs);
}
console.log(row(`mean over all ${table.size} syscalls`, (sumOurs / table.size).toFixed(1), (sumTheirs / table.size).toFixed(1)));
console.log(row('worst syscall', maxOurs, maxTheirs));
console.log(row('program length', shim.length, runc.length));
if (mismatches > 0) console.log(`\n${mismatches} of the named syscalls got different verdicts from the two programs (arguments 0)`);
