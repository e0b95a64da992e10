#!/usr/bin/env bash
# Makes the socket.io reference benchmark runnable: Node.js and npm (through
# scripts/deps.sh, when `node` or `npm` is missing), then the exact versions
# of package-lock.json, when node_modules is missing or older than the lock.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# Two tests may get here at once: one at a time.
exec 9>"$here/.install.lock"
flock 9
bash "$here/../../../scripts/deps.sh"  # Node.js and npm among the rest
if [ ! -f "$here/node_modules/.package-lock.json" ] ||
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
