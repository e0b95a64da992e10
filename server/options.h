#ifndef SSERPC_SERVER_OPTIONS_H_
#define SSERPC_SERVER_OPTIONS_H_

#include <cstddef>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace sserpc {

class Clock;

// Everything a server can be told. The defaults are the documented ones
// (docs/PROTOCOL.md, "Limits and defaults").
struct ServerOptions {
  // The stream is never silent longer than this: a comment line is written.
  absl::Duration heartbeat = absl::Seconds(15);
  // How often an idle stream whose client has calls pending checks that the
  // client is still there: a closed connection is then noticed within this
  // time (for one that vanished without closing, see dead_peer_timeout).
  // A stream with no call pending is checked by its heartbeat only, so
  // thousands of idle clients cost no wake-ups between heartbeats.
  absl::Duration liveness_check = absl::Seconds(1);
  // How long TCP keeps a connection whose peer vanished without closing it
  // (cable cut, machine gone: no FIN, no RST); Linux's default is ~15
  // minutes of retransmissions. Every accepted socket gets
  // TCP_USER_TIMEOUT = dead_peer_timeout (sent data unacknowledged that
  // long aborts the connection) and TCP keepalive (probes after
  // dead_peer_timeout / 2 of silence, then every second, or at most 127
  // probes when it is over 254 s). Hence:
  // - a stream whose client vanished while calls wait for it ends within
  //   heartbeat + dead_peer_timeout + liveness_check (with no call pending,
  //   within 2 × heartbeat + dead_peer_timeout): its next heartbeat
  //   (within `heartbeat`) goes unacknowledged, TCP aborts the connection
  //   `dead_peer_timeout` later, and the idle writer notices within
  //   `liveness_check`; its calls then wait `resume_grace` as after any
  //   disconnect;
  // - an idle connection is aborted dead_peer_timeout after the peer last
  //   answered, rounded up to the next probe (whole seconds).
  // 2 s to 1 h: shorter would abort healthy connections that lost a few
  // segments in a row (retransmissions back off from 200 ms).
  absl::Duration dead_peer_timeout = absl::Seconds(20);
  // Sent as `retry:` at the start of every stream.
  absl::Duration retry_hint = absl::Seconds(1);
  // How long a disconnected client's calls wait for it to come back before
  // they fail UNAVAILABLE.
  absl::Duration resume_grace = absl::Seconds(30);
  // Timeout used when a call gives none (calls endpoint without timeout_ms).
  absl::Duration default_timeout = absl::Seconds(30);
  // Longest timeout a call may ask for; longer ones are clamped.
  absl::Duration max_timeout = absl::Hours(24);

  // Bytes of events queued for one stream before the client is considered not
  // to be reading: it is cut off and its calls fail RESOURCE_EXHAUSTED.
  size_t max_outbox_bytes = 16 << 20;
  // When the outbox is full, a new call fails RESOURCE_EXHAUSTED; if the
  // stream's current write has also been blocked this long (the client is
  // not reading), the client is cut off: its calls fail RESOURCE_EXHAUSTED
  // and the stream is closed. Keep it below write_timeout.
  absl::Duration max_write_stall = absl::Seconds(2);
  // Clients the server keeps a session for (connected, resuming or waited
  // for); a stream for one more is refused with 429 RESOURCE_EXHAUSTED.
  size_t max_clients = 100000;
  // Calls waiting for one client's answer; one more fails RESOURCE_EXHAUSTED.
  size_t max_pending_per_client = 4096;
  // Calls waiting in the whole server.
  size_t max_pending_total = 1 << 20;
  // Largest request payload, reply body and calls-endpoint body (HTTP 413).
  size_t max_body_bytes = 4 << 20;
  // Cancels remembered for a disconnected client (oldest dropped first).
  size_t max_retained_cancels = 1024;

  // Connections and hostile input (each breach is counted in ServerStats).
  // Open connections served at once (streams, answer POSTs, calls, idle
  // keep-alive connections), each on its own thread; one more is answered
  // 429 RESOURCE_EXHAUSTED and closed at once, without a thread. The default
  // fits 10,000 clients with their stream and answer connections, and more.
  // Start() caps it to what RLIMIT_NOFILE allows (the soft limit minus a
  // tenth, at least 32, kept for the rest of the process) and logs a
  // warning when it does.
  size_t max_connections = 30000;
  // Open connections from one peer IP address, refused like
  // max_connections; 0 = no limit. Off by default: clients behind one NAT
  // or reverse proxy share an address.
  size_t max_connections_per_peer = 0;
  // New connections admitted per second on average (a token bucket holding
  // up to connection_burst); more are answered 429 RESOURCE_EXHAUSTED
  // (Retry-After: 1) and closed at once. 0 = no limit. Clients reconnect
  // with jittered exponential backoff, so a refused crowd spreads out.
  size_t max_connections_per_second = 2000;
  size_t connection_burst = 4000;
  // A request head (request line and headers) must be complete within this
  // time, counted from the accept for a connection's first request and
  // from the request's first byte for later ones; a stall longer than
  // read_timeout inside a head counts as well. Otherwise 408 and the
  // connection is closed (a slow loris holds its thread no longer).
  absl::Duration max_request_head_time = absl::Seconds(10);
  // Largest request head in bytes, and most header fields in it; more is
  // answered 431 as soon as it arrives, before the head is complete. A
  // single line over 8 KiB (cpp-httplib's compiled limit) is always 431,
  // or 414 for the request line.
  size_t max_request_head_bytes = 16 << 10;
  size_t max_request_headers = 100;

  // Client id -> bearer token. When not empty, every stream and replies
  // request must carry its client's token, and unknown clients are refused.
  std::map<std::string, std::string> client_tokens;
  // When not empty, the calls endpoint and the client list need this token.
  std::string admin_token;
  // Without tokens the server only listens on loopback unless this is set.
  bool allow_insecure_non_loopback = false;

  // HTTP tuning (cpp-httplib).
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  absl::Duration read_timeout = absl::Seconds(5);
  absl::Duration write_timeout = absl::Seconds(5);
  int listen_backlog = 4096;

  // Time source; nullptr means the real clock. Must outlive the server.
  Clock* clock = nullptr;
};

// INVALID_ARGUMENT naming the first option out of range.
absl::Status ValidateServerOptions(const ServerOptions& options);

}  // namespace sserpc

#endif  // SSERPC_SERVER_OPTIONS_H_
