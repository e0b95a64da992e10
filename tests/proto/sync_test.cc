// proto/sync.h: compiled twice, as sync_test (the std:: primitives sserpc
// uses) and sync_absl_test (SSERPC_ABSL_SYNC: abseil's), so both are held to
// the same behaviour.
#include "proto/sync.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace sserpc {
namespace {

// Long enough that a wait that should end by a signal never times out first.
constexpr absl::Duration kLong = absl::Seconds(30);

// Whether `mu` can be locked (then unlocks it).
bool Free(Mutex& mu) {
  if (!mu.TryLock()) return false;
  mu.Unlock();
  return true;
}

TEST(SyncTest, MutexLockExcludes) {
  Mutex mu;
  int counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        MutexLock lock(&mu);
        int seen = counter;
        counter = seen + 1;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  MutexLock lock(&mu);
  EXPECT_EQ(counter, 40000);
}

TEST(SyncTest, LockUnlockAndTryLock) {
  Mutex mu;
  mu.Lock();
  bool acquired = true;
  std::thread([&] { acquired = mu.TryLock(); }).join();
  EXPECT_FALSE(acquired);
  mu.Unlock();
  EXPECT_TRUE(Free(mu));
}

TEST(SyncTest, ReleasableMutexLockReleases) {
  Mutex mu;
  {
    ReleasableMutexLock lock(&mu);
    lock.Release();
    EXPECT_TRUE(Free(mu));  // released before the end of the scope
  }
  {
    ReleasableMutexLock lock(&mu);  // not released: the destructor unlocks
  }
  EXPECT_TRUE(Free(mu));
}

TEST(SyncTest, CondVarTimedWaitsReturnTrueOnTimeout) {
  Mutex mu;
  CondVar cv;
  MutexLock lock(&mu);
  absl::Time start = absl::Now();
  EXPECT_TRUE(cv.WaitWithTimeout(&mu, absl::Milliseconds(20)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(15));
  EXPECT_TRUE(cv.WaitWithTimeout(&mu, absl::ZeroDuration()));
  EXPECT_TRUE(cv.WaitWithTimeout(&mu, -absl::Seconds(1)));
  EXPECT_TRUE(cv.WaitWithDeadline(&mu, absl::Now() + absl::Milliseconds(5)));
  EXPECT_TRUE(cv.WaitWithDeadline(&mu, absl::Now() - absl::Seconds(1)));
  EXPECT_TRUE(cv.WaitWithDeadline(&mu, absl::InfinitePast()));
}

// Signalled waits return false (unless woken spuriously: then the loop
// waits again, as callers of a CondVar do).
TEST(SyncTest, CondVarSignalWakesAWaiter) {
  for (bool use_deadline : {false, true}) {
    Mutex mu;
    CondVar cv;
    bool ready = false;
    bool timed_out = false;
    std::thread waiter([&] {
      MutexLock lock(&mu);
      while (!ready && !timed_out) {
        timed_out = use_deadline ? cv.WaitWithDeadline(&mu, absl::Now() + kLong)
                                 : cv.WaitWithTimeout(&mu, kLong);
      }
    });
    absl::SleepFor(absl::Milliseconds(5));
    {
      MutexLock lock(&mu);
      ready = true;
      cv.Signal();
    }
    waiter.join();
    EXPECT_FALSE(timed_out);
  }
}

TEST(SyncTest, CondVarInfiniteTimeoutWaitsForTheSignal) {
  Mutex mu;
  CondVar cv;
  int stage = 0;
  bool first_seen = false;
  std::thread waiter([&] {
    MutexLock lock(&mu);
    while (stage < 1) EXPECT_FALSE(cv.WaitWithTimeout(&mu, absl::InfiniteDuration()));
    first_seen = true;
    while (stage < 2) EXPECT_FALSE(cv.WaitWithDeadline(&mu, absl::InfiniteFuture()));
  });
  absl::SleepFor(absl::Milliseconds(5));
  {
    MutexLock lock(&mu);
    stage = 1;
    cv.Signal();
    mu.Await(Condition(&first_seen));  // the waiter is now in its second wait
    stage = 2;
    cv.Signal();
  }
  waiter.join();
}

TEST(SyncTest, CondVarSignalAllWakesEveryWaiter) {
  Mutex mu;
  CondVar cv;
  bool go = false;
  int woken = 0;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 4; ++i) {
    waiters.emplace_back([&] {
      MutexLock lock(&mu);
      while (!go) cv.Wait(&mu);
      ++woken;
    });
  }
  absl::SleepFor(absl::Milliseconds(5));
  {
    MutexLock lock(&mu);
    go = true;
    cv.SignalAll();
  }
  for (std::thread& t : waiters) t.join();
  EXPECT_EQ(woken, 4);
}

TEST(SyncTest, AwaitReturnsAtOnceWhenTheConditionHolds) {
  Mutex mu;
  bool flag = true;
  MutexLock lock(&mu);
  mu.Await(Condition(&flag));
  EXPECT_TRUE(mu.AwaitWithTimeout(Condition(&flag), absl::ZeroDuration()));
  EXPECT_TRUE(mu.AwaitWithDeadline(Condition(&flag), absl::InfinitePast()));
}

TEST(SyncTest, AwaitWithTimeoutReturnsTheConditionsValue) {
  Mutex mu;
  bool flag = false;
  MutexLock lock(&mu);
  absl::Time start = absl::Now();
  EXPECT_FALSE(mu.AwaitWithTimeout(Condition(&flag), absl::Milliseconds(20)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(15));
  EXPECT_FALSE(mu.AwaitWithTimeout(Condition(&flag), -absl::Seconds(1)));
  EXPECT_FALSE(mu.AwaitWithDeadline(Condition(&flag), absl::Now() + absl::Milliseconds(5)));
}

// The condition is re-evaluated when another thread releases the mutex after
// changing what it depends on: with Unlock() (end of a MutexLock), while it
// waits on a CondVar, and while it awaits a condition of its own. (In the
// last two, the changer only lets go when the test is done, or after 10 s.)
TEST(SyncTest, AwaitSeesChangesReleasedInEveryWay) {
  for (int how = 0; how < 3; ++how) {
    Mutex mu;
    CondVar cv;
    bool flag = false;
    bool done = false;
    std::thread changer([&] {
      absl::SleepFor(absl::Milliseconds(5));
      MutexLock lock(&mu);
      flag = true;
      if (how == 1) cv.WaitWithTimeout(&mu, absl::Seconds(10));
      if (how == 2) mu.AwaitWithTimeout(Condition(&done), absl::Seconds(10));
    });
    {
      MutexLock lock(&mu);
      absl::Time start = absl::Now();
      EXPECT_TRUE(mu.AwaitWithTimeout(Condition(&flag), kLong)) << how;
      EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << how;
      done = true;
      cv.Signal();
    }
    changer.join();
  }
}

TEST(SyncTest, AwaitersWithDifferentConditionsAllWake) {
  Mutex mu;
  int stage = 0;
  std::vector<std::thread> threads;
  // Thread i waits for stage == i, then advances it; started in reverse so
  // most wake-ups find their condition still false.
  constexpr int kThreads = 6;
  for (int i = kThreads - 1; i >= 0; --i) {
    threads.emplace_back([&, i] {
      struct Arg {
        int* stage;
        int want;
      } arg{&stage, i};
      MutexLock lock(&mu, Condition(
                              +[](Arg* a) { return *a->stage == a->want; }, &arg));
      ++stage;
    });
  }
  for (std::thread& t : threads) t.join();
  MutexLock lock(&mu);
  EXPECT_EQ(stage, kThreads);
}

// Two threads hand a counter back and forth through Await only: a lost
// wake-up hangs (the test's timeout catches it).
TEST(SyncTest, AwaitPingPong) {
  Mutex mu;
  int turn = 0;
  constexpr int kRounds = 2000;
  auto player = [&](int me) {
    for (int i = 0; i < kRounds; ++i) {
      struct Arg {
        int* turn;
        int me;
      } arg{&turn, me};
      mu.LockWhen(Condition(+[](Arg* a) { return *a->turn % 2 == a->me; }, &arg));
      ++turn;
      mu.Unlock();
    }
  };
  std::thread a(player, 0), b(player, 1);
  a.join();
  b.join();
  MutexLock lock(&mu);
  EXPECT_EQ(turn, 2 * kRounds);
}

TEST(SyncTest, LockWhenWithTimeout) {
  Mutex mu;
  bool flag = false;
  EXPECT_FALSE(mu.LockWhenWithTimeout(Condition(&flag), absl::Milliseconds(5)));
  mu.Unlock();  // held either way
  EXPECT_FALSE(mu.LockWhenWithDeadline(Condition(&flag), absl::InfinitePast()));
  flag = true;
  mu.Unlock();
  EXPECT_TRUE(mu.LockWhenWithTimeout(Condition(&flag), absl::Milliseconds(5)));
  mu.Unlock();
}

struct Counter {
  int n = 0;
  bool Positive() { return n > 0; }
  bool Even() const { return n % 2 == 0; }
};

TEST(SyncTest, ConditionForms) {
  bool flag = true;
  EXPECT_TRUE(Condition(&flag).Eval());
  flag = false;
  EXPECT_FALSE(Condition(&flag).Eval());

  Counter c;
  Condition positive(&c, &Counter::Positive);
  const Counter* cc = &c;
  Condition even(cc, &Counter::Even);
  Condition is_one(+[](Counter* k) { return k->n == 1; }, &c);
  auto is_two = [&c] { return c.n == 2; };
  Condition two(&is_two);
  Condition is_three(+[](void* k) { return static_cast<Counter*>(k)->n == 3; },
                     static_cast<void*>(&c));
  EXPECT_FALSE(positive.Eval());
  EXPECT_TRUE(even.Eval());
  c.n = 1;
  EXPECT_TRUE(positive.Eval());
  EXPECT_FALSE(even.Eval());
  EXPECT_TRUE(is_one.Eval());
  EXPECT_FALSE(two.Eval());
  c.n = 2;
  EXPECT_TRUE(two.Eval());
  Condition copy = two;
  EXPECT_TRUE(copy.Eval());
  c.n = 3;
  EXPECT_TRUE(is_three.Eval());
}

TEST(SyncTest, Notification) {
  Notification n;
  EXPECT_FALSE(n.HasBeenNotified());
  EXPECT_FALSE(n.WaitForNotificationWithTimeout(absl::Milliseconds(5)));
  EXPECT_FALSE(n.WaitForNotificationWithTimeout(absl::ZeroDuration()));
  EXPECT_FALSE(n.WaitForNotificationWithDeadline(absl::Now() + absl::Milliseconds(5)));
  std::thread notifier([&] {
    absl::SleepFor(absl::Milliseconds(5));
    n.Notify();
  });
  EXPECT_TRUE(n.WaitForNotificationWithTimeout(kLong));
  notifier.join();
  EXPECT_TRUE(n.HasBeenNotified());
  n.WaitForNotification();
  EXPECT_TRUE(n.WaitForNotificationWithTimeout(absl::ZeroDuration()));
  EXPECT_TRUE(n.WaitForNotificationWithDeadline(absl::InfinitePast()));

  Notification pre(true);
  EXPECT_TRUE(pre.HasBeenNotified());
  Notification not_pre(false);
  EXPECT_FALSE(not_pre.HasBeenNotified());
}

TEST(SyncTest, NotifyWakesEveryWaiterIncludingOnesThatTimedOutBefore) {
  Notification n;
  // A wait that timed out leaves the notification marked as waited for.
  EXPECT_FALSE(n.WaitForNotificationWithTimeout(absl::Milliseconds(1)));
  std::atomic<int> woken{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 4; ++i) {
    waiters.emplace_back([&, i] {
      if (i % 2 == 0) {
        n.WaitForNotification();
        woken.fetch_add(1);
      } else if (n.WaitForNotificationWithTimeout(kLong)) {
        woken.fetch_add(1);
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(20));  // let some of them sleep
  EXPECT_EQ(woken.load(), 0);
  n.Notify();
  for (std::thread& t : waiters) t.join();
  EXPECT_EQ(woken.load(), 4);
  EXPECT_TRUE(n.WaitForNotificationWithTimeout(absl::ZeroDuration()));
}

// A waiter may destroy the Notification as soon as it has seen it notified,
// while Notify() may still be returning on the other thread.
TEST(SyncTest, NotificationMayBeDestroyedByTheWaiter) {
  for (int i = 0; i < 200; ++i) {
    auto n = std::make_unique<Notification>();
    Notification* raw = n.get();
    std::thread notifier([raw] { raw->Notify(); });
    if (i % 2 == 0) {
      n->WaitForNotification();
    } else {
      while (!n->HasBeenNotified()) std::this_thread::yield();
    }
    n.reset();
    notifier.join();
  }
}

TEST(SyncDeathTest, NotifyTwiceAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Notification n;
        n.Notify();
        n.Notify();
      },
      "more than once");
}

}  // namespace
}  // namespace sserpc
