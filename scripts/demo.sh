#!/usr/bin/env bash
# The demo: builds sserpc, then shows a server calling a client end to end,
# first through the C++ API, then through sserpc-server's HTTP calls endpoint
# with curl. Stops everything by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
B="${SSERPC_BUILD_DIR:-build}"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_listening() {  # file -> port
  for _ in $(seq 1 200); do
    if grep -q LISTENING "$1" 2>/dev/null; then awk '/LISTENING/{print $2; exit}' "$1"; return; fi
    sleep 0.05
  done
  echo "demo: server did not start" >&2; exit 1
}

tmp=$(mktemp -d)
echo "== 1. A C++ server calls a C++ client through the API (examples/hello)"
"$B/examples/hello_server" --port 0 >"$tmp/hello_server.out" &
server_pid=$!; pids+=($server_pid)
port=$(wait_listening "$tmp/hello_server.out")
"$B/examples/hello_client" --server "http://127.0.0.1:$port" --client-id demo-laptop 2>&1 | sed 's/^/    /' &
pids+=($!)
tail -n +2 -f "$tmp/hello_server.out" --pid "$server_pid" | sed 's/^/    /' || true
wait "$server_pid"
kill "${pids[@]}" 2>/dev/null || true; pids=()

echo
echo "== 2. Any back end calls the client through sserpc-server's HTTP endpoint (curl)"
"$B/server/sserpc-server" --port 0 >"$tmp/relay.out" 2>/dev/null &
pids+=($!)
port=$(wait_listening "$tmp/relay.out")
url="http://127.0.0.1:$port"
"$B/examples/hello_client" --server "$url" --client-id demo-laptop 2>/dev/null &
pids+=($!)
for _ in $(seq 1 200); do
  curl -s "$url/sserpc/v1/clients" | grep -q '"state":"connected"' && break; sleep 0.05
done
show() {  # title, curl args...
  local title=$1; shift
  printf '    $ curl %s\n' "$*"
  curl -s -w '    -> HTTP %{http_code}\n' "$@" | sed 's/^\([^ ]\)/    \1/'
}
show "list" "$url/sserpc/v1/clients"
echo
show "call" -X POST "$url/sserpc/v1/clients/demo-laptop/calls/demo.Greeter/SayHello?timeout_ms=2000" -d '{"name":"curl"}'
echo
show "deadline" -X POST "$url/sserpc/v1/clients/demo-laptop/calls/demo.Greeter/Countdown?timeout_ms=500" -d '{"seconds":3}'
echo
show "absent" -X POST "$url/sserpc/v1/clients/nobody/calls/demo.Greeter/SayHello" -d '{"name":"?"}'
echo
echo "== demo finished"
