// Dispatcher under real threads: calls started, answered, cancelled, expired
// and moved between streams all at once still end exactly once each.
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "proto/cancellation.h"
#include "server/dispatcher.h"
#include "tests/server/dispatcher_test_util.h"

namespace sserpc::server_internal::test {
namespace {

using WriteStatus = Dispatcher::WriteStatus;

TEST(DispatcherConcurrencyTest, RacingEndingsCompleteEveryCallExactlyOnce) {
  constexpr int kClients = 2;
  constexpr int kStarters = 3;
  constexpr int kCallsPerStarter = 400;
  constexpr int kTotal = kStarters * kCallsPerStarter;

  sserpc::testing::FakeClock clock;
  ServerOptions options = TestOptions();
  // Counters outlive the dispatcher, whose destructor may still end calls.
  std::unique_ptr<std::atomic<int>[]> runs(new std::atomic<int>[kTotal]);
  for (int i = 0; i < kTotal; ++i) runs[i].store(0);
  std::atomic<int> ended{0};
  std::atomic<int> answered{0};
  std::atomic<int> client_errors{0};
  std::atomic<int> cancelled{0};
  std::atomic<int> expired{0};
  std::atomic<int> other{0};
  std::atomic<int> returned_empty_without_callback{0};

  Dispatcher d(options, &clock);
  std::vector<std::string> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.push_back("client-" + std::to_string(c));
  }
  // Streams open before any call, so fail-fast calls are accepted.
  std::vector<std::shared_ptr<StreamState>> first_streams;
  for (const std::string& c : clients) {
    auto s = d.OpenStream(c, std::nullopt);
    ASSERT_TRUE(s.ok()) << s.status();
    first_streams.push_back(*s);
  }

  auto all_ended = [&] { return ended.load() >= kTotal; };

  // Each client: reads its stream, answers, fails or cancels what it sees,
  // and now and then takes over its own stream with a new one.
  std::vector<std::thread> responders;
  for (int c = 0; c < kClients; ++c) {
    responders.emplace_back([&, c] {
      std::mt19937 rng(1000 + c);
      std::shared_ptr<StreamState> stream = first_streams[c];
      while (!all_ended()) {
        std::string out;
        WriteStatus st = d.NextWrite(*stream, absl::Milliseconds(5), &out);
        Written w = Parse(st, std::move(out));
        for (const RequestEnvelope& r : w.Requests()) {
          // Short calls are left to race their deadline; the others are
          // answered, failed or cancelled by the client.
          if (r.timeout_ms <= 2000) continue;
          switch (rng() % 4) {
            case 0:
            case 1:
              d.DeliverReply(clients[c], PayloadReply(r.call_id, r.payload))
                  .IgnoreError();  // NOT_FOUND if it already ended
              break;
            case 2:
              d.DeliverReply(clients[c],
                             ErrorReply(r.call_id, absl::InternalError("no")))
                  .IgnoreError();
              break;
            default:
              d.Cancel(r.call_id, absl::OkStatus());
              break;
          }
        }
        if (st == WriteStatus::kClosed || rng() % 50 == 0) {
          auto next = d.OpenStream(clients[c], std::nullopt);
          ASSERT_TRUE(next.ok()) << next.status();
          d.StreamEnded(*stream);  // the old one: must not disturb the new
          stream = *next;
        }
      }
    });
  }

  // Time moves on its own thread; deadlines race with everything else.
  std::thread timer([&] {
    while (!all_ended()) {
      clock.Advance(absl::Milliseconds(10));
      d.ExpireDue();
      std::this_thread::yield();
    }
  });

  std::vector<std::thread> starters;
  for (int t = 0; t < kStarters; ++t) {
    starters.emplace_back([&, t] {
      std::mt19937 rng(t);
      auto shared_cancel = std::make_shared<Cancellation>();
      for (int i = 0; i < kCallsPerStarter; ++i) {
        const int index = t * kCallsPerStarter + i;
        CallOptions opts;
        opts.timeout = rng() % 10 == 0 ? absl::Milliseconds(1 + rng() % 2000)
                                       : absl::Hours(1);
        if (rng() % 10 == 0) opts.cancellation = shared_cancel;
        std::string id = d.StartCall(
            clients[index % kClients], kMethod,
            "{\"i\":" + std::to_string(index) + "}", opts,
            [&, index](CallResult r) {
              runs[index].fetch_add(1);
              if (r.ok()) {
                ++answered;
              } else if (r.status().code() == absl::StatusCode::kInternal) {
                ++client_errors;
              } else if (r.status().code() == absl::StatusCode::kCancelled) {
                ++cancelled;
              } else if (r.status().code() ==
                         absl::StatusCode::kDeadlineExceeded) {
                ++expired;
              } else {
                ++other;
              }
              ++ended;
            });
        if (id.empty() && runs[index].load() == 0) {
          ++returned_empty_without_callback;
        }
        if (!id.empty() && rng() % 10 == 0) d.Cancel(id, absl::OkStatus());
        if (rng() % 100 == 0) {
          shared_cancel->Cancel();
          shared_cancel = std::make_shared<Cancellation>();
        }
      }
    });
  }

  for (std::thread& t : starters) t.join();
  timer.join();
  for (std::thread& t : responders) t.join();

  EXPECT_EQ(ended.load(), kTotal);
  int exactly_once = 0;
  for (int i = 0; i < kTotal; ++i) {
    EXPECT_EQ(runs[i].load(), 1) << "call " << i;
    exactly_once += runs[i].load() == 1;
  }
  EXPECT_EQ(exactly_once, kTotal);
  EXPECT_EQ(answered + client_errors + cancelled + expired + other, kTotal);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(returned_empty_without_callback.load(), 0);
  EXPECT_EQ(d.pending_calls(), 0u);
  // Every kind of ending happened, or the test did not race much.
  EXPECT_GT(answered.load(), 0);
  EXPECT_GT(client_errors.load(), 0);
  EXPECT_GT(cancelled.load(), 0);
  EXPECT_GT(expired.load(), 0);
}

TEST(DispatcherConcurrencyTest, ConcurrentStartersAndRepliersOnOneClient) {
  constexpr int kStarters = 4;
  constexpr int kCallsPerStarter = 250;
  constexpr int kTotal = kStarters * kCallsPerStarter;

  sserpc::testing::FakeClock clock;
  std::unique_ptr<std::atomic<int>[]> runs(new std::atomic<int>[kTotal]);
  for (int i = 0; i < kTotal; ++i) runs[i].store(0);
  std::atomic<int> ended{0};
  std::atomic<int> wrong_payload{0};

  Dispatcher d(TestOptions(), &clock);
  auto stream = d.OpenStream("c", std::nullopt);
  ASSERT_TRUE(stream.ok());

  // The client answers everything, echoing the payload; each callback checks
  // it got its own call's answer.
  std::thread client([&] {
    while (ended.load() < kTotal) {
      std::string out;
      WriteStatus st = d.NextWrite(**stream, absl::Milliseconds(5), &out);
      Written w = Parse(st, std::move(out));
      for (const RequestEnvelope& r : w.Requests()) {
        ASSERT_TRUE(
            d.DeliverReply("c", PayloadReply(r.call_id, r.payload)).ok());
      }
    }
  });

  std::vector<std::thread> starters;
  for (int t = 0; t < kStarters; ++t) {
    starters.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerStarter; ++i) {
        const int index = t * kCallsPerStarter + i;
        const std::string payload = "{\"i\":" + std::to_string(index) + "}";
        d.StartCall("c", kMethod, payload, Opts(absl::Hours(1)),
                    [&, index, payload](CallResult r) {
                      runs[index].fetch_add(1);
                      if (!r.ok() || *r != payload) ++wrong_payload;
                      ++ended;
                    });
      }
    });
  }
  for (std::thread& t : starters) t.join();
  client.join();

  EXPECT_EQ(ended.load(), kTotal);
  EXPECT_EQ(wrong_payload.load(), 0);
  for (int i = 0; i < kTotal; ++i) EXPECT_EQ(runs[i].load(), 1) << i;
  EXPECT_EQ(d.pending_calls(), 0u);
}

// The timer thread sleeps until the earliest deadline it knows of: calls
// with later deadlines that end before them do not wake it once per call.
TEST(DispatcherTimerTest, CallsWithLaterDeadlinesDoNotWakeTheTimer) {
  sserpc::testing::FakeClock clock;
  Dispatcher d(TestOptions(), &clock);
  std::thread timer([&] { d.RunTimer(); });
  auto stream = d.OpenStream("c", std::nullopt);
  ASSERT_TRUE(stream.ok());
  std::atomic<int> answered{0};
  for (int i = 0; i < 200; ++i) {
    std::string id = d.StartCall("c", kMethod, "{}", Opts(absl::Seconds(30)),
                                 [&](CallResult r) { answered += r.ok(); });
    ASSERT_TRUE(d.DeliverReply("c", PayloadReply(id, "{}")).ok());
    for (int y = 0; y < 50; ++y) std::this_thread::yield();  // let it run
  }
  EXPECT_EQ(answered.load(), 200);
  EXPECT_LE(d.timer_wakeups(), 2u);
  // An earlier deadline still wakes it and is honoured.
  std::atomic<bool> expired{false};
  d.StartCall("c", kMethod, "{}", Opts(absl::Milliseconds(1)),
              [&](CallResult r) {
                expired = r.status().code() == absl::StatusCode::kDeadlineExceeded;
              });
  clock.Advance(absl::Milliseconds(2));
  for (int i = 0; i < 10000 && !expired; ++i) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_TRUE(expired);
  d.Shutdown();
  timer.join();
}

// Waits until thread `tid` (set by the thread itself) is asleep: state S in
// /proc/self/task/<tid>/stat.
bool WaitUntilSleeping(const std::atomic<pid_t>& tid) {
  for (int i = 0; i < 10000; ++i) {
    if (tid.load() != 0) {
      std::ifstream stat("/proc/self/task/" + std::to_string(tid.load()) + "/stat");
      std::string line;
      std::getline(stat, line);
      const size_t paren = line.rfind(')');
      if (paren != std::string::npos && paren + 2 < line.size() &&
          line[paren + 2] == 'S') {
        return true;
      }
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  return false;
}

// Answers that arrive in one POST whose callbacks start calls to another
// client: that client's writer is woken once, after all the callbacks, and
// finds every new request in one write.
TEST(DispatcherWakeTest, CallsStartedByOneBatchOfAnswersLeaveInOneWrite) {
  constexpr int kCalls = 4;
  sserpc::testing::FakeClock clock;
  Dispatcher d(TestOptions(), &clock);
  auto a = d.OpenStream("a", std::nullopt);
  auto b = d.OpenStream("b", std::nullopt);
  ASSERT_TRUE(a.ok() && b.ok());
  std::string preamble;
  d.NextWrite(**b, absl::ZeroDuration(), &preamble);  // drain b's preamble

  std::atomic<int> followups{0};
  std::vector<ReplyEnvelope> replies;
  for (int i = 0; i < kCalls; ++i) {
    std::string id = d.StartCall(
        "a", kMethod, "{}", Opts(), [&](CallResult r) {
          ASSERT_TRUE(r.ok());
          d.StartCall("b", kMethod, "{}", Opts(), [](CallResult) {});
          ++followups;
          // A writer woken now would take this request alone.
          for (int y = 0; y < 2000; ++y) std::this_thread::yield();
        });
    replies.push_back(PayloadReply(id, "{}"));
  }
  std::string out;
  std::atomic<pid_t> writer_tid{0};
  std::thread writer([&] {
    writer_tid = static_cast<pid_t>(syscall(SYS_gettid));
    d.NextWrite(**b, absl::Seconds(30), &out);  // blocks until woken
  });
  // The answers arrive once the writer sleeps in NextWrite.
  ASSERT_TRUE(WaitUntilSleeping(writer_tid));
  std::vector<absl::Status> statuses =
      d.DeliverReplies("a", &replies);
  writer.join();
  for (const absl::Status& s : statuses) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(followups.load(), kCalls);
  Written w = Parse(Dispatcher::WriteStatus::kData, out);
  EXPECT_EQ(w.Requests().size(), static_cast<size_t>(kCalls)) << out;
  d.Shutdown();
}

}  // namespace
}  // namespace sserpc::server_internal::test
