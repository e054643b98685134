#!/usr/bin/env bash
# make bench, part two: containerd's runtime v2 path. A private containerd 1.6 (its own root, state, socket
# and config in one temp dir; no CRI, nothing on TCP; stopped by pid), shim's busybox imported with
# `ctr image import`, then, each comparison ONE hyperfine call:
#   - `ctr run --rm IMAGE ID true` through containerd-shim-shim-v2, io.containerd.runc.v2 with runc, and
#     io.containerd.runc.v2 with crun as its binary (--runc-binary);
#   - 50 containers started and removed, 4 at a time, the same three ways;
#   - memory: the total RSS of the shim side for 1, 10 and 50 running containers: shim's server(s) plus the
#     helper monitor of each container, against the runc v2 shims (one per container: ctr sets no sandbox).
# Writes bench/RESULTS-containerd.md (BENCH_CONTAINERD_OUT). The runc v2 shim puts its sockets in
# /run/containerd/s/ whatever containerd's address (its own rule, not configurable) and removes them as it
# exits; nothing else is touched outside the temp dir.
#
#   BENCH_RUNS=10 BENCH_WARMUP=2 BENCH_MANY_RUNS=3, as bench/run.sh; SHIM_CONTAINERD_LINGER_MS as the server
#   takes it (default 10000: back-to-back runs share one warm server; 0 measures a server started per run).
#   BENCH_CONTAINERD_BASELINE=DIR: another build's dist/ (a copy), timed as "shim-before" in the same hyperfine
#   calls, in a namespace of its own (the same namespace would share one server between the two builds).
#   BENCH_CONTAINERD_MEMORY=0 skips the memory part.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
SHIM=$REPO/dist/shim
SHIMV2=$REPO/dist/containerd-shim-shim-v2
RUNS=${BENCH_RUNS:-10}
WARMUP=${BENCH_WARMUP:-2}
MANY_RUNS=${BENCH_MANY_RUNS:-3}
OUT=${BENCH_CONTAINERD_OUT:-$REPO/bench/RESULTS-containerd.md}

[ "$(id -u)" = 0 ] || { echo "bench: containers need root" >&2; exit 2; }
[ -x "$SHIMV2" ] || { echo "bench: build first (make build)" >&2; exit 2; }
for tool in containerd ctr hyperfine jq runc crun; do command -v $tool >/dev/null || { echo "bench: $tool is missing (make deps)" >&2; exit 2; }; done

T=$(mktemp -d /tmp/shim-ctrd.XXXXXX)
NS=shim-bench-$$
SOCK=$T/c.sock
RES=$T/results
mkdir -p "$RES" "$T/fifo"
CONTAINERD_PID=

ctr_() { ctr --address "$SOCK" --namespace "$NS" "$@"; }

cleanup() {
	set +e
	local id
	for id in $(ctr_ task ls -q 2>/dev/null); do ctr_ task kill -s KILL "$id" >/dev/null 2>&1; done
	sleep 0.5
	for id in $(ctr_ container ls -q 2>/dev/null); do ctr_ task delete -f "$id" >/dev/null 2>&1; ctr_ container delete "$id" >/dev/null 2>&1; done
	[ -n "$CONTAINERD_PID" ] && kill "$CONTAINERD_PID" 2>/dev/null && wait "$CONTAINERD_PID" 2>/dev/null
	find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -depth -type d \( -name "$NS" -o -name "$NS-before" \) -exec rmdir {} + 2>/dev/null
	"$SHIM" --root "$T/shim-run" --data-root "$T/data" image ls >/dev/null 2>&1
	awk -v base="$T/" 'index($5, base) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$T/config.toml" <<EOF
version = 2
root = "$T/root"
state = "$T/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[debug]
  address = ""
[metrics]
  address = ""
EOF
SHIM_CONTAINERD_ROOT=$T/shim-containerd containerd --config "$T/config.toml" >"$T/containerd.log" 2>&1 &
CONTAINERD_PID=$!
for _ in $(seq 100); do ctr_ version >/dev/null 2>&1 && break; sleep 0.1; done

"$SHIM" --root "$T/shim-run" --data-root "$T/data" run --rm busybox true
"$SHIM" --root "$T/shim-run" --data-root "$T/data" image export busybox "$T/busybox.tar"
ctr_ image import --base-name docker.io/library/busybox "$T/busybox.tar" >/dev/null

RUN="ctr --address $SOCK --namespace $NS run --rm --fifo-dir $T/fifo"
BASELINE=${BENCH_CONTAINERD_BASELINE:-}
BEFORE_SINGLE=() BEFORE_BATCH=()
if [ -n "$BASELINE" ]; then
	ctr --address "$SOCK" --namespace "$NS-before" image import --base-name docker.io/library/busybox "$T/busybox.tar" >/dev/null
	RUN_BEFORE="ctr --address $SOCK --namespace $NS-before run --rm --fifo-dir $T/fifo --runtime $BASELINE/containerd-shim-shim-v2"
	BEFORE_SINGLE=(-n shim-before "$RUN_BEFORE busybox:latest b-before true")
	BEFORE_BATCH=(-n shim-before "$T/batch-before.sh")
	printf '#!/bin/sh\nseq 50 | xargs -P4 -I{} sh -c %s\n' "'$RUN_BEFORE busybox:latest m-before-{} true >/dev/null'" >"$T/batch-before.sh"
	chmod +x "$T/batch-before.sh"
fi
SHIM_RT="--runtime $SHIMV2"
RUNC_RT="--runtime io.containerd.runc.v2"
# crun 1.8 refuses this hybrid cgroup host while /sys/fs/cgroup/unified is mounted (bench/exec.sh says more):
# the runc shim runs it through a wrapper that hides that mount in a private mount namespace.
printf '#!/bin/sh\nexec unshare -m sh -c %s crun "$@"\n' \
	"'umount /sys/fs/cgroup/unified 2>/dev/null; exec $(command -v crun) \"\$@\"'" >"$T/crun-wrap"
chmod +x "$T/crun-wrap"
CRUN_RT="--runtime io.containerd.runc.v2 --runc-binary $T/crun-wrap"

echo "bench: ctr run --rm, one container" >&2
hyperfine -N --style basic -w "$WARMUP" -r "$RUNS" --export-json "$RES/single.json" \
	-n shim "$RUN $SHIM_RT busybox:latest b-shim true" "${BEFORE_SINGLE[@]}" \
	-n runc "$RUN $RUNC_RT busybox:latest b-runc true" \
	-n crun "$RUN $CRUN_RT busybox:latest b-crun true" >"$RES/single.txt"

cat >"$T/batch.sh" <<EOF
#!/bin/sh
# 50 containers started and removed, 4 at a time: \$1 is the runtime's flags, \$2 a prefix for the ids.
seq 50 | xargs -P4 -I{} sh -c '$RUN '"\$1"' busybox:latest '"\$2"'-{} true >/dev/null'
EOF
chmod +x "$T/batch.sh"
echo "bench: 50 containers, 4 at a time" >&2
hyperfine --style basic -w 0 -r "$MANY_RUNS" --export-json "$RES/batch.json" \
	-n shim "$T/batch.sh '$SHIM_RT' m-shim" "${BEFORE_BATCH[@]}" \
	-n runc "$T/batch.sh '$RUNC_RT' m-runc" \
	-n crun "$T/batch.sh '$CRUN_RT' m-crun" >"$RES/batch.txt"

# --- memory --------------------------------------------------------------------------------------------------
rss_of() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# Our side: the servers started for this containerd, and each container's helper monitor (their children).
shim_side_pids() {
	local pid
	for pid in $(pgrep -f -- "-address $SOCK .*-socket" || true); do
		echo "$pid"
		pgrep -P "$pid" || true
	done
}
runc_side_pids() { pgrep -f -- "containerd-shim-runc-v2 -namespace $NS " || true; }
sum_rss() { local total=0 pid; for pid in "$@"; do total=$((total + $(rss_of "$pid"))); done; echo "$total"; }

MEM=$RES/memory.txt
: >"$MEM"
MEM_COUNTS="1 10 50"
[ "${BENCH_CONTAINERD_MEMORY:-1}" = 0 ] && MEM_COUNTS=
for n in $MEM_COUNTS; do
	for rt in shim runc; do
		flags=$SHIM_RT; [ $rt = runc ] && flags=$RUNC_RT
		for i in $(seq "$n"); do
			ctr --address "$SOCK" --namespace "$NS" run -d --fifo-dir "$T/fifo" $flags busybox:latest "mem-$rt-$i" sleep 1000 >/dev/null
		done
		sleep 1
		if [ $rt = shim ]; then pids=$(shim_side_pids); else pids=$(runc_side_pids); fi
		count=$(echo "$pids" | grep -c . || true)
		# shellcheck disable=SC2086
		echo "$n $rt $(sum_rss $pids) $count" >>"$MEM"
		for i in $(seq "$n"); do ctr_ task kill -s KILL "mem-$rt-$i" >/dev/null 2>&1 || true; done
		sleep 1
		for i in $(seq "$n"); do ctr_ task delete "mem-$rt-$i" >/dev/null 2>&1 || true; ctr_ container delete "mem-$rt-$i" >/dev/null 2>&1 || true; done
	done
done

# --- the report ------------------------------------------------------------------------------------------------
median() { jq -r ".results[] | select(.command == \"$2\") | .median" "$1"; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f ms", s * 1000 }'; }
secs() { awk -v s="$1" 'BEGIN { printf "%.2f s", s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }
verdict() { awk -v a="$1" -v b="$2" -v goal="$3" 'BEGIN { print (a / b <= goal) ? "**met**" : "missed" }'; }

s_shim=$(median "$RES/single.json" shim); s_runc=$(median "$RES/single.json" runc); s_crun=$(median "$RES/single.json" crun)
b_shim=$(median "$RES/batch.json" shim); b_runc=$(median "$RES/batch.json" runc); b_crun=$(median "$RES/batch.json" crun)
mem() { awk -v n="$1" -v rt="$2" '$1 == n && $2 == rt { print $3 }' "$MEM"; }
procs() { awk -v n="$1" -v rt="$2" '$1 == n && $2 == rt { print $4 }' "$MEM"; }

{
	echo "# containerd: the runtime v2 path"
	echo
	echo "\`bash bench/containerd.sh\` (part of \`make bench\`) on $(date -u +%Y-%m-%d), containerd $(containerd --version | awk '{print $3}'),"
	echo "$(nproc) cores; $RUNS runs (batch: $MANY_RUNS) after $WARMUP warm-up runs; SHIM_CONTAINERD_LINGER_MS=${SHIM_CONTAINERD_LINGER_MS:-10000 (default)}."
	echo "Medians; ratios are to the runc v2 shim with runc, within the same hyperfine call."
	echo
	echo "| what | shim (containerd-shim-shim-v2) | runc v2 shim + runc | runc v2 shim + crun | shim / runc | goal |"
	echo "| --- | --- | --- | --- | --- | --- |"
	echo "| \`ctr run --rm busybox true\` | $(ms "$s_shim") | $(ms "$s_runc") | $(ms "$s_crun") | $(ratio "$s_shim" "$s_runc") | ≤ 0.5×: $(verdict "$s_shim" "$s_runc" 0.5) |"
	echo "| 50 containers, 4 at a time | $(secs "$b_shim") | $(secs "$b_runc") | $(secs "$b_crun") | $(ratio "$b_shim" "$b_runc") | ≤ 0.5×: $(verdict "$b_shim" "$b_runc" 0.5) |"
	if [ -n "$BASELINE" ]; then
		echo
		echo "shim-before ($BASELINE, same calls): \`ctr run --rm\` $(ms "$(median "$RES/single.json" shim-before)"), 50 containers $(secs "$(median "$RES/batch.json" shim-before)")."
	fi
	if [ -n "$MEM_COUNTS" ]; then
	echo
	echo "Shim-side memory with N containers running (\`sleep 1000\`), total VmRSS of the processes:"
	echo "shim's server and each container's helper monitor; the runc v2 shims (one per container: ctr sets no sandbox)."
	echo
	echo "| N | shim: RSS (processes) | runc v2 shims: RSS (processes) | shim / runc | goal |"
	echo "| --- | --- | --- | --- | --- |"
	fi
	for n in $MEM_COUNTS; do
		goal=""
		[ "$n" = 50 ] && goal="≤ 0.25×: $(verdict "$(mem $n shim)" "$(mem $n runc)" 0.25)"
		echo "| $n | $(mem $n shim) KiB ($(procs $n shim)) | $(mem $n runc) KiB ($(procs $n runc)) | $(ratio "$(mem $n shim)" "$(mem $n runc)") | $goal |"
	done
	echo
	echo "Raw hyperfine output:"
	echo
	echo '```'
	cat "$RES/single.txt" "$RES/batch.txt"
	echo '```'
} >"$OUT"
echo "bench: wrote $OUT" >&2
