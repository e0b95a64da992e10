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
class HttpService {
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
  void HandleCall(const httplib::Request& req, httplib::Response& res);
  void HandleClients(const httplib::Request& req, httplib::Response& res);
  void HandleStats(const httplib::Request& req, httplib::Response& res);
  // Checks that `client_id` is well-formed and the bearer token is its
  // token; fills `res` (400 or 401) on failure.
  bool AuthorizeClient(const httplib::Request& req, absl::string_view client_id,
                       httplib::Response& res) const;
  bool AuthorizeAdmin(const httplib::Request& req,
                      httplib::Response& res) const;
  // A chunked body is bounded on the wire by GuardedServer only roughly
  // (framing included): its size is checked exactly here. Fills `res` (413).
  bool BodyWithinLimit(const httplib::Request& req, httplib::Response& res);

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
