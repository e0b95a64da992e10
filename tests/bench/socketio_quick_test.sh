#!/usr/bin/env bash
# The socket.io reference benchmark (tests/bench/socketio), for correctness
# only: installed as scripts/bench.sh installs it, then the quick run and
# the wrong-answer check of bench_quick_test.sh (untyped payloads; its
# callers are always asynchronous), with either acknowledgement API.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/socketio/install.sh"
for ack in emitWithAck callback; do
  BENCH_SOCKETIO_ACK=$ack BENCH_QUICK_PAYLOADS=json BENCH_QUICK_CALLERS=async \
    bash "$here/bench_quick_test.sh" "$here/socketio/bench.js"
done
