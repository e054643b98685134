#!/usr/bin/env bash
# What networking adds to a docker-style run: `shim run --rm --net bridge busybox true` minus `--net none`,
# beside the same difference for podman with its own stack (netavark), all four in ONE hyperfine call so they
# share whatever else the machine is doing. Called by bench/run.sh (section 3c); alone: `bash bench/network.sh`.
#
# Both get a bridge network of their own, made here and removed on exit: shim's default network ("bridge",
# made before first use with this run's bridge name and subnet) and a podman network in a network-config dir
# of this run (netavark's bridge driver, as podman's default network "podman" uses; the machine's own podman
# networks are never touched). Nothing but this run's containers sends anything.
#
#   RUNS=10 WARMUP=2   hyperfine runs and warm-ups per command
#   JSON=FILE          also export hyperfine's JSON there
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
SHIM=$REPO/dist/shim
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
[ "$(id -u)" = 0 ] || { echo "bench/network.sh: containers need root" >&2; exit 2; }
[ -x "$SHIM" ] || { echo "bench/network.sh: build first (make build)" >&2; exit 2; }

TAG=shim-bench-net-$$
T=$(mktemp -d /tmp/shim-bench-net.XXXXXX)
S="$SHIM --root $T/shim-root --data-root $T/data"
export SHIM_CGROUP_PARENT=$TAG
# podman's built-in defaults, not the machine's containers.conf; runc, as crun refuses this hybrid cgroup host.
: >"$T/containers.conf"
export CONTAINERS_CONF=$T/containers.conf
mkdir -p "$T/podman-tmp"
P="podman --runtime runc --root $T/podman-storage --runroot $T/podman-run --network-config-dir $T/podman-net --tmpdir $T/podman-tmp --cgroup-manager cgroupfs --events-backend file --log-level error"
# Root here lacks CAP_SYS_RESOURCE: podman's default nofile/nproc (above the hard limits) would fail.
PRUN="run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --cgroup-parent /$TAG"

cleanup() {
	set +e
	for id in $(ls "$T/shim-root" 2>/dev/null); do $S delete --force "$id" >/dev/null 2>&1; done
	$S network rm bridge >/dev/null 2>&1
	$P rm -af >/dev/null 2>&1
	$P network rm -f shimbench >/dev/null 2>&1
	$P system reset -f >/dev/null 2>&1
	awk -v base="$T/" 'index($5, base) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
	find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -depth -type d -name "$TAG*" -exec rmdir {} + 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Subnets off the host's routes and off podman's and shim's defaults: 10.24x.y.0/24 from the pid.
SHIM_SUBNET=10.$((240 + $$ % 8)).$(($$ % 256)).0/24
POD_SUBNET=10.$((248 + $$ % 8)).$(($$ % 256)).0/24
$S network create --subnet "$SHIM_SUBNET" --bridge "shb$(($$ % 1000000))" bridge >/dev/null
$S run --rm --net none busybox true
# The same busybox rootfs as a podman image.
layer=$($S image inspect busybox | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).LayerDirs[0])')
tar -C "$layer" -c . | $P import -q - localhost/shim-bench-busybox >/dev/null
$P network create --subnet "$POD_SUBNET" shimbench >/dev/null

echo "bench: network (shim $SHIM_SUBNET, podman $POD_SUBNET)" >&2
hyperfine -N --style basic -w "$WARMUP" -r "$RUNS" ${JSON:+--export-json "$JSON"} \
	-n "shim run --rm --net bridge busybox true" "$S run --rm --net bridge busybox true" \
	-n "shim run --rm --net none busybox true" "$S run --rm --net none busybox true" \
	-n "podman run --rm (netavark bridge) true" "$P $PRUN --network shimbench localhost/shim-bench-busybox true" \
	-n "podman run --rm --net none true" "$P $PRUN --network none localhost/shim-bench-busybox true"

# Where shim's time goes: one run with --debug (each plugin's exec, timed by shim).
$S --debug run --rm --net bridge busybox true 2>&1 | grep -E 'cni:|run: state' >&2 || true
