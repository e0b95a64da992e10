#include "server/connection_threads.h"

#include <pthread.h>

#include <memory>

#include "proto/log.h"
#include "proto/thread_name.h"

namespace sserpc::server_internal {

struct ConnectionThreads::Task {
  std::shared_ptr<Counter> counter;
  std::function<void()> fn;
};

void* ConnectionThreads::Main(void* arg) {
  std::unique_ptr<Task> task(static_cast<Task*>(arg));
  NameThisThread("sserpc-conn");
  task->fn();
  std::shared_ptr<Counter> counter = std::move(task->counter);
  task.reset();  // drop the task's captures before shutdown() can return
  absl::MutexLock lock(&counter->mu);
  --counter->active;
  return nullptr;
}

void ConnectionThreads::enqueue(std::function<void()> fn) {
  {
    absl::MutexLock lock(&counter_->mu);
    ++counter_->active;
  }
  auto* task = new Task{counter_, std::move(fn)};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_bytes_);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  int err = pthread_create(&thread, &attr, &ConnectionThreads::Main, task);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    // Out of threads: serve this connection on the accepting thread rather
    // than drop it (the socket is closed by the task itself).
    SSERPC_LOG(kError, "pthread_create failed (", err,
               "); serving connection inline");
    Main(task);
  }
}

void ConnectionThreads::shutdown() {
  absl::MutexLock lock(&counter_->mu);
  counter_->mu.Await(absl::Condition(
      +[](size_t* n) { return *n == 0; }, &counter_->active));
}

size_t ConnectionThreads::active() const {
  absl::MutexLock lock(&counter_->mu);
  return counter_->active;
}

}  // namespace sserpc::server_internal
