#!/usr/bin/env bash
# The soak test: SECONDS (default 180) of randomized calls from an in-process
# server to client processes that are killed and restarted, then checks that
# every call ended exactly once, none hung, and the server's memory and
# threads came back to their baseline (docs/RELIABILITY.md).
# Usage: scripts/soak.sh [SECONDS]
# Environment: SOAK_CLIENTS, SOAK_SEED (to replay a failure's choices) and
# the other SOAK_* knobs listed in tests/soak/sserpc_soak.cc.
# Prints progress on stderr and the final "SOAK {json}" line on stdout; exits
# non-zero if a check failed.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-180}"
B="${SSERPC_BUILD_DIR:-build}"
if [ -f "$B/CMakeCache.txt" ]; then
  cmake --build "$B" --target sserpc-soak -j"$(nproc)" >/dev/null
else
  bash scripts/build.sh >/dev/null
fi
SOAK="$B/tests/soak/sserpc-soak"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "soak: $(date -u +%Y-%m-%dT%H:%M:%SZ) $SOAK server, ${DURATION}s" >&2
rc=0
SOAK_DURATION_S="$DURATION" "$SOAK" server >"$out" || rc=$?
cat "$out"
if [ "$rc" -ne 0 ] || ! grep -q '^SOAK {"pass":true' "$out"; then
  echo "soak: FAILED (exit $rc); rerun with the seed above (SOAK_SEED=...) to replay its choices" >&2
  exit 1
fi
echo "soak: passed" >&2
