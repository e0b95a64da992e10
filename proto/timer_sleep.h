#ifndef SSERPC_PROTO_TIMER_SLEEP_H_
#define SSERPC_PROTO_TIMER_SLEEP_H_

#include <algorithm>
#include <cstdint>

#include "absl/time/time.h"
#include "proto/sync.h"

namespace sserpc {

// The wake-up policy of a deadline thread (the server's and each client's):
// it sleeps until the earliest deadline it knows of, and a deadline added
// later wakes it only if earlier still. Most calls end before their deadline,
// so the thread sleeps through them instead of waking once per call. Every
// member is guarded by the owner's mutex.
class TimerSleep {
 public:
  // A deadline was added: true if the thread must be woken for it (the
  // caller signals its condition variable).
  bool NeedsWake(absl::Time deadline) {
    if (deadline >= wakes_at_) return false;
    hint_ = deadline;
    return true;
  }

  // Sleeps on `cv` (releasing `mu`) until `earliest` (the earliest deadline
  // queued, InfiniteFuture() if none), a deadline that woke the thread before
  // and may have ended since, or a signal.
  void Sleep(CondVar& cv, Mutex* mu, absl::Time earliest, absl::Time now) {
    absl::Time target = earliest;
    if (hint_ > now) {
      target = std::min(target, hint_);
    } else {
      hint_ = absl::InfiniteFuture();
    }
    wakes_at_ = target;
    cv.WaitWithTimeout(mu, target - now);
    wakes_at_ = absl::InfinitePast();
    ++wakeups_;
  }

  uint64_t wakeups() const { return wakeups_; }

 private:
  // What the thread sleeps until (InfinitePast: awake, it looks again before
  // sleeping).
  absl::Time wakes_at_ = absl::InfinitePast();
  // The deadline that last woke the thread: it sleeps no later than that even
  // if the call has ended since, so the next call need not wake it again.
  absl::Time hint_ = absl::InfiniteFuture();
  uint64_t wakeups_ = 0;
};

}  // namespace sserpc

#endif  // SSERPC_PROTO_TIMER_SLEEP_H_
