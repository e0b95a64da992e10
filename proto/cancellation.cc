#include "proto/cancellation.h"

namespace sserpc {

bool Cancellation::Cancel(absl::Status status) {
  if (status.ok()) status = absl::CancelledError("cancelled");
  {
    MutexLock lock(&mu_);
    if (!status_.ok()) return false;
    status_ = std::move(status);
    cancelling_thread_ = std::this_thread::get_id();
  }
  notification_.Notify();
  // One callback at a time, each run outside the lock; RemoveCallback() of
  // the running one waits for it.
  while (true) {
    absl::AnyInvocable<void()> callback;
    {
      MutexLock lock(&mu_);
      running_ = 0;
      callback_done_.SignalAll();
      if (callbacks_.empty()) return true;
      running_ = callbacks_.front().first;
      callback = std::move(callbacks_.front().second);
      callbacks_.erase(callbacks_.begin());
    }
    callback();
  }
}

absl::Status Cancellation::status() const {
  MutexLock lock(&mu_);
  return status_;
}

uint64_t Cancellation::AddCallback(absl::AnyInvocable<void()> callback) {
  {
    MutexLock lock(&mu_);
    if (status_.ok()) {
      uint64_t handle = next_handle_++;
      callbacks_.emplace_back(handle, std::move(callback));
      return handle;
    }
  }
  callback();
  return 0;
}

void Cancellation::RemoveCallback(uint64_t handle) {
  if (handle == 0) return;
  MutexLock lock(&mu_);
  for (auto it = callbacks_.begin(); it != callbacks_.end(); ++it) {
    if (it->first == handle) {
      callbacks_.erase(it);
      return;
    }
  }
  while (running_ == handle &&
         cancelling_thread_ != std::this_thread::get_id()) {
    callback_done_.Wait(&mu_);
  }
}

}  // namespace sserpc
