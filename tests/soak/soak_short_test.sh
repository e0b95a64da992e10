#!/usr/bin/env bash
# A few seconds of the soak (scripts/soak.sh runs it for minutes): the same
# chaos and checks, fewer clients. Passes iff the soak's own checks pass.
set -euo pipefail
SOAK="$1"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
SOAK_DURATION_S=${SOAK_DURATION_S:-5} SOAK_CLIENTS=${SOAK_CLIENTS:-4} \
  SOAK_WARMUP_S=1 SOAK_CHAOS_MS=300 SOAK_RATE=500 SOAK_ASYNC=64 "$SOAK" server >"$out" || rc=$?
cat "$out"
grep -q '^SOAK {"pass":true' "$out"
exit "$rc"
