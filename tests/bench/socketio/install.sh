#!/usr/bin/env bash
# Makes the socket.io reference benchmark runnable: Node.js and npm (Debian's
# packages, when `node` or `npm` is missing; scripts/deps.sh installs them
# too), then the exact versions of package-lock.json, when node_modules is
# missing or older than the lock.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# Two tests may get here at once: one at a time.
exec 9>"$here/.install.lock"
flock 9
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "socketio: installing nodejs npm" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -f "$here/node_modules/.package-lock.json" ] ||
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
