#!/usr/bin/env bash
# Installs the built sserpc into a temporary prefix, then configures, builds
# and runs a separate CMake project that finds it with find_package(sserpc)
# and generates its stubs with sserpc_generate(). The project is built with
# the compiler and flags sserpc was built with (a sanitizer build installs
# instrumented libraries, which only an instrumented program can link).
# Usage: outside_project_test.sh BUILD_DIR PROJECT_DIR [CXX CXXFLAGS LDFLAGS]
set -euo pipefail
BUILD_DIR=$1
PROJECT_DIR=$2
CXX_COMPILER=${3:-c++}
CXX_FLAGS=${4:-}
LINKER_FLAGS=${5:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$BUILD_DIR" --prefix "$tmp/prefix" >/dev/null
cmake -S "$PROJECT_DIR" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_CXX_COMPILER="$CXX_COMPILER" -DCMAKE_CXX_FLAGS="$CXX_FLAGS" \
  -DCMAKE_EXE_LINKER_FLAGS="$LINKER_FLAGS" >/dev/null
cmake --build "$tmp/build" -j2 >/dev/null
"$tmp/build/outside_greeter"
