#!/bin/bash
# make fuzz: runs each libFuzzer harness (build/fuzz/fuzz-NAME, from helper-c/fuzz/fuzz-NAME.c) for SECONDS
# from the committed seeds (helper-c/fuzz/corpus/NAME) plus what earlier runs found (build/fuzz/corpus/NAME),
# then prints one line per harness: executions, exec/s, coverage, crashes. A crash leaves its input in
# build/fuzz/crash-NAME-* and fails the run; commit it under test/helper/fuzz-crashes/ with the fix.
#   bash scripts/fuzz.sh SECONDS [NAME...]        FUZZ_JOBS=N runs N harnesses at once (default 1)
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_EACH=${1:-60}
shift || true
NAMES=("$@")
[ ${#NAMES[@]} -gt 0 ] || NAMES=($(cd "$REPO/helper-c/fuzz" && ls fuzz-*.c | sed 's/^fuzz-//; s/\.c$//'))
OUT=$REPO/build/fuzz
# Logs, crash files and the growing corpus (FUZZ_WORK: another place, so a short run never mixes with a campaign).
WORK=${FUZZ_WORK:-$OUT}
JOBS=${FUZZ_JOBS:-1}
mkdir -p "$WORK"

run_one() {
  local name=$1 corpus=$WORK/corpus/$1
  mkdir -p "$corpus"
  # -max_len: the largest seed decides otherwise; archives need room for a header, a pax record and data.
  "$OUT/fuzz-$name" -max_total_time="$SECONDS_EACH" -max_len=65536 -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=1024 -artifact_prefix="$WORK/crash-$name-" "$corpus" "$REPO/helper-c/fuzz/corpus/$name" \
    >"$WORK/log-$name.txt" 2>&1
}

summary() {
  local name=$1 log=$WORK/log-$1.txt status=$2
  local runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  local rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
  local cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  local ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  local crashes=$(ls "$WORK"/crash-"$name"-* 2>/dev/null | wc -l)
  printf 'fuzz-%-8s %s: %s executions, %s exec/s, coverage %s edges (%s features), %s crash file(s)\n' \
    "$name" "$([ "$status" = 0 ] && echo ok || echo FAILED)" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$crashes"
  [ "$status" = 0 ] || tail -40 "$log" | grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==' | head -8
}

failed=0
declare -A name_of=()
pids=()
# A finished harness's status goes to build/fuzz/.status-NAME; at most JOBS run at once.
reap() { local pid=$1; wait "$pid"; echo $? >"$WORK/.status-${name_of[$pid]}"; }
for name in "${NAMES[@]}"; do
  rm -f "$WORK"/crash-"$name"-*
  run_one "$name" &
  name_of[$!]=$name
  pids+=($!)
  if [ ${#pids[@]} -ge "$JOBS" ]; then reap "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do reap "$pid"; done
for name in "${NAMES[@]}"; do
  status=$(cat "$WORK/.status-$name")
  rm -f "$WORK/.status-$name"
  summary "$name" "$status"
  [ "$status" = 0 ] || failed=1
done
exit $failed
