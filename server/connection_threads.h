#ifndef SSERPC_SERVER_CONNECTION_THREADS_H_
#define SSERPC_SERVER_CONNECTION_THREADS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <httplib.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "proto/sync.h"
#include "server/call.h"
#include "server/options.h"
#include "server/replies_fast_path.h"

namespace sserpc::server_internal {

// cpp-httplib serves a connection on one task for its whole life, and an SSE
// stream never ends on its own, so a fixed pool starves (8 streams block every
// other request). This starts a detached thread per connection with a 1 MiB
// stack (address space; only the pages used become memory) and counts them:
// Wait() returns when every thread has finished.
class ConnectionThreads {
 public:
  explicit ConnectionThreads(size_t stack_bytes = 1024 * 1024)
      : stack_bytes_(stack_bytes) {}
  ~ConnectionThreads() { Wait(); }

  // Runs `fn` on a new thread; false (and `fn` not run) if no thread could
  // be started.
  bool Start(std::function<void()> fn);
  void Wait();
  size_t active() const;

 private:
  // Shared with every thread, so a thread that has just reported its end
  // never touches freed memory, whenever this object is destroyed.
  struct Counter {
    Mutex mu;
    size_t active ABSL_GUARDED_BY(mu) = 0;
  };
  struct Task;
  static void* Main(void* task);

  const size_t stack_bytes_;
  const std::shared_ptr<Counter> counter_ = std::make_shared<Counter>();
};

// The cpp-httplib server sserpc runs: httplib parses and routes requests,
// this class owns the connections. It enforces the connection limits of
// ServerOptions (docs/PROTOCOL.md, "Limits and defaults"):
//   on accept:  max_connections, max_connections_per_peer,
//               max_connections_per_second / connection_burst  -> 429, closed;
//   per request head: max_request_head_time -> 408, max_request_head_bytes and
//               max_request_headers -> 431, a line over 8 KiB -> 431 (414
//               for the request line); all cut before the head is complete;
//   per body:   its wire bytes (max_body_bytes plus chunk framing) -> 413.
//
// How: httplib's accept loop hands each accepted socket to the task queue
// only as a closure that calls the private virtual
// `process_and_close_socket(sock)`. C++ lets a derived class override a
// private virtual, so this class does, and thereby gets the fd; it then
// serves the connection itself through httplib's protected
// `process_request(Stream&, ...)` with its own Stream (the keep-alive loop
// that httplib would run is ~10 lines). The Stream sees every byte httplib
// reads, so it can bound the head in time and size while it arrives, and
// answer with a definite status instead of httplib's unbounded buffering (a
// header line grows in memory until its newline; the number of headers has no
// limit; a chunked body ignores the payload limit: all measured on 0.11.4).
// Alternatives weighed: TCP_DEFER_ACCEPT only waits for the first byte (a
// slow loris sends one); a watchdog that shutdown()s stuck sockets needs the
// same fd-to-connection map plus a way to know a head is complete; finding
// fds through /proc races with fd reuse; interposing accept() would be
// surprising in a library. The task queue runs the closure inline on the
// accept thread, so admission (peer address, counts, rate) is decided
// there, without a thread; an admitted socket gets its own thread
// (ConnectionThreads); a refused one gets a short canned response and is
// closed at once.
class GuardedServer : public httplib::Server {
 public:
  // `options` must outlive this object.
  explicit GuardedServer(const ServerOptions& options);
  ~GuardedServer() override;

  // Before listening: caps max_connections to what RLIMIT_NOFILE allows,
  // logging when it does. Returns the effective cap.
  size_t PrepareLimits();
  // After the accept loop has ended: refuses any later connection, shuts
  // every open connection down (an idle keep-alive one would otherwise
  // wait out its keep-alive timeout) and waits for their threads.
  void CloseConnections();

  // The connection fields of ServerStats (open_connections and the
  // connection counters); the other fields are left alone.
  void AddStats(ServerStats* stats) const;

  // Counted by HttpService for limits it enforces itself.
  void CountUriTooLong() { uri_too_long_.fetch_add(1, std::memory_order_relaxed); }
  void CountBodyTooLarge() {
    body_too_large_.fetch_add(1, std::memory_order_relaxed);
  }

  // Before listening: answer POSTs of the common shape (see
  // server/replies_fast_path.h) are then served by `endpoint` without
  // httplib's request machinery. `endpoint` must outlive this object.
  void set_replies_endpoint(RepliesEndpoint* endpoint) { replies_ = endpoint; }

  // True when the calling thread serves a connection that this class has
  // already answered and cut (httplib's own error response for it will
  // not be written, so it must not be counted).
  static bool CurrentConnectionCut();
  // The socket of the connection the calling thread serves, or -1.
  static int CurrentConnectionFd();
  // False once the peer of the connection the calling thread serves has
  // closed it or it failed (it may still send: pipelined bytes are kept).
  // True when the thread serves no connection.
  static bool CurrentPeerStillThere();

 private:
  class GuardedStream;
  enum class Refusal { kNone, kStopping, kMaxConnections, kPerPeer, kRate, kNoThread };

  bool process_and_close_socket(socket_t sock) override;
  Refusal Admit(int fd, const std::string& peer);
  void Release(int fd, const std::string& peer);
  void Refuse(int fd, Refusal why);
  // `accepted` is on the steady clock.
  void Serve(int fd, absl::Time accepted);
  enum class FastPath { kNotMine, kServed, kFailed };
  // Reads the next request head from `stream`; serves it if it is an answer
  // POST of the fast path's shape (kServed, or kFailed when the connection
  // must end), else leaves the head to be read again by httplib (kNotMine).
  FastPath ServeRepliesFast(GuardedStream& stream, bool close_connection,
                            bool* connection_closed);

  // The stream of the connection the calling thread serves, if any.
  static thread_local const GuardedStream* current_;

  const ServerOptions& options_;
  RepliesEndpoint* replies_ = nullptr;
  ConnectionThreads threads_;

  mutable Mutex mu_;
  size_t max_connections_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Every admitted socket until just before it is closed (so a shutdown()
  // from CloseConnections can never hit a reused fd number).
  absl::flat_hash_set<int> open_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, size_t> per_peer_ ABSL_GUARDED_BY(mu_);
  // Token bucket of max_connections_per_second (refilled_: steady clock).
  double tokens_ ABSL_GUARDED_BY(mu_);
  absl::Time refilled_ ABSL_GUARDED_BY(mu_);

  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_max_connections_{0};
  std::atomic<uint64_t> refused_per_peer_{0};
  std::atomic<uint64_t> refused_rate_{0};
  std::atomic<uint64_t> head_timeout_{0};
  std::atomic<uint64_t> head_too_large_{0};
  std::atomic<uint64_t> uri_too_long_{0};
  std::atomic<uint64_t> body_too_large_{0};
  // Last time a refusal of each kind was logged (rate-limited warnings).
  std::atomic<int64_t> last_refusal_log_ns_{0};
};

}  // namespace sserpc::server_internal

#endif  // SSERPC_SERVER_CONNECTION_THREADS_H_
