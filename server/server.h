#ifndef SSERPC_SERVER_SERVER_H_
#define SSERPC_SERVER_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/call.h"
#include "server/options.h"

namespace sserpc {

namespace server_internal {
class Dispatcher;
class HttpService;
}  // namespace server_internal

// An sserpc server: accepts client streams and replies over HTTP, and lets
// this process call methods on any connected client.
//
//   sserpc::Server server;
//   int port = server.Start("127.0.0.1", 0).value();
//   absl::StatusOr<std::string> answer =
//       server.Call("laptop-1", "demo.Greeter/SayHello", R"({"name":"Ada"})");
//
// Every call ends exactly once (see CallResult in server/call.h). All methods
// are thread-safe. Destroying the server stops it.
class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listens on host:port (port 0 picks a free port) and serves in background
  // threads. Returns the bound port. INVALID_ARGUMENT for options out of
  // range; FAILED_PRECONDITION if already started,
  // or if `host` is not loopback while no tokens are configured (unless
  // options.allow_insecure_non_loopback); UNAVAILABLE if it cannot bind.
  absl::StatusOr<int> Start(absl::string_view host, int port);

  // Ends every stream, fails every pending call with UNAVAILABLE, and returns
  // when every connection thread has finished. Idempotent.
  void Stop();

  // Calls `method` on client `client_id` and waits for the outcome.
  // `payload_json` is the request message in proto3 JSON ("" means "{}").
  CallResult Call(absl::string_view client_id, absl::string_view method,
                  std::string payload_json, const CallOptions& options = {});

  // Starts the same call without waiting; `done` runs exactly once. Returns
  // the call id, or "" when the call failed at once (`done` has then run).
  std::string CallAsync(absl::string_view client_id, absl::string_view method,
                        std::string payload_json, const CallOptions& options,
                        CallCallback done);

  // For generated code (server/typed_call.h): a call whose request is
  // protobuf bytes. Sent as they are to a client that negotiated protobuf
  // payloads, as `transcoder`'s JSON to any other; the answer comes in the
  // form the client sent. `transcoder` must outlive the server: a stream
  // writer may still be using it when the call ends (generated code uses
  // one per request type for the life of the process). The limit
  // max_body_bytes applies to the bytes in base64, and to the JSON made for
  // a client without protobuf payloads (RESOURCE_EXHAUSTED).
  RawCallResult CallProto(absl::string_view client_id, absl::string_view method,
                          std::string request_proto,
                          const RequestTranscoder& transcoder,
                          const CallOptions& options);
  std::string CallProtoAsync(absl::string_view client_id,
                             absl::string_view method,
                             std::string request_proto,
                             const RequestTranscoder& transcoder,
                             const CallOptions& options, RawCallCallback done);

  // Cancels a pending call: it ends CANCELLED and the client is told.
  // Returns false if it was not pending.
  bool Cancel(absl::string_view call_id);

  // Clients the server knows: connected, resuming, or waited for.
  std::vector<ClientInfo> Clients() const;

  // Counters since construction (see ServerStats in server/call.h).
  ServerStats Stats() const;

  // Bound port, or 0 before Start().
  int port() const { return port_; }

 private:
  const ServerOptions options_;
  std::unique_ptr<server_internal::Dispatcher> dispatcher_;
  std::unique_ptr<server_internal::HttpService> http_;
  std::thread timer_;  // deadlines run from construction to Stop()
  int port_ = 0;
};

}  // namespace sserpc

#endif  // SSERPC_SERVER_SERVER_H_
