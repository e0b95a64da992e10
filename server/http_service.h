#ifndef SSERPC_SERVER_HTTP_SERVICE_H_
#define SSERPC_SERVER_HTTP_SERVICE_H_

#include <memory>
#include <string>
#include <thread>

#include <httplib.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/sync.h"
#include "server/connection_threads.h"
#include "server/dispatcher.h"
#include "server/options.h"

namespace sserpc::server_internal {

// The HTTP face of the protocol (docs/PROTOCOL.md): routes, authentication,
// request validation, and the SSE writer loop. Everything stateful is in the
// Dispatcher. Owns the cpp-httplib server, its threads and the timer thread.
class HttpService final : private RepliesEndpoint {
 public:
  // `dispatcher` must outlive this object.
  HttpService(const ServerOptions& options, Dispatcher* dispatcher);
  ~HttpService();

  absl::StatusOr<int> Start(absl::string_view host, int port);
  // Stops accepting, ends streams (the dispatcher must already be shut
  // down), and joins every thread.
  void Stop();

  // Fills the connection fields of `stats` (see GuardedServer::AddStats).
  void AddConnectionStats(ServerStats* stats) const { http_.AddStats(stats); }

 private:
  void Route();
  void HandleEvents(const httplib::Request& req, httplib::Response& res);
  void HandleReplies(const httplib::Request& req, httplib::Response& res);
  // The replies endpoint without transport, shared by HandleReplies and
  // GuardedServer's fast path (RepliesEndpoint).
  RepliesAnswer AnswerReplies(absl::string_view client_id,
                              absl::string_view authorization,
                              absl::string_view content_type,
                              absl::string_view body) override;
  RepliesAnswer HttplibError(int status) override;
  void ServeInWriteBatch(absl::FunctionRef<void()> serve) override;
  void HandleCall(const httplib::Request& req, httplib::Response& res);
  void HandleClients(const httplib::Request& req, httplib::Response& res);
  void HandleStats(const httplib::Request& req, httplib::Response& res);
  // Checks that `client_id` is well-formed (else INVALID_ARGUMENT) and that
  // `authorization` (the Authorization header's value) carries its bearer
  // token (else UNAUTHENTICATED, answered with `WWW-Authenticate: Bearer`).
  absl::Status CheckClient(absl::string_view client_id,
                           absl::string_view authorization) const;
  // CheckClient for httplib's handlers; fills `res` (400 or 401) on failure.
  bool AuthorizeClient(const httplib::Request& req, absl::string_view client_id,
                       httplib::Response& res) const;
  bool AuthorizeAdmin(const httplib::Request& req,
                      httplib::Response& res) const;
  // A chunked body is bounded on the wire by GuardedServer only roughly
  // (framing included): its size is checked exactly here. Fills `res` (413).
  bool BodyWithinLimit(const httplib::Request& req, httplib::Response& res);
  // The exact check of BodyWithinLimit: RESOURCE_EXHAUSTED (answered 413)
  // and counted when `size` is over max_body_bytes.
  absl::Status CheckBodySize(size_t size);

  const ServerOptions& options_;
  Dispatcher* const dispatcher_;
  GuardedServer http_;
  // Stream writers still running; Stop() lets them finish their last write
  // (`event: close`) before it shuts connections down.
  Mutex streams_mu_;
  int active_streams_ ABSL_GUARDED_BY(streams_mu_) = 0;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread listen_thread_;
  bool started_ = false;
};

}  // namespace sserpc::server_internal

#endif  // SSERPC_SERVER_HTTP_SERVICE_H_
