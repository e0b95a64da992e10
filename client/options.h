#ifndef SSERPC_CLIENT_OPTIONS_H_
#define SSERPC_CLIENT_OPTIONS_H_

#include <cstddef>
#include <string>

#include "absl/time/time.h"

namespace sserpc {

class Clock;

struct ClientOptions {
  // "http://host:port", optionally followed by a path prefix.
  std::string server_url;
  // 1-128 characters of [A-Za-z0-9._-].
  std::string client_id;
  // Sent as "Authorization: Bearer <token>" when not empty.
  std::string token;

  // Handlers running at once; more requests wait in a queue of
  // `max_queued_calls`, and beyond that are answered RESOURCE_EXHAUSTED.
  size_t max_concurrent_calls = 64;
  size_t max_queued_calls = 1024;

  // Reconnect delay: starts at the server's `retry:` hint (or
  // reconnect_initial before one is seen), doubles per failed attempt up to
  // reconnect_max, with random jitter; reset once a stream opens.
  absl::Duration reconnect_initial = absl::Milliseconds(200);
  absl::Duration reconnect_max = absl::Seconds(30);
  // A stream silent this long is treated as dead. Must exceed the server's
  // heartbeat (15 s by default).
  absl::Duration stream_read_timeout = absl::Seconds(40);
  absl::Duration connect_timeout = absl::Seconds(5);
  // Timeout of one answer POST.
  absl::Duration reply_timeout = absl::Seconds(5);
  // Answers are retried until their call's deadline; the delay between
  // tries starts here and doubles up to reply_retry_max.
  absl::Duration reply_retry_initial = absl::Milliseconds(20);
  absl::Duration reply_retry_max = absl::Seconds(2);
  // Largest body of one answer POST (several answers are batched into one
  // when they queue up); a single larger answer goes alone.
  size_t max_batch_bytes = 1 << 20;
  // Largest event accepted on the stream, and largest answer sent.
  size_t max_message_bytes = 4 << 20;
  // Call ids remembered after their call ended, to ignore redeliveries.
  size_t dedup_window = 8192;

  // Ask the server for protobuf payloads (docs/PROTOCOL.md, "Protobuf
  // payloads"): typed calls' requests then arrive in the protobuf binary
  // format and are answered in it, which saves the proto3 JSON conversions
  // on both sides. Every handler must accept protobuf
  // (HandlerOptions::accepts_protobuf, as the generated Register() sets);
  // Start() refuses otherwise. Calls made with JSON stay JSON; a server
  // that does not know the option sends JSON.
  bool protobuf_payloads = false;

  // Time source; nullptr means the real clock. Must outlive the client.
  Clock* clock = nullptr;
};

}  // namespace sserpc

#endif  // SSERPC_CLIENT_OPTIONS_H_
