// The seccomp compiler, for planSeccomp's cache misses. Here an ordinary import; in dist/, scripts/bundle.mjs
// puts a stub in this file's place whose loadSeccompCompiler() require()s lib/seccomp-compiler.cjs (built from
// compile-on-miss.ts) on its first call, so a command whose filter comes from the cache never loads it.
// Synchronous on purpose: planning is a pure, synchronous function, and the miss is rare.

import * as compiler from './compile-on-miss.js';

export type SeccompCompiler = typeof compiler;

export function loadSeccompCompiler(): SeccompCompiler {
  return compiler;
}
