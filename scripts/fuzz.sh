#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz with clang (address and
# undefined-behaviour sanitizers on) and runs each for SECONDS (default 60),
# growing the corpus in tests/fuzz/corpus/<target>. A crash leaves its input
# as tests/fuzz/crash-* and fails the script; keep such inputs in the corpus
# as regression tests once fixed. Usage: scripts/fuzz.sh [SECONDS] [target...]
# With FUZZ_SCRATCH=1 (the test suite's short run), new inputs go to a
# temporary directory and the checked-in corpus is only read.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(sse_parser json envelope request)
OUT="${SSERPC_BUILD_DIR:-build}/fuzz"
mkdir -p "$OUT"
CXX=clang++-14
command -v $CXX >/dev/null || CXX=clang++
FLAGS=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I.)
LIBS=$(pkg-config --libs absl_status absl_statusor absl_strings absl_synchronization absl_time)
WIRE=(proto/json.cc proto/envelope.cc proto/binary_envelope.cc proto/sse.cc proto/status_codes.cc)
# The request-path target runs a whole server: every wire and server source
# but the programs, plus cpp-httplib (its defines must match its build).
SERVER=($(ls proto/*.cc server/*.cc | grep -v -e _main.cc -e typed_call.cc -e proto_json.cc))
SERVER_LIBS="$(pkg-config --cflags --libs cpp-httplib) $(pkg-config --libs absl_flat_hash_map absl_hash absl_raw_hash_set absl_str_format) -lpthread"
for t in "${TARGETS[@]}"; do
  echo "fuzz: building $t" >&2
  if [ "$t" = request ]; then
    $CXX "${FLAGS[@]}" "tests/fuzz/${t}_fuzz.cc" "${SERVER[@]}" $LIBS $SERVER_LIBS -o "$OUT/${t}_fuzz"
  else
    $CXX "${FLAGS[@]}" "tests/fuzz/${t}_fuzz.cc" "${WIRE[@]}" $LIBS -o "$OUT/${t}_fuzz"
  fi
done
for t in "${TARGETS[@]}"; do
  echo "fuzz: running $t for ${SECONDS_EACH}s" >&2
  mkdir -p "tests/fuzz/corpus/$t"
  dirs=("tests/fuzz/corpus/$t")
  artifacts=tests/fuzz/crash-"$t"-
  if [ "${FUZZ_SCRATCH:-0}" = 1 ]; then
    scratch=$(mktemp -d)
    dirs=("$scratch" "tests/fuzz/corpus/$t")
    artifacts="$scratch/crash-"
  fi
  "$OUT/${t}_fuzz" -max_total_time="$SECONDS_EACH" -max_len=4096 \
      -artifact_prefix="$artifacts" -print_final_stats=1 \
      "${dirs[@]}" 2>&1 | grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|==|SUMMARY)" || true
  if ls "$artifacts"* >/dev/null 2>&1; then
    echo "fuzz: $t crashed; inputs: $(ls "$artifacts"*)" >&2
    exit 1
  fi
done
echo "fuzz: no findings"
