#!/bin/sh
# Stands in for shim-helper (SHIM_HELPER=bench/capture-helper.sh) once: keeps the spec frame the shim sends on
# fd 3 in $BENCH_SPEC_OUT, then runs the real helper on it, so the run goes on as usual. The benchmarks then
# replay exactly the spec `shim run` produced, without Node in front of the helper.
set -eu
cat <&3 >"$BENCH_SPEC_OUT"
exec "$BENCH_REAL_HELPER" "$@" 3<"$BENCH_SPEC_OUT"
