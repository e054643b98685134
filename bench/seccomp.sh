#!/usr/bin/env bash
# The seccomp filter's cost, side by side (make bench runs it; alone: bash bench/seccomp.sh > out.md).
#
#   1. BPF instructions each filter runs per syscall: both runtimes' programs are read back from the kernel
#      (bench/seccomp-dump.c, PTRACE_SECCOMP_GET_FILTER) while a container runs with podman's default profile,
#      and run on every x86_64 syscall number (bench/seccomp-cost.mjs). Exact, and free of the machine's noise.
#   2. per syscall, inside a container: bench/seccomp-loop.c makes cheap syscalls in a tight loop, under
#      shim and under runc (libseccomp 2.5.4), each with podman's default profile and with none. The filter's
#      cost is filtered minus unfiltered, per runtime; the ratio is shim's cost over libseccomp's. On a busy
#      machine, or one where a syscall costs microseconds (a VM), this is noise around the instruction counts.
#   3. compile time of the built-in default profile and of podman's: cold (a fresh process's first compile),
#      warm, and through the on-disk cache (bench/seccomp-compile.mjs); every run pays one of them.
#
#   SECCOMP_ITERATIONS=100000  syscalls per round (5 rounds, the fastest kept); SECCOMP_REPEATS=2 containers
#   per runtime and profile, interleaved, the fastest kept.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SHIM=$REPO/dist/shim
ITERATIONS=${SECCOMP_ITERATIONS:-100000}
REPEATS=${SECCOMP_REPEATS:-2}
CALLS=(getppid getpid gettid sched_yield umask getegid personality fcntl)
TAG=shim-bench-seccomp-$$
T=$(mktemp -d /tmp/shim-bench-seccomp.XXXXXX)

cleanup() {
	for id in $(ls "$T/runc" 2>/dev/null); do runc --root "$T/runc" delete --force "$id" >/dev/null 2>&1 || true; done
	for id in $(ls "$T/shim-root" 2>/dev/null); do "$SHIM" --root "$T/shim-root" delete --force "$id" >/dev/null 2>&1 || true; done
	for hierarchy in /sys/fs/cgroup/*/; do rmdir "$hierarchy$TAG" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$T/bundle/rootfs/bin" "$T/bundle/rootfs/proc" "$T/bundle/rootfs/dev" "$T/bundle/rootfs/sys" "$T/shim-root" "$T/runc"
gcc -static -O2 -o "$T/bundle/rootfs/bin/seccomp-loop" "$REPO/bench/seccomp-loop.c"
gcc -O2 -o "$T/seccomp-dump" "$REPO/bench/seccomp-dump.c"
(cd "$T/bundle" && runc spec)
"$SHIM" seccomp compile /usr/share/containers/seccomp.json --format profile >"$T/podman-profile.json" 2>/dev/null

write_config() { # PROFILE_FILE|none ID
	local profile=$1 id=$2 filter='.'
	[ "$profile" != none ] && filter=".linux.seccomp = \$profile[0]"
	jq --slurpfile profile "${profile/none//dev/null}" --arg id "$id" --arg cg "/$TAG/$id" \
		--argjson args "$(printf '%s\n' /bin/seccomp-loop "$ITERATIONS" "${CALLS[@]}" | jq -R . | jq -s .)" \
		"$filter | .process.args = \$args | .process.terminal = false | .process.noNewPrivileges = true | .linux.cgroupsPath = \$cg" \
		"$T/bundle/config.json.orig" >"$T/bundle/config.json"
}
cp "$T/bundle/config.json" "$T/bundle/config.json.orig"

run_one() { # RUNTIME PROFILE -> "name ns" lines
	local runtime=$1 profile=$2 id="sc-$1-$RANDOM$RANDOM"
	write_config "$profile" "$id"
	if [ "$runtime" = shim ]; then
		SHIM_CGROUP_PARENT=$TAG "$SHIM" --root "$T/shim-root" run --bundle "$T/bundle" "$id" 2>/dev/null
	else
		runc --root "$T/runc" run --bundle "$T/bundle" "$id" </dev/null
		runc --root "$T/runc" delete --force "$id" >/dev/null 2>&1 || true
	fi
}

# --- 1. the programs, read back from the kernel, run on every syscall number ---------------------------------
write_config "$T/podman-profile.json" dump
jq '.process.args = ["/bin/seccomp-loop", "1000000000", "sched_yield"]' "$T/bundle/config.json" >"$T/bundle/config.json.dump"
mv "$T/bundle/config.json.dump" "$T/bundle/config.json"
SHIM_CGROUP_PARENT=$TAG "$SHIM" --root "$T/shim-root" run -d --bundle "$T/bundle" dump-shim </dev/null >/dev/null 2>&1
runc --root "$T/runc" run -d --bundle "$T/bundle" dump-runc </dev/null >/dev/null 2>&1
"$T/seccomp-dump" "$(jq -r .pid "$T/shim-root/dump-shim/state.json")" >"$T/shim.bpf"
"$T/seccomp-dump" "$(runc --root "$T/runc" state dump-runc | jq -r .pid)" >"$T/runc.bpf"
"$SHIM" --root "$T/shim-root" delete --force dump-shim >/dev/null 2>&1 || true
runc --root "$T/runc" delete --force dump-runc >/dev/null 2>&1 || true

echo "## seccomp: BPF instructions run per syscall (podman's default profile)"
echo
echo "Both programs as the kernel holds them (read back with PTRACE_SECCOMP_GET_FILTER from a running container),"
echo "run on each x86_64 syscall number with zero arguments. \`bash bench/seccomp.sh\`."
echo
node "$REPO/bench/seccomp-cost.mjs" "$T/shim.bpf" "$T/runc.bpf" "${CALLS[@]}" close read write futex epoll_wait
echo

# --- 2. wall clock, per syscall ------------------------------------------------------------------------------
declare -A best
for repeat in $(seq "$REPEATS"); do
	for runtime in shim runc; do
		for profile in none "$T/podman-profile.json"; do
			key=$runtime-$([ "$profile" = none ] && echo none || echo podman)
			while read -r name ns; do
				current=${best[$key/$name]:-}
				if [ -z "$current" ] || awk "BEGIN { exit !($ns < $current) }"; then best[$key/$name]=$ns; fi
			done < <(run_one "$runtime" "$profile")
		done
	done
done

echo "## seccomp: the filter's cost per syscall, inside a container"
echo
echo "podman's default profile (/usr/share/containers/seccomp.json as podman writes it for a container with runc's"
echo "default capabilities), $ITERATIONS calls per round, fastest of 5 rounds and of $REPEATS containers per runtime."
echo "Overhead = with the profile minus without, same runtime. \`bash bench/seccomp.sh\` on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r)."
echo
echo "| syscall | no filter (shim) | shim filter | shim overhead | no filter (runc) | libseccomp (runc) | libseccomp overhead | shim / libseccomp |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for name in "${CALLS[@]}" mix; do
	awk -v n="$name" -v a="${best[shim-none/$name]}" -v b="${best[shim-podman/$name]}" -v c="${best[runc-none/$name]}" -v d="${best[runc-podman/$name]}" 'BEGIN {
		so = b - a; ro = d - c
		ratio = (ro > 0) ? sprintf("%.2f", so / ro) : "n/a"
		printf "| %s | %.1f ns | %.1f ns | %.1f ns | %.1f ns | %.1f ns | %.1f ns | %s |\n", n, a, b, so, c, d, ro, ratio
	}'
done
echo
echo "Programs: shim $("$SHIM" seccomp compile /usr/share/containers/seccomp.json --format json 2>/dev/null | jq -r .instructions) instructions (binary search); libseccomp's is a linear chain (runc 1.1 does not ask for libseccomp's binary tree)."
echo
# --- 3. compile time -----------------------------------------------------------------------------------------
# Cold (a fresh process's first compile), warm, and through the on-disk cache, in fresh processes: every run
# pays one of these (bench/seccomp-compile.mjs).
ROUNDS=9 node "$REPO/bench/seccomp-compile.mjs"
