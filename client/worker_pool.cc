#include "client/worker_pool.h"
#include "proto/thread_name.h"

namespace sserpc::client_internal {

WorkerPool::WorkerPool(size_t max_threads, size_t max_queued)
    : max_threads_(max_threads == 0 ? 1 : max_threads),
      max_queued_(max_queued) {}

WorkerPool::~WorkerPool() { Shutdown(); }

bool WorkerPool::Submit(absl::AnyInvocable<void()> task) {
  {
    MutexLock lock(&mu_);
    if (stopping_) return false;
    const bool need_thread = idle_ <= queue_.size();
    if (need_thread && threads_.size() < max_threads_) {
      threads_.emplace_back([this] {
        NameThisThread("sserpc-worker");
        Loop();
      });
    } else if (need_thread && queue_.size() >= max_queued_) {
      return false;
    }
    queue_.push_back(std::move(task));
  }
  // After letting the mutex go: a worker woken while it is still held
  // would at once sleep again, on the mutex. (No wake-up is lost: a worker
  // checks the queue and starts waiting with the mutex held.)
  work_.Signal();
  return true;
}

void WorkerPool::Loop() {
  MutexLock lock(&mu_);
  while (true) {
    while (queue_.empty() && !stopping_) {
      ++idle_;
      work_.Wait(&mu_);
      --idle_;
    }
    if (queue_.empty()) return;  // stopping, nothing left
    absl::AnyInvocable<void()> task = std::move(queue_.front());
    queue_.pop_front();
    mu_.Unlock();
    task();
    task = nullptr;  // release captures outside the lock
    mu_.Lock();
  }
}

void WorkerPool::Shutdown() {
  std::vector<std::thread> threads;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    work_.SignalAll();
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

}  // namespace sserpc::client_internal
