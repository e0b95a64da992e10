#ifndef SSERPC_PROTO_SYNC_H_
#define SSERPC_PROTO_SYNC_H_

// The synchronization primitives sserpc uses: sserpc::Mutex, MutexLock,
// ReleasableMutexLock, CondVar, Condition and Notification.
//
// By default they are small classes with abseil's API and semantics built
// on std::mutex and std::condition_variable (Notification: on a std::atomic
// and Linux futex calls). With SSERPC_ABSL_SYNC defined
// they are abseil's own (plain aliases), which sserpc used before: Debian's
// abseil is built with its debug checks on (deadlock detection looks up a
// graph on every Lock), and measured side by side on the reverse-echo
// benchmark the std:: classes gave 8-10% more calls/s in S2, with 14% less
// client CPU per call (docs/BENCHMARKS.md, fifth session). They are also
// what ThreadSanitizer needs: Debian's abseil is not built with TSan, so
// absl::Mutex synchronizes through atomics and futex calls TSan cannot see,
// while it does see the pthread calls underneath the standard library's
// primitives.
//
// The std:: classes keep abseil's semantics:
//  - CondVar::WaitWithTimeout/WaitWithDeadline return true on timeout;
//  - Mutex::Await waits until the condition holds; it is re-evaluated
//    whenever another thread releases the mutex (Unlock, Await, a CondVar
//    wait); AwaitWithTimeout/AwaitWithDeadline return the condition's value;
//  - Notification::Notify may be called once (twice aborts), and a
//    Notification may be destroyed as soon as a waiter has seen it notified.
// AssertHeld() checks nothing. A Mutex costs ~100 bytes (abseil's: 8).

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

#ifdef SSERPC_ABSL_SYNC

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace sserpc {

using Mutex = absl::Mutex;
using MutexLock = absl::MutexLock;
using ReleasableMutexLock = absl::ReleasableMutexLock;
using CondVar = absl::CondVar;
using Condition = absl::Condition;
using Notification = absl::Notification;

}  // namespace sserpc

#else  // !SSERPC_ABSL_SYNC

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>

namespace sserpc {

namespace sync_internal {

// When a wait gives up: never, or at a point of the steady clock.
struct Deadline {
  bool never = true;
  std::chrono::steady_clock::time_point at;

  static Deadline Never() { return Deadline(); }
  static Deadline After(absl::Duration timeout) {
    Deadline d;
    // Beyond a century (absl::InfiniteDuration() included) is never.
    if (timeout >= absl::Hours(24 * 365 * 100)) return d;
    if (timeout < absl::ZeroDuration()) timeout = absl::ZeroDuration();
    d.never = false;
    d.at = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
    return d;
  }
  // absl::Time is the real-time clock: the deadline becomes a timeout now.
  static Deadline At(absl::Time deadline) { return After(deadline - absl::Now()); }
};

// One wait on `cv` (with `lock` held) until notified, woken spuriously or
// `deadline`. Returns true if it timed out.
template <typename CV, typename Lock>
bool WaitOnce(CV& cv, Lock& lock, const Deadline& deadline) {
  if (deadline.never) {
    cv.wait(lock);
    return false;
  }
  return cv.wait_until(lock, deadline.at) == std::cv_status::timeout;
}

// Linux futex calls on `word` (proto/sync.cc). FutexWait sleeps while
// *word == expected, until woken, interrupted or `deadline`; false only if
// the deadline passed. FutexWakeAll wakes every thread sleeping on `word`.
bool FutexWait(std::atomic<int>* word, int expected, const Deadline& deadline);
void FutexWakeAll(std::atomic<int>* word);

template <typename T>
struct Identity {
  using type = T;
};

}  // namespace sync_internal

// A predicate a Mutex waits for; evaluated only with the mutex held. Same
// constructors as absl::Condition; what they point to must outlive it.
class Condition {
 public:
  Condition(bool (*func)(void*), void* arg)
      : eval_([func, arg] { return func(arg); }) {}

  template <typename T>
  Condition(bool (*func)(T*), T* arg) : eval_([func, arg] { return func(arg); }) {}

  template <typename T>
  Condition(T* object, bool (sync_internal::Identity<T>::type::*method)())
      : eval_([object, method] { return (object->*method)(); }) {}

  template <typename T>
  Condition(const T* object,
            bool (sync_internal::Identity<T>::type::*method)() const)
      : eval_([object, method] { return (object->*method)(); }) {}

  explicit Condition(const bool* cond) : eval_([cond] { return *cond; }) {}

  // Any object with `bool operator()() const`, e.g. a lambda.
  template <typename T>
  explicit Condition(const T* obj) : eval_([obj] { return (*obj)(); }) {}

  bool Eval() const { return eval_(); }

 private:
  std::function<bool()> eval_;
};

class CondVar;

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    WakeAwaiters();
    mu_.unlock();
  }
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) { return mu_.try_lock(); }
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

  // With the mutex held: releases it until `cond` holds, then holds it again.
  void Await(const Condition& cond) {
    AwaitUntil(cond, sync_internal::Deadline::Never(), /*held_before=*/true);
  }
  // The same, giving up after `timeout`/at `deadline`; returns cond's value.
  bool AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
    return AwaitUntil(cond, sync_internal::Deadline::After(timeout), true);
  }
  bool AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
    return AwaitUntil(cond, sync_internal::Deadline::At(deadline), true);
  }

  // Lock() then Await(cond).
  void LockWhen(const Condition& cond) ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mu_.lock();
    AwaitUntil(cond, sync_internal::Deadline::Never(), false);
  }
  bool LockWhenWithTimeout(const Condition& cond, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mu_.lock();
    return AwaitUntil(cond, sync_internal::Deadline::After(timeout), false);
  }
  bool LockWhenWithDeadline(const Condition& cond, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mu_.lock();
    return AwaitUntil(cond, sync_internal::Deadline::At(deadline), false);
  }

 private:
  friend class CondVar;

  // Called with mu_ held, just before this thread lets it go: the holder may
  // have changed what awaited conditions depend on, so they are evaluated
  // again (each awaiter does that for its own condition).
  void WakeAwaiters() {
    if (awaiters_ > 0) awaiters_cv_.notify_all();
  }

  // `held_before`: the caller held the mutex before this call, and may have
  // changed state; a caller that just locked it has not. An awaiter woken to
  // find its condition still false waits again without waking the others:
  // nothing changed, and they were all woken together.
  bool AwaitUntil(const Condition& cond, const sync_internal::Deadline& deadline,
                  bool held_before) {
    bool changed = held_before;
    while (!cond.Eval()) {
      if (changed) WakeAwaiters();
      changed = false;
      ++awaiters_;
      std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
      const bool timed_out = sync_internal::WaitOnce(awaiters_cv_, lock, deadline);
      lock.release();
      --awaiters_;
      if (timed_out) return cond.Eval();
    }
    return true;
  }

  std::mutex mu_;
  std::condition_variable awaiters_cv_;  // with mu_
  int awaiters_ = 0;                     // guarded by mu_
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  explicit MutexLock(Mutex* mu, const Condition& cond)
      ABSL_EXCLUSIVE_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->LockWhen(cond);
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }

 private:
  Mutex* const mu_;
};

class ABSL_SCOPED_LOCKABLE ReleasableMutexLock {
 public:
  explicit ReleasableMutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->Lock();
  }
  explicit ReleasableMutexLock(Mutex* mu, const Condition& cond)
      ABSL_EXCLUSIVE_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->LockWhen(cond);
  }
  ReleasableMutexLock(const ReleasableMutexLock&) = delete;
  ReleasableMutexLock& operator=(const ReleasableMutexLock&) = delete;
  ~ReleasableMutexLock() ABSL_UNLOCK_FUNCTION() {
    if (mu_ != nullptr) mu_->Unlock();
  }
  void Release() ABSL_UNLOCK_FUNCTION() {
    mu_->Unlock();
    mu_ = nullptr;
  }

 private:
  Mutex* mu_;
};

class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // With `mu` held: releases it until signalled (or woken spuriously), then
  // holds it again. The timed forms return true if they timed out.
  void Wait(Mutex* mu) { WaitUntil(mu, sync_internal::Deadline::Never()); }
  bool WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
    return WaitUntil(mu, sync_internal::Deadline::After(timeout));
  }
  bool WaitWithDeadline(Mutex* mu, absl::Time deadline) {
    return WaitUntil(mu, sync_internal::Deadline::At(deadline));
  }

  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  bool WaitUntil(Mutex* mu, const sync_internal::Deadline& deadline) {
    mu->WakeAwaiters();  // the mutex is let go: as in Mutex::Unlock()
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const bool timed_out = sync_internal::WaitOnce(cv_, lock, deadline);
    lock.release();
    return timed_out;
  }

  // Always waited on with a Mutex's std::mutex (a CondVar may serve
  // different Mutexes, as abseil's may, only at different times).
  std::condition_variable cv_;
};

// A one-shot event on a futex word, not a mutex and condition variable: a
// waiter woken by Notify() returns at once instead of then waiting for the
// notifier to let a mutex go (a second sleep and wake-up on every blocking
// call's completion), and Notify() makes a syscall only when someone waits.
class Notification {
 public:
  Notification() = default;
  explicit Notification(bool prenotify)
      : state_(prenotify ? kNotified : kIdle) {}
  Notification(const Notification&) = delete;
  Notification& operator=(const Notification&) = delete;
  // Notify() touches the object only in one atomic exchange (its wake-up
  // syscall uses the address, not the memory), so a waiter that has seen
  // it notified may destroy it at once.
  ~Notification() = default;

  bool HasBeenNotified() const {
    return state_.load(std::memory_order_acquire) == kNotified;
  }

  void WaitForNotification() const {
    WaitUntil(sync_internal::Deadline::Never());
  }
  // Return true if notified (false: the time ran out first).
  bool WaitForNotificationWithTimeout(absl::Duration timeout) const {
    return WaitUntil(sync_internal::Deadline::After(timeout));
  }
  bool WaitForNotificationWithDeadline(absl::Time deadline) const {
    return WaitUntil(sync_internal::Deadline::At(deadline));
  }

  void Notify() {
    const int before = state_.exchange(kNotified, std::memory_order_acq_rel);
    if (before == kNotified) {
      std::fprintf(stderr,
                   "Notify() method called more than once for Notification "
                   "object %p\n",
                   static_cast<void*>(this));
      std::abort();
    }
    if (before == kWaitedFor) sync_internal::FutexWakeAll(&state_);
  }

 private:
  static constexpr int kIdle = 0;
  static constexpr int kWaitedFor = 1;  // not notified; someone may sleep
  static constexpr int kNotified = 2;

  bool WaitUntil(const sync_internal::Deadline& deadline) const {
    int s = state_.load(std::memory_order_acquire);
    while (s != kNotified) {
      if (s == kIdle &&
          !state_.compare_exchange_weak(s, kWaitedFor,
                                        std::memory_order_acquire)) {
        continue;  // s holds the current value
      }
      if (!sync_internal::FutexWait(&state_, kWaitedFor, deadline)) {
        return HasBeenNotified();  // timed out
      }
      s = state_.load(std::memory_order_acquire);
    }
    return true;
  }

  mutable std::atomic<int> state_{kIdle};
};

}  // namespace sserpc

#endif  // SSERPC_ABSL_SYNC

#endif  // SSERPC_PROTO_SYNC_H_
