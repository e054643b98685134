#!/usr/bin/env bash
# `podman run --rm --net none IMAGE true` with shim as podman's runtime, beside runc and crun as the runtime, in
# ONE hyperfine call; then what podman and conmon themselves cost (each runtime's own run of a like bundle,
# measured in the same call). A separate script so bench/run.sh can call it: `bash bench/podman.sh` (as root,
# after `make build`) prints the medians and ratios. Then each runtime call podman makes, timed through a wrapper
# runtime (CALL_RUNS runs); then ROUNDS interleaved rounds of one run per runtime (below: why).
#
#   RUNS=N (default 20)  WARMUP=N (default 3)  JSON=FILE (also keep hyperfine's JSON there)
#   CALL_RUNS=N (default 8)  ROUNDS=N (default 20)  CALLS=FILE (the last two parts there)
#
# podman's storage, run root and tmpdir are private to a temp dir; the image is shim's built-in busybox
# (`shim image export`, `podman load`). Every runtime gets the same flags: the ulimits root can set here (no
# CAP_SYS_RESOURCE), and seccomp=unconfined for all three while shim takes no seccomp profile (so nobody pays
# for one), podman's default profile for all three once `shim features` says it does.
# crun 1.8.1 refuses this hybrid host while /sys/fs/cgroup/unified is mounted, so its podman runs inside
# `unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec podman ...'`; that wrapper is timed alone in the
# same call and subtracted ("crun, net of the wrapper").
set -euo pipefail
cd "$(dirname "$0")/.."
for name in $(compgen -e | grep -E '^(NODE_|UV_|SHIM_HELPER$|SHIM_CGROUP_PARENT$)' || true); do unset "$name"; done

RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
SHIM=$PWD/dist/shim
[ "$(id -u)" = 0 ] || { echo "bench/podman.sh: containers need root" >&2; exit 2; }
for tool in hyperfine podman conmon runc crun jq unshare; do
	command -v "$tool" >/dev/null || { echo "bench/podman.sh: $tool is not installed" >&2; exit 2; }
done
[ -x "$SHIM" ] || { echo "bench/podman.sh: build first (make build)" >&2; exit 2; }

T=$(mktemp -d /tmp/shim-bench-podman.XXXXXX)
PARENT=shim-bench-podman-$$
P="podman --root $T/storage --runroot $T/runroot --storage-driver overlay --cgroup-manager cgroupfs --events-backend file --tmpdir $T/tmp"
cleanup() {
	set +e
	$P rm -fa -t 0 >/dev/null 2>&1
	runc --root "$T/runc" delete -f bench-p >/dev/null 2>&1
	"$SHIM" --root "$T/shim-root" delete --force bench-p >/dev/null 2>&1
	awk -v base="$T/" 'index($5, base) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
	find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -depth -type d -path "*/$PARENT*" -exec rmdir {} + 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/tmp"
export CONTAINERS_CONF=$T/containers.conf
: >"$CONTAINERS_CONF"

"$SHIM" --data-root "$T/data" image export busybox "$T/busybox.tar"
$P load -q -i "$T/busybox.tar" >/dev/null
seccomp=(--security-opt seccomp=unconfined)
[ "$("$SHIM" features | jq -r '.linux.seccomp.enabled')" = true ] && seccomp=()
RUN="run --rm --net none --ulimit nofile=20000:20000 --ulimit nproc=1024:1024 --cgroup-parent /$PARENT ${seccomp[*]} localhost/busybox true"
# Every runtime once before timing, so a failure shows here and not as a hyperfine error.
for runtime in "$SHIM" runc; do $P --runtime "$runtime" $RUN || { echo "bench/podman.sh: podman with $runtime failed" >&2; exit 1; }; done
unshare -m sh -c "umount /sys/fs/cgroup/unified && exec $P --runtime crun $RUN" ||
	{ echo "bench/podman.sh: podman with crun failed" >&2; exit 1; }

# The runtimes alone, on a bundle like podman's (the same busybox layer, runc spec's namespaces, no network).
B=$T/bundle
mkdir -p "$B"
runc spec --bundle "$B"
cp -a "$("$SHIM" --data-root "$T/data" image inspect busybox | jq -r '.LayerDirs[0]')" "$B/rootfs"
jq '.process.terminal = false | .process.args = ["true"] | .process.capabilities.ambient = [] | .root.readonly = false' "$B/config.json" >"$T/config.json"
mv "$T/config.json" "$B/config.json"

JSON_OUT=${JSON:-$T/podman.json}
hyperfine -N --style basic -w "$WARMUP" -r "$RUNS" --export-json "$JSON_OUT" \
	-n "podman run, runtime shim" "$P --runtime $SHIM $RUN" \
	-n "podman run, runtime runc" "$P --runtime runc $RUN" \
	-n "podman run, runtime crun + wrapper" "unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec $P --runtime crun $RUN'" \
	-n "crun wrapper alone" "unshare -m sh -c 'umount /sys/fs/cgroup/unified'" \
	-n "shim run --bundle alone" "$SHIM --root $T/shim-root run --bundle $B bench-p" \
	-n "runc run alone" "runc --root $T/runc run -b $B bench-p" \
	-n "podman version (podman's own start-up)" "$P version" >&2

echo "## podman run --rm --net none busybox true with shim, runc and crun as the runtime (bash bench/podman.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), shim $(git -C "$(dirname "$SHIM")/.." rev-parse --short HEAD 2>/dev/null || echo '?'), $RUNS runs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo
jq -r '
	def m(n): (.results[] | select(.command == n) | .median * 1000);
	(m("podman run, runtime crun + wrapper") - m("crun wrapper alone")) as $crun
	| m("podman run, runtime shim") as $shim | m("podman run, runtime runc") as $runc
	| "podman run --rm --net none busybox true (medians, one hyperfine call):",
	  "  runtime shim   \($shim | floor) ms",
	  "  runtime runc   \($runc | floor) ms",
	  "  runtime crun   \($crun | floor) ms (net of the unshare wrapper)",
	  "  shim / runc = \($shim / $runc * 100 | floor / 100)x, shim / crun = \($shim / $crun * 100 | floor / 100)x",
	  "  slowest: \([["shim", $shim], ["runc", $runc], ["crun", $crun]] | max_by(.[1]) | .[0])",
	  "podman and conmon themselves, about: \(($runc - m("runc run alone")) | floor) ms (podman run with runc, less one runc run of a like bundle)",
	  "shim run --bundle alone \(m("shim run --bundle alone") | floor) ms, runc run alone \(m("runc run alone") | floor) ms",
	  "podman version alone (podman start-up): \(m("podman version (podman'"'"'s own start-up)") | floor) ms"
' "$JSON_OUT"

# --- each runtime call podman makes, timed: a wrapper runtime per runtime logs the verb and its wall time (the
# wrapper's own sh and clock reads are in every figure alike). conmon passes none of our environment, so each
# wrapper names its runtime itself.
CALL_RUNS=${CALL_RUNS:-8}
mkdir -p "$T/wrap"
wrapper() { # NAME RUNTIME
	printf '#!/bin/sh\nstart=$(date +%%s%%N)\n%s "$@"\nstatus=$?\necho "$(( ($(date +%%s%%N) - start) / 1000 )) $status $*" >>%s\nexit $status\n' \
		"$2" "$T/wrap/$1.log" >"$T/wrap/$1"
	chmod +x "$T/wrap/$1"
}
wrapper shim "$SHIM"
wrapper runc "$(command -v runc)"
wrapper crun "$(command -v crun)"
for _ in $(seq "$CALL_RUNS"); do
	$P --runtime "$T/wrap/shim" $RUN
	$P --runtime "$T/wrap/runc" $RUN
	unshare -m sh -c "umount /sys/fs/cgroup/unified && exec $P --runtime $T/wrap/crun $RUN"
done
# Into CALLS, or after the summary above (not through /dev/stdout, which would reopen a redirected stdout and
# truncate it).
if [ -n "${CALLS:-}" ]; then exec 4>"$CALLS"; else exec 4>&1; echo; fi
node - "$T/wrap" "$CALL_RUNS" >&4 <<'EOF'
const { readFileSync } = require('node:fs');
const [dir, runs] = process.argv.slice(2);
const median = (values) => { const s = [...values].sort((a, b) => a - b); return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2; };
const verbsOf = (runtime) => {
  const byVerb = new Map();
  for (const line of readFileSync(`${dir}/${runtime}.log`, 'utf8').trim().split('\n')) {
    const [micros, , ...args] = line.split(' ');
    // The verb: the first word that is neither an option nor an option's value.
    const verb = args.find((arg, index) => !arg.startsWith('-') && !(index > 0 && /^--(root|log|log-format|cgroup-manager)$/.test(args[index - 1])));
    if (!byVerb.has(verb)) byVerb.set(verb, []);
    byVerb.get(verb).push(Number(micros) / 1000);
  }
  return byVerb;
};
const table = new Map(['shim', 'runc', 'crun'].map((runtime) => [runtime, verbsOf(runtime)]));
const verbs = [...new Set([...table.values()].flatMap((byVerb) => [...byVerb.keys()]))];
const cell = (runtime, verb) => { const values = table.get(runtime).get(verb); return values ? `${median(values).toFixed(1)} ms (${values.length})` : '-'; };
const total = (runtime) => [...table.get(runtime).values()].reduce((sum, values) => sum + median(values) * values.length, 0) / Number(runs);
console.log(`Each runtime call of a \`podman run --rm\`, ${runs} runs per runtime, timed by a wrapper runtime (medians; how many calls in brackets):`);
console.log('');
console.log('| call | shim | runc | crun |');
console.log('| --- | ---: | ---: | ---: |');
for (const verb of verbs) console.log(`| \`${verb}\` | ${cell('shim', verb)} | ${cell('runc', verb)} | ${cell('crun', verb)} |`);
console.log(`| all the calls of one run | ${total('shim').toFixed(1)} ms | ${total('runc').toFixed(1)} ms | ${total('crun').toFixed(1)} ms |`);
EOF

# --- interleaved rounds: hyperfine runs each command's runs back to back, so a drift of the machine over the
# call (another process, the page cache, podman's storage growing) falls on one runtime more than another; on
# this 2-core VM that drift is as large as the difference being measured. Each round here runs one `podman run`
# per runtime, the order rotating from round to round, and the medians over the rounds are compared.
ROUNDS=${ROUNDS:-20}
WRAPPER_MS=$(jq -r '.results[] | select(.command == "crun wrapper alone") | .median * 1000' "$JSON_OUT")
: >"$T/rounds.log"
for round in $(seq "$ROUNDS"); do
	case $((round % 3)) in
	0) order="shim runc crun" ;;
	1) order="runc crun shim" ;;
	2) order="crun shim runc" ;;
	esac
	for runtime in $order; do
		start=$(date +%s%N)
		case $runtime in
		shim) $P --runtime "$SHIM" $RUN ;;
		runc) $P --runtime runc $RUN ;;
		crun) unshare -m sh -c "umount /sys/fs/cgroup/unified && exec $P --runtime crun $RUN" ;;
		esac
		echo "$runtime $(( ($(date +%s%N) - start) / 1000 ))" >>"$T/rounds.log"
	done
done
echo >&4
node - "$T/rounds.log" "$ROUNDS" "$WRAPPER_MS" >&4 <<'EOF2'
const { readFileSync } = require('node:fs');
const [file, rounds, wrapperMs] = process.argv.slice(2);
const median = (values) => { const s = [...values].sort((a, b) => a - b); return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2; };
const times = { shim: [], runc: [], crun: [] };
for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
  const [runtime, micros] = line.split(' ');
  times[runtime].push(Number(micros) / 1000 - (runtime === 'crun' ? Number(wrapperMs) : 0));
}
const m = Object.fromEntries(Object.entries(times).map(([runtime, values]) => [runtime, median(values)]));
// How often shim's run in a round beat runc's in the same round.
const wins = times.shim.filter((value, index) => value < times.runc[index]).length;
console.log(`Interleaved: ${rounds} rounds of one \`podman run\` per runtime, the order rotating (medians; crun net of its wrapper, ${Number(wrapperMs).toFixed(1)} ms):`);
console.log('');
console.log(`  runtime shim   ${m.shim.toFixed(0)} ms`);
console.log(`  runtime runc   ${m.runc.toFixed(0)} ms`);
console.log(`  runtime crun   ${m.crun.toFixed(0)} ms`);
console.log(`  shim / runc = ${(m.shim / m.runc).toFixed(2)}x, shim / crun = ${(m.shim / m.crun).toFixed(2)}x; shim faster than runc in ${wins} of ${rounds} rounds`);
console.log(`  slowest: ${Object.entries(m).sort((a, b) => b[1] - a[1])[0][0]}`);
EOF2
