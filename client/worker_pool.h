#ifndef SSERPC_CLIENT_WORKER_POOL_H_
#define SSERPC_CLIENT_WORKER_POOL_H_

#include <cstddef>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "proto/sync.h"

namespace sserpc::client_internal {

// Runs tasks on up to `max_threads` threads, started as they are needed, so a
// slow task never holds up the others while threads remain. At most
// `max_queued` tasks wait for a thread; Submit() refuses more. Thread-safe.
class WorkerPool {
 public:
  WorkerPool(size_t max_threads, size_t max_queued);
  ~WorkerPool();  // Shutdown()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False (and `task` is dropped unrun) when the queue is full or the pool
  // is shutting down.
  bool Submit(absl::AnyInvocable<void()> task);

  // Refuses new tasks, runs the queued ones, and joins every thread.
  void Shutdown();

 private:
  void Loop();

  const size_t max_threads_;
  const size_t max_queued_;
  Mutex mu_;
  std::deque<absl::AnyInvocable<void()>> queue_ ABSL_GUARDED_BY(mu_);
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  CondVar work_;
};

}  // namespace sserpc::client_internal

#endif  // SSERPC_CLIENT_WORKER_POOL_H_
