// Unit tests of the client runtime's internals: no network, time from a
// FakeClock where the class takes a Clock, no sleeps.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/active_calls.h"
#include "client/event_stream.h"
#include "client/server_url.h"
#include "client/worker_pool.h"
#include "gtest/gtest.h"
#include "proto/sync.h"
#include "tests/testing/fake_clock.h"

namespace sserpc::client_internal {
namespace {

constexpr absl::Duration kWait = absl::Seconds(10);

// ---------------------------------------------------------------- ServerUrl

TEST(ServerUrlTest, PlainHttpWithPort) {
  absl::StatusOr<ServerUrl> url = ParseServerUrl("http://127.0.0.1:8080");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme_host_port, "http://127.0.0.1:8080");
  EXPECT_EQ(url->path_prefix, "");
}

TEST(ServerUrlTest, HttpsWithoutPort) {
  absl::StatusOr<ServerUrl> url = ParseServerUrl("https://rpc.example.com");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme_host_port, "https://rpc.example.com");
  EXPECT_EQ(url->path_prefix, "");
}

TEST(ServerUrlTest, PathPrefixIsKept) {
  absl::StatusOr<ServerUrl> url =
      ParseServerUrl("https://rpc.example.com:8443/api/v2");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme_host_port, "https://rpc.example.com:8443");
  EXPECT_EQ(url->path_prefix, "/api/v2");
}

TEST(ServerUrlTest, TrailingSlashesAreDropped) {
  absl::StatusOr<ServerUrl> root = ParseServerUrl("http://host:80/");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->scheme_host_port, "http://host:80");
  EXPECT_EQ(root->path_prefix, "");

  absl::StatusOr<ServerUrl> prefix = ParseServerUrl("http://host:80/api//");
  ASSERT_TRUE(prefix.ok()) << prefix.status();
  EXPECT_EQ(prefix->path_prefix, "/api");
}

TEST(ServerUrlTest, OtherSchemesAreRejected) {
  for (const char* bad : {"ftp://host", "ws://host:80", "host:8080",
                          "//host", "", "http:/host", "httpx://host"}) {
    absl::StatusOr<ServerUrl> url = ParseServerUrl(bad);
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument)
        << "\"" << bad << "\"";
  }
}

TEST(ServerUrlTest, EmptyHostIsRejected) {
  for (const char* bad : {"http://", "https://", "http:///prefix",
                          "http://user@host", "http://ho st"}) {
    absl::StatusOr<ServerUrl> url = ParseServerUrl(bad);
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument)
        << "\"" << bad << "\"";
  }
}

TEST(ServerUrlTest, QueryAndFragmentAfterAPathAreRejected) {
  for (const char* bad : {"http://host/api?x=1", "http://host/?x",
                          "http://host/api#frag"}) {
    absl::StatusOr<ServerUrl> url = ParseServerUrl(bad);
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument)
        << "\"" << bad << "\"";
  }
}

// Regression test for a fixed bug: client/server_url.cc ParseServerUrl looks for '?' and '#' only in the
// part after the first '/', so a query or fragment right after the authority
// is taken as part of the host ("http://host:8080?x=1" gives
// scheme_host_port "http://host:8080?x=1") instead of INVALID_ARGUMENT.
TEST(ServerUrlTest, QueryAndFragmentWithoutAPathAreRejected) {
  for (const char* bad : {"http://host:8080?x=1", "http://host#frag"}) {
    absl::StatusOr<ServerUrl> url = ParseServerUrl(bad);
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument)
        << "\"" << bad << "\" parsed as \""
        << (url.ok() ? url->scheme_host_port : "") << "\"";
  }
}

// ------------------------------------------------------ EventStream::Backoff

TEST(BackoffTest, DoublesPerAttemptFromTheBaseWithinJitter) {
  absl::BitGen gen;
  const absl::Duration base = absl::Milliseconds(100);
  const absl::Duration max = absl::Seconds(100);
  for (int attempt = 0; attempt < 8; ++attempt) {
    const absl::Duration d = base * (1 << attempt);
    for (int i = 0; i < 200; ++i) {
      absl::Duration got = EventStream::Backoff(base, max, attempt, gen);
      EXPECT_GE(got, d / 2) << "attempt " << attempt;
      EXPECT_LE(got, d) << "attempt " << attempt;
    }
  }
}

TEST(BackoffTest, IsCappedAtMax) {
  absl::BitGen gen;
  const absl::Duration base = absl::Milliseconds(200);
  const absl::Duration max = absl::Seconds(1);
  for (int attempt : {3, 4, 10, 62, 63, 64, 1000}) {
    for (int i = 0; i < 200; ++i) {
      absl::Duration got = EventStream::Backoff(base, max, attempt, gen);
      EXPECT_GE(got, max / 2) << "attempt " << attempt;
      EXPECT_LE(got, max) << "attempt " << attempt;
    }
  }
}

TEST(BackoffTest, BaseAboveMaxIsCapped) {
  absl::BitGen gen;
  for (int i = 0; i < 100; ++i) {
    absl::Duration got = EventStream::Backoff(
        absl::Seconds(60), absl::Seconds(30), 0, gen);
    EXPECT_GE(got, absl::Seconds(15));
    EXPECT_LE(got, absl::Seconds(30));
  }
}

TEST(BackoffTest, IsJittered) {
  absl::BitGen gen;
  absl::Duration first =
      EventStream::Backoff(absl::Seconds(1), absl::Seconds(30), 2, gen);
  bool varied = false;
  for (int i = 0; i < 100 && !varied; ++i) {
    varied = EventStream::Backoff(absl::Seconds(1), absl::Seconds(30), 2,
                                  gen) != first;
  }
  EXPECT_TRUE(varied);
}

// -------------------------------------------------------------- ActiveCalls

class ActiveCallsTest : public ::testing::Test {
 protected:
  absl::Time In(absl::Duration d) { return clock_.Now() + d; }

  testing::FakeClock clock_;
};

TEST_F(ActiveCallsTest, BeginTwiceReturnsNullTheSecondTime) {
  ActiveCalls calls(16, &clock_);
  std::shared_ptr<Cancellation> first = calls.Begin("a", In(absl::Seconds(5)));
  ASSERT_NE(first, nullptr);
  EXPECT_FALSE(first->IsCancelled());
  EXPECT_EQ(calls.Begin("a", In(absl::Seconds(5))), nullptr);
  EXPECT_EQ(calls.running(), 1u);
  EXPECT_NE(calls.Begin("b", In(absl::Seconds(5))), nullptr);
  EXPECT_EQ(calls.running(), 2u);
}

TEST_F(ActiveCallsTest, EndedIdStaysDeduplicated) {
  ActiveCalls calls(16, &clock_);
  ASSERT_NE(calls.Begin("a", In(absl::Seconds(5))), nullptr);
  calls.End("a");
  EXPECT_EQ(calls.running(), 0u);
  EXPECT_EQ(calls.Begin("a", In(absl::Seconds(5))), nullptr);
  EXPECT_EQ(calls.running(), 0u);
}

TEST_F(ActiveCallsTest, WindowEvictsTheOldestEndedIds) {
  ActiveCalls calls(3, &clock_);
  for (const char* id : {"a", "b", "c", "d", "e"}) {
    ASSERT_NE(calls.Begin(id, In(absl::Seconds(5))), nullptr) << id;
    calls.End(id);
  }
  // "a" and "b" fell out of the 3-id window; "c", "d", "e" are remembered.
  EXPECT_EQ(calls.Begin("c", In(absl::Seconds(5))), nullptr);
  EXPECT_EQ(calls.Begin("d", In(absl::Seconds(5))), nullptr);
  EXPECT_EQ(calls.Begin("e", In(absl::Seconds(5))), nullptr);
  EXPECT_NE(calls.Begin("a", In(absl::Seconds(5))), nullptr);
  EXPECT_NE(calls.Begin("b", In(absl::Seconds(5))), nullptr);
}

TEST_F(ActiveCallsTest, WindowOfLongIdsStaysExactOverManyEvictions) {
  // Ids longer than a std::string holds inline, over a window that turns
  // over many times (the set of remembered ids views the queue's copies).
  auto id = [](int i) { return absl::StrCat("call-", i, "-", std::string(40, 'x')); };
  constexpr int kWindow = 5;
  ActiveCalls calls(kWindow, &clock_);
  for (int i = 0; i < 200; ++i) {
    ASSERT_NE(calls.Begin(id(i), In(absl::Seconds(5))), nullptr) << i;
    calls.End(id(i));
  }
  for (int i = 200 - kWindow; i < 200; ++i) {
    EXPECT_EQ(calls.Begin(id(i), In(absl::Seconds(5))), nullptr) << i;
  }
  EXPECT_NE(calls.Begin(id(200 - kWindow - 1), In(absl::Seconds(5))), nullptr);
  EXPECT_NE(calls.Begin(id(0), In(absl::Seconds(5))), nullptr);
}

TEST_F(ActiveCallsTest, RunningCallsAreDeduplicatedWhateverTheWindow) {
  ActiveCalls calls(1, &clock_);
  ASSERT_NE(calls.Begin("long", In(absl::Seconds(5))), nullptr);
  for (const char* id : {"x", "y", "z"}) {
    ASSERT_NE(calls.Begin(id, In(absl::Seconds(5))), nullptr);
    calls.End(id);
  }
  EXPECT_EQ(calls.Begin("long", In(absl::Seconds(5))), nullptr);
}

TEST_F(ActiveCallsTest, CancelOfARunningCallCancelsItWithTheGivenStatus) {
  ActiveCalls calls(16, &clock_);
  std::shared_ptr<Cancellation> a = calls.Begin("a", In(absl::Seconds(5)));
  std::shared_ptr<Cancellation> b = calls.Begin("b", In(absl::Seconds(5)));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  calls.Cancel("a", absl::CancelledError("caller cancelled"));
  EXPECT_TRUE(a->IsCancelled());
  EXPECT_EQ(a->status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(a->status().message(), "caller cancelled");
  EXPECT_FALSE(b->IsCancelled());
  // The call keeps running until its handler ends.
  EXPECT_EQ(calls.running(), 2u);
  // Only the first cancellation counts.
  calls.Cancel("a", absl::DeadlineExceededError("late"));
  EXPECT_EQ(a->status().code(), absl::StatusCode::kCancelled);
}

TEST_F(ActiveCallsTest, CancelOfAnUnseenIdMakesALaterBeginReturnNull) {
  ActiveCalls calls(16, &clock_);
  calls.Cancel("early", absl::CancelledError("caller cancelled"));
  EXPECT_EQ(calls.running(), 0u);
  EXPECT_EQ(calls.Begin("early", In(absl::Seconds(5))), nullptr);
  EXPECT_NE(calls.Begin("other", In(absl::Seconds(5))), nullptr);
}

TEST_F(ActiveCallsTest, CancelAfterEndDoesNothing) {
  ActiveCalls calls(16, &clock_);
  std::shared_ptr<Cancellation> a = calls.Begin("a", In(absl::Seconds(5)));
  ASSERT_NE(a, nullptr);
  calls.End("a");
  calls.Cancel("a", absl::CancelledError("too late"));
  EXPECT_FALSE(a->IsCancelled());
}

TEST_F(ActiveCallsTest, ExpireDueCancelsWithDeadlineExceededOnlyOnceDue) {
  ActiveCalls calls(16, &clock_);
  std::shared_ptr<Cancellation> soon = calls.Begin("soon", In(absl::Seconds(1)));
  std::shared_ptr<Cancellation> later =
      calls.Begin("later", In(absl::Seconds(3)));
  ASSERT_NE(soon, nullptr);
  ASSERT_NE(later, nullptr);

  calls.ExpireDue();
  EXPECT_FALSE(soon->IsCancelled());

  clock_.Advance(absl::Milliseconds(999));
  calls.ExpireDue();
  EXPECT_FALSE(soon->IsCancelled());

  clock_.Advance(absl::Milliseconds(2));
  calls.ExpireDue();
  EXPECT_TRUE(soon->IsCancelled());
  EXPECT_EQ(soon->status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(later->IsCancelled());

  clock_.Advance(absl::Seconds(5));
  calls.ExpireDue();
  EXPECT_TRUE(later->IsCancelled());
  EXPECT_EQ(later->status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(ActiveCallsTest, CallsWithTheSameDeadlineEndIndependently) {
  ActiveCalls calls(16, &clock_);
  const absl::Time deadline = In(absl::Seconds(1));
  std::shared_ptr<Cancellation> a = calls.Begin("a", deadline);
  std::shared_ptr<Cancellation> b = calls.Begin("b", deadline);
  std::shared_ptr<Cancellation> c = calls.Begin("c", deadline);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  calls.End("b");  // the middle one of three equal deadlines
  EXPECT_EQ(calls.running(), 2u);
  clock_.Advance(absl::Seconds(1));
  calls.ExpireDue();
  EXPECT_EQ(a->status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(b->IsCancelled());  // it ended before its deadline
  EXPECT_EQ(c->status().code(), absl::StatusCode::kDeadlineExceeded);
  calls.End("a");
  calls.End("c");
  EXPECT_EQ(calls.running(), 0u);
}

TEST_F(ActiveCallsTest, AnIdRememberedTwiceTakesOneWindowPlace) {
  // The server may cancel an id this client has not seen more than once.
  ActiveCalls calls(3, &clock_);
  calls.Cancel("x", absl::CancelledError("cancelled"));
  calls.Cancel("x", absl::CancelledError("cancelled"));
  for (const char* id : {"y", "z"}) {
    ASSERT_NE(calls.Begin(id, In(absl::Seconds(5))), nullptr) << id;
    calls.End(id);
  }
  // The window holds x, y, z: x is still remembered.
  EXPECT_EQ(calls.Begin("x", In(absl::Seconds(5))), nullptr);
  EXPECT_EQ(calls.Begin("y", In(absl::Seconds(5))), nullptr);
}

TEST_F(ActiveCallsTest, ExpireDueAtExactlyTheDeadlineCancels) {
  ActiveCalls calls(16, &clock_);
  std::shared_ptr<Cancellation> c = calls.Begin("c", In(absl::Seconds(1)));
  ASSERT_NE(c, nullptr);
  clock_.Advance(absl::Seconds(1));
  calls.ExpireDue();
  EXPECT_EQ(c->status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(ActiveCallsTest, ExpireDueKeepsAnEarlierCancelStatus) {
  ActiveCalls calls(16, &clock_);
  std::shared_ptr<Cancellation> c = calls.Begin("c", In(absl::Seconds(1)));
  ASSERT_NE(c, nullptr);
  calls.Cancel("c", absl::CancelledError("caller cancelled"));
  clock_.Advance(absl::Seconds(2));
  calls.ExpireDue();
  EXPECT_EQ(c->status().code(), absl::StatusCode::kCancelled);
}

TEST_F(ActiveCallsTest, ExpireDueIgnoresEndedCalls) {
  ActiveCalls calls(16, &clock_);
  std::shared_ptr<Cancellation> c = calls.Begin("c", In(absl::Seconds(1)));
  ASSERT_NE(c, nullptr);
  calls.End("c");
  clock_.Advance(absl::Seconds(2));
  calls.ExpireDue();
  EXPECT_FALSE(c->IsCancelled());
}

TEST_F(ActiveCallsTest, CancelAllCancelsEveryRunningCall) {
  ActiveCalls calls(16, &clock_);
  std::vector<std::shared_ptr<Cancellation>> running;
  for (const char* id : {"a", "b", "c"}) {
    running.push_back(calls.Begin(id, In(absl::Seconds(5))));
    ASSERT_NE(running.back(), nullptr);
  }
  std::shared_ptr<Cancellation> ended = calls.Begin("d", In(absl::Seconds(5)));
  calls.End("d");
  calls.CancelAll(absl::UnavailableError("client is stopping"));
  for (const auto& c : running) {
    EXPECT_TRUE(c->IsCancelled());
    EXPECT_EQ(c->status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_FALSE(ended->IsCancelled());
}

// Calls that end before their deadline must not wake the timer thread once
// each: it sleeps until the earliest deadline it knows of, and a later one
// does not disturb it.
TEST_F(ActiveCallsTest, TimerIsNotWokenByCallsWithLaterDeadlines) {
  ActiveCalls calls(16, &clock_);
  calls.StartTimer();
  const absl::Time deadline = clock_.Now() + absl::Seconds(30);
  for (int i = 0; i < 200; ++i) {
    const std::string id = absl::StrCat("call-", i);
    ASSERT_NE(calls.Begin(id, deadline), nullptr);
    calls.End(id);
    for (int y = 0; y < 50; ++y) std::this_thread::yield();  // let it run
  }
  EXPECT_LE(calls.timer_wakeups(), 2u);
  // An earlier deadline still wakes it, and it is honoured.
  auto early = calls.Begin("early", clock_.Now() + absl::Milliseconds(1));
  ASSERT_NE(early, nullptr);
  clock_.Advance(absl::Milliseconds(2));
  EXPECT_TRUE(early->WaitWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(early->status().code(), absl::StatusCode::kDeadlineExceeded);
  calls.StopTimer();
}

TEST_F(ActiveCallsTest, CancellationCallbacksMayCallBackIn) {
  // Callbacks run outside the lock: one that calls End() must not deadlock.
  ActiveCalls calls(16, &clock_);
  std::shared_ptr<Cancellation> c = calls.Begin("c", In(absl::Seconds(1)));
  ASSERT_NE(c, nullptr);
  c->AddCallback([&calls] { calls.End("c"); });
  clock_.Advance(absl::Seconds(2));
  calls.ExpireDue();
  EXPECT_TRUE(c->IsCancelled());
  EXPECT_EQ(calls.running(), 0u);
}

TEST_F(ActiveCallsTest, TimerExpiresACallAlreadyDue) {
  ActiveCalls calls(16, &clock_);
  calls.StartTimer();
  std::shared_ptr<Cancellation> c = calls.Begin("c", clock_.Now());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->WaitWithTimeout(kWait));
  EXPECT_EQ(c->status().code(), absl::StatusCode::kDeadlineExceeded);
  calls.End("c");
  calls.StopTimer();
}

TEST_F(ActiveCallsTest, StopTimerWithoutStartIsHarmless) {
  ActiveCalls calls(16, &clock_);
  calls.StopTimer();
  calls.StopTimer();
}

// --------------------------------------------------------------- WorkerPool

// Counts tasks running at once, the most seen, and those finished.
class Concurrency {
 public:
  void Enter() {
    MutexLock lock(&mu_);
    ++now_;
    if (now_ > max_) max_ = now_;
  }
  void Leave() {
    MutexLock lock(&mu_);
    --now_;
    ++done_;
  }
  bool WaitForRunning(int n) {
    MutexLock lock(&mu_);
    target_ = n;
    return mu_.AwaitWithTimeout(
        Condition(
            +[](Concurrency* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) {
              return c->now_ >= c->target_;
            },
            this),
        kWait);
  }
  bool WaitForDone(int n) {
    MutexLock lock(&mu_);
    target_ = n;
    return mu_.AwaitWithTimeout(
        Condition(
            +[](Concurrency* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) {
              return c->done_ >= c->target_;
            },
            this),
        kWait);
  }
  int max() {
    MutexLock lock(&mu_);
    return max_;
  }
  int done() {
    MutexLock lock(&mu_);
    return done_;
  }

 private:
  Mutex mu_;
  int now_ ABSL_GUARDED_BY(mu_) = 0;
  int max_ ABSL_GUARDED_BY(mu_) = 0;
  int done_ ABSL_GUARDED_BY(mu_) = 0;
  int target_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(WorkerPoolTest, RunsATask) {
  WorkerPool pool(4, 16);
  Notification ran;
  ASSERT_TRUE(pool.Submit([&] { ran.Notify(); }));
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(kWait));
}

TEST(WorkerPoolTest, ABlockedTaskDoesNotHoldUpOthers) {
  WorkerPool pool(4, 16);
  Notification release;
  Notification blocked_started;
  ASSERT_TRUE(pool.Submit([&] {
    blocked_started.Notify();
    release.WaitForNotificationWithTimeout(kWait);
  }));
  ASSERT_TRUE(blocked_started.WaitForNotificationWithTimeout(kWait));
  std::atomic<int> done{0};
  Notification all_done;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(pool.Submit([&] {
      if (++done == 10) all_done.Notify();
    }));
  }
  EXPECT_TRUE(all_done.WaitForNotificationWithTimeout(kWait));
  EXPECT_FALSE(release.HasBeenNotified());
  release.Notify();
}

TEST(WorkerPoolTest, ATaskSubmittedRightAfterAnotherIsNotHeldUp) {
  // Submit two tasks back to back, before the first one's thread has even
  // started: the second must still get a thread of its own.
  WorkerPool pool(2, 16);
  Notification release;
  Notification second_ran;
  ASSERT_TRUE(pool.Submit([&] { release.WaitForNotificationWithTimeout(kWait); }));
  ASSERT_TRUE(pool.Submit([&] {
    if (!release.HasBeenNotified()) second_ran.Notify();
  }));
  // Whichever thread takes which task, one of them runs the second one while
  // the other waits in the first.
  EXPECT_TRUE(second_ran.WaitForNotificationWithTimeout(kWait));
  release.Notify();
}

TEST(WorkerPoolTest, RunsAtMostMaxThreadsAtOnce) {
  constexpr int kThreads = 3;
  constexpr int kTasks = 12;
  WorkerPool pool(kThreads, kTasks);
  Concurrency c;
  Notification release;
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_TRUE(pool.Submit([&] {
      c.Enter();
      release.WaitForNotificationWithTimeout(kWait);
      c.Leave();
    }));
  }
  ASSERT_TRUE(c.WaitForRunning(kThreads));
  EXPECT_EQ(c.max(), kThreads);
  EXPECT_EQ(c.done(), 0);
  release.Notify();
  ASSERT_TRUE(c.WaitForDone(kTasks));
  EXPECT_EQ(c.max(), kThreads);
}

TEST(WorkerPoolTest, SubmitReturnsFalseWhenTheQueueIsFull) {
  WorkerPool pool(1, 2);
  Notification release;
  Notification started;
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.Submit([&] {
    started.Notify();
    release.WaitForNotificationWithTimeout(kWait);
    ++ran;
  }));
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  // The only thread is busy: two tasks may wait, the third is refused.
  EXPECT_TRUE(pool.Submit([&] { ++ran; }));
  EXPECT_TRUE(pool.Submit([&] { ++ran; }));
  bool refused_ran = false;
  EXPECT_FALSE(pool.Submit([&] { refused_ran = true; }));
  release.Notify();
  pool.Shutdown();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_FALSE(refused_ran);
}

TEST(WorkerPoolTest, ZeroQueueRefusesWhenAllThreadsAreBusy) {
  WorkerPool pool(1, 0);
  Notification release;
  Notification started;
  ASSERT_TRUE(pool.Submit([&] {
    started.Notify();
    release.WaitForNotificationWithTimeout(kWait);
  }));
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  EXPECT_FALSE(pool.Submit([] {}));
  release.Notify();
}

TEST(WorkerPoolTest, ShutdownRunsQueuedTasksAndJoins) {
  WorkerPool pool(1, 1 << 20);
  Notification release;
  Notification started;
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.Submit([&] {
    started.Notify();
    release.WaitForNotificationWithTimeout(kWait);
    ++ran;
  }));
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pool.Submit([&] { ++ran; }));

  // Releases the blocked task only once Shutdown() has begun (Submit() is
  // refused from then on), so Shutdown() has to wait for it.
  std::atomic<int> noops{0};
  std::thread releaser([&] {
    while (pool.Submit([&] { ++noops; })) {
    }
    release.Notify();
  });
  pool.Shutdown();
  releaser.join();
  EXPECT_TRUE(release.HasBeenNotified());
  EXPECT_EQ(ran.load(), 6);
  EXPECT_FALSE(pool.Submit([] {}));
}

TEST(WorkerPoolTest, SubmitAfterShutdownIsRefused) {
  WorkerPool pool(2, 8);
  pool.Shutdown();
  bool ran = false;
  EXPECT_FALSE(pool.Submit([&] { ran = true; }));
  pool.Shutdown();  // idempotent
  EXPECT_FALSE(ran);
}

TEST(WorkerPoolTest, ShutdownOfAnIdlePoolReturns) {
  WorkerPool pool(4, 8);
  std::atomic<int> ran{0};
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(pool.Submit([&] { ++ran; }));
  pool.Shutdown();
  EXPECT_EQ(ran.load(), 4);
}

}  // namespace
}  // namespace sserpc::client_internal
