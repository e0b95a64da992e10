#ifndef SSERPC_CLIENT_CLIENT_H_
#define SSERPC_CLIENT_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/call_context.h"
#include "client/options.h"
#include "proto/sync.h"

namespace sserpc {

namespace client_internal {
class ActiveCalls;
class EventStream;
class ReplySender;
class WorkerPool;
}  // namespace client_internal
struct RequestEnvelope;
struct SseEvent;

// How a registered handler is run.
struct HandlerOptions {
  // Run on the stream's reader thread instead of a worker: one thread
  // handoff less per call, for handlers that are quick and never block.
  // While it runs, no other event of the stream is read.
  bool run_on_stream_thread = false;
  // The handler reads and writes the protobuf binary format when its
  // context's protobuf_payload() says so (typed handlers: generated code
  // sets this). Required of every handler with
  // ClientOptions::protobuf_payloads.
  bool accepts_protobuf = false;
};

// An sserpc client: holds one stream to the server, runs the handlers the
// server calls, and posts their answers.
//
//   sserpc::ClientOptions options;
//   options.server_url = "http://127.0.0.1:8080";
//   options.client_id = "laptop-1";
//   sserpc::Client client(options);
//   client.Register("demo.Greeter/SayHello",
//                   [](sserpc::CallContext&, absl::string_view req) {
//                     return absl::StatusOr<std::string>(R"({"message":"hi"})");
//                   });
//   client.Start();
//
// Register() before Start(). All other methods are thread-safe. Destroying
// the client stops it.
class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // INVALID_ARGUMENT for a malformed method name, ALREADY_EXISTS for a
  // second handler, FAILED_PRECONDITION after Start().
  absl::Status Register(absl::string_view method, Handler handler,
                        HandlerOptions options = HandlerOptions());

  // Validates the options and starts connecting in the background.
  // INVALID_ARGUMENT for a bad client id or server URL, or for
  // protobuf_payloads with a handler that does not accept protobuf.
  absl::Status Start();

  // Waits until a stream is open (its session event arrived).
  bool WaitUntilConnected(absl::Duration timeout);
  bool connected() const;

  // Stops reading the stream, cancels running handlers (their contexts say
  // UNAVAILABLE), waits for them, and gives their answers up to `drain` to
  // reach the server (an answer POST already in flight may take up to
  // reply_timeout). A handler that returns its context's cancel_status() is
  // not answered: its call stays pending on the server and is redelivered
  // if this client id reconnects within the grace period. Idempotent. Must
  // not be called from a handler, which it would wait for.
  void Stop(absl::Duration drain = absl::Seconds(2));

  // Why the client stopped on its own (refused by the server, or another
  // stream for this client id took over); OK otherwise.
  absl::Status status() const;

  struct Stats {
    uint64_t streams_opened = 0;
    uint64_t requests = 0;      // request events handled
    uint64_t duplicates = 0;    // redeliveries ignored
    uint64_t cancels = 0;       // cancel events received
    uint64_t answers_sent = 0;  // accepted by the server
    uint64_t answer_posts = 0;  // POSTs that carried them (answers batch)
    uint64_t answer_retries = 0;
  };
  Stats stats() const;

 private:
  void OnEvent(const SseEvent& event);
  // `protobuf`: the data of `event: request-proto`.
  void OnRequest(absl::string_view data, bool protobuf);
  // Runs one call's handler (on a worker, or the stream thread) and answers.
  // `on_stream_thread`: the answer is posted after the stream thread has
  // handled the rest of the bytes it read (ReplySender::Flush).
  void RunCall(const Handler& handler, RequestEnvelope req, absl::Time deadline,
               std::shared_ptr<Cancellation> cancellation,
               bool on_stream_thread);
  // Queues the answer of a call (REQUIRES: the call was Begin()-ed and ended).
  // `protobuf`: the call came as protobuf, and a payload answer is in it.
  void Answer(std::string call_id, absl::StatusOr<std::string> result,
              bool protobuf, absl::Time deadline, bool on_stream_thread);

  const ClientOptions options_;
  struct Registered {
    Handler handler;
    HandlerOptions options;
  };
  absl::flat_hash_map<std::string, Registered> handlers_;  // frozen by Start()
  std::unique_ptr<client_internal::ActiveCalls> active_;
  std::unique_ptr<client_internal::WorkerPool> pool_;
  std::unique_ptr<client_internal::ReplySender> sender_;
  std::unique_ptr<client_internal::EventStream> stream_;

  mutable Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sserpc

#endif  // SSERPC_CLIENT_CLIENT_H_
