#!/usr/bin/env bash
# make bench: 500 running containers at once. Starts SCALE_N (500) detached `sleep` containers (docker-style
# `run -d`, no network), then times `list`, `state ID`, `exec ID true` and `delete --force ID` with 0 and with
# SCALE_N running, in one hyperfine call per verb (the same machine noise for both), checks correctness (list
# shows every container running, every `state` says running with the pid that is really in its cgroup), adds up
# the background monitors' memory, deletes everything and checks nothing is left (state, layer dirs, cgroups,
# mounts, processes).
#
#   SCALE_N=500        containers to run at once
#   SCALE_PARALLEL=4   `run -d` / `delete` at a time while filling and emptying
#   SCALE_RUNS=10      timed runs per command (SCALE_WARMUP=2 warm-ups)
#   SCALE_OUT=FILE     the report (markdown; default bench/SCALE.md)
# Everything lives under one temp dir and one cgroup parent, shim-scale-<pid>; only those are cleaned up.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
SHIM=$REPO/dist/shim
N=${SCALE_N:-500}
PARALLEL=${SCALE_PARALLEL:-4}
RUNS=${SCALE_RUNS:-10}
WARMUP=${SCALE_WARMUP:-2}
OUT=${SCALE_OUT:-$REPO/bench/SCALE.md}

[ "$(id -u)" = 0 ] || { echo "scale: containers need root" >&2; exit 2; }
[ -x "$SHIM" ] || { echo "scale: build first (make build)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "scale: needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }

TAG=shim-scale-$$
T=$(mktemp -d /tmp/shim-scale.XXXXXX)
export SHIM_NETWORK=none SHIM_CGROUP_PARENT=$TAG
unset NODE_OPTIONS NODE_EXTRA_CA_CERTS
S="$SHIM --root $T/root --data-root $T/data"
shim() { $S "$@"; }
say() { echo "scale: $*" >&2; }

cleanup() {
	set +e
	say "cleaning up"
	ls "$T/root" 2>/dev/null | grep -v '^\.' | xargs -r -P "$PARALLEL" -n 20 sh -c 'for id; do '"$S"' delete --force "$id" >/dev/null 2>&1; done' _
	awk -v base="$T/" 'index($5, base) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
	find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -depth -type d -name "$TAG*" -exec rmdir {} + 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# What the machine allows: every container is two processes (the monitor and the sleep) and a few pids more
# while it starts.
pid_max=$(cat /proc/sys/kernel/pid_max)
threads_max=$(cat /proc/sys/kernel/threads-max)
mem_free_kib=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
say "pid_max $pid_max, threads-max $threads_max, MemAvailable $((mem_free_kib / 1024)) MiB, $N containers"

shim run --rm busybox true # the built-in image, once
shim run -d --name probe busybox sleep 100000 >/dev/null

# One hyperfine call per verb with both sizes in it is impossible (the containers are the state): each verb is
# timed at 0, its JSON kept, then again at N.
time_verbs() { # LABEL
	local label=$1
	hyperfine -N --style basic -w "$WARMUP" -r "$RUNS" --export-json "$T/verbs-$label.json" \
		-n "list ($label running)" "$S list" \
		-n "list --format json ($label running)" "$S list --format json" \
		-n "state ID ($label running)" "$S state probe" \
		-n "exec ID true ($label running)" "$S exec probe true" \
		-p "sh -c '$S delete --force victim >/dev/null 2>&1; $S run -d --name victim busybox sleep 1000 >/dev/null'" \
		-n "delete --force ID ($label running)" "$S delete --force victim" >"$T/verbs-$label.txt" 2>&1 ||
		{ cat "$T/verbs-$label.txt" >&2; exit 1; }
}

say "timing with 0 running (besides the probe)"
time_verbs 0

say "starting $N containers, $PARALLEL at a time"
start=$EPOCHREALTIME
seq 1 "$N" | xargs -P "$PARALLEL" -I{} $S run -d --name c{} busybox sleep 100000 >/dev/null
fill_s=$(echo "$EPOCHREALTIME - $start" | bc)

# Correctness: every container listed, running, and its pid really in its cgroup.
listed=$(shim list --format json)
running=$(printf '%s' "$listed" | node -e '
	const list = JSON.parse(require("fs").readFileSync(0, "utf8"));
	let bad = 0;
	for (const c of list) if (c.status !== "running" || !require("fs").existsSync(`/proc/${c.pid}`)) { bad++; console.error(`scale: ${c.id} ${c.status} pid ${c.pid}`); }
	console.log(list.filter((c) => c.status === "running").length);
	process.exit(bad ? 1 : 0);
')
[ "$running" = $((N + 1)) ] || { say "list shows $running running, expected $((N + 1))"; exit 1; }
# Every `state` ($PARALLEL at a time): running, with the pid that is really in the container's own cgroup.
check_state='
	id=$1
	pid=$('"$S"' state "$id" | node -pe "const s = JSON.parse(require(\"fs\").readFileSync(0, \"utf8\")); s.status === \"running\" ? s.pid : -1")
	if [ "$pid" -gt 0 ] && grep -q "/'"$TAG"'/$id\$" "/proc/$pid/cgroup"; then :; else echo "scale: $id: pid $pid is not running in its cgroup"; fi'
wrong_state=$(seq 1 "$N" | sed 's/^/c/' | xargs -P "$PARALLEL" -n1 sh -c "$check_state" _ | tee /dev/stderr | wc -l)
[ "$wrong_state" = 0 ] || { say "$wrong_state states wrong"; exit 1; }

# The monitors: each container's init's parent is its background monitor (a static shim-helper).
rss_total=0 rss_max=0 monitors=0
for pid in $(printf '%s' "$listed" | node -e 'for (const c of JSON.parse(require("fs").readFileSync(0, "utf8"))) console.log(c.pid)'); do
	ppid=$(awk '{ print $4 }' "/proc/$pid/stat")
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$ppid/status")
	rss_total=$((rss_total + rss)); monitors=$((monitors + 1))
	[ "$rss" -gt "$rss_max" ] && rss_max=$rss
done
mem_after_kib=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)

say "timing with $N running"
time_verbs "$N"

say "deleting $N containers, $PARALLEL at a time"
start=$EPOCHREALTIME
seq 1 "$N" | xargs -P "$PARALLEL" -I{} $S delete --force c{}
empty_s=$(echo "$EPOCHREALTIME - $start" | bc)
shim delete --force probe

# Nothing left: state, layer dirs, cgroups, mounts, processes in our cgroups.
left=$( {
	ls -A "$T/root"
	ls -A "$T/data/containers" 2>/dev/null
	find /sys/fs/cgroup -mindepth 3 -maxdepth 4 -type d -path "*/$TAG/*"
	awk -v base="$T/" 'index($5, base) == 1 { print $5 }' /proc/self/mountinfo
	grep -l "/$TAG/" /proc/[0-9]*/cgroup 2>/dev/null
	true
} | wc -l)
[ "$left" = 0 ] || { say "$left things left after deleting everything"; exit 1; }

{
	echo "# $N running containers at once (bench/scale.sh)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), shim $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?')"
	echo "Command: \`SCALE_N=$N SCALE_RUNS=$RUNS bash bench/scale.sh\`; medians of $RUNS runs (hyperfine -N, $WARMUP warm-ups)."
	echo
	echo "| command | 0 running | $N running | ratio |"
	echo "| --- | --- | --- | --- |"
	node -e '
		const [a, b] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")).results);
		const ms = (r) => (r.median * 1000).toFixed(1) + " ms";
		a.forEach((r, i) => console.log(`| ${r.command.replace(/ \(0 running\)/, "")} | ${ms(r)} | ${ms(b[i])} | ${(b[i].median / r.median).toFixed(2)} |`));
	' "$T/verbs-0.json" "$T/verbs-$N.json"
	echo
	echo "- filling: $N \`run -d\`, $PARALLEL at a time: ${fill_s} s; emptying: $N \`delete --force\`, $PARALLEL at a time: ${empty_s} s"
	echo "- correctness: \`list\` showed $running running ($N + the probe); every \`state\` said running with a pid in its own cgroup; nothing left after the deletes"
	echo "- monitors: $monitors, RSS total $((rss_total / 1024)) MiB, mean $((rss_total / monitors)) KiB, max $rss_max KiB; MemAvailable fell by $(((mem_free_kib - mem_after_kib) / 1024)) MiB with $N running"
	echo "- limits here: pid_max $pid_max, threads-max $threads_max"
} >"$OUT"
cat "$OUT"
