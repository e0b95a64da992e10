#!/usr/bin/env bash
# Installs the Debian 12 packages sserpc needs, if any is missing. Safe to
# run again: it does nothing when everything is there.
set -euo pipefail

PACKAGES=(
  g++ cmake make pkg-config curl python3
  iproute2  # `ip`: network namespaces in tests/integration/netcut_test
  clang-14 libclang-rt-14-dev
  libcpp-httplib-dev
  libprotobuf-dev protobuf-compiler libprotoc-dev
  libabsl-dev
  libgtest-dev libgmock-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm run the socket.io reference benchmark (tests/bench/socketio);
# any installation of them will do (a Node.js package from elsewhere may
# bring its own npm), so the commands are checked, not Debian's packages.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
