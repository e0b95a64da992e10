#include "client/active_calls.h"
#include "proto/thread_name.h"

#include <vector>

namespace sserpc::client_internal {

ActiveCalls::ActiveCalls(size_t dedup_window, Clock* clock)
    : window_(dedup_window == 0 ? 1 : dedup_window), clock_(clock) {}

ActiveCalls::~ActiveCalls() { StopTimer(); }

std::shared_ptr<Cancellation> ActiveCalls::Begin(const std::string& call_id,
                                                 absl::Time deadline) {
  MutexLock lock(&mu_);
  // One hash of the id for the common case (new and not recent).
  auto [it, inserted] = running_.try_emplace(call_id);
  if (!inserted) return nullptr;  // running
  if (recent_set_.contains(call_id)) {
    running_.erase(it);
    return nullptr;
  }
  it->second.cancellation = std::make_shared<Cancellation>();
  it->second.deadline = deadline;
  // Calls mostly come in deadline order: end() is usually the right place.
  deadlines_.emplace_hint(deadlines_.end(), deadline, it->second.cancellation);
  if (timer_sleep_.NeedsWake(deadline)) timer_wake_.Signal();
  if (timer_enabled_) StartTimerThreadLocked();
  return it->second.cancellation;
}

void ActiveCalls::EraseDeadlineLocked(const Entry& entry) {
  // Entries with the same deadline are told apart by their cancellation.
  auto [first, last] = deadlines_.equal_range(entry.deadline);
  for (auto d = first; d != last; ++d) {
    if (d->second == entry.cancellation) {
      deadlines_.erase(d);
      return;
    }
  }
}

void ActiveCalls::RememberLocked(const std::string& call_id) {
  recent_.push_back(call_id);
  // The set views the deque's copy: a deque's elements stay where they are
  // while others are added or removed at its ends. Inserting first hashes
  // the id once; an id already remembered (rare) is taken back off.
  if (!recent_set_.insert(absl::string_view(recent_.back())).second) {
    recent_.pop_back();
    return;
  }
  while (recent_.size() > window_) {
    recent_set_.erase(absl::string_view(recent_.front()));
    recent_.pop_front();
  }
}

void ActiveCalls::End(const std::string& call_id) {
  MutexLock lock(&mu_);
  auto it = running_.find(call_id);
  if (it != running_.end()) {
    EraseDeadlineLocked(it->second);
    running_.erase(it);
  }
  RememberLocked(call_id);
}

void ActiveCalls::Cancel(const std::string& call_id, absl::Status why) {
  std::shared_ptr<Cancellation> target;
  {
    MutexLock lock(&mu_);
    auto it = running_.find(call_id);
    if (it == running_.end()) {
      RememberLocked(call_id);
      return;
    }
    target = it->second.cancellation;
  }
  target->Cancel(std::move(why));
}

void ActiveCalls::CancelAll(absl::Status why) {
  std::vector<std::shared_ptr<Cancellation>> targets;
  {
    MutexLock lock(&mu_);
    for (auto& entry : running_) targets.push_back(entry.second.cancellation);
  }
  for (auto& t : targets) t->Cancel(why);
}

void ActiveCalls::ExpireDue() {
  std::vector<std::shared_ptr<Cancellation>> targets;
  {
    MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    for (auto it = deadlines_.begin();
         it != deadlines_.end() && it->first <= now; ++it) {
      targets.push_back(it->second);
    }
  }
  for (auto& t : targets) t->Cancel(absl::DeadlineExceededError("deadline exceeded"));
}

void ActiveCalls::StartTimer() {
  MutexLock lock(&mu_);
  timer_enabled_ = true;
  if (!running_.empty()) StartTimerThreadLocked();
}

void ActiveCalls::StartTimerThreadLocked() {
  if (timer_.joinable() || timer_stop_) return;
  timer_ = std::thread([this] {
    NameThisThread("sserpc-deadline");
    MutexLock lock(&mu_);
    while (!timer_stop_) {
      const absl::Time now = clock_->Now();
      // Calls past their deadline stay in deadlines_ until End(): skip them.
      auto it = deadlines_.begin();
      while (it != deadlines_.end() && it->first <= now &&
             it->second->IsCancelled()) {
        ++it;
      }
      if (it != deadlines_.end() && it->first <= now) {
        mu_.Unlock();
        ExpireDue();
        mu_.Lock();
        continue;
      }
      timer_sleep_.Sleep(
          timer_wake_, &mu_,
          it == deadlines_.end() ? absl::InfiniteFuture() : it->first, now);
    }
  });
}

void ActiveCalls::StopTimer() {
  {
    MutexLock lock(&mu_);
    timer_stop_ = true;
    timer_wake_.Signal();
  }
  if (timer_.joinable()) timer_.join();
}

uint64_t ActiveCalls::timer_wakeups() const {
  MutexLock lock(&mu_);
  return timer_sleep_.wakeups();
}

size_t ActiveCalls::running() const {
  MutexLock lock(&mu_);
  return running_.size();
}

}  // namespace sserpc::client_internal
