#!/usr/bin/env bash
# `shim exec ID true` beside `runc exec ID true` and `crun exec ID true`, each into one running container of
# its own (busybox, `sleep`), measured with hyperfine; prints each median and its ratio to runc's.
# A separate script so that bench/run.sh can call it: `bash bench/exec.sh` (as root, after `make build`).
#
#   RUNS=N (default 50)  WARMUP=N (default 5)  JSON=FILE (also keep hyperfine's JSON there)
#   FLOOR_CMD=CMD  also time this (bench/run.sh passes the Node CLI floor, bench/spawn-floor.cjs) in the same call
#
# crun 1.8.1 cannot handle this host's cgroup v1 hybrid layout while /sys/fs/cgroup/unified is mounted, so
# its commands run in a private mount namespace with that unmounted. That wrapper (unshare + sh + umount)
# costs time of its own: it is measured alone as "crun wrapper" and subtracted in the "crun (net)" line.
# `node -e 0` is measured too: the CLI's share that no change to exec itself can remove.
set -euo pipefail
cd "$(dirname "$0")/.."
# The clean environment bench/run.sh measures in (see there): no NODE_*, UV_* or SHIM_HELPER for anything timed.
for name in $(compgen -e | grep -E '^(NODE_|UV_|SHIM_HELPER$)' || true); do unset "$name"; done

RUNS=${RUNS:-50}
WARMUP=${WARMUP:-5}
SHIM=$PWD/dist/shim
for tool in hyperfine runc crun jq unshare; do
  command -v "$tool" >/dev/null || { echo "bench/exec.sh: $tool is not installed" >&2; exit 2; }
done
[ -x "$SHIM" ] || { echo "bench/exec.sh: build first (make build)" >&2; exit 2; }

work=$(mktemp -d /tmp/shim-bench-exec.XXXXXX)
export SHIM_CGROUP_PARENT=shim-bench-exec-$$
shim_cli=''
crun_ns() { unshare -m sh -c "umount /sys/fs/cgroup/unified 2>/dev/null; exec $*"; }

cleanup() {
  set +e
  if [ -f "$work/shim/bench-shim/state.json" ]; then
    pid=$(jq -r .pid "$work/shim/bench-shim/state.json")
    [ "$pid" -gt 0 ] 2>/dev/null && kill -KILL "$pid"
  fi
  # The foreground run removes its cgroup and state once its init is gone.
  [ -n "$shim_cli" ] && wait "$shim_cli" 2>/dev/null
  runc --root "$work/runc" delete -f bench-runc >/dev/null 2>&1
  crun_ns crun --root "$work/crun" delete -f bench-crun >/dev/null 2>&1
  for dir in /sys/fs/cgroup/*/"$SHIM_CGROUP_PARENT"; do [ -d "$dir" ] && rmdir "$dir"; done
  rm -rf "$work"
}
trap cleanup EXIT

# One bundle for runc and crun: busybox, one link per applet, `sleep` as the init, no terminal.
mkdir -p "$work/bundle/rootfs/bin" "$work/bundle/rootfs/proc" "$work/bundle/rootfs/dev" "$work/bundle/rootfs/sys"
cp /bin/busybox "$work/bundle/rootfs/bin/"
for applet in $(/bin/busybox --list); do
  # The list names busybox itself, whose link would replace the binary.
  [ "$applet" = busybox ] || ln -sf busybox "$work/bundle/rootfs/bin/$applet"
done
runc spec --bundle "$work/bundle"
jq '.process.terminal = false | .process.args = ["sleep", "1000000"]' "$work/bundle/config.json" > "$work/config.json"
mv "$work/config.json" "$work/bundle/config.json"

runc --root "$work/runc" run -d --bundle "$work/bundle" bench-runc </dev/null >/dev/null
crun_ns crun --root "$work/crun" run -d --bundle "$work/bundle" bench-crun </dev/null >/dev/null
"$SHIM" --root "$work/shim" --data-root "$work/data" run --rm --name bench-shim busybox sleep 1000000 </dev/null >/dev/null 2>&1 &
shim_cli=$!
for _ in $(seq 200); do
  [ "$(jq -r .status "$work/shim/bench-shim/state.json" 2>/dev/null)" = running ] && break
  sleep 0.05
done

# Each must work once before it is timed.
"$SHIM" --root "$work/shim" --data-root "$work/data" exec bench-shim true
runc --root "$work/runc" exec bench-runc true
crun_ns crun --root "$work/crun" exec bench-crun true

json=${JSON:-$work/exec.json}
hyperfine --runs "$RUNS" --warmup "$WARMUP" -N --style basic --export-json "$json" \
  -n 'shim exec' "$SHIM --root $work/shim --data-root $work/data exec bench-shim true" \
  -n 'runc exec' "runc --root $work/runc exec bench-runc true" \
  -n 'crun exec (wrapped)' "unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun --root $work/crun exec bench-crun true'" \
  -n 'crun wrapper' "unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec true'" \
  -n 'node -e 0' "node -e 0" \
  ${FLOOR_CMD:+-n 'node + spawn of the helper (floor for a Node CLI)' "$FLOOR_CMD"} >&2

echo
jq -r '
  (.results | map({key: .command, value: (.median * 1000)}) | from_entries) as $m
  | ($m["crun exec (wrapped)"] - $m["crun wrapper"]) as $crun
  | "median ms (ratio to runc exec)",
    "  shim exec   \($m["shim exec"] * 100 | round / 100)  (\($m["shim exec"] / $m["runc exec"] * 100 | round / 100)x)",
    "  runc exec   \($m["runc exec"] * 100 | round / 100)  (1x)",
    "  crun (net)  \($crun * 100 | round / 100)  (\($crun / $m["runc exec"] * 100 | round / 100)x)   [wrapped \($m["crun exec (wrapped)"] * 100 | round / 100), wrapper alone \($m["crun wrapper"] * 100 | round / 100)]",
    "  node -e 0   \($m["node -e 0"] * 100 | round / 100)   (the floor under any shim command)"
' "$json"
