// An esbuild plugin: Node's built-in modules are loaded when the bundle first uses them, not when its file
// loads. esbuild turns every `import ... from 'node:zlib'` into a `require("node:zlib")` at the top of the
// output file, so a verb's file pays for every built-in any code it holds might use: `delete` loaded
// node:child_process (node:net and the stream code with it) for the network teardown it rarely does, and
// `create` loaded node:crypto, node:zlib, node:fs/promises and node:stream for image unpacking it never does
// on an orchestrator's bundle. Each costs 3-6 ms to load (docs/startup.md). Making each import site lazy by
// hand is easy to undo by accident in any of the files that share the bundle; doing it here holds for all.
//
// How: each such import resolves to a small generated module whose exports are getters, one per export of the
// built-in, named at build time (dist/ is built by the node that runs it, scripts/bundle.mjs). The first
// getter read requires the real module. esbuild's interop (__toESM, __copyProps) lists the names and defines
// forwarding getters without reading them, so nothing loads until code reads an export.
// Only the built-ins listed in LAZY, the ones that cost something to load: a module whose default export is
// itself called or constructed (node:events' EventEmitter, node:assert) or written to (node:process) cannot
// be stood in for by an object of getters, and the cheap ones (fs, path, os, util) are loaded by Node anyway.

import { builtinModules, createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const LAZY = new Set([
  'child_process', 'crypto', 'dgram', 'dns', 'fs/promises', 'http', 'https', 'http2', 'inspector', 'net', 'perf_hooks',
  'readline', 'stream', 'stream/promises', 'tls', 'tty', 'v8', 'worker_threads', 'zlib',
]);
const NAMESPACE = 'lazy-builtin';

export function lazyBuiltinName(specifier) {
  const name = specifier.startsWith('node:') ? specifier.slice(5) : specifier;
  if (!LAZY.has(name) || !builtinModules.includes(name)) return undefined;
  return name;
}

/** The generated module for one built-in: a getter per export name, the real module required on first read. */
export function lazyBuiltinSource(name) {
  const names = Object.keys(require(`node:${name}`)).filter((key) => key !== 'default' && /^[A-Za-z_$][\w$]*$/.test(key));
  const getters = names.map((key) => `${JSON.stringify(key)}: { enumerable: true, get: () => load()[${JSON.stringify(key)}] }`);
  return [
    `let real;`,
    `const load = () => real ??= require(${JSON.stringify(`node:${name}`)});`,
    `module.exports = Object.defineProperties({}, { ${getters.join(', ')} });`,
    // `import x from 'node:events'`: the default is the module itself (EventEmitter is a function; callers
    // that construct or extend it at load time load it then, as before).
  ].join('\n');
}

export const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(builder) {
    builder.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      const name = lazyBuiltinName(args.path);
      if (name === undefined) return undefined;
      // The generated module's own require() of the real thing stays a plain external require.
      if (args.namespace === NAMESPACE) return { path: args.path, external: true };
      // Side-effect free, as esbuild takes the real built-ins to be: an unused import is dropped.
      return { path: name, namespace: NAMESPACE, sideEffects: false };
    });
    builder.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({ contents: lazyBuiltinSource(args.path), loader: 'js' }));
  },
};
