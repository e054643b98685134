#!/usr/bin/env node
// Builds the CLI's Node side: dist/shim.cjs (the Node launcher, which dist/shim runs: src/cli/shim-launcher.c;
// src/cli/launcher.ts), dist/package.json and dist/lib/*.cjs. No node_modules at run
// time: `make install` copies dist/ alone.
//
// Why CommonJS files, one per verb, rather than ESM chunks (docs/startup.md has the figures):
//  - Node initialises its ESM loader the first time anything is import()ed, about 10 ms on these machines,
//    paid by every command; require() of a .cjs file pays nothing of the sort.
//  - Each verb module in src/cli/ becomes a file of its own (run.cjs, state.cjs, ...), holding everything it
//    uses, so a command parses its own verb's code and nothing else. main.ts's `import('./run.js')` becomes
//    `require('./run.cjs')` here (verbModules below); esbuild cannot split CommonJS output into shared chunks,
//    so code both verbs use (errors, the state store) is in both files: a few KB on disk, never parsed twice.
//  - yargs and execa are files of their own too (vendor-*.cjs): loaded only by the commands that use them.
//  - So is the seccomp compiler with its syscall tables and prebuilt filters (seccomp-compiler.cjs), required
//    by planSeccomp on a filter-cache miss only (src/seccomp/load-compiler.ts): podman's create, whose profile
//    the cache answers, never parses it.
// The launcher must be read as CommonJS wherever it is installed: dist/package.json says so, because the
// repository's package.json says "type": "module" and an ESM launcher would start the ESM loader after all.

import { build } from 'esbuild';
import { chmod, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shippedBundleOptions } from './esbuild-options.mjs';
import { lazyBuiltins } from './lazy-builtins.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(repo, 'dist');
const lib = join(dist, 'lib');
const cliDir = join(repo, 'src/cli');
const pkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8'));

/** The verb modules main.ts loads with import(): every src/cli file that exports a `...Verb` function. */
const verbModules = [];
for (const file of await readdir(cliDir)) {
  if (!file.endsWith('.ts')) continue;
  if (/export (async )?function \w+Verb\b/.test(await readFile(join(cliDir, file), 'utf8'))) verbModules.push(basename(file, '.ts'));
}
const verbImporters = ['main.ts', 'docker-args.ts', 'start.ts', 'run.ts'];
/** Third-party packages that get files of their own (big, and only some commands need them). */
const vendorModules = { yargs: 'vendor-yargs', execa: 'vendor-execa' };

// The vendor entry points re-export the package as it is, built from a stub in build/.
const stubs = join(repo, 'build', 'bundle-stubs');

/** Turns those imports into require()s of the separate files, from whichever bundle they appear in. */
const separateFiles = {
  name: 'separate-files',
  setup(builder) {
    builder.onResolve({ filter: /^\.\/[\w-]+\.js$/ }, (args) => {
      const name = args.path.slice(2, -3);
      // The runtime v2 shim's cold entry loads its server the same way: a file of its own, required when needed.
      if (args.importer === join(repo, 'src/containerd/shim-v2-main.ts') && name === 'server') return { path: './containerd-server.cjs', external: true };
      // main.ts, and the files that load another verb's module on a path of their own (docker-args.ts for
      // docker's verbs, start and run for docker start/attach): those import()s stay separate files too.
      if (!verbImporters.map((file) => join(cliDir, file)).includes(args.importer) || !verbModules.includes(name)) return undefined;
      return { path: `./${name}.cjs`, external: true };
    });
    // protobufjs loads Long.js when it can, which compiles a WebAssembly module as it loads (~2-4 ms per
    // command). The generated code is made with --force-number (Makefile): 64-bit fields are plain numbers,
    // and protobufjs falls back to them when require("long") gives nothing, so nothing of Long.js is used.
    builder.onResolve({ filter: /^long$/ }, () => ({ path: join(stubs, 'no-long.cjs') }));
    // The seccomp compiler: load-compiler.ts's import becomes a require() of its own file, made on first use.
    builder.onResolve({ filter: /^\.\/load-compiler\.js$/ }, (args) => {
      if (args.importer !== join(repo, 'src/seccomp/plan-seccomp.ts')) return undefined;
      return { path: join(stubs, 'load-seccomp-compiler.cjs') };
    });
    builder.onResolve({ filter: /^\.\/seccomp-compiler\.cjs$/ }, (args) => (args.importer.startsWith(stubs) ? { path: args.path, external: true } : undefined));
    builder.onResolve({ filter: /^(yargs|execa)$/ }, (args) => {
      if (args.importer.startsWith(stubs)) return undefined;
      return { path: `./${vendorModules[args.path]}.cjs`, external: true };
    });
  },
};

await rm(lib, { recursive: true, force: true });
await mkdir(lib, { recursive: true });

await mkdir(stubs, { recursive: true });
// module.exports is yargs itself, so that main.ts's `(await import('yargs')).default` finds it: esbuild reads
// a require()d file the way Node does for an ESM importer (default = module.exports).
await writeFile(join(stubs, 'vendor-yargs.cjs'), "module.exports = require('yargs');\n");
await writeFile(join(stubs, 'no-long.cjs'), 'module.exports = null;\n');
await writeFile(join(stubs, 'vendor-execa.mjs'), "export * from 'execa';\n");
// Bundled into each file that plans seccomp, which sits in lib/ beside seccomp-compiler.cjs.
await writeFile(join(stubs, 'load-seccomp-compiler.cjs'), "exports.loadSeccompCompiler = () => require('./seccomp-compiler.cjs');\n");

const entryPoints = {
  main: 'src/cli/shim.ts',
  ...Object.fromEntries(verbModules.map((name) => [name, `src/cli/${name}.ts`])),
  'vendor-yargs': join(stubs, 'vendor-yargs.cjs'),
  'vendor-execa': join(stubs, 'vendor-execa.mjs'),
  'seccomp-compiler': 'src/seccomp/compile-on-miss.ts',
  // The runtime v2 shim (src/containerd/): its cold entry (start, delete), and the server with containerd's
  // API and the container library, which no verb of the CLI loads.
  'containerd-shim': 'src/containerd/shim-v2.ts',
  'containerd-server': 'src/containerd/server.ts',
};

const result = await build({
  ...shippedBundleOptions,
  absWorkingDir: repo,
  entryPoints,
  outdir: lib,
  outExtension: { '.js': '.cjs' },
  metafile: true,
  logLevel: 'warning',
  // Built-ins load at first use (scripts/lazy-builtins.mjs says why).
  plugins: [separateFiles, lazyBuiltins],
  define: { __SHIM_VERSION__: JSON.stringify(pkg.version) },
});

await writeFile(join(dist, 'package.json'), '{ "type": "commonjs" }\n');

// The Node launcher: loads lib/main.cjs with V8's code cache (src/cli/launcher.ts says how and why).
const launcher = join(dist, 'shim.cjs');
await build({
  ...shippedBundleOptions,
  absWorkingDir: repo,
  entryPoints: ['src/cli/launcher.ts'],
  outfile: launcher,
  external: ['./lib/main.cjs'],
  // The node that builds is the node that runs (dist/ is built where it is installed: make build, make
  // install): naming it spares every command /usr/bin/env's exec, locale set-up and PATH search, ~1-2.5 ms of
  // a `shim state` (docs/startup.md).
  // The `--` ends node's own options: Node 20 looks for --env-file anywhere in its argv, past the script's name,
  // so `shim run --env-file FILE` was taken by node itself (exit 9, "node: FILE: not found") before shim ran.
  banner: { js: `#!${process.execPath} --` },
  logLevel: 'warning',
});
await chmod(launcher, 0o755);
// containerd-shim-shim-v2.cjs: the runtime v2 server's Node launcher, run by dist/containerd-shim-shim-v2 (a
// static binary the Makefile builds from src/containerd/launcher.c, which answers containerd's plain `start` and
// `delete` itself) for every other call: the same launcher as the CLI's (V8's code cache for lib/;
// src/cli/launcher.ts) loading lib/containerd-shim.cjs instead of lib/main.cjs.
const shimV2 = join(dist, 'containerd-shim-shim-v2.cjs');
await build({
  ...shippedBundleOptions,
  absWorkingDir: repo,
  entryPoints: ['src/cli/launcher.ts'],
  outfile: shimV2,
  plugins: [
    {
      name: 'containerd-entry',
      setup(builder) {
        builder.onResolve({ filter: /^\.\/lib\/main\.cjs$/ }, () => ({ path: './lib/containerd-shim.cjs', external: true }));
      },
    },
  ],
  banner: { js: `#!${process.execPath} --` },
  logLevel: 'warning',
});
await chmod(shimV2, 0o755);

const outputs = Object.entries(result.metafile.outputs);
let total = 0;
for (const [, info] of outputs) total += info.bytes;
console.log(`bundle: dist/shim.cjs + ${outputs.length} files in dist/lib (${total} bytes)`);
// esbuild's metafile (what each lib/ file holds, input by input): to see what a verb's file carries.
if (process.env.SHIM_BUNDLE_META) await writeFile(process.env.SHIM_BUNDLE_META, JSON.stringify(result.metafile));
if (process.env.SHIM_BUNDLE_VERBOSE) {
  const sizes = await Promise.all(outputs.map(async ([file]) => `${file.replace(`${repo}/`, '')} ${(await stat(join(repo, file))).size}`));
  console.log(sizes.join('\n'));
}
