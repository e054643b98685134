#!/usr/bin/env bash
# The cold CLI's targets (issue 15), alone and quickly: each shim command timed in ONE hyperfine call with what
# its target is measured against, so load that comes and goes lands on both sides alike.
#   - `run --rm busybox true` ≤ floor + 15 ms, and `exec ID true` ≤ floor + 8 ms, where the floor is
#     bench/spawn-floor.cjs: Node starts, loads node:child_process, spawns the helper with a prepared spec
#     and waits, and nothing else;
#   - `state`, `kill` and `delete` ≤ 1.10× `node -e 0`.
# Prints a markdown table: medians AND minimums (a busy machine inflates medians; the minimum is the least
# disturbed run), the CPU each took (user+sys, mean: less sensitive to waiting for a core than wall time),
# the load average before and after, and a verdict on the medians. `make bench` measures the same targets
# among everything else (bench/run.sh, bench/report.mjs); this is the short way to look at just these.
#
#   RUNS=N (default 20)  WARMUP=N (default 3)  JSON_DIR=DIR (also keep hyperfine's JSON files there)
set -euo pipefail
cd "$(dirname "$0")/.."
for name in $(compgen -e | grep -E '^(NODE_|UV_|SHIM_HELPER$|SHIM_CGROUP_PARENT$)' || true); do unset "$name"; done
export SHIM_NETWORK=none

RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
REPO=$PWD
SHIM=$REPO/dist/shim
HELPER=$REPO/dist/shim-helper
[ "$(id -u)" = 0 ] || { echo "bench/cli.sh: containers need root" >&2; exit 2; }
for tool in hyperfine jq runc; do command -v "$tool" >/dev/null || { echo "bench/cli.sh: $tool is not installed" >&2; exit 2; }; done
[ -x "$SHIM" ] && [ -x "$HELPER" ] || { echo "bench/cli.sh: build first (make build)" >&2; exit 2; }

TAG=shim-bench-cli-$$
T=$(mktemp -d /tmp/shim-bench-cli.XXXXXX)
export SHIM_CGROUP_PARENT=$TAG
S="$SHIM --root $T/root --data-root $T/data"
RUNNER=''
cleanup() {
	set +e
	for id in $(ls "$T/root" 2>/dev/null); do $S delete --force "$id" >/dev/null 2>&1; done
	[ -n "$RUNNER" ] && wait "$RUNNER" 2>/dev/null
	awk -v base="$T/" 'index($5, base) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
	find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -depth -type d -name "$TAG*" -exec rmdir {} + 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
JSON_DIR=${JSON_DIR:-$T/json}
mkdir -p "$JSON_DIR"

# The image, a bundle of its layer with a long-running init, and the helper's spec for the floor.
$S run --rm busybox true
B=$T/bundle
mkdir -p "$B"
runc spec --bundle "$B"
cp -a "$($S image inspect busybox | jq -r '.LayerDirs[0]')" "$B/rootfs"
jq '.process.terminal = false | .process.args = ["/bin/true"] | .process.capabilities.ambient = []' "$B/config.json" >"$T/config.json"
mv "$T/config.json" "$B/config.json"
BENCH_SPEC_OUT=$T/spec.bin BENCH_REAL_HELPER=$HELPER SHIM_HELPER=$REPO/bench/capture-helper.sh $S run --bundle "$B" "$TAG-cap"
node "$REPO/bench/write-spec.mjs" "$T/spec.bin" "$T/spec-nocg.bin" >"$T/spec-cgroups.txt"
# The replayed spec bind-mounts the captured container's cgroup directories, which that run removed: made
# again level by level (a new v1 cpuset directory refuses tasks until it has its parent's cpus and mems), as
# bench/run.sh does; cleanup removes them with everything named $TAG.
make_cgroup() {
	local dir=$1 parent
	parent=$(dirname "$dir")
	[ -d "$parent" ] || make_cgroup "$parent"
	[ -d "$dir" ] || mkdir "$dir"
	if [ -f "$dir/cpuset.cpus" ] && [ -z "$(cat "$dir/cpuset.cpus")" ]; then
		cat "$parent/cpuset.cpus" >"$dir/cpuset.cpus"
		cat "$parent/cpuset.mems" >"$dir/cpuset.mems"
	fi
}
while read -r procs; do make_cgroup "$(dirname "$procs")"; done <"$T/spec-cgroups.txt"
jq '.process.args = ["/bin/sleep", "1000"]' "$B/config.json" >"$T/config.json"
mv "$T/config.json" "$B/config.json"
FLOOR="node $REPO/bench/spawn-floor.cjs $HELPER $T/spec-nocg.bin"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
group() { # NAME, then -p/-n/command triples as hyperfine takes them
	local name=$1
	shift
	echo "bench/cli.sh: $name" >&2
	hyperfine -N --style basic -w "$WARMUP" -r "$RUNS" --export-json "$JSON_DIR/$name.json" "$@" >"$T/$name.txt" 2>&1 ||
		{ cat "$T/$name.txt" >&2; echo "bench/cli.sh: $name: hyperfine failed" >&2; exit 1; }
}

group run -n 'node -e 0' 'node -e 0' -n floor "$FLOOR" -n 'shim run --rm busybox true' "$S run --rm busybox true"

# exec: into a docker-style container kept running by a `run` in the background.
$S run --rm --name "$TAG-x" busybox sleep 1000 </dev/null >/dev/null 2>&1 &
RUNNER=$!
for _ in $(seq 200); do
	[ "$(jq -r .status "$T/root/$TAG-x/state.json" 2>/dev/null)" = running ] && break
	sleep 0.05
done
$S exec "$TAG-x" true
group exec -n 'node -e 0' 'node -e 0' -n floor "$FLOOR" -n 'shim exec ID true' "$S exec $TAG-x true"
$S kill "$TAG-x" KILL >/dev/null 2>&1 || true
wait "$RUNNER" 2>/dev/null || true
RUNNER=''

# state, kill, delete: each against a container its untimed prepare left in the right state (runc's verbs).
prepare() { # VERB
	local steps="$S delete --force $TAG-v >/dev/null 2>&1; $S create --bundle $B $TAG-v </dev/null >/dev/null 2>&1"
	case $1 in
		start) ;;
		kill) steps="$steps && $S start $TAG-v" ;;
		delete) steps="$steps && $S start $TAG-v && $S kill $TAG-v KILL && sleep 0.2" ;;
	esac
	echo "sh -c '$steps'"
}
# state, start, kill and delete of such a container are answered by dist/shim itself
# (src/cli/shim-launcher.c); each is timed again with SHIM_NO_FAST_PATH=1, through Node, as for a container
# whose record sends them there (hooks, docker-style runs, anything unusual).
for verb in state start kill delete; do
	case $verb in kill) command="$S kill $TAG-v KILL" ;; *) command="$S $verb $TAG-v" ;; esac
	group "$verb" -p true -n 'node -e 0' 'node -e 0' -p "$(prepare "$verb")" -n "shim $verb" "$command" \
		-p "$(prepare "$verb")" -n "shim $verb, through Node" "env SHIM_NO_FAST_PATH=1 $command"
done
$S delete --force "$TAG-v" >/dev/null 2>&1 || true
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

node - "$JSON_DIR" "$LOAD_BEFORE" "$LOAD_AFTER" "$RUNS" "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')" <<'EOF'
const { readFileSync } = require('node:fs');
const [dir, loadBefore, loadAfter, runs, commit] = process.argv.slice(2);
const results = (group) => JSON.parse(readFileSync(`${dir}/${group}.json`, 'utf8')).results;
const row = (group, command) => {
  const result = results(group).find((entry) => entry.command === command);
  const sorted = [...result.times].sort((a, b) => a - b);
  const median = (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2;
  return { median: median * 1000, min: sorted[0] * 1000, cpu: (result.user + result.system) * 1000 };
};
const ms = (value) => `${value.toFixed(1)} ms`;
const lines = [
  `## Cold CLI targets (issue 15): \`bash bench/cli.sh\`, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, shim ${commit}, ${runs} runs each, load average ${loadBefore} before, ${loadAfter} after`,
  '',
  '| command | median | min | CPU (user+sys) | against | its median | its min | its CPU | target | by medians | by mins | verdict |',
  '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | --- |',
];
const beyond = (group, command, base, limit) => {
  const shim = row(group, command), floor = row(group, base);
  const byMedian = shim.median - floor.median, byMin = shim.min - floor.min;
  lines.push(`| \`${command}\` | ${ms(shim.median)} | ${ms(shim.min)} | ${ms(shim.cpu)} | ${base} | ${ms(floor.median)} | ${ms(floor.min)} | ${ms(floor.cpu)} | ≤ floor + ${limit} ms | +${byMedian.toFixed(1)} ms | +${byMin.toFixed(1)} ms | ${byMedian <= limit ? 'met' : 'missed'} |`);
};
const ratio = (group, command, limit) => {
  const shim = row(group, command), node = row(group, 'node -e 0');
  const byMedian = shim.median / node.median, byMin = shim.min / node.min;
  lines.push(`| \`${command}\` | ${ms(shim.median)} | ${ms(shim.min)} | ${ms(shim.cpu)} | node -e 0 | ${ms(node.median)} | ${ms(node.min)} | ${ms(node.cpu)} | ≤ ${limit}× | ${byMedian.toFixed(2)}× | ${byMin.toFixed(2)}× | ${byMedian <= limit ? 'met' : 'missed'} |`);
};
beyond('run', 'shim run --rm busybox true', 'floor', 15);
beyond('exec', 'shim exec ID true', 'floor', 8);
for (const verb of ['state', 'kill', 'delete']) ratio(verb, `shim ${verb}`, 1.1);
for (const verb of ['state', 'kill', 'delete']) ratio(verb, `shim ${verb}, through Node`, 1.1);
// start has no target of its own; podman and containerd call it for every container.
const start = row('start', 'shim start'), startNode = row('start', 'shim start, through Node'), nodeStart = row('start', 'node -e 0');
lines.push('', `\`shim start\` (no target; podman and containerd call it for every container): ${ms(start.median)} median, ${ms(startNode.median)} through Node, \`node -e 0\` ${ms(nodeStart.median)} in the same call.`);
lines.push('`state`, `kill` and `delete` rows without "through Node" are answered by dist/shim itself (a static C program) for a container whose fast-path record allows it (src/cli/shim-launcher.c); the "through Node" rows are the same command with SHIM_NO_FAST_PATH=1. `exec` runs through the helper\'s launch (helper-c/launch.c): Node does not fork itself to start the helper.');
const node = ['run', 'exec', 'state', 'start', 'kill', 'delete'].map((group) => row(group, 'node -e 0'));
lines.push('', `\`node -e 0\` across the six calls: medians ${node.map((entry) => entry.median.toFixed(1)).join(', ')} ms; the floor in the run call ${ms(row('run', 'floor').median)}.`);
console.log(lines.join('\n'));
EOF
