#!/usr/bin/env bash
# Configures and builds sserpc into ./build (or $SSERPC_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
BUILD_DIR="${SSERPC_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${SSERPC_BUILD_TYPE:-RelWithDebInfo}" \
  -DSSERPC_TEST_DIRS="proto;server;client;integration;codegen;agent;fuzz" "$@" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
