// dist/shim.cjs: what the `shim` command (dist/shim, src/cli/shim-launcher.c) runs Node with. It loads lib/main.cjs, with one change to how Node loads the
// files of lib/: it keeps V8's compiled code for each of them beside it (lib/<file>.cjs.v8cache) and hands it
// back to V8 the next time. Compiling is most of what loading costs: lib/run.cjs takes ~8 ms to compile and
// ~1 ms from its cache, and the functions a command calls are compiled again at every start unless cached.
// Node 22 can do this itself (module.enableCompileCache); Debian 12 ships Node 18, so it is done here.
//
// Why this is safe to do:
//  - V8 checks a cache before using it (its own version, the flags, the source length) and says when it
//    rejected one; a rejected or unreadable cache only means compiling as usual, and writing a new one.
//  - A cache belongs to one version of its file: V8 compares only the source's length, so the cache's name
//    carries the file's size and modification time (to the nanosecond), and a rebuilt or reinstalled file
//    never meets the cache of its predecessor. Writing a new cache removes the file's older ones.
//  - It is written where the code is, by whoever may write the code: a lib/ we cannot write (a read-only
//    install, a user other than root) is used without caches. Written through a temporary file and a
//    rename, so a concurrent command reads either no cache or a whole one.
//  - The cache is made at exit, so it holds the functions this command compiled, not only the top level.

import { readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';

// The pipes of a helper that dist/shim started beside us (`shim-helper --launch`, src/helper/launched-helper.ts):
// out of the environment before anything could inherit it, left where the verb's code finds it.
const launchedHelper = process.env.SHIM_HELPER_LAUNCHED;
if (launchedHelper !== undefined) {
  delete process.env.SHIM_HELPER_LAUNCHED;
  (globalThis as Record<symbol, unknown>)[Symbol.for('shim.helper-launched')] = launchedHelper;
}

const lib = join(__dirname, 'lib');
const CACHE_SUFFIX = '.v8cache';

interface CompilableModule {
  exports: unknown;
  _compile(content: string, filename: string): unknown;
}

// The class of this very module, not require('node:module'): loading the public node:module also loads
// Node's ESM loader code (~1-2 ms), for the three members used here.
const Module = module.constructor as unknown as typeof import('node:module') & {
  prototype: CompilableModule;
  wrap(source: string): string;
  wrapper: string[];
};
const moduleClass = Module;
const compileAsNodeDoes = moduleClass.prototype._compile;
const stale: { filename: string; cacheFile: string; script: Script }[] = [];

function cacheFileOf(filename: string): string {
  const { size, mtimeNs } = statSync(filename, { bigint: true });
  return `${filename}.${mtimeNs}-${size}${CACHE_SUFFIX}`;
}

moduleClass.prototype._compile = function compileWithCache(this: CompilableModule, content: string, filename: string) {
  if (dirname(filename) !== lib || process.env.SHIM_NO_CODE_CACHE) return compileAsNodeDoes.call(this, content, filename);
  const cacheFile = cacheFileOf(filename);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // None yet: compiled as usual, and cached at exit.
  }
  const script = new Script(moduleClass.wrap(content), {
    filename,
    cachedData,
    // Stack traces point into the file, not into the wrapper Node puts around it.
    columnOffset: -moduleClass.wrapper[0]!.length,
  });
  if (cachedData === undefined || script.cachedDataRejected) stale.push({ filename, cacheFile, script });
  const body = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
  return body.call(this.exports, this.exports, Module.createRequire(filename), this, filename, lib);
};

process.once('exit', () => {
  for (const { filename, cacheFile, script } of stale) {
    const temporary = `${cacheFile}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, script.createCachedData(), { mode: 0o644 });
      renameSync(temporary, cacheFile);
      const older = `${basename(filename)}.`;
      for (const entry of readdirSync(lib)) {
        if (entry.startsWith(older) && entry.endsWith(CACHE_SUFFIX) && entry !== basename(cacheFile)) unlinkSync(join(lib, entry));
      }
    } catch {
      // Not ours to write (see above): the next command compiles again.
      try {
        unlinkSync(temporary);
      } catch {
        // Nothing was written.
      }
    }
  }
});

require('./lib/main.cjs');
