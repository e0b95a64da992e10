#!/usr/bin/env bash
# A short run of the benchmark, for correctness only: both processes run,
# every call is checked, no timing is asserted. Once with untyped JSON calls
# and once with generated stubs over protobuf payloads; then with a load
# generator that answers wrongly, which the server must notice.
set -euo pipefail
BENCH="$1"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# run_pair [VAR=value...]: runs the server (output in $out) and the load
# generator, both with the given environment, and sets server_rc.
run_pair() {
  env "$@" BENCH_C=4 BENCH_K=8 BENCH_N=500 BENCH_WARMUP=50 "$BENCH" server >"$out" &
  local spid=$! port=""
  for _ in $(seq 1 400); do
    port=$(awk '/LISTENING/{print $2; exit}' "$out"); [ -n "$port" ] && break; sleep 0.05
  done
  [ -n "$port" ] || { echo "bench server did not start"; exit 1; }
  env "$@" BENCH_C=4 BENCH_PORT="$port" BENCH_RUN_TIMEOUT_S=120 "$BENCH" client &
  local cpid=$!
  server_rc=0
  wait "$spid" || server_rc=$?
  wait "$cpid"
  cat "$out"
}

for payloads in ${BENCH_QUICK_PAYLOADS:-json typed-protobuf}; do
  run_pair BENCH_PAYLOADS="$payloads"
  [ "$server_rc" -eq 0 ] || { echo "server exited $server_rc"; exit 1; }
  grep -q '^MEASURE$' "$out"
  grep -q '"errors":0' "$out"
  grep -q "\"payloads\":\"$payloads\"" "$out"
done

# The callers check every answer: a load generator that answers every tenth
# call wrongly (BENCH_TAMPER=1) makes the server count errors and exit 3.
for callers in ${BENCH_QUICK_CALLERS:-async threads}; do
  run_pair BENCH_PAYLOADS=json BENCH_CALLERS="$callers" BENCH_TAMPER=1
  [ "$server_rc" -eq 3 ] || { echo "server exited $server_rc with wrong answers, not 3"; exit 1; }
  grep -q '"errors":50,' "$out" || { echo "expected 50 wrong answers counted"; exit 1; }
done
echo "bench quick test: ok"
