// Dispatcher: a client that does not read its stream is cut off; shutdown;
// the client list.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "proto/cancellation.h"
#include "server/dispatcher.h"
#include "tests/server/dispatcher_test_util.h"

namespace sserpc::server_internal::test {
namespace {

using WriteStatus = Dispatcher::WriteStatus;

using DispatcherLifecycleTest = DispatcherTest;

// --- Outbox limit
// -------------------------------------------------------------

class OutboxLimitTest : public DispatcherTest {
 protected:
  // A few requests fit; dozens do not.
  void SetUp() override { options_.max_outbox_bytes = 600; }

  // Starts calls to `client` without reading its stream until the dispatcher
  // ends one of them. The stream's writer last took data (ReadNow) and is
  // taken to be blocked in that write for max_write_stall: the client is not
  // reading. Returns every call's outcome; the last one is the call that
  // found the outbox full and was refused.
  std::vector<Outcome*> PileUpUntilCutOff(const std::string& client) {
    clock_.Advance(options_.max_write_stall);
    std::vector<Outcome*> outs;
    for (int i = 0; i < 100; ++i) {
      outs.push_back(NewOutcome());
      Start(client, outs.back(), Opts(absl::Hours(1)));
      if (outs.back()->done()) break;
    }
    return outs;
  }
};

TEST_F(OutboxLimitTest, ClientNotReadingIsCutOffAndAllItsCallsFail) {
  auto slow = Connect("slow");
  ASSERT_TRUE(slow);
  ReadNow(d(), *slow);

  std::vector<Outcome*> outs = PileUpUntilCutOff("slow");

  ASSERT_GT(outs.size(), 2u) << "the limit should hold a few requests";
  ASSERT_LT(outs.size(), 100u) << "never cut off";
  for (Outcome* o : outs) {
    EXPECT_EQ(o->runs, 1);
    EXPECT_EQ(o->code(), absl::StatusCode::kResourceExhausted);
  }
  EXPECT_EQ(d().pending_calls(), 0u);
  Written w = ReadNow(d(), *slow);
  EXPECT_EQ(w.status, WriteStatus::kClosed);
  EXPECT_TRUE(w.Requests().empty());
  ASSERT_TRUE(w.Close().has_value());
  EXPECT_EQ(w.Close()->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(d().open_streams(), 0u);
  std::optional<ClientInfo> info = Info("slow");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->state, "resuming");
  EXPECT_EQ(info->pending, 0u);
  EXPECT_EQ(info->calls_failed, outs.size() - 1);  // the refused one never started
}

TEST_F(OutboxLimitTest, FullOutboxOfAReadingClientRefusesOnlyTheNewCall) {
  auto busy = Connect("busy");
  ASSERT_TRUE(busy);
  ReadNow(d(), *busy);
  // The writer is not stalled (the clock has not moved since its last
  // write): a burst that fills the outbox refuses only the call that does
  // not fit.
  std::vector<Outcome*> outs;
  for (int i = 0; i < 100; ++i) {
    outs.push_back(NewOutcome());
    Start("busy", outs.back(), Opts(absl::Hours(1)));
    if (outs.back()->done()) break;
  }
  ASSERT_GT(outs.size(), 2u);
  ASSERT_LT(outs.size(), 100u);
  EXPECT_EQ(outs.back()->code(), absl::StatusCode::kResourceExhausted);
  for (size_t i = 0; i + 1 < outs.size(); ++i) EXPECT_FALSE(outs[i]->done());
  Written w = ReadNow(d(), *busy);  // the writer drains the outbox
  EXPECT_EQ(w.status, WriteStatus::kData);
  EXPECT_EQ(w.Requests().size(), outs.size() - 1);
  Outcome* next = NewOutcome();
  Start("busy", next, Opts(absl::Hours(1)));
  EXPECT_FALSE(next->done());  // there is room again
}

TEST_F(OutboxLimitTest, CuttingOffOneClientLeavesAnotherAlone) {
  auto slow = Connect("slow");
  auto fast = Connect("fast");
  ASSERT_TRUE(slow && fast);
  ReadNow(d(), *fast);
  Outcome* fast_out = NewOutcome();
  std::string fast_id = Start("fast", fast_out, Opts(absl::Hours(1)));

  PileUpUntilCutOff("slow");

  EXPECT_FALSE(fast_out->done());
  Written w = ReadNow(d(), *fast);
  EXPECT_EQ(w.status, WriteStatus::kData);
  EXPECT_EQ(w.RequestCallIds(), std::vector<std::string>{fast_id});
  EXPECT_FALSE(w.Close().has_value());
  ASSERT_TRUE(d().DeliverReply("fast", PayloadReply(fast_id, "{}")).ok());
  EXPECT_TRUE(fast_out->result.ok());
  EXPECT_EQ(Info("fast")->state, "connected");
}

TEST_F(OutboxLimitTest, StreamThatIsReadIsNeverCutOff) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  std::vector<Outcome*> outs;
  for (int i = 0; i < 50; ++i) {
    outs.push_back(NewOutcome());
    Start("c1", outs.back(), Opts(absl::Hours(1)));
    EXPECT_EQ(ReadNow(d(), *stream).Requests().size(), 1u);
  }
  for (Outcome* o : outs) EXPECT_FALSE(o->done());
  EXPECT_EQ(d().pending_calls(), 50u);
}

TEST_F(OutboxLimitTest, CutOffClientIsToldOnReconnectWhichCallsFailed) {
  auto slow = Connect("slow");
  ASSERT_TRUE(slow);
  ReadNow(d(), *slow);
  std::vector<Outcome*> outs = PileUpUntilCutOff("slow");
  d().StreamEnded(*slow);

  auto back = Connect("slow");
  ASSERT_TRUE(back);
  Written w = ReadNow(d(), *back);

  EXPECT_TRUE(w.Requests().empty());
  std::vector<CancelEnvelope> cancels = w.Cancels();
  EXPECT_EQ(cancels.size(), outs.size() - 1);  // the refused call never started
  for (const CancelEnvelope& c : cancels) {
    EXPECT_EQ(c.code, absl::StatusCode::kResourceExhausted);
  }
}

// --- Shutdown
// -----------------------------------------------------------------

TEST_F(DispatcherLifecycleTest, ShutdownFailsEveryPendingCallUnavailableOnce) {
  auto connected = Connect("connected");
  auto resuming = Connect("resuming");
  ASSERT_TRUE(connected && resuming);
  Outcome* a = NewOutcome();
  Outcome* b = NewOutcome();
  Outcome* c = NewOutcome();
  Outcome* e = NewOutcome();
  auto cancellation = std::make_shared<Cancellation>();
  CallOptions with_cancellation = Opts();
  with_cancellation.cancellation = cancellation;
  Start("connected", a);
  Start("connected", e, with_cancellation);
  Start("resuming", b);
  d().StreamEnded(*resuming);
  Start("absent", c, Opts(absl::Seconds(30), /*wait_for_client=*/true));
  ASSERT_EQ(d().pending_calls(), 4u);

  d().Shutdown();
  d().Shutdown();  // idempotent
  cancellation->Cancel();
  AdvanceAndExpire(absl::Hours(1));

  for (Outcome* o : {a, b, c, e}) {
    EXPECT_EQ(o->runs, 1);
    EXPECT_EQ(o->code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(d().pending_calls(), 0u);
}

TEST_F(DispatcherLifecycleTest, ShutdownClosesStreamsWithUnavailable) {
  auto s1 = Connect("c1");
  auto s2 = Connect("c2");
  ASSERT_TRUE(s1 && s2);
  ReadNow(d(), *s1);
  Start("c1", NewOutcome());

  d().Shutdown();

  for (auto* s : {s1.get(), s2.get()}) {
    Written w = ReadNow(d(), *s);
    EXPECT_EQ(w.status, WriteStatus::kClosed);
    ASSERT_TRUE(w.Close().has_value());
    EXPECT_EQ(w.Close()->code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(w.Requests().empty());
  }
}

TEST_F(DispatcherLifecycleTest, StartCallAfterShutdownIsUnavailable) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  d().Shutdown();

  Outcome* fail_fast = NewOutcome();
  Outcome* waits = NewOutcome();
  EXPECT_EQ(Start("c1", fail_fast), "");
  EXPECT_EQ(Start("c1", waits, Opts(absl::Seconds(30), true)), "");

  EXPECT_EQ(fail_fast->runs, 1);
  EXPECT_EQ(fail_fast->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(waits->runs, 1);
  EXPECT_EQ(waits->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(d().pending_calls(), 0u);
}

TEST_F(DispatcherLifecycleTest, OpenStreamAfterShutdownIsUnavailable) {
  d().Shutdown();

  EXPECT_EQ(d().OpenStream("c1", std::nullopt).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(d().OpenStream("c1", 5).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(DispatcherLifecycleTest, RepliesAfterShutdownAreNotFound) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out);
  d().Shutdown();

  EXPECT_EQ(d().DeliverReply("c1", PayloadReply(id, "{}")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(d().Cancel(id, absl::OkStatus()));
  EXPECT_EQ(out->runs, 1);
}

TEST_F(DispatcherLifecycleTest, DestroyingTheDispatcherFailsWhatIsPending) {
  Outcome out;
  {
    Dispatcher local(options_, &clock_);
    ASSERT_TRUE(local.OpenStream("c1", std::nullopt).ok());
    local.StartCall("c1", kMethod, "{}", Opts(), Record(&out));
    ASSERT_FALSE(out.done());
  }
  EXPECT_EQ(out.runs, 1);
  EXPECT_EQ(out.code(), absl::StatusCode::kUnavailable);
}

// --- Client list
// --------------------------------------------------------------

TEST_F(DispatcherLifecycleTest, ClientListShowsStatesAndCountersSortedById) {
  auto b_stream = Connect("b");
  auto a_stream = Connect("a");
  ASSERT_TRUE(a_stream && b_stream);
  std::string answered = Start("a", NewOutcome());
  std::string refused_by_client = Start("a", NewOutcome());
  Start("a", NewOutcome(), Opts(absl::Seconds(1)));  // will expire
  Start("a", NewOutcome());                          // stays pending
  Start("a", NewOutcome(), Opts(), "{");             // invalid: not sent
  ASSERT_TRUE(d().DeliverReply("a", PayloadReply(answered, "{}")).ok());
  ASSERT_TRUE(
      d().DeliverReply("a", ErrorReply(refused_by_client,
                                       absl::InvalidArgumentError("bad")))
          .ok());
  AdvanceAndExpire(absl::Seconds(1));
  Start("b", NewOutcome());
  d().StreamEnded(*b_stream);
  Start("c", NewOutcome(), Opts(absl::Minutes(1), /*wait_for_client=*/true));

  std::vector<ClientInfo> list = d().ListClients();

  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].client_id, "a");
  EXPECT_EQ(list[0].state, "connected");
  EXPECT_EQ(list[0].pending, 1u);
  EXPECT_EQ(list[0].calls_sent, 4u);
  EXPECT_EQ(list[0].calls_answered, 1u);
  EXPECT_EQ(list[0].calls_failed, 2u);
  EXPECT_EQ(list[0].streams_opened, 1u);

  EXPECT_EQ(list[1].client_id, "b");
  EXPECT_EQ(list[1].state, "resuming");
  EXPECT_EQ(list[1].pending, 1u);
  EXPECT_EQ(list[1].calls_sent, 1u);
  EXPECT_EQ(list[1].streams_opened, 1u);

  EXPECT_EQ(list[2].client_id, "c");
  EXPECT_EQ(list[2].state, "absent");
  EXPECT_EQ(list[2].pending, 1u);
  EXPECT_EQ(list[2].calls_sent, 1u);
  EXPECT_EQ(list[2].streams_opened, 0u);
}

TEST_F(DispatcherLifecycleTest, StreamsOpenedCountsReconnectsAndTakeovers) {
  auto s1 = Connect("c1");
  auto s2 = Connect("c1");  // takeover
  ASSERT_TRUE(s1 && s2);
  d().StreamEnded(*s2);
  auto s3 = Connect("c1");  // resume
  ASSERT_TRUE(s3);

  EXPECT_EQ(Info("c1")->streams_opened, 3u);
  EXPECT_EQ(Info("c1")->state, "connected");
  EXPECT_EQ(d().open_streams(), 1u);
}

TEST_F(DispatcherLifecycleTest, ClientWithNothingPendingIsForgottenAfterGrace) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  d().StreamEnded(*stream);
  EXPECT_EQ(Info("c1")->state, "resuming");

  AdvanceAndExpire(options_.resume_grace);

  EXPECT_TRUE(d().ListClients().empty());
}

TEST_F(DispatcherLifecycleTest, AbsentClientIsForgottenWhenItsLastCallEnds) {
  Outcome* out = NewOutcome();
  std::string id = Start("c", out, Opts(absl::Minutes(1), true));
  ASSERT_EQ(Info("c")->state, "absent");

  ASSERT_TRUE(d().Cancel(id, absl::OkStatus()));

  EXPECT_TRUE(d().ListClients().empty());
}

// --- Limits and counters
// -------------------------------------------------------------

TEST_F(DispatcherLifecycleTest, MaxClientsRefusesNewClientsButNotKnownOnes) {
  options_.max_clients = 2;
  auto a = Connect("a");
  auto b = Connect("b");
  ASSERT_TRUE(a && b);
  absl::StatusOr<std::shared_ptr<StreamState>> c = d().OpenStream("c", std::nullopt);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  Outcome* waiting = NewOutcome();
  Start("c", waiting, Opts(absl::Seconds(30), /*wait_for_client=*/true));
  EXPECT_EQ(waiting->code(), absl::StatusCode::kResourceExhausted);
  // A known client may still reconnect (takeover).
  EXPECT_TRUE(d().OpenStream("a", std::nullopt).ok());
  EXPECT_EQ(d().Stats().refused_max_clients, 2u);
}

TEST_F(DispatcherLifecycleTest, StatsCountOutcomesAndLimitBreaches) {
  options_.max_pending_per_client = 1;
  options_.max_body_bytes = 64;
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* answered = NewOutcome();
  std::string id = Start("c1", answered);
  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(id, "1")).ok());
  Outcome* pending = NewOutcome();
  std::string pending_id = Start("c1", pending);
  Outcome* over_limit = NewOutcome();
  Start("c1", over_limit);
  Outcome* too_large = NewOutcome();
  Start("c1", too_large, Opts(), "\"" + std::string(100, 'x') + "\"");
  ASSERT_TRUE(d().Cancel(pending_id, absl::CancelledError("stop")));

  ServerStats s = d().Stats();
  EXPECT_EQ(s.calls_started, 2u);
  EXPECT_EQ(s.calls_answered, 1u);
  EXPECT_EQ(s.calls_failed, 1u);
  EXPECT_EQ(s.pending_calls, 0u);
  EXPECT_EQ(s.open_streams, 1u);
  EXPECT_EQ(s.streams_opened, 1u);
  EXPECT_EQ(s.refused_pending_per_client, 1u);
  EXPECT_EQ(s.refused_payload_too_large, 1u);
  EXPECT_EQ(over_limit->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(too_large->code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace sserpc::server_internal::test
