#!/usr/bin/env node
// Builds the CLI: dist/shim (a few-line launcher) and dist/lib/ (ESM chunks). No node_modules at run time:
// `make install` copies dist/ alone.
//
// Why a launcher plus chunks rather than one file: each verb's code is imported only when that verb runs
// (cli/main.ts and cli/run.ts use import()), and esbuild's code splitting turns those imports into separate
// files. `shim --help` then parses yargs and nothing else; `shim run` adds the planner and protobufjs; the hot
// runc verbs (state, start, kill, delete) skip yargs too (cli/fast-path.ts). The launcher has no extension and may be installed where no
// package.json says "type": "module", so it must parse as CommonJS too: it uses import(), valid in both.

import { build } from 'esbuild';
import { chmod, mkdir, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shippedBundleOptions } from './esbuild-options.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(repo, 'dist');
const lib = join(dist, 'lib');
const pkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8'));

await rm(lib, { recursive: true, force: true });
await mkdir(lib, { recursive: true });

const result = await build({
  ...shippedBundleOptions,
  absWorkingDir: repo,
  entryPoints: { main: 'src/cli/shim.ts' },
  outdir: lib,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunk-[hash]',
  splitting: true,
  metafile: true,
  logLevel: 'warning',
  define: { __SHIM_VERSION__: JSON.stringify(pkg.version) },
});

const launcher = join(dist, 'shim');
await writeFile(launcher, "#!/usr/bin/env node\nimport('./lib/main.mjs');\n");
await chmod(launcher, 0o755);

const outputs = Object.entries(result.metafile.outputs);
let total = 0;
for (const [file, info] of outputs) total += info.bytes;
const sizes = await Promise.all(outputs.map(async ([file]) => `${file.replace(`${repo}/`, '')} ${(await stat(join(repo, file))).size}`));
console.log(`bundle: dist/shim + ${outputs.length} files in dist/lib (${total} bytes)`);
if (process.env.SHIM_BUNDLE_VERBOSE) console.log(sizes.join('\n'));
