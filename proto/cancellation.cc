#include "proto/cancellation.h"

namespace sserpc {

bool Cancellation::Cancel(absl::Status status) {
  if (status.ok()) status = absl::CancelledError("cancelled");
  std::vector<std::pair<uint64_t, absl::AnyInvocable<void()>>> callbacks;
  {
    absl::MutexLock lock(&mu_);
    if (!status_.ok()) return false;
    status_ = std::move(status);
    callbacks.swap(callbacks_);
  }
  notification_.Notify();
  for (auto& entry : callbacks) entry.second();
  return true;
}

absl::Status Cancellation::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

uint64_t Cancellation::AddCallback(absl::AnyInvocable<void()> callback) {
  {
    absl::MutexLock lock(&mu_);
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
  absl::MutexLock lock(&mu_);
  for (auto it = callbacks_.begin(); it != callbacks_.end(); ++it) {
    if (it->first == handle) {
      callbacks_.erase(it);
      return;
    }
  }
}

}  // namespace sserpc
