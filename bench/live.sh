#!/usr/bin/env bash
# Live changes to one running container (busybox `sleep`), measured with hyperfine: `shim device add` + `rm`
# of /dev/null as /dev/xvdb (helper mknod, cgroup2 program load + attach, v1 rule, state write, and the same
# back), and `shim mount add` + `rm` of a host directory (open_tree, setns, move_mount; umount). Each command is
# one pair, so nothing accumulates. `bash bench/live.sh` as root after `make build`.
#
#   RUNS=N (default 30)  WARMUP=N (default 3)  JSON=FILE (also keep hyperfine's JSON there)
set -euo pipefail
cd "$(dirname "$0")/.."
for name in $(compgen -e | grep -E '^(NODE_|UV_|SHIM_HELPER$)' || true); do unset "$name"; done

RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
SHIM=$PWD/dist/shim
for tool in hyperfine jq; do
  command -v "$tool" >/dev/null || { echo "bench/live.sh: $tool is not installed" >&2; exit 2; }
done
[ -x "$SHIM" ] || { echo "bench/live.sh: build first (make build)" >&2; exit 2; }

work=$(mktemp -d /tmp/shim-bench-live.XXXXXX)
export SHIM_CGROUP_PARENT=shim-bench-live-$$
S="$SHIM --root $work/run --data-root $work/data"
cleanup() {
  set +e
  $S delete --force bench-live >/dev/null 2>&1
  for dir in /sys/fs/cgroup/*/"$SHIM_CGROUP_PARENT"; do [ -d "$dir" ] && rmdir "$dir"; done
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/src"
$S run -d --name bench-live busybox sleep 100000 >/dev/null
hyperfine --runs "$RUNS" --warmup "$WARMUP" --style basic ${JSON:+--export-json "$JSON"} \
  -n 'device add + rm' "$S device add bench-live /dev/null:/dev/xvdb && $S device rm bench-live /dev/xvdb" \
  -n 'mount add + rm' "$S mount add bench-live $work/src /mnt/src && $S mount rm bench-live /mnt/src" \
  -n 'exec true (for scale)' "$S exec bench-live true"
