#!/bin/bash
# Regenerates helper-c/fuzz/corpus/spec: real Spec frames as dist/shim sends them to the helper, captured by
# helper-c/fuzz/capture-spec.sh (SHIM_HELPER) while this script drives the CLI through the kinds of work it
# does: docker-style runs (default seccomp, many flags, -d with restart), a bundle run with podman's seccomp
# profile, create/start, exec, a user namespace, live devices and mounts, cp in and out. Needs root and
# dist/ built. Everything lives in one temporary root, removed at the end.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=$REPO/helper-c/fuzz/corpus/spec
T=$(mktemp -d /tmp/shim-fuzz-seeds.XXXXXX)
TAG=shim-fuzz-seeds-$$
cleanup() {
  for id in $("$REPO/dist/shim" --root "$T/run" list -q 2>/dev/null); do shimc delete --force "$id" || true; done
  findmnt -rn -o TARGET | grep "^$T/" | sort -r | xargs -r -n1 umount -l || true
  for h in /sys/fs/cgroup/*/; do [ -d "$h$TAG" ] && find "$h$TAG" -depth -type d -exec rmdir {} + 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
export SHIM_HELPER=$REPO/helper-c/fuzz/capture-spec.sh FUZZ_REAL_HELPER=$REPO/dist/shim-helper FUZZ_SPEC_DIR=$T/specs
export SHIM_CGROUP_PARENT=$TAG SHIM_NETWORK=none
mkdir -p "$T/specs" "$T/run" "$T/data"
shimc() { "$REPO/dist/shim" --root "$T/run" --data-root "$T/data" "$@"; }
spec() { export FUZZ_SPEC_NAME=$1; }

# An OCI bundle as runc spec writes it, over a busybox rootfs.
bundle() {
  local dir=$T/$1
  mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/dev" "$dir/rootfs/sys" "$dir/rootfs/tmp"
  cp /bin/busybox "$dir/rootfs/bin/busybox"
  for applet in sh true sleep cat ls; do ln -sf busybox "$dir/rootfs/bin/$applet"; done
  runc spec --bundle "$dir"
  jq '.process.terminal = false' "$dir/config.json" > "$dir/c" && mv "$dir/c" "$dir/config.json"
  echo "$dir"
}

spec docker-run; shimc run --rm busybox true
spec docker-run-flags
shimc run --rm --name flags -v "$T:/host:ro" --tmpfs /scratch:size=1m --ulimit nofile=100:200 -e A=1 -w /tmp \
  --init --read-only --device /dev/null:/dev/mynull --cap-add NET_ADMIN --cap-drop CHOWN --user nobody \
  --hostname fuzz --memory 64m --pids-limit 50 busybox true
spec docker-run-privileged; shimc run --rm --privileged busybox true
spec docker-seccomp-podman; shimc run --rm --security-opt seccomp=/usr/share/containers/seccomp.json busybox true
spec docker-userns; shimc run --rm --uidmap 0:100000:65536 busybox true
spec docker-detach-restart; shimc run -d --name bg --restart on-failure:2 busybox sleep 30 >/dev/null
spec docker-exec; shimc exec bg true
spec live-device-add; shimc device add bg /dev/zero:/dev/myzero:rw
spec live-device-rm; shimc device rm bg /dev/myzero
mkdir -p "$T/share"
spec live-mount-add; shimc mount add bg "$T/share" /mnt/share
spec live-mount-rm; shimc mount rm bg /mnt/share
echo hello > "$T/hello.txt"
spec docker-cp-in; shimc cp "$T/hello.txt" bg:/tmp/
spec docker-cp-out; shimc cp bg:/tmp/hello.txt "$T/back.txt"
shimc rm -f bg >/dev/null

B=$(bundle bundle-podman)
jq --slurpfile p /usr/share/containers/seccomp.json '.linux.seccomp = $p[0]' "$B/config.json" > "$B/c" && mv "$B/c" "$B/config.json"
spec bundle-seccomp-podman; shimc run --bundle "$B" podman-seccomp
B=$(bundle bundle-create)
jq '.process.args = ["sleep", "30"]' "$B/config.json" > "$B/c" && mv "$B/c" "$B/config.json"
spec bundle-create; shimc create --bundle "$B" created
shimc start created
spec bundle-exec; shimc exec created true
shimc kill created KILL; sleep 0.3; shimc delete --force created
B=$(bundle bundle-userns)
jq '.linux.namespaces += [{"type":"user"}] | .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}]
    | .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]' "$B/config.json" > "$B/c" && mv "$B/c" "$B/config.json"
chown -R 100000:100000 "$B/rootfs"
spec bundle-userns; shimc run --bundle "$B" userns

rm -f "$T/specs"/.frame-*
mkdir -p "$OUT"
rm -f "$OUT"/*
cp "$T/specs"/* "$OUT/"
ls -l "$OUT"
