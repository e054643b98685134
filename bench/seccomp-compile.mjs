#!/usr/bin/env node
// The seccomp compiler's time as a `run` or podman's `create` pays it: in a fresh Node process (cold: V8's
// interpreter, nothing compiled yet), a second time in the same process (warm), and through the on-disk
// cache (<data-root>/seccomp-cache) once it holds the filter, which is what every run after the first pays.
// Medians and minimums of ROUNDS fresh processes each, wall and CPU (user+sys of the process: less disturbed
// by a busy machine than wall time). bench/seccomp.sh prints this; alone: node bench/seccomp-compile.mjs.
//   ROUNDS=N (default 9)
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shippedBundleOptions } from '../scripts/esbuild-options.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(process.env.ROUNDS ?? 9);
const work = mkdtempSync(join(tmpdir(), 'shim-bench-seccomp-compile-'));
try {
  const probe = join(work, 'probe.cjs');
  await build({ ...shippedBundleOptions, absWorkingDir: repo, entryPoints: ['bench/seccomp-compile-probe.ts'], outfile: probe, logLevel: 'warning' });
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(NODE_|UV_)/.test(name)));
  const run = (profile, mode, cache) => JSON.parse(execFileSync(process.execPath, [probe, profile, cache], { env: { ...env, PROBE_MODE: mode }, encoding: 'utf8' }));
  const stats = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { median: (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2, min: sorted[0] };
  };
  const cell = (values) => {
    const { median, min } = stats(values);
    return `${median.toFixed(2)} / ${min.toFixed(2)}`;
  };
  const profiles = ['default', '/usr/share/containers/seccomp.json'].filter((profile) => profile === 'default' || existsSync(profile));
  const lines = [
    `## seccomp: compile time, ${rounds} fresh processes each (median / min, ms), load average ${(await import('node:os')).loadavg().map((load) => load.toFixed(2)).join(' ')}`,
    '',
    '| profile | cold compile | cold CPU | warm compile | warm CPU | as a run plans it (prebuilt or cached) | its CPU |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const profile of profiles) {
    const cache = join(work, `cache-${profiles.indexOf(profile)}`);
    run(profile, 'cached', cache); // fills the cache
    const compiled = [];
    const cached = [];
    for (let round = 0; round < rounds; round++) {
      compiled.push(run(profile, 'compile', cache));
      cached.push(run(profile, 'cached', cache));
    }
    const pick = (list, key) => list.map((entry) => entry[key]);
    lines.push(`| ${profile} | ${cell(pick(compiled, 'coldMs'))} | ${cell(pick(compiled, 'coldCpuMs'))} | ${cell(pick(compiled, 'warmMs'))} | ${cell(pick(compiled, 'warmCpuMs'))} | ${cell(pick(cached, 'cachedMs'))} | ${cell(pick(cached, 'cachedCpuMs'))} |`);
  }
  lines.push('', 'cold: the first compile in a fresh process; warm: the same profile again in that process; as a run plans it: planSeccomp');
  lines.push('in a fresh process, which takes the built-in default profile compiled at build time (scripts/gen-prebuilt-filters.mjs: the');
  lines.push('key and one string compare), and any other profile from the on-disk cache once a run has compiled it (the key, one file');
  lines.push('read, a whole-key compare). Only the first run of a profile other than the default pays the cold compile.');
  console.log(lines.join('\n'));
} finally {
  rmSync(work, { recursive: true, force: true });
}
