#!/usr/bin/env node
// Runs every test tier once and prints one plain closing line ("tests: N passed, N failed, N skipped"), then
// checks the machine for anything the suite left behind (mounts, processes, cgroups, network namespaces of
// the test roots). Exit status: 0 only when every test passed and nothing leaked.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

if (process.getuid && process.getuid() !== 0) {
  console.error('run-tests: the helper and integration tiers start real containers: run as root');
  process.exit(2);
}

mkdirSync('build', { recursive: true });
const resultsFile = 'build/test-results.json';
// This run's own prefix for test roots and cgroup parents (see test/support/shim.ts).
const prefix = `shim-test-${process.pid}-`;
// The default network's bridge: the suite's runs use networks of their own (or none), so a shim0 that appears
// during the run is a docker-style run that slipped out of the harness's SHIM_NETWORK=none and was never removed.
const defaultBridgeBefore = spawnSync('ip', ['link', 'show', 'shim0'], { stdio: 'ignore' }).status === 0;
// Top-level cgroups that exist before the run: one that appears during it and is not under a test prefix (this
// run's, or another run's on a shared machine) is something a test made outside the harness's names, such as
// the slices systemd-style cgroup paths nest under (/shim.slice/...).
const topCgroups = () => new Set(readdirSync('/sys/fs/cgroup').flatMap((hierarchy) => {
  try { return readdirSync(join('/sys/fs/cgroup', hierarchy), { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => `${hierarchy}/${entry.name}`); } catch { return []; }
}));
const cgroupsBefore = topCgroups();
const vitest = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${resultsFile}`,
  ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, SHIM_TEST_PREFIX: prefix } });

let passed = 0, failed = 0, skipped = 0;
if (existsSync(resultsFile)) {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  passed = results.numPassedTests;
  failed = results.numFailedTests + (results.numRuntimeErrorTestSuites ?? 0);
  skipped = results.numPendingTests + results.numTodoTests;
  if (results.numFailedTestSuites > 0 && failed === 0) failed = results.numFailedTestSuites;
} else {
  failed = 1;
}

// What the whole suite may have left: the harness names every root /tmp/<prefix>* and every cgroup parent
// <prefix>*, and tags every process it starts with SHIM_TEST_TAG=<root>.
const leaks = [];
for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
  const mountPoint = line.split(' ')[4];
  if (mountPoint && mountPoint.startsWith(`/tmp/${prefix}`)) leaks.push(`mount ${mountPoint}`);
}
for (const entry of readdirSync('/proc')) {
  if (!/^\d+$/.test(entry)) continue;
  let environ = '';
  try { environ = readFileSync(`/proc/${entry}/environ`, 'latin1'); } catch { continue; }
  if (environ.includes(`SHIM_TEST_TAG=/tmp/${prefix}`)) leaks.push(`process ${entry}`);
}
for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
  let children = [];
  try { children = readdirSync(join('/sys/fs/cgroup', hierarchy)); } catch { continue; }
  for (const child of children) if (child.startsWith(prefix)) leaks.push(`cgroup /sys/fs/cgroup/${hierarchy}/${child}`);
}
for (const cgroup of topCgroups()) {
  if (!cgroupsBefore.has(cgroup) && !cgroup.split('/')[1].startsWith('shim-test-')) leaks.push(`cgroup /sys/fs/cgroup/${cgroup}`);
}
const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
for (const line of (netns.stdout ?? '').split('\n')) if (line.includes(prefix)) leaks.push(`netns ${line}`);
for (const entry of readdirSync('/tmp')) if (entry.startsWith(prefix)) leaks.push(`dir /tmp/${entry}`);
if (!defaultBridgeBefore && spawnSync('ip', ['link', 'show', 'shim0'], { stdio: 'ignore' }).status === 0) {
  leaks.push('link shim0 (the default network\'s bridge)');
}

if (leaks.length > 0) {
  console.error(`the test suite left ${leaks.length} thing(s) behind:`);
  for (const leak of leaks) console.error(`  ${leak}`);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(vitest.status === 0 && failed === 0 && leaks.length === 0 ? 0 : 1);
