#!/usr/bin/env bash
# Runs the reverse-echo benchmark scenarios, each several times, and prints
# the median of each figure. Usage: scripts/bench.sh [S1|S2|S3|quick]...
#   S1: 1 client, 1 call at a time, 2000 calls
#   S2: 16 clients, 64 calls in flight, 20000 calls
#   S3: 1000 clients connected, S2's traffic over 16 of them, 10000 calls
#   quick: a short correctness run (used by the test suite)
# RUNS (default 3) sets the repetitions.
set -euo pipefail
cd "$(dirname "$0")/.."
B="${SSERPC_BUILD_DIR:-build}"
[ -x "$B/tests/bench/sserpc-bench" ] || bash scripts/build.sh >/dev/null
BENCH="$B/tests/bench/sserpc-bench"
RUNS="${RUNS:-3}"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

run_once() {  # C K N -> RESULT json on stdout
  local c=$1 k=$2 n=$3 out
  out=$(mktemp)
  BENCH_C=$c BENCH_K=$k BENCH_N=$n "$BENCH" server >"$out" &
  local spid=$!
  local port=""
  for _ in $(seq 1 400); do
    port=$(awk '/LISTENING/{print $2; exit}' "$out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  BENCH_C=$c BENCH_PORT=$port BENCH_RUN_TIMEOUT_S=600 "$BENCH" client &
  local cpid=$!
  local rc=0
  wait "$spid" || rc=$?
  wait "$cpid" || true
  grep '^RESULT ' "$out" | sed 's/^RESULT //'
  rm -f "$out"
  return $rc
}

median() {  # field, json lines on stdin
  python3 -c '
import json, statistics, sys
vals = [json.loads(l)[sys.argv[1]] for l in sys.stdin if l.strip()]
print(statistics.median(vals))' "$1"
}

scenario() {  # name C K N
  local name=$1 c=$2 k=$3 n=$4 results=""
  for r in $(seq 1 "$RUNS"); do
    line=$(run_once "$c" "$k" "$n")
    echo "  $name run $r: $line" >&2
    results+="$line"$'\n'
  done
  printf '%s: C=%s K=%s N=%s  calls/s %s  p50 %s ms  p99 %s ms  errors %s  server peak RSS %s MB\n' \
    "$name" "$c" "$k" "$n" \
    "$(median calls_per_s <<<"$results")" "$(median p50_ms <<<"$results")" \
    "$(median p99_ms <<<"$results")" "$(median errors <<<"$results")" \
    "$(median server_peak_rss_mb <<<"$results")"
}

[ $# -gt 0 ] || set -- S1 S2 S3
for s in "$@"; do
  case "$s" in
    S1) scenario S1 1 1 2000 ;;
    S2) scenario S2 16 64 20000 ;;
    S3) scenario S3 1000 64 10000 ;;
    quick) RUNS=1 scenario quick 4 8 500 ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
done
