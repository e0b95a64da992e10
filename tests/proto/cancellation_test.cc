#include "proto/cancellation.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "proto/sync.h"

namespace sserpc {
namespace {

// Runs `body` on its own thread and fails the test if it has not finished in
// a few seconds (a deadlock), rather than hanging the whole binary. On
// timeout the thread and what it uses are leaked.
template <typename Body>
void RunWithDeadlockGuard(Body body) {
  auto done = std::make_shared<Notification>();
  std::thread([done, body]() mutable {
    body();
    done->Notify();
  }).detach();
  if (!done->WaitForNotificationWithTimeout(absl::Seconds(10))) {
    FAIL() << "did not finish: deadlock?";
  }
}

TEST(CancellationTest, StartsNotCancelled) {
  Cancellation c;
  EXPECT_FALSE(c.IsCancelled());
  EXPECT_TRUE(c.status().ok());
  EXPECT_FALSE(c.WaitWithTimeout(absl::Milliseconds(1)));
}

TEST(CancellationTest, DefaultCancelIsCancelled) {
  Cancellation c;
  EXPECT_TRUE(c.Cancel());
  EXPECT_TRUE(c.IsCancelled());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kCancelled);
}

TEST(CancellationTest, OkStatusBecomesCancelled) {
  Cancellation c;
  EXPECT_TRUE(c.Cancel(absl::OkStatus()));
  EXPECT_TRUE(c.IsCancelled());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kCancelled);
}

TEST(CancellationTest, FirstCancelWins) {
  Cancellation c;
  EXPECT_TRUE(c.Cancel(absl::DeadlineExceededError("deadline")));
  EXPECT_FALSE(c.Cancel(absl::UnavailableError("gone")));
  EXPECT_FALSE(c.Cancel());
  EXPECT_EQ(c.status(), absl::DeadlineExceededError("deadline"));
}

TEST(CancellationTest, CallbacksRunOnceOnCancel) {
  Cancellation c;
  int a = 0;
  int b = 0;
  c.AddCallback([&] { ++a; });
  c.AddCallback([&] { ++b; });
  EXPECT_EQ(a + b, 0);
  c.Cancel();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
  c.Cancel(absl::AbortedError("again"));
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
}

TEST(CancellationTest, CallbacksRunOnTheCancellingThread) {
  Cancellation c;
  std::thread::id ran_on;
  c.AddCallback([&] { ran_on = std::this_thread::get_id(); });
  std::thread canceller([&] { c.Cancel(); });
  const std::thread::id canceller_id = canceller.get_id();
  canceller.join();
  EXPECT_EQ(ran_on, canceller_id);
}

TEST(CancellationTest, CallbackSeesTheCancelledState) {
  Cancellation c;
  bool cancelled = false;
  absl::Status status;
  c.AddCallback([&] {
    cancelled = c.IsCancelled();
    status = c.status();
  });
  c.Cancel(absl::UnavailableError("closed"));
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(status, absl::UnavailableError("closed"));
}

TEST(CancellationTest, CallbackMayUseTheSameObjectWithoutDeadlock) {
  auto c = std::make_shared<Cancellation>();
  auto nested_ran = std::make_shared<std::atomic<int>>(0);
  RunWithDeadlockGuard([c, nested_ran] {
    uint64_t self = 0;
    self = c->AddCallback([c, nested_ran, &self] {
      (void)c->IsCancelled();
      (void)c->status();
      c->RemoveCallback(self);
      c->AddCallback([nested_ran] { ++*nested_ran; });
      (void)c->Cancel(absl::AbortedError("from inside"));
      (void)c->WaitWithTimeout(absl::ZeroDuration());
    });
    c->Cancel();
  });
  EXPECT_EQ(*nested_ran, 1);
  EXPECT_EQ(c->status().code(), absl::StatusCode::kCancelled);
}

TEST(CancellationTest, CallbackAddedAfterCancelRunsAtOnce) {
  Cancellation c;
  c.Cancel();
  int ran = 0;
  std::thread::id ran_on;
  const uint64_t handle = c.AddCallback([&] {
    ++ran;
    ran_on = std::this_thread::get_id();
  });
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  c.RemoveCallback(handle);  // harmless
  c.Cancel();
  EXPECT_EQ(ran, 1);
}

TEST(CancellationTest, RemoveCallbackPreventsIt) {
  Cancellation c;
  int removed = 0;
  int kept = 0;
  const uint64_t h = c.AddCallback([&] { ++removed; });
  c.AddCallback([&] { ++kept; });
  c.RemoveCallback(h);
  c.Cancel();
  EXPECT_EQ(removed, 0);
  EXPECT_EQ(kept, 1);
}

TEST(CancellationTest, HandlesAreDistinctAndNonZero) {
  Cancellation c;
  const uint64_t a = c.AddCallback([] {});
  const uint64_t b = c.AddCallback([] {});
  EXPECT_NE(a, 0u);
  EXPECT_NE(b, 0u);
  EXPECT_NE(a, b);
}

TEST(CancellationTest, RemovingUnknownHandlesIsHarmless) {
  Cancellation c;
  int ran = 0;
  const uint64_t h = c.AddCallback([&] { ++ran; });
  c.RemoveCallback(0);
  c.RemoveCallback(h + 1000);
  c.Cancel();
  EXPECT_EQ(ran, 1);
  c.RemoveCallback(h);  // after cancel: harmless
}

TEST(CancellationTest, AcceptsMoveOnlyCallbacks) {
  Cancellation c;
  int seen = 0;
  auto value = std::make_unique<int>(7);
  c.AddCallback([v = std::move(value), &seen] { seen = *v; });
  c.Cancel();
  EXPECT_EQ(seen, 7);
}

TEST(CancellationTest, WaitWithTimeoutTimesOut) {
  Cancellation c;
  const absl::Time start = absl::Now();
  EXPECT_FALSE(c.WaitWithTimeout(absl::Milliseconds(50)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(45));
}

TEST(CancellationTest, WaitWithTimeoutWakesOnCancel) {
  Cancellation c;
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(20));
    c.Cancel(absl::DeadlineExceededError("late"));
  });
  EXPECT_TRUE(c.WaitWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kDeadlineExceeded);
  canceller.join();
}

TEST(CancellationTest, WaitAfterCancelReturnsAtOnce) {
  Cancellation c;
  c.Cancel();
  EXPECT_TRUE(c.WaitWithTimeout(absl::ZeroDuration()));
}

TEST(CancellationTest, ExactlyOneConcurrentCancelWins) {
  for (int round = 0; round < 50; ++round) {
    Cancellation c;
    std::atomic<int> winners{0};
    std::atomic<int> callback_runs{0};
    c.AddCallback([&] { ++callback_runs; });
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        if (c.Cancel(
                absl::Status(absl::StatusCode::kAborted, std::to_string(t)))) {
          ++winners;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(winners, 1);
    EXPECT_EQ(callback_runs, 1);
  }
}

TEST(CancellationTest, CallbacksRacingWithCancelEachRunExactlyOnce) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  Cancellation c;
  std::vector<std::atomic<int>> runs(kThreads * kPerThread);
  std::vector<std::thread> adders;
  Notification go;
  for (int t = 0; t < kThreads; ++t) {
    adders.emplace_back([&, t] {
      go.WaitForNotification();
      for (int i = 0; i < kPerThread; ++i) {
        c.AddCallback([&runs, k = t * kPerThread + i] { ++runs[k]; });
      }
    });
  }
  go.Notify();
  absl::SleepFor(absl::Microseconds(200));
  c.Cancel();
  for (std::thread& t : adders) t.join();
  for (size_t k = 0; k < runs.size(); ++k) {
    ASSERT_EQ(runs[k].load(), 1) << "callback " << k;
  }
}

TEST(CancellationTest, RemoveCallbackWaitsForTheCallbackRunningElsewhere) {
  Cancellation c;
  Notification entered, release;
  std::atomic<bool> finished{false};
  uint64_t h = c.AddCallback([&] {
    entered.Notify();
    release.WaitForNotification();
    finished = true;
  });
  std::thread canceller([&] { c.Cancel(); });
  entered.WaitForNotification();
  std::thread remover([&] {
    c.RemoveCallback(h);
    EXPECT_TRUE(finished.load());  // returned only after the callback did
  });
  absl::SleepFor(absl::Milliseconds(20));
  release.Notify();
  remover.join();
  canceller.join();
}

TEST(CancellationTest, RemoveCallbackFromInsideACallbackDoesNotWait) {
  Cancellation c;
  uint64_t h = 0;
  bool ran = false;
  h = c.AddCallback([&] {
    c.RemoveCallback(h);  // would deadlock if it waited for itself
    ran = true;
  });
  c.Cancel();
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace sserpc
