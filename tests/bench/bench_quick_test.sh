#!/usr/bin/env bash
# A short run of the benchmark, for correctness only: both processes run,
# every call is checked, no timing is asserted. Once with untyped JSON calls
# and once with generated stubs over protobuf payloads.
set -euo pipefail
BENCH="$1"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for payloads in ${BENCH_QUICK_PAYLOADS:-json typed-protobuf}; do
  export BENCH_PAYLOADS=$payloads
  BENCH_C=4 BENCH_K=8 BENCH_N=500 BENCH_WARMUP=50 "$BENCH" server >"$out" &
  spid=$!
  port=""
  for _ in $(seq 1 400); do
    port=$(awk '/LISTENING/{print $2; exit}' "$out"); [ -n "$port" ] && break; sleep 0.05
  done
  [ -n "$port" ] || { echo "bench server did not start"; exit 1; }
  BENCH_C=4 BENCH_PORT=$port BENCH_RUN_TIMEOUT_S=120 "$BENCH" client &
  cpid=$!
  wait "$spid"
  wait "$cpid"
  cat "$out"
  grep -q '^MEASURE$' "$out"
  grep -q '"errors":0' "$out"
  grep -q "\"payloads\":\"$payloads\"" "$out"
done

# The callers check every answer: a load generator that answers every tenth
# call wrongly (BENCH_TAMPER=1) makes the server count errors and exit 3.
for callers in ${BENCH_QUICK_CALLERS:-async threads}; do
  BENCH_PAYLOADS=json BENCH_CALLERS=$callers BENCH_C=4 BENCH_K=8 BENCH_N=500 \
    BENCH_WARMUP=50 "$BENCH" server >"$out" &
  spid=$!
  port=""
  for _ in $(seq 1 400); do
    port=$(awk '/LISTENING/{print $2; exit}' "$out"); [ -n "$port" ] && break; sleep 0.05
  done
  [ -n "$port" ] || { echo "bench server did not start"; exit 1; }
  BENCH_PAYLOADS=json BENCH_TAMPER=1 BENCH_C=4 BENCH_PORT=$port \
    BENCH_RUN_TIMEOUT_S=120 "$BENCH" client &
  cpid=$!
  rc=0
  wait "$spid" || rc=$?
  wait "$cpid"
  cat "$out"
  [ "$rc" -eq 3 ] || { echo "server exited $rc with wrong answers, not 3"; exit 1; }
  grep -q '"errors":50,' "$out" || { echo "expected 50 wrong answers counted"; exit 1; }
done
echo "bench quick test: ok"

