#!/usr/bin/env bash
# Runs the non-C++ examples against the real sserpc-server: the Python back
# end (examples/python_backend) calling the greeter client, and the curl
# client (examples/curl_client) answering a call made with sserpc-trigger.
set -euo pipefail
SRC=$1       # repository root
BIN=$2       # build directory
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
tmp=$(mktemp -d)

"$BIN/server/sserpc-server" --port 0 >"$tmp/server.out" 2>/dev/null &
pids+=($!)
port=""
for _ in $(seq 1 200); do
  port=$(awk '/LISTENING/{print $2; exit}' "$tmp/server.out"); [ -n "$port" ] && break; sleep 0.05
done
url="http://127.0.0.1:$port"

# The Python back end waits for the greeter client itself (wait_for_client).
python3 "$SRC/examples/python_backend/backend.py" --server "$url" --client py-laptop >"$tmp/py.out" &
py=$!
"$BIN/examples/greeter_client" --server "$url" --client-id py-laptop 2>/dev/null &
pids+=($!)
wait "$py"
cat "$tmp/py.out"
grep -q "SayHello -> Hello, Python! (from py-laptop)" "$tmp/py.out"
grep -q "missing name -> INVALID_ARGUMENT (HTTP 400): name is required" "$tmp/py.out"
grep -q "too slow -> DEADLINE_EXCEEDED (HTTP 504)" "$tmp/py.out"
grep -q "no such method -> UNIMPLEMENTED (HTTP 501)" "$tmp/py.out"

# The curl client answers a call made with sserpc-trigger.
bash "$SRC/examples/curl_client/curl_client.sh" "$url" curly 2>"$tmp/curl.err" &
pids+=($!)
out=$("$BIN/server/sserpc-trigger" --server "$url" --client curly --wait --timeout-ms 10000 \
      demo.Echo/Say '{"text":"hi there"}')
echo "trigger -> $out"
[ "$out" = '{"echo":{"text":"hi there"}}' ]
echo "examples passed"
