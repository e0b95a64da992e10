#ifndef SSERPC_CLIENT_EVENT_STREAM_H_
#define SSERPC_CLIENT_EVENT_STREAM_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "client/http_connection.h"
#include "client/options.h"
#include "client/server_url.h"
#include "proto/sse.h"
#include "proto/sync.h"

namespace httplib {
class Client;
}

namespace sserpc::client_internal {

// Holds the client's SSE stream open: connects, parses events as bytes
// arrive, and reconnects after any loss with exponential backoff and jitter,
// starting from the server's `retry:` hint and sending `Last-Event-ID`.
// Events are handed to `on_event` on the stream's own thread, in order.
class EventStream {
 public:
  using OnEvent = std::function<void(const SseEvent&)>;
  // Called with false when a connection ends (true is signalled by the
  // session event, which the owner sees in on_event).
  using OnDisconnect = std::function<void()>;
  // Called on the stream thread after the events of each piece of bytes
  // read from the socket were handed to on_event: the owner can then act
  // once for all of them (post their answers together).
  using OnChunkEnd = std::function<void()>;

  EventStream(const ClientOptions& options, ServerUrl url, OnEvent on_event,
              OnDisconnect on_disconnect, OnChunkEnd on_chunk_end);
  ~EventStream();  // Stop()

  void Start();
  // Ends the current connection and stops reconnecting. Idempotent.
  void Stop();
  // Stops reconnecting after the current connection, remembering why.
  void GiveUp(absl::Status why);

  // Why the stream gave up on its own (auth refused, taken over); OK if not.
  absl::Status status() const;
  uint64_t connects() const;

  // The delay before reconnect attempt `attempt` (0-based), given the
  // server's hint: min(max, base * 2^attempt), jittered into [d/2, d].
  static absl::Duration Backoff(absl::Duration base, absl::Duration max,
                                int attempt, absl::BitGen& gen);

 private:
  void Loop();
  // How one connection attempt went.
  struct Attempt {
    int status = 0;           // the response's HTTP status, 0 if none
    bool got_data = false;    // stream bytes arrived
    absl::Status parse_error;  // the stream broke the SSE format
    std::string failure;      // why the connection failed, if it did
  };
  // Opens the stream over http:// (our own HttpConnection) or https://
  // (cpp-httplib), sending `last_event_id` if not empty, and reads it until
  // it ends, fails or Stop().
  void ReadOverHttp(const std::string& last_event_id, Attempt* attempt);
  void ReadOverHttps(const std::string& last_event_id, Attempt* attempt);
  // Feeds stream bytes to the parser; false to stop reading.
  bool OnBytes(absl::string_view data, Attempt* attempt);

  const ClientOptions& options_;
  const ServerUrl url_;
  const std::string path_;
  OnEvent on_event_;
  OnDisconnect on_disconnect_;
  OnChunkEnd on_chunk_end_;
  SseParser parser_;  // stream thread only
  absl::Duration retry_hint_;  // stream thread only

  mutable Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  uint64_t connects_ ABSL_GUARDED_BY(mu_) = 0;
  // The connection being read, for Stop() to interrupt.
  HttpConnection* current_http_ ABSL_GUARDED_BY(mu_) = nullptr;
  httplib::Client* current_https_ ABSL_GUARDED_BY(mu_) = nullptr;
  CondVar wake_;
  Notification exited_;  // the stream thread's loop has returned
  std::thread thread_;
};

}  // namespace sserpc::client_internal

#endif  // SSERPC_CLIENT_EVENT_STREAM_H_
