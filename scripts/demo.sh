#!/usr/bin/env bash
# The demo: builds sserpc, starts the greeter server and client (typed code
# generated from examples/greeter/greeter.proto), lets the server call the
# client through the C++ API, then calls the client from the command line
# with sserpc-trigger. Stops everything by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== building (first run: installs packages and compiles, a few minutes)"
bash scripts/build.sh >/dev/null
B="${SSERPC_BUILD_DIR:-build}"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
tmp=$(mktemp -d)

"$B/examples/greeter_server" --port 0 >"$tmp/server.out" &
pids+=($!)
port=""
for _ in $(seq 1 200); do
  port=$(awk '/LISTENING/{print $2; exit}' "$tmp/server.out"); [ -n "$port" ] && break; sleep 0.05
done
[ -n "$port" ] || { echo "demo: the server did not start" >&2; exit 1; }
url="http://127.0.0.1:$port"
echo "== greeter_server listens on $url; starting greeter_client (client id demo-laptop)"
"$B/examples/greeter_client" --server "$url" --client-id demo-laptop 2> >(sed 's/^/    /' >&2) &
pids+=($!)

echo "== 1. the server calls the client through the generated C++ Caller"
for _ in $(seq 1 400); do grep -q "demo calls done" "$tmp/server.out" && break; sleep 0.05; done
grep '^\[server\]' "$tmp/server.out" | sed 's/^/    /'

echo
echo "== 2. anyone calls the client from the command line with sserpc-trigger"
trigger() {
  printf '    $ sserpc-trigger %s\n' "$*"
  set +e
  "$B/server/sserpc-trigger" --server "$url" "$@" 2>&1 | sed 's/^/      /'
  local rc=${PIPESTATUS[0]}
  set -e
  printf '      (exit code %s)\n' "$rc"
}
trigger --list
trigger --client demo-laptop demo.Greeter/SayHello '{"name":"Linus"}'
trigger --client demo-laptop demo.Greeter/Countdown '{"seconds":3}' --timeout-ms 800
trigger --client demo-laptop demo.Greeter/Teleport '{}'
trigger --client nobody demo.Greeter/SayHello '{"name":"?"}'
echo
echo "== demo finished"
