#!/usr/bin/env bash
# scripts/bench.sh's side-by-side mode (BENCH_AB), for correctness only: a
# build compared with itself prints both builds' medians and the per-pair
# ratios, with the client's CPU per request; no timing is asserted. The
# same against the socket.io reference (BENCH_AB=socketio).
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
SSERPC_BUILD_DIR="$build" BENCH_AB="$build" bash "$src/scripts/bench.sh" quick \
  >"$tmp/out" 2>"$tmp/err"
cat "$tmp/out"
grep -Eq '^quick: C=4 K=8 N=500 .* errors 0 .* client CPU [0-9.]*[1-9][0-9.]* us/request$' "$tmp/out"
grep -Eq '^quick \(other build\): C=4 K=8 N=500 .* errors 0 ' "$tmp/out"
grep -Eq '^quick: this / other, median of 1 pairs: calls/s [0-9.]+ \([0-9.]+\)  server CPU [0-9.]+ \([0-9.]+\)  client CPU [0-9.]+ \([0-9.]+\)$' "$tmp/out"
# Every run is also shown as it ends, on stderr.
grep -q '^  quick run 1, other build: {' "$tmp/err"
# A build directory without the benchmark is a clear error.
if SSERPC_BUILD_DIR="$build" BENCH_AB="$tmp/none" bash "$src/scripts/bench.sh" quick \
    2>"$tmp/err2"; then
  echo "expected a failure for a missing build"; exit 1
fi
grep -q "no $tmp/none/tests/bench/sserpc-bench" "$tmp/err2"
# BENCH_AB=socketio: the other side is the socket.io reference benchmark.
SSERPC_BUILD_DIR="$build" BENCH_AB=socketio bash "$src/scripts/bench.sh" quick \
  >"$tmp/out3" 2>"$tmp/err3"
cat "$tmp/out3"
grep -Eq '^quick \(socket.io\): C=4 K=8 N=500 .* errors 0 .* client CPU [0-9.]*[1-9][0-9.]* us/request$' "$tmp/out3"
grep -Eq '^quick: this / other, median of 1 pairs: calls/s [0-9.]+ ' "$tmp/out3"
grep -q '^  quick run 1, socket.io: {.*"system":"socket.io"' "$tmp/err3"
