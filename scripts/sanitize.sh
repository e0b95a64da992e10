#!/usr/bin/env bash
# Builds the whole tree with AddressSanitizer + UndefinedBehaviorSanitizer
# into build-asan/ and runs the test suite there. (ThreadSanitizer needs
# other flags and clang: scripts/tsan.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
B="${SSERPC_ASAN_BUILD_DIR:-build-asan}"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="$SAN -O1" \
  -DCMAKE_EXE_LINKER_FLAGS="$SAN" -DCMAKE_SHARED_LINKER_FLAGS="$SAN" \
  -DSSERPC_TEST_DIRS="proto;server;client;integration;codegen;agent" >/dev/null
cmake --build "$B" -j"$(nproc)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$B" --output-on-failure -j"$(nproc)" --timeout 600
