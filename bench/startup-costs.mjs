#!/usr/bin/env node
// node bench/startup-costs.mjs OUT_DIR
//
// What each dependency adds to a Node start-up, the way dist/ ships it: one small CommonJS bundle per dependency
// (built with the same esbuild options as dist/: scripts/esbuild-options.mjs), each run by `node FILE`. Prints "name<TAB>file"
// lines; bench/run.sh times them in one hyperfine call beside `node -e 0` and an empty module.

import { build } from 'esbuild';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shippedBundleOptions } from '../scripts/esbuild-options.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2];
if (!out) {
  console.error('usage: startup-costs.mjs OUT_DIR');
  process.exit(2);
}
await mkdir(join(out, 'src'), { recursive: true });

// Each entry keeps what it imports alive (globalThis), so nothing is tree-shaken away.
const entries = {
  'empty module': '',
  'node:child_process (every verb that spawns)': "import { spawn } from 'node:child_process'; globalThis.keep = spawn;",
  'node:fs/promises': "import { readFile } from 'node:fs/promises'; globalThis.keep = readFile;",
  'node:crypto': "import { randomBytes } from 'node:crypto'; globalThis.keep = randomBytes;",
  'yargs (import)': "import yargs from 'yargs'; globalThis.keep = yargs;",
  'yargs (import + one command parsed)':
    "import yargs from 'yargs'; void yargs(['state', 'x']).command('state <id>', 'x', (y) => y.positional('id', { type: 'string' })).strict().exitProcess(false).parseAsync();",
  'execa (import)': "import { execa } from 'execa'; globalThis.keep = execa;",
  'protobufjs/minimal': "import protobuf from 'protobufjs/minimal.js'; globalThis.keep = protobuf;",
  'spec encoder (protobufjs + generated code)': `import * as spec from '${repo}/src/spec/encode-spec.ts'; globalThis.keep = spec;`,
  'run path (planner, spec, helper runner, state, cgroups)': `import * as run from '${repo}/src/container/run-container.ts'; globalThis.keep = run;`,
  'exec path (planExec, spec, helper runner, state)': `import * as exec from '${repo}/src/container/exec-container.ts'; globalThis.keep = exec;`,
};

for (const [name, source] of Object.entries(entries)) {
  const slug = name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
  const entry = join(out, 'src', `${slug}.mjs`);
  const file = join(out, `${slug}.cjs`);
  await writeFile(entry, source);
  await build({
    ...shippedBundleOptions,
    absWorkingDir: repo,
    entryPoints: [entry],
    outfile: file,
    logLevel: 'error',
    nodePaths: [join(repo, 'node_modules')],
    // The run path imports execa lazily for the one-off image build; dist/ keeps it in a file of its own
    // that a run never loads, so it is left out here too (only its own entry measures it). Long.js is left
    // out of dist/ (scripts/bundle.mjs) and here.
    external: name.startsWith('execa') ? ['long'] : ['execa', 'long'],
  });
  console.log(`${name}\t${file}`);
}
