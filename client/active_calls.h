#ifndef SSERPC_CLIENT_ACTIVE_CALLS_H_
#define SSERPC_CLIENT_ACTIVE_CALLS_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/cancellation.h"
#include "proto/clock.h"
#include "proto/sync.h"
#include "proto/timer_sleep.h"

namespace sserpc::client_internal {

// The calls this client is running, their deadlines, and the ids of calls
// that ended recently (so a redelivered request is not run twice). Cancels
// the call's Cancellation at its deadline or on the server's cancel event.
// Cancellation callbacks never run under this object's lock. Thread-safe.
class ActiveCalls {
 public:
  ActiveCalls(size_t dedup_window, Clock* clock);
  ~ActiveCalls();  // StopTimer()

  // Registers a call. nullptr if the id is running or ended recently: a
  // redelivery, to be ignored.
  std::shared_ptr<Cancellation> Begin(const std::string& call_id,
                                      absl::Time deadline);
  // The call's handler finished; the id is remembered for the window.
  void End(const std::string& call_id);
  // The server said the call is over. For an id not seen yet, the id is
  // remembered, so a request for it arriving later is not run.
  void Cancel(const std::string& call_id, absl::Status why);
  void CancelAll(absl::Status why);

  // Cancels, with DEADLINE_EXCEEDED, every call whose deadline has passed.
  void ExpireDue();
  // Runs ExpireDue() as real time passes, on a thread, until StopTimer().
  // The thread starts with the first call: a client never called has none.
  void StartTimer();
  void StopTimer();

  size_t running() const;
  // How often the timer thread woke up (for tests of its wake-up policy).
  uint64_t timer_wakeups() const;

 private:
  struct Entry {
    std::shared_ptr<Cancellation> cancellation;
    absl::Time deadline;
  };
  // Running calls by deadline. A B-tree keeps many entries per node, so
  // adding and removing one per call allocates nothing most of the time
  // (a std::multimap allocated a node and a copy of the id for each).
  using Deadlines =
      absl::btree_multimap<absl::Time, std::shared_ptr<Cancellation>>;
  // Removes the call's entry from deadlines_. REQUIRES: it is running.
  void EraseDeadlineLocked(const Entry& entry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartTimerThreadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RememberLocked(const std::string& call_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t window_;
  Clock* const clock_;
  mutable Mutex mu_;
  absl::flat_hash_map<std::string, Entry> running_ ABSL_GUARDED_BY(mu_);
  Deadlines deadlines_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> recent_ ABSL_GUARDED_BY(mu_);
  // Views of recent_'s elements (one copy of each id, not two).
  absl::flat_hash_set<absl::string_view> recent_set_ ABSL_GUARDED_BY(mu_);
  bool timer_stop_ ABSL_GUARDED_BY(mu_) = false;
  CondVar timer_wake_;
  // Begin() wakes the timer thread only for an earlier deadline.
  TimerSleep timer_sleep_ ABSL_GUARDED_BY(mu_);
  bool timer_enabled_ ABSL_GUARDED_BY(mu_) = false;  // StartTimer() called
  std::thread timer_;
};

}  // namespace sserpc::client_internal

#endif  // SSERPC_CLIENT_ACTIVE_CALLS_H_
