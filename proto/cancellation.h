#ifndef SSERPC_PROTO_CANCELLATION_H_
#define SSERPC_PROTO_CANCELLATION_H_

#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "proto/sync.h"

namespace sserpc {

// A one-shot cancellation signal shared by whoever may cancel and whoever
// does the work. Thread-safe. The first Cancel() wins; later ones do nothing.
// Callbacks run on the cancelling thread, after the internal lock is released.
class Cancellation {
 public:
  Cancellation() = default;
  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;

  // Cancels with `status` (must not be OK). Returns false if already cancelled.
  bool Cancel(absl::Status status = absl::CancelledError("cancelled"));

  bool IsCancelled() const { return notification_.HasBeenNotified(); }

  // The status passed to the winning Cancel(); OK while not cancelled.
  absl::Status status() const;

  // Runs `callback` once when cancelled: at once, on this thread, if that has
  // already happened. Returns a handle for RemoveCallback().
  uint64_t AddCallback(absl::AnyInvocable<void()> callback);

  // Forgets a callback. If it is running on another thread, waits until it
  // has returned, so what it uses may be destroyed afterwards. (Called from
  // the cancelling thread itself, e.g. from within a callback, it does not
  // wait.)
  void RemoveCallback(uint64_t handle);

  // Waits until cancelled or `timeout` passes. Returns true if cancelled.
  bool WaitWithTimeout(absl::Duration timeout) const {
    return notification_.WaitForNotificationWithTimeout(timeout);
  }

 private:
  mutable Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  uint64_t next_handle_ ABSL_GUARDED_BY(mu_) = 1;
  std::vector<std::pair<uint64_t, absl::AnyInvocable<void()>>> callbacks_
      ABSL_GUARDED_BY(mu_);
  uint64_t running_ ABSL_GUARDED_BY(mu_) = 0;  // handle of the running callback
  std::thread::id cancelling_thread_ ABSL_GUARDED_BY(mu_);
  CondVar callback_done_;
  Notification notification_;
};

}  // namespace sserpc

#endif  // SSERPC_PROTO_CANCELLATION_H_
