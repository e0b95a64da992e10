#!/usr/bin/env bash
# Installs the built sserpc into a temporary prefix, then configures, builds
# and runs a separate CMake project that finds it with find_package(sserpc)
# and generates its stubs with sserpc_generate().
set -euo pipefail
BUILD_DIR=$1
PROJECT_DIR=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$BUILD_DIR" --prefix "$tmp/prefix" >/dev/null
cmake -S "$PROJECT_DIR" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/build" -j2 >/dev/null
"$tmp/build/outside_greeter"
