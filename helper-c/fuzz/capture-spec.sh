#!/bin/sh
# Stands in for shim-helper (SHIM_HELPER=helper-c/fuzz/capture-spec.sh): keeps the Spec the shim sends on fd 3
# (the frame's body, without its 4-byte length) as a new file in $FUZZ_SPEC_DIR, then runs the real helper
# ($FUZZ_REAL_HELPER) on the same frame, so the container runs as usual. Used by scripts/fuzz-seeds.sh.
set -eu
n=$(ls "$FUZZ_SPEC_DIR" | wc -l)
frame=$FUZZ_SPEC_DIR/.frame-$$
# Exactly one frame: the shim may keep the descriptor open afterwards.
head -c 4 <&3 >"$frame"
len=$(od -An -tu4 "$frame" | tr -d ' ')
head -c "$len" <&3 >>"$frame"
tail -c +5 "$frame" >"$FUZZ_SPEC_DIR/$(printf '%02d' "$n")-${FUZZ_SPEC_NAME:-spec}"
exec "$FUZZ_REAL_HELPER" "$@" 3<"$frame"
