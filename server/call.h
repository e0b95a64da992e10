#ifndef SSERPC_SERVER_CALL_H_
#define SSERPC_SERVER_CALL_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/cancellation.h"

namespace sserpc {

// How one server-to-client call behaves.
struct CallOptions {
  // Time the call may take, from the moment it starts. Zero or negative fails
  // at once with DEADLINE_EXCEEDED; longer than the server's max_timeout is
  // clamped to it.
  absl::Duration timeout = absl::Seconds(30);
  // false (fail fast): a client that is not connected, and not within its
  // resume grace period, fails the call at once with UNAVAILABLE.
  // true: the call waits for the client to connect until its deadline.
  bool wait_for_client = false;
  // Optional. Cancelling it ends the call with its status (CANCELLED by
  // default) and tells the client. May be shared by several calls.
  std::shared_ptr<Cancellation> cancellation;
};

// The answer's payload (JSON text), or the call's definite status:
//   the client's own error code and message, when it answered with an error;
//   DEADLINE_EXCEEDED  the deadline passed first;
//   CANCELLED          cancelled by the caller;
//   UNAVAILABLE        client not connected (fail fast), did not come back
//                      within the grace period, or the server is stopping;
//   RESOURCE_EXHAUSTED a limit was hit (pending calls, outbox, payload size);
//   INVALID_ARGUMENT   bad client id, method name or payload JSON.
using CallResult = absl::StatusOr<std::string>;

// Runs exactly once per call, on whichever thread ended it, never under a
// lock of the server's. It must not block for long: callbacks of answers
// that arrived together run one after the other, and the requests of calls
// they start are written when the last of them returns (one write per
// client instead of one per call). A blocking Server::Call() from a callback
// is written at once.
using CallCallback = absl::AnyInvocable<void(CallResult)>;

// A connected (or recently connected) client, as the client list shows it.
struct ClientInfo {
  std::string client_id;
  std::string state;  // "connected", "resuming" or "absent"
  uint64_t pending = 0;
  uint64_t calls_sent = 0;
  uint64_t calls_answered = 0;
  uint64_t calls_failed = 0;
  uint64_t streams_opened = 0;
};

// Server-wide counters since start: how calls ended and which limits were
// hit (docs/PROTOCOL.md, "Limits and defaults").
struct ServerStats {
  uint64_t calls_started = 0;    // accepted calls (each ends exactly once)
  uint64_t calls_answered = 0;   // ended with the client's payload
  uint64_t calls_failed = 0;     // ended with any error, client's or ours
  uint64_t pending_calls = 0;    // now
  uint64_t open_streams = 0;     // now
  uint64_t streams_opened = 0;
  // Limit breaches, each refused with RESOURCE_EXHAUSTED.
  uint64_t refused_pending_per_client = 0;
  uint64_t refused_pending_total = 0;
  uint64_t refused_outbox_full = 0;
  uint64_t refused_payload_too_large = 0;
  uint64_t refused_max_clients = 0;
  uint64_t clients_cut_off = 0;  // stopped reading their stream
  // Connections (docs/PROTOCOL.md, "Connections and hostile input").
  uint64_t open_connections = 0;       // now
  uint64_t connections_accepted = 0;   // admitted and served
  // Refused at accept with 429: max_connections (or no thread could be
  // started), max_connections_per_peer, max_connections_per_second.
  uint64_t refused_max_connections = 0;
  uint64_t refused_connections_per_peer = 0;
  uint64_t refused_connection_rate = 0;
  // Requests refused before routing.
  uint64_t refused_request_head_timeout = 0;   // 408 (slow loris)
  uint64_t refused_request_head_too_large = 0; // 431
  uint64_t refused_uri_too_long = 0;           // 414
  uint64_t refused_body_too_large = 0;         // 413
};

}  // namespace sserpc

#endif  // SSERPC_SERVER_CALL_H_
