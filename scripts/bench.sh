#!/usr/bin/env bash
# Runs the reverse-echo benchmark scenarios, each several times, and prints
# the median of each figure. Usage: scripts/bench.sh [S1|S2|S3|quick]...
#   S1: 1 client, 1 call at a time, 2000 calls
#   S2: 16 clients, 64 calls in flight, 20000 calls
#   S3: 1000 clients connected, S2's traffic over 16 of them, 10000 calls
#   S4: 10,000 clients connected (the scale scenario): the server's idle CPU
#       over 10 s with all of them connected, then S3's traffic
#   quick: a short correctness run (used by the test suite)
# RUNS (default 3) sets the repetitions. BENCH_CALLERS, BENCH_INLINE and
# BENCH_PAYLOADS pass through (see docs/BENCHMARKS.md). BENCH_PIN=1 runs the
# server on CPU 0 and the load generator on CPU 1 (taskset) instead of
# letting both processes share every core.
#
# BENCH_AB=<another build directory> compares two builds side by side: runs
# of this build and of the other alternate (each pair's first run by turns),
# and the medians of both are printed with the median of the per-pair
# ratios (this / other).
# BENCH_AB=socketio runs the same workload on socket.io 4.8 over WebSocket
# (tests/bench/socketio, installed with npm on first use) as the other
# side: the comparison issue 5's targets are stated as. Give it a long
# BENCH_WARMUP (20000): with 200 warm-up calls V8 is still compiling it.
# On a shared machine only such interleaved comparisons mean much; use
# RUNS of 8 or more (the same binary against itself gives ratios of
# 0.9-1.1 per pair).
set -euo pipefail
cd "$(dirname "$0")/.."
B="${SSERPC_BUILD_DIR:-build}"
[ -x "$B/tests/bench/sserpc-bench" ] || bash scripts/build.sh >/dev/null
BENCH="$B/tests/bench/sserpc-bench"
RUNS="${RUNS:-3}"
OTHER="" OTHER_NAME="other build"
if [ "${BENCH_AB:-}" = socketio ]; then
  bash tests/bench/socketio/install.sh
  OTHER="tests/bench/socketio/bench.js" OTHER_NAME="socket.io"
  if [ -z "${BENCH_WARMUP:-}" ]; then
    echo "bench: 200 warm-up calls leave socket.io's JIT cold (2-4x slower" \
      "than warm); BENCH_WARMUP=20000 compares with a warm socket.io" >&2
  fi
elif [ -n "${BENCH_AB:-}" ]; then
  OTHER="$BENCH_AB/tests/bench/sserpc-bench"
  [ -x "$OTHER" ] || { echo "bench: no $OTHER (build it first)" >&2; exit 2; }
fi
# Each process holds one socket per client: as many descriptors as allowed.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# S4 needs ~2 threads per client across the two processes: make sure the
# kernel allows them (as root; otherwise say what is missing).
raise_kernel_limits() {  # clients
  local need_pids=$(( 4 * $1 + 4096 )) need_maps=$(( 8 * $1 + 65536 ))
  local pids maps
  pids=$(cat /proc/sys/kernel/pid_max) maps=$(cat /proc/sys/vm/max_map_count)
  if [ "$pids" -lt "$need_pids" ]; then
    sysctl -qw kernel.pid_max="$need_pids" 2>/dev/null ||
      echo "bench: kernel.pid_max is $pids; $need_pids recommended" >&2
  fi
  if [ "$maps" -lt "$need_maps" ]; then
    sysctl -qw vm.max_map_count="$need_maps" 2>/dev/null ||
      echo "bench: vm.max_map_count is $maps; $need_maps recommended" >&2
  fi
  if [ "$(ulimit -n)" -lt $(( $1 + 1000 )) ]; then
    echo "bench: only $(ulimit -n) file descriptors per process" >&2
  fi
}

SERVER_PIN=() CLIENT_PIN=()
if [ "${BENCH_PIN:-0}" = 1 ]; then
  SERVER_PIN=(taskset -c 0) CLIENT_PIN=(taskset -c 1)
fi

run_once() {  # C K N [binary] -> RESULT json on stdout (with the client's
              # CPU per request added as client_cpu_us_per_request)
  local c=$1 k=$2 n=$3 bench=${4:-$BENCH} out err
  out=$(mktemp)
  err=$(mktemp)
  BENCH_C=$c BENCH_K=$k BENCH_N=$n BENCH_IDLE_S=${IDLE_S:-0} \
    BENCH_RUN_TIMEOUT_S=600 "${SERVER_PIN[@]}" "$bench" server >"$out" &
  local spid=$!
  local port=""
  for _ in $(seq 1 400); do
    port=$(awk '/LISTENING/{print $2; exit}' "$out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  BENCH_C=$c BENCH_PORT=$port BENCH_RUN_TIMEOUT_S=600 "${CLIENT_PIN[@]}" "$bench" client 2>"$err" &
  local cpid=$!
  local rc=0
  wait "$spid" || rc=$?
  wait "$cpid" || true
  cat "$err" >&2
  local client_us
  client_us=$(sed -n 's/.* \([0-9.]*\) us of CPU per request.*/\1/p' "$err" | tail -1)
  grep '^RESULT ' "$out" | sed 's/^RESULT //' |
    sed "s/}\$/,\"client_cpu_us_per_request\":${client_us:-0}}/"
  rm -f "$out" "$err"
  return $rc
}

median() {  # field, json lines on stdin
  python3 -c '
import json, statistics, sys
vals = [json.loads(l)[sys.argv[1]] for l in sys.stdin if l.strip()]
m = statistics.median(vals)
print("%.1f" % m if abs(m) >= 100 else "%.4g" % m)' "$1"
}

pair_ratio() {  # field; this build's and the other's json lines, alternating
  python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
ratios = [a[sys.argv[1]] / b[sys.argv[1]] for a, b in zip(rows[0::2], rows[1::2])
          if b[sys.argv[1]]]
print("%.3f (%s)" % (statistics.median(ratios), " ".join("%.2f" % r for r in ratios)))' "$1"
}

summary() {  # label name C K N; json lines on stdin
  local results
  results=$(cat)
  printf '%s: C=%s K=%s N=%s  calls/s %s  p50 %s ms  p99 %s ms  errors %s  server peak RSS %s MB  server CPU %s us/call  client CPU %s us/request' \
    "$1" "$2" "$3" "$4" \
    "$(median calls_per_s <<<"$results")" "$(median p50_ms <<<"$results")" \
    "$(median p99_ms <<<"$results")" "$(median errors <<<"$results")" \
    "$(median server_peak_rss_mb <<<"$results")" \
    "$(median server_cpu_us_per_call <<<"$results")" \
    "$(median client_cpu_us_per_request <<<"$results")"
}

scenario() {  # name C K N
  local name=$1 c=$2 k=$3 n=$4 results="" other_results="" pairs="" line other
  for r in $(seq 1 "$RUNS"); do
    # Side by side, the two builds take turns going first.
    if [ -n "$OTHER" ] && [ $((r % 2)) = 0 ]; then
      other=$(run_once "$c" "$k" "$n" "$OTHER")
      echo "  $name run $r, $OTHER_NAME: $other" >&2
    fi
    line=$(run_once "$c" "$k" "$n")
    echo "  $name run $r: $line" >&2
    results+="$line"$'\n'
    if [ -n "$OTHER" ]; then
      if [ $((r % 2)) = 1 ]; then
        other=$(run_once "$c" "$k" "$n" "$OTHER")
        echo "  $name run $r, $OTHER_NAME: $other" >&2
      fi
      other_results+="$other"$'\n'
      pairs+="$line"$'\n'"$other"$'\n'
    fi
  done
  summary "$name" "$c" "$k" "$n" <<<"$results"
  if [ "${IDLE_S:-0}" -gt 0 ]; then
    printf '  connected: RSS %s MB, %s threads, idle CPU %s%% of a core, connect %s s' \
      "$(median server_rss_connected_mb <<<"$results")" \
      "$(median server_threads <<<"$results")" \
      "$(median server_idle_cpu_pct <<<"$results")" \
      "$(median connect_s <<<"$results")"
  fi
  printf '\n'
  if [ -n "$OTHER" ]; then
    summary "$name ($OTHER_NAME)" "$c" "$k" "$n" <<<"$other_results"
    printf '\n%s: this / other, median of %s pairs: calls/s %s  server CPU %s  client CPU %s\n' \
      "$name" "$RUNS" "$(pair_ratio calls_per_s <<<"$pairs")" \
      "$(pair_ratio server_cpu_us_per_call <<<"$pairs")" \
      "$(pair_ratio client_cpu_us_per_request <<<"$pairs")"
  fi
}

[ $# -gt 0 ] || set -- S1 S2 S3
for s in "$@"; do
  case "$s" in
    S1) scenario S1 1 1 2000 ;;
    S2) scenario S2 16 64 20000 ;;
    S3) scenario S3 1000 64 10000 ;;
    S4) raise_kernel_limits 10000; IDLE_S=10 scenario S4 10000 64 10000 ;;
    quick) RUNS=1 scenario quick 4 8 500 ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
done
