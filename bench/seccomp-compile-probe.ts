// One cold process's seccomp planning, as `run` (the built-in default profile) and podman's `create` (podman's
// profile as config.json carries it) pay it: bench/seccomp-compile.mjs bundles this with dist/'s esbuild
// options and runs it in fresh processes. Prints one JSON line: the first compile (wall and CPU), a second
// compile in the same process (warm), and planSeccomp through the on-disk cache once it holds the filter.
//   node PROBE default|FILE CACHE_DIR
import { readFileSync } from 'node:fs';
import { DEFAULT_CAPABILITIES } from '../src/plan/runtime-defaults.js';
import { compileSeccomp } from '../src/seccomp/compile.js';
import { defaultSeccompProfile } from '../src/seccomp/default-profile.js';
import { parseConfigJson } from '../src/seccomp/exact-json.js';
import { diskSeccompCache } from '../src/seccomp/filter-cache.js';
import { planSeccomp } from '../src/seccomp/plan-seccomp.js';
import { readSeccompProfile, type OciSeccomp } from '../src/seccomp/profile.js';
import { hostFamily } from '../src/seccomp/archs.js';

const [which, cacheDir] = process.argv.slice(2);
const wall = () => Number(process.hrtime.bigint()) / 1e6;
const cpu = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};
const raw: OciSeccomp = which === 'default' ? defaultSeccompProfile(hostFamily(), DEFAULT_CAPABILITIES) : (parseConfigJson(readFileSync(which!, 'utf8')) as OciSeccomp);
const mode = process.env.PROBE_MODE ?? 'compile';
const result: Record<string, number> = {};
if (mode === 'compile') {
  let w = wall();
  let c = cpu();
  compileSeccomp(readSeccompProfile(raw)!, {});
  result.coldMs = wall() - w;
  result.coldCpuMs = cpu() - c;
  w = wall();
  c = cpu();
  compileSeccomp(readSeccompProfile(raw)!, {});
  result.warmMs = wall() - w;
  result.warmCpuMs = cpu() - c;
} else {
  const host = { cgroupHierarchies: [], cgroupNamespaces: true, lastCapability: 40, procKcore: false, seccompActions: undefined };
  const w = wall();
  const c = cpu();
  planSeccomp(raw, { containerId: 'probe', bundleDir: '/probe', host, cache: diskSeccompCache(cacheDir!) }, []);
  result.cachedMs = wall() - w;
  result.cachedCpuMs = cpu() - c;
}
console.log(JSON.stringify(result));
