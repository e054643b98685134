#!/usr/bin/env bash
# make bench: shim side by side with runc, crun, bubblewrap and a bare unshare+chroot, then bench/RESULTS.md.
#
# Every comparison is ONE hyperfine call holding all the peers, so they share whatever else the machine is
# doing at that moment; bench/report.mjs compares medians within a call only. Everything lives in one temp
# dir; every container is deleted, every cgroup (named shim-bench-<pid>...) removed, nothing left mounted.
#
# Every measured command runs in a clean, stated environment: no NODE_* or UV_* variables (Node reads them at
# every start; a sandbox's NODE_EXTRA_CA_CERTS alone makes each start parse a CA bundle, ~80 ms, which no fresh
# Debian does and shim never needs) and no SHIM_HELPER. What was removed is written into the report, and when the
# invoking environment had NODE_* set, `node -e 0` is also timed with them, beside the clean one.
#
#   BENCH_RUNS=20      timed runs per command (the 50-container groups: BENCH_MANY_RUNS, 3)
#   BENCH_WARMUP=3     warm-up runs per command
#   BENCH_SCALE=1      also: create time with 0, 100 and 500 containers already running (long)
#   BENCH_OUT=FILE     where the report goes (bench/RESULTS.md)
#   BENCH_KEEP=DIR     also copy the raw hyperfine exports there
# A quick check that it all works (not for conclusions): BENCH_RUNS=3 BENCH_WARMUP=1 BENCH_MANY_RUNS=1 make bench
set -euo pipefail

# --- the environment every measured command inherits (hyperfine passes its own on) -------------------------
INVOKING_NODE_ENV=()
REMOVED_ENV=()
while IFS= read -r name; do
	case $name in NODE_*) INVOKING_NODE_ENV+=("$name=${!name}") ;; esac
	REMOVED_ENV+=("$name")
	unset "$name"
done < <(compgen -e | grep -E '^(NODE_|UV_|SHIM_HELPER$|SHIM_CGROUP_PARENT$)' || true)

# runc, crun and bwrap run without a network: so do shim's docker-style runs, except in section 3c, which
# measures what the default bridge network adds (bench/network.sh).
export SHIM_NETWORK=none

REPO=$(cd "$(dirname "$0")/.." && pwd)
SHIM=$REPO/dist/shim
HELPER=$REPO/dist/shim-helper
RUNS=${BENCH_RUNS:-20}
WARMUP=${BENCH_WARMUP:-3}
MANY_RUNS=${BENCH_MANY_RUNS:-3}
OUT=${BENCH_OUT:-$REPO/bench/RESULTS.md}

[ "$(id -u)" = 0 ] || { echo "bench: containers need root" >&2; exit 2; }
[ -x "$SHIM" ] && [ -x "$HELPER" ] || { echo "bench: build first (make build)" >&2; exit 2; }

install_missing() {
	local missing=() package
	for package in "$@"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "bench: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
install_missing runc crun bubblewrap hyperfine jq

TAG=shim-bench-$$
T=$(mktemp -d /tmp/shim-bench.XXXXXX)
RES=$T/results
NOTES=$RES/notes.txt
mkdir -p "$RES" "$T/shim-root" "$T/data" "$T/runc" "$T/crun"
export SHIM_CGROUP_PARENT=$TAG
: >"$NOTES"
: >"$T/pids"

note() { echo "bench: $*" >&2; echo "$*" >>"$NOTES"; }
shim() { "$SHIM" --root "$T/shim-root" --data-root "$T/data" "$@"; }

cleanup() {
	set +e
	local pid id
	while read -r pid; do [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; done <"$T/pids"
	for id in $(runc --root "$T/runc" list -q 2>/dev/null); do runc --root "$T/runc" delete -f "$id" >/dev/null 2>&1; done
	for id in $(crun --root "$T/crun" list -q 2>/dev/null); do
		unshare -m sh -c "umount /sys/fs/cgroup/unified 2>/dev/null; crun --root $T/crun delete -f $id" >/dev/null 2>&1
	done
	if has_verb delete; then
		for id in $(ls "$T/shim-root" 2>/dev/null); do shim delete --force "$id" >/dev/null 2>&1; done
	fi
	# Anything still mounted under the temp dir (deepest first), then every cgroup this run named.
	awk -v base="$T/" 'index($5, base) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
	find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -depth -type d -name "$TAG*" -exec rmdir {} + 2>/dev/null
	find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d -name "$TAG*" | sed 's/^/bench: left behind: cgroup /' >&2
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

VERBS=$("$SHIM" --help | awk '/^Commands:/ { on = 1; next } on && /^ *shim [a-z]/ { print $2 } on && /^$/ { on = 0 }')
has_verb() { printf '%s\n' "$VERBS" | grep -qx "$1"; }

# hyperfine NAME [hyperfine options...] -- then pairs of (label, command): one call, one JSON per group.
bench_group() {
	local group=$1 runs=$2
	shift 2
	local args=() label
	while [ $# -gt 0 ]; do args+=(-n "$1" "$2"); shift 2; done
	echo "bench: $group" >&2
	hyperfine -N --style basic -w "$WARMUP" -r "$runs" --export-json "$RES/$group.json" "${args[@]}" >"$RES/$group.txt" 2>&1 ||
		{ cat "$RES/$group.txt" >&2; note "$group: hyperfine failed (see above)"; return 0; }
}

# --- the rootfs and the bundle every tool runs ------------------------------------------------------------
shim run --rm busybox true
B=$T/bundle
mkdir -p "$B"
runc spec --bundle "$B"
# The built-in image's one layer is a complete busybox rootfs: everyone runs a copy of it.
layer=$(shim image inspect busybox | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).LayerDirs[0])')
cp -a "$layer" "$B/rootfs"
node -e '
	const [file, ...args] = process.argv.slice(1);
	const config = JSON.parse(require("fs").readFileSync(file, "utf8"));
	config.process.terminal = false;
	config.process.args = args;
	// shim drops ambient capabilities that are not also inheritable (with a warning); nobody gets them here.
	config.process.capabilities.ambient = [];
	require("fs").writeFileSync(file, JSON.stringify(config, null, 2));
' "$B/config.json" /bin/true
# The same config with a long-running init, for the verbs that need a live container.
B_SLEEP=$T/bundle-sleep
mkdir -p "$B_SLEEP"
node -e '
	const [from, to, rootfs] = process.argv.slice(1);
	const config = JSON.parse(require("fs").readFileSync(from, "utf8"));
	config.process.args = ["/bin/sleep", "1000"];
	config.root.path = rootfs;
	require("fs").writeFileSync(to, JSON.stringify(config, null, 2));
' "$B/config.json" "$B_SLEEP/config.json" "$B/rootfs"

# --- the helper's spec, as `shim run --bundle` sends it ---------------------------------------------------
BENCH_SPEC_OUT=$T/spec.bin BENCH_REAL_HELPER=$HELPER SHIM_HELPER=$REPO/bench/capture-helper.sh shim run --bundle "$B" "$TAG-cap"
node "$REPO/bench/write-spec.mjs" "$T/spec.bin" "$T/spec-nocg.bin" >"$T/spec-cgroups.txt"
# The shim removed that container's cgroups after the run (and their parent with its last container); the
# replayed spec needs them back. Level by level: a new v1 cpuset directory starts empty and refuses tasks until
# it has its parent's cpus and mems, so each level is filled before the next is made.
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

UNSHARE=(unshare --pid --fork --mount --uts --ipc --net)
CRUN_WRAP="umount /sys/fs/cgroup/unified"
BWRAP="bwrap --unshare-pid --unshare-net --unshare-ipc --unshare-uts --ro-bind $B/rootfs / --proc /proc --dev /dev"
# bwrap again, with what runc spec's config mounts beyond that (mqueue, /sys, the masked and read-only paths
# that exist here), so the helper can also be compared with a bwrap doing much the same mounting.
BWRAP_MOUNTS="$BWRAP --mqueue /dev/mqueue --ro-bind /sys /sys $(node -e '
	const { existsSync, statSync } = require("fs");
	const config = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	const args = [];
	for (const path of config.linux.maskedPaths ?? []) {
		if (!existsSync(path)) continue;
		args.push(statSync(path).isDirectory() ? `--tmpfs ${path}` : `--ro-bind /dev/null ${path}`);
	}
	for (const path of config.linux.readonlyPaths ?? []) if (existsSync(path)) args.push(`--ro-bind ${path} ${path}`);
	console.log(args.join(" "));
' "$B/config.json")"

# --- 1. one container running /bin/true -------------------------------------------------------------------
bench_group run "$RUNS" \
	"floor: unshare + chroot" "${UNSHARE[*]} chroot $B/rootfs /bin/true" \
	"node -e 0" "node -e 0" \
	"bwrap" "$BWRAP /bin/true" \
	"bwrap + runc spec's mounts" "$BWRAP_MOUNTS /bin/true" \
	"helper (cgroups) + wrapper" "sh -c 'exec $HELPER 3 4 3<$T/spec.bin 4>/dev/null'" \
	"helper (no cgroups) + wrapper" "sh -c 'exec $HELPER 3 4 3<$T/spec-nocg.bin 4>/dev/null'" \
	"helper wrapper alone" "sh -c ': 3<$T/spec.bin 4>/dev/null'" \
	"node + spawn of the helper (floor for a Node CLI)" "node $REPO/bench/spawn-floor.cjs $HELPER $T/spec-nocg.bin" \
	"runc run" "runc --root $T/runc run -b $B $TAG-r" \
	"crun run + wrapper" "unshare -m sh -c '$CRUN_WRAP && exec crun --root $T/crun run -b $B $TAG-c'" \
	"crun wrapper alone" "unshare -m sh -c '$CRUN_WRAP'" \
	"shim run --bundle" "$SHIM --root $T/shim-root --data-root $T/data run --bundle $B $TAG-s" \
	"shim run --rm busybox true" "$SHIM --root $T/shim-root --data-root $T/data run --rm busybox true"

# --- 1b. Node's own start-up, with the invoking environment's NODE_* beside without ----------------------
# Only when the invoking environment had any: it shows what the figures taken with them (before this was clean)
# were inflated by. Both go through `env`, so the only difference is the variables. Never used for a verdict.
if [ ${#INVOKING_NODE_ENV[@]} -gt 0 ]; then
	quoted='' names='' escaped_quote="'\''"
	for assignment in "${INVOKING_NODE_ENV[@]}"; do
		quoted="$quoted '${assignment//\'/$escaped_quote}'"
		names="$names ${assignment%%=*}"
	done
	bench_group node-env "$RUNS" \
		"node -e 0 (clean)" "env node -e 0" \
		"node -e 0 with the invoking${names}" "env$quoted node -e 0"
fi

# --- 2. the lifecycle verbs, each alone, beside runc's (those `shim --help` lists) ------------------------
# Each timed command runs against a container its --prepare (untimed) put in the right state; runc's too.
S="$SHIM --root $T/shim-root --data-root $T/data"
RC="runc --root $T/runc"
if has_verb create && has_verb state && has_verb delete; then
	shim create --bundle "$B_SLEEP" "$TAG-st" >/dev/null
	runc --root "$T/runc" create -b "$B_SLEEP" "$TAG-st" >/dev/null
	bench_group state "$RUNS" \
		"node -e 0" "node -e 0" \
		"shim state" "$S state $TAG-st" \
		"runc state" "$RC state $TAG-st"
	shim delete --force "$TAG-st" >/dev/null 2>&1 || true
	runc --root "$T/runc" delete -f "$TAG-st" >/dev/null 2>&1 || true
else
	note "state: not measured, \`shim --help\` lists no state (or create/delete) verb on this build"
fi
# prepare_for TOOL VERB: the untimed steps that leave container $TAG-v ready for VERB.
prepare_for() {
	local cli=$S force=--force bundle=--bundle steps
	[ "$1" = runc ] && cli=$RC force=-f bundle=-b
	steps="$cli delete $force $TAG-v >/dev/null 2>&1; true"
	case $2 in
		start) steps="$steps && $cli create $bundle $B_SLEEP $TAG-v" ;;
		kill) steps="$steps && $cli create $bundle $B_SLEEP $TAG-v && $cli start $TAG-v" ;;
		delete) steps="$steps && $cli create $bundle $B_SLEEP $TAG-v && $cli start $TAG-v && $cli kill $TAG-v KILL && sleep 0.3" ;;
	esac
	echo "sh -c '$steps'"
}
verb_command() { # TOOL VERB
	local cli=$S bundle=--bundle
	[ "$1" = runc ] && cli=$RC bundle=-b
	case $2 in
		create) echo "$cli create $bundle $B_SLEEP $TAG-v" ;;
		kill) echo "$cli kill $TAG-v KILL" ;;
		*) echo "$cli $2 $TAG-v" ;;
	esac
}
for verb in create start kill delete; do
	if ! has_verb create || ! has_verb "$verb" || ! has_verb delete; then
		note "$verb: not measured, \`shim --help\` lists no $verb (or create/delete) verb on this build"
		continue
	fi
	echo "bench: $verb" >&2
	hyperfine -N --style basic -w "$WARMUP" -r "$RUNS" --export-json "$RES/$verb.json" \
		-p true -n "node -e 0" "node -e 0" \
		-p "$(prepare_for shim "$verb")" -n "shim $verb" "$(verb_command shim "$verb")" \
		-p "$(prepare_for runc "$verb")" -n "runc $verb" "$(verb_command runc "$verb")" >"$RES/$verb.txt" 2>&1 ||
		{ cat "$RES/$verb.txt" >&2; note "$verb: hyperfine failed"; }
	shim delete --force "$TAG-v" >/dev/null 2>&1 || true
	runc --root "$T/runc" delete -f "$TAG-v" >/dev/null 2>&1 || true
done

# --- 3. exec (the exec branch's script) -------------------------------------------------------------------
if [ -x "$REPO/bench/exec.sh" ] || [ -f "$REPO/bench/exec.sh" ]; then
	# Its hyperfine JSON goes with the others (section 3 of RESULTS.md reads $RES/exec*.json).
	FLOOR_CMD="node $REPO/bench/spawn-floor.cjs $HELPER $T/spec-nocg.bin" RUNS=$RUNS JSON=$RES/exec.json bash "$REPO/bench/exec.sh" >"$RES/exec.txt" 2>&1 || note "exec: bench/exec.sh failed"
else
	note "exec: not measured, bench/exec.sh (from the exec branch) is not here yet"
fi

# --- 3a. podman run with shim, runc and crun as podman's runtime (bench/podman.sh, one hyperfine call) ------
if command -v podman >/dev/null && command -v conmon >/dev/null; then
	echo "bench: podman" >&2
	RUNS=$RUNS WARMUP=$WARMUP JSON=$RES/podman.json CALLS=$RES/podman-calls.md bash "$REPO/bench/podman.sh" >"$RES/podman.txt" 2>&1 ||
		note "podman: bench/podman.sh failed (its output: podman.txt in the raw results)"
else
	note "podman: not measured, podman or conmon is not installed"
fi

# --- 3c. what networking adds: shim (CNI) and podman (netavark), bridge minus none, one call ----------------
if command -v podman >/dev/null && [ -x /usr/lib/cni/bridge ]; then
	SHIM_NETWORK= RUNS=$RUNS WARMUP=$WARMUP JSON=$RES/network.json bash "$REPO/bench/network.sh" >"$RES/network.txt" 2>&1 ||
		{ cat "$RES/network.txt" >&2; note "network: bench/network.sh failed"; }
else
	note "network: not measured (needs podman and containernetworking-plugins)"
fi

# --- 3b. where the time goes: the stage timings `--debug` prints, a few runs, interleaved with node -e 0 -------
# Each round runs `node -e 0`, `shim --debug run --rm busybox true` and (with a detached container to enter)
# `shim --debug exec ID true`, one after another, so the three share the machine's noise. Each one's --debug
# lines and its wall time (bash's clock around it) go to breakdown/KIND-N.txt; bench/report.mjs takes the
# medians of what it recognises there and skips what it does not.
BREAKDOWN_RUNS=${BENCH_BREAKDOWN_RUNS:-$(( RUNS < 10 ? RUNS : 10 ))}
mkdir -p "$RES/breakdown"
usec() { local t=${1//[.,]/}; echo $((10#$t)); }
timed() { # KIND N COMMAND...: runs it, its stderr and "bench: wall_ms X" (or "bench: exit N") into the file
	local file=$RES/breakdown/$1-$2.txt start end status=0
	shift 2
	start=$EPOCHREALTIME
	"$@" >/dev/null 2>"$file" || status=$?
	end=$EPOCHREALTIME
	echo "bench: wall_ms $(( $(usec "$end") - $(usec "$start") ))e-3" >>"$file"
	[ "$status" = 0 ] || echo "bench: exit $status" >>"$file"
}
echo "bench: breakdown ($BREAKDOWN_RUNS rounds)" >&2
exec_id=''
if has_verb exec && "$SHIM" run --help 2>/dev/null | grep -qE -- '--detach|-d,'; then
	exec_id=$TAG-dbg
	shim run -d --name "$exec_id" busybox sleep 1000 >/dev/null || { note "breakdown: the container for exec did not start"; exec_id=''; }
else
	note "breakdown: exec not measured, this build has no exec verb or no run -d"
fi
for round in $(seq "$BREAKDOWN_RUNS"); do
	timed node "$round" node -e 0
	timed run "$round" shim --debug run --rm busybox true
	[ -z "$exec_id" ] || timed exec "$round" shim --debug exec "$exec_id" true
done
[ -z "$exec_id" ] || shim delete --force "$exec_id" >/dev/null || note "breakdown: could not delete $exec_id (cleanup retries)"

# --- 4. fifty containers, one at a time and four at a time ------------------------------------------------
many() { # TOOL PARALLEL: the command line that runs 50 containers of /bin/true
	local xa="seq 50 | xargs -P $2 -I{}"
	case $1 in
		shim) echo "sh -c '$xa $S run --bundle $B $TAG-m{}'" ;;
		runc) echo "sh -c '$xa $RC run -b $B $TAG-m{}'" ;;
		crun) echo "unshare -m sh -c '$CRUN_WRAP && $xa crun --root $T/crun run -b $B $TAG-m{}'" ;;
		bwrap) echo "sh -c '$xa $BWRAP /bin/true'" ;;
	esac
}
for parallel in 1 4; do
	WARMUP=$((WARMUP < 1 ? WARMUP : 1)) bench_group "many-p$parallel" "$MANY_RUNS" \
		"50 x bwrap" "$(many bwrap $parallel)" \
		"50 x runc run" "$(many runc $parallel)" \
		"50 x crun run" "$(many crun $parallel)" \
		"50 x shim run --bundle" "$(many shim $parallel)"
done

# --- 5. sizes and the detached monitor's memory -----------------------------------------------------------
{
	for binary in "$HELPER" "$(command -v runc)" "$(command -v crun)" "$(command -v bwrap)" "$(command -v conmon || true)"; do
		[ -n "$binary" ] && [ -e "$binary" ] || continue
		kind=$(file -b "$binary" | grep -oE 'statically linked|dynamically linked|static-pie linked' | head -1)
		printf '%s\t%s\t%s\n' "$(basename "$binary")" "$(stat -c %s "$binary")" "${kind:-?}"
	done
} >"$RES/sizes.tsv"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
if "$SHIM" run --help 2>/dev/null | grep -qE -- '--detach|-d,'; then
	id=$TAG-rss
	shim run -d --name "$id" busybox sleep 1000 >/dev/null
	init=$(shim state "$id" | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).pid')
	monitor=$(awk '{ print $4 }' "/proc/$init/stat")
	printf 'shim monitor\t%s\t%s\n' "$(rss_kib "$monitor")" "$(tr '\0' ' ' <"/proc/$monitor/cmdline")" >>"$RES/rss.tsv"
	shim delete --force "$id" >/dev/null
else
	note "detached monitor RSS: not measured, \`shim run\` has no -d on this build"
fi
install_missing conmon
if command -v conmon >/dev/null; then
	id=$TAG-conmon
	mkdir -p "$T/conmon/exits" "$T/conmon/sock"
	conmon --cid "$id" --cuuid "$id" --name "$id" --runtime "$(command -v runc)" --runtime-arg "--root=$T/runc" \
		--bundle "$B_SLEEP" --exit-dir "$T/conmon/exits" --socket-dir-path "$T/conmon/sock" \
		--container-pidfile "$T/conmon/ctr.pid" --conmon-pidfile "$T/conmon/conmon.pid" \
		--log-path "$T/conmon/ctr.log" --log-level error --syslog=false >/dev/null 2>&1 &
	echo $! >>"$T/pids"
	for _ in $(seq 50); do [ -s "$T/conmon/conmon.pid" ] && [ -s "$T/conmon/ctr.pid" ] && break; sleep 0.1; done
	if [ -s "$T/conmon/conmon.pid" ]; then
		conmon_pid=$(cat "$T/conmon/conmon.pid")
		echo "$conmon_pid" >>"$T/pids"
		printf 'conmon (with runc)\t%s\t%s\n' "$(rss_kib "$conmon_pid")" "conmon $(conmon --version | head -1)" >>"$RES/rss.tsv"
		runc --root "$T/runc" delete -f "$id" >/dev/null 2>&1 || true
	else
		note "conmon: did not start its container (see $T/conmon/ctr.log)"
	fi
fi

# --- 6. create time with containers already running (optional, long) -------------------------------------
if [ "${BENCH_SCALE:-}" = 1 ]; then
	if has_verb create && has_verb start && has_verb delete; then
		running=0
		for target in 0 100 500; do
			while [ "$running" -lt "$target" ]; do
				shim create --bundle "$B_SLEEP" "$TAG-bg$running" >/dev/null && shim start "$TAG-bg$running"
				running=$((running + 1))
			done
			echo "bench: scale-$target" >&2
			hyperfine -N --style basic -w "$WARMUP" -r "$RUNS" --export-json "$RES/scale-$target.json" \
				-p "$(prepare_for shim create)" -n "shim create, $target running" "$(verb_command shim create)" \
				>"$RES/scale-$target.txt" 2>&1 || note "scale-$target: hyperfine failed"
			shim delete --force "$TAG-v" >/dev/null 2>&1 || true
		done
		for i in $(seq 0 $((running - 1))); do shim delete --force "$TAG-bg$i" >/dev/null 2>&1; done
	else
		note "scale: not measured, \`shim --help\` lists no create/start/delete on this build"
	fi
else
	note "scale (create with 0/100/500 running): skipped, set BENCH_SCALE=1"
fi

# --- 6b. seccomp: the filter's cost per syscall against libseccomp's, and the compile time -----------------
bash "$REPO/bench/seccomp.sh" >"$RES/seccomp.md" 2>"$RES/seccomp.err" || note "seccomp: bench/seccomp.sh failed (see seccomp.err)"

# --- 7. start-up cost of each dependency ------------------------------------------------------------------
echo '{"ociVersion":"1.2.0","id":"x","status":"running","pid":1,"bundle":"/b"}' >"$T/state.json"
mapfile -t startup < <(node "$REPO/bench/startup-costs.mjs" "$T/startup")
startup_args=("node -e 0" "node -e 0")
for line in "${startup[@]}"; do startup_args+=("${line%%$'\t'*}" "node ${line#*$'\t'}"); done
startup_args+=("shim --version (yargs, whole tree)" "$SHIM --version" "shim --help" "$SHIM --help")
export BENCH_STATE_FILE=$T/state.json
bench_group startup "$RUNS" "${startup_args[@]}"

# --- 8. what the helper does: syscalls (and cycles, where perf can count them) ----------------------------
strace -c -f -S calls -o "$RES/helper-strace.txt" sh -c "exec $HELPER 3 4 3<$T/spec-nocg.bin 4>/dev/null" || true
if command -v perf >/dev/null; then
	perf stat -r 20 -o "$RES/helper-perf.txt" sh -c "exec $HELPER 3 4 3<$T/spec-nocg.bin 4>/dev/null" >/dev/null 2>&1 ||
		note "perf stat: not available here"
fi

# --- the report -------------------------------------------------------------------------------------------
{
	echo "nproc=$(nproc)"
	echo "kernel=$(uname -r)"
	echo "cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "node=$(node --version)"
	echo "shim=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?')"
	echo "runc=$(runc --version | head -1)"
	echo "crun=$(crun --version | head -1)"
	echo "bwrap=$(bwrap --version)"
	echo "hyperfine=$(hyperfine --version)"
	echo "runs=$RUNS"
	echo "warmup=$WARMUP"
	echo "breakdown_runs=$BREAKDOWN_RUNS"
	echo "env_removed=${REMOVED_ENV[*]}"
	for assignment in "${INVOKING_NODE_ENV[@]}"; do echo "env_invoking=$assignment"; done
	echo "env_node=$(compgen -e | grep -E '^(NODE_|UV_)' | tr '\n' ' ')"
	echo "verbs=$(echo $VERBS)"
} >"$RES/machine.txt"
node "$REPO/bench/report.mjs" "$RES" >"$OUT"
[ -s "$RES/seccomp.md" ] && { echo; cat "$RES/seccomp.md"; } >>"$OUT"
[ -n "${BENCH_KEEP:-}" ] && mkdir -p "$BENCH_KEEP" && cp -a "$RES/." "$BENCH_KEEP/"
echo "bench: wrote ${OUT#$REPO/}" >&2
