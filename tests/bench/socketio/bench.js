#!/usr/bin/env node
// The reverse-echo benchmark of sserpc-bench (tests/bench/sserpc_bench.cc)
// on socket.io 4.8 over WebSocket, the system issue 5's targets are set
// against: the same two processes, environment, output lines and checks,
// so scripts/bench.sh can run it side by side with sserpc
// (BENCH_AB=socketio).
//
//   bench.js server   listens on port 0, prints "LISTENING <port>", waits for
//                     clients c0..c{C-1}, runs BENCH_WARMUP calls, prints
//                     "MEASURE", runs BENCH_N calls with BENCH_K concurrent
//                     callers (call i goes to c(i mod A)), checks every
//                     answer, prints "RESULT {json}", exits 0 (3 if any call
//                     failed or was answered wrongly).
//   bench.js client   holds BENCH_C socket.io clients (each its own
//                     connection) that acknowledge the payload unchanged;
//                     exits after BENCH_RUN_TIMEOUT_S or once the server has
//                     gone. BENCH_TAMPER=1: calls whose number ends in 0 are
//                     answered wrongly (for the test of the check).
//
// A call is `socket.timeout(ms).emitWithAck("echo", payload)`, the API the
// reference figures were measured with; BENCH_SOCKETIO_ACK=callback uses
// `emit` with an acknowledgement callback instead (the same messages on the
// wire, without a promise per call).
'use strict';

const fs = require('fs');
const http = require('http');

const PAYLOAD_BASE =
  '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_#';

function env(name, fallback) {
  const v = process.env[name];
  if (v === undefined || !/^-?[0-9]+$/.test(v)) return fallback;
  return Number(v);
}

// A numeric field of /proc/self/status ("VmHWM:", "Threads:", ...).
function procStatusValue(field) {
  for (const line of fs.readFileSync('/proc/self/status', 'utf8').split('\n')) {
    if (line.startsWith(field)) return Number(line.replace(/[^0-9]/g, ''));
  }
  return 0;
}

function cpuSeconds(since) {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

async function runServer() {
  const { Server } = require('socket.io');
  const c = env('BENCH_C', 1);
  const k = env('BENCH_K', 1);
  const n = env('BENCH_N', 2000);
  const a = env('BENCH_ACTIVE', Math.min(c, 16));
  const warmup = env('BENCH_WARMUP', 200);
  const callTimeoutMs = env('BENCH_CALL_TIMEOUT_MS', 10000);
  const giveUp = nowMs() + 1000 * env('BENCH_RUN_TIMEOUT_S', 300);
  const useCallback = process.env.BENCH_SOCKETIO_ACK === 'callback';

  const httpServer = http.createServer();
  const io = new Server(httpServer, { transports: ['websocket'] });
  const sockets = new Map();  // client id -> socket
  io.on('connection', (socket) => {
    const id = String(socket.handshake.auth.id);
    sockets.set(id, socket);
    socket.on('disconnect', () => {
      if (sockets.get(id) === socket) sockets.delete(id);
    });
  });
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`LISTENING ${httpServer.address().port}\n`);

  const connectStart = nowMs();
  while (sockets.size < c) {
    if (nowMs() > giveUp) {
      process.stderr.write(`bench server: only ${sockets.size} of ${c} clients connected\n`);
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const connectS = (nowMs() - connectStart) / 1000;
  const idleS = env('BENCH_IDLE_S', 0);
  let idleCpuPct = -1;
  if (idleS > 0) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const cpu0 = process.cpuUsage();
    const t0 = nowMs();
    await new Promise((resolve) => setTimeout(resolve, 1000 * idleS));
    idleCpuPct = (100 * cpuSeconds(cpu0)) / ((nowMs() - t0) / 1000);
  }
  const rssConnected = procStatusValue('VmRSS:') / 1024;
  const threadsConnected = procStatusValue('Threads:');
  const active = [];
  for (let i = 0; i < a; ++i) active.push(sockets.get(`c${i}`));

  let errors = 0;
  const latencies = new Float64Array(n);
  const fail = (i, what) => {
    if (errors++ < 5) process.stderr.write(`bench server: call ${i}: ${what}\n`);
  };
  // K chains of calls: each answer starts its chain's next call.
  const run = (count, record) => new Promise((resolve) => {
    let next = 0;
    let finished = 0;
    const done = (i, start, err, answer) => {
      if (record) latencies[i] = nowMs() - start;
      if (err) {
        fail(i, err.message);
      } else if (answer !== PAYLOAD_BASE + i) {
        fail(i, 'wrong answer');
      }
      issue();
      if (++finished === count) resolve();
    };
    const issue = () => {
      const i = next++;
      if (i >= count) return;
      const start = nowMs();
      const socket = active[i % a].timeout(callTimeoutMs);
      const payload = PAYLOAD_BASE + i;
      if (useCallback) {
        socket.emit('echo', payload, (err, answer) => done(i, start, err, answer));
      } else {
        socket.emitWithAck('echo', payload).then(
          (answer) => done(i, start, null, answer),
          (err) => done(i, start, err, undefined));
      }
    };
    for (let t = 0; t < k; ++t) issue();
  });

  await run(warmup, false);
  errors = 0;
  process.stdout.write('MEASURE\n');
  const start = nowMs();
  const cpuStart = process.cpuUsage();
  await run(n, true);
  const elapsed = (nowMs() - start) / 1000;
  const cpuUsPerCall = (1e6 * cpuSeconds(cpuStart)) / n;
  latencies.sort();
  const pct = (p) => (n === 0 ? 0 : latencies[Math.min(n - 1, Math.floor(p * n))]);
  const result = {
    clients: c, k, n, active: a, warmup,
    calls_per_s: Number((n / elapsed).toFixed(1)),
    p50_ms: pct(0.50), p99_ms: pct(0.99), p90_ms: pct(0.90), p999_ms: pct(0.999),
    max_ms: n === 0 ? 0 : latencies[n - 1],
    errors,
    server_peak_rss_mb: procStatusValue('VmHWM:') / 1024,
    server_rss_connected_mb: rssConnected,
    elapsed_s: elapsed, connect_s: connectS,
    server_idle_cpu_pct: idleCpuPct, server_threads: threadsConnected,
    callers: 'async', payloads: 'json',
    system: useCallback ? 'socket.io-callback' : 'socket.io',
    server_cpu_us_per_call: Number(cpuUsPerCall.toFixed(1)),
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  io.close();
  httpServer.close();
  process.exit(errors === 0 ? 0 : 3);
}

async function runClients() {
  const { io } = require('socket.io-client');
  const c = env('BENCH_C', 1);
  const batch = Math.max(1, env('BENCH_CONNECT_CONCURRENCY', 50));
  const giveUp = nowMs() + 1000 * env('BENCH_RUN_TIMEOUT_S', 300);
  const url = `http://${process.env.BENCH_HOST || '127.0.0.1'}:${env('BENCH_PORT', 0)}`;
  const tamper = env('BENCH_TAMPER', 0) !== 0;
  let requests = 0;
  const clients = [];
  for (let i = 0; i < c; i += batch) {
    const connecting = [];
    for (let j = i; j < Math.min(c, i + batch); ++j) {
      const socket = io(url, {
        transports: ['websocket'], forceNew: true, reconnection: false,
        auth: { id: `c${j}` },
      });
      socket.on('echo', (payload, ack) => {
        ++requests;
        if (tamper && payload.endsWith('0')) payload = `${payload.slice(0, -1)}x`;
        ack(payload);
      });
      connecting.push(new Promise((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      }));
      clients.push(socket);
    }
    try {
      await Promise.all(connecting);
    } catch (err) {
      process.stderr.write(`bench client: ${err.message}\n`);
      process.exit(1);
    }
  }
  process.stderr.write(`bench client: ${c} clients connected\n`);
  // Run until the run timeout, or until the server has been gone a while.
  let allDownSince = Infinity;
  while (nowMs() < giveUp) {
    if (clients.some((s) => s.connected)) {
      allDownSince = Infinity;
    } else if (allDownSince === Infinity) {
      allDownSince = nowMs();
    } else if (nowMs() - allDownSince > 1000) {
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const s of clients) s.close();
  // Warm-up and connecting included, as sserpc-bench's client reports it.
  const us = requests === 0 ? 0 : (1e6 * cpuSeconds()) / requests;
  process.stderr.write(
    `bench client: ${requests} requests, ${requests} answers in ${requests} ` +
    `acknowledgements, ${us.toFixed(1)} us of CPU per request\n`);
  process.exit(0);
}

const mode = process.argv[2];
if (mode === 'server') {
  runServer();
} else if (mode === 'client') {
  runClients();
} else {
  process.stderr.write(
    'usage: bench.js server|client\n' +
    '  env: BENCH_C BENCH_K BENCH_N BENCH_ACTIVE BENCH_WARMUP\n' +
    '       BENCH_CALL_TIMEOUT_MS BENCH_RUN_TIMEOUT_S BENCH_CONNECT_CONCURRENCY\n' +
    '       BENCH_HOST BENCH_PORT BENCH_IDLE_S BENCH_TAMPER\n' +
    '       BENCH_SOCKETIO_ACK=emitWithAck|callback\n');
  process.exit(2);
}
