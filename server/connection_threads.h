#ifndef SSERPC_SERVER_CONNECTION_THREADS_H_
#define SSERPC_SERVER_CONNECTION_THREADS_H_

#include <cstddef>
#include <functional>
#include <memory>

#include <httplib.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace sserpc::server_internal {

// cpp-httplib serves a connection on one task for its whole life, and an SSE
// stream never ends on its own, so a fixed pool starves (8 streams block every
// other request). This queue gives each connection a detached thread with a
// 1 MiB stack (address space; only the pages used become memory). shutdown() waits until every thread has finished, because the
// tasks use the httplib server.
class ConnectionThreads final : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(size_t stack_bytes = 1024 * 1024)
      : stack_bytes_(stack_bytes) {}
  ~ConnectionThreads() override { shutdown(); }

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

  size_t active() const;

 private:
  // Shared with every thread, so a thread that has just reported its end
  // never touches freed memory, whenever the queue is destroyed.
  struct Counter {
    absl::Mutex mu;
    size_t active ABSL_GUARDED_BY(mu) = 0;
  };
  struct Task;
  static void* Main(void* task);

  const size_t stack_bytes_;
  const std::shared_ptr<Counter> counter_ = std::make_shared<Counter>();
};

}  // namespace sserpc::server_internal

#endif  // SSERPC_SERVER_CONNECTION_THREADS_H_
