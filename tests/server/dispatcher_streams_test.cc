// Dispatcher: what goes down a stream, and what happens to calls when a
// stream ends, resumes or is taken over.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/dispatcher.h"
#include "tests/server/dispatcher_test_util.h"

namespace sserpc::server_internal::test {
namespace {

using WriteStatus = Dispatcher::WriteStatus;

using DispatcherStreamTest = DispatcherTest;

bool StrictlyIncreasing(const std::vector<uint64_t>& ids) {
  for (size_t i = 1; i < ids.size(); ++i) {
    if (ids[i] <= ids[i - 1]) return false;
  }
  return true;
}

TEST_F(DispatcherStreamTest, StreamStartsWithRetryThenSessionEvent) {
  options_.retry_hint = absl::Milliseconds(2500);
  options_.heartbeat = absl::Seconds(7);
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);

  Written w = ReadNow(d(), *stream);

  EXPECT_EQ(w.status, WriteStatus::kData);
  EXPECT_EQ(w.raw.rfind("retry: 2500\n", 0), 0u) << w.raw;
  EXPECT_EQ(w.retries, std::vector<int64_t>{2500});
  ASSERT_EQ(w.events.size(), 1u);
  EXPECT_EQ(w.events[0].event, "session");
  absl::StatusOr<SessionEnvelope> session = ParseSessionData(w.events[0].data);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->client_id, "c1");
  EXPECT_EQ(session->heartbeat_ms, 7000);
}

TEST_F(DispatcherStreamTest, PreambleIsWrittenOnceAndThenTheStreamIsIdle) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  ReadNow(d(), *stream);

  Written w = ReadNow(d(), *stream);

  EXPECT_EQ(w.status, WriteStatus::kIdle);
  EXPECT_EQ(w.raw, "");
}

// While calls wait for the client, the writer comes back after the short
// wait (to check the peer); with none pending it sleeps the long one.
TEST_F(DispatcherStreamTest, WriterWaitsTheShortTimeOnlyWhileCallsArePending) {
  auto stream = Connect("c1");
  ASSERT_NE(stream, nullptr);
  ReadNow(d(), *stream);  // preamble
  std::string out;
  // No call pending: the busy wait does not apply.
  const absl::Time before = absl::Now();
  EXPECT_EQ(d().NextWrite(*stream, absl::Milliseconds(40),
                          absl::ZeroDuration(), &out),
            Dispatcher::WriteStatus::kIdle);
  EXPECT_GE(absl::Now() - before, absl::Milliseconds(40));
  // A call pending (already written): back at once for the busy wait, even
  // with an endless idle wait.
  Start("c1", NewOutcome());
  ASSERT_EQ(ReadNow(d(), *stream).Requests().size(), 1u);
  EXPECT_EQ(d().NextWrite(*stream, absl::InfiniteDuration(),
                          absl::ZeroDuration(), &out),
            Dispatcher::WriteStatus::kIdle);
  EXPECT_TRUE(out.empty());
}

TEST_F(DispatcherStreamTest, PreambleComesBeforeRequestsQueuedAtOpen) {
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out, Opts(absl::Seconds(30), true));
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);

  Written w = ReadNow(d(), *stream);

  ASSERT_EQ(w.events.size(), 2u);
  EXPECT_EQ(w.events[0].event, "session");
  EXPECT_EQ(w.events[1].event, "request");
  EXPECT_EQ(w.RequestCallIds(), std::vector<std::string>{id});
  EXPECT_EQ(w.retries.size(), 1u);
}

TEST_F(DispatcherStreamTest, RequestEventsCarryStrictlyIncreasingIds) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  ReadNow(d(), *stream);
  std::vector<std::string> call_ids;
  for (int i = 0; i < 5; ++i) call_ids.push_back(Start("c1", NewOutcome()));

  Written first = ReadNow(d(), *stream);
  Start("c1", NewOutcome());
  Start("c1", NewOutcome());
  Written second = ReadNow(d(), *stream);

  EXPECT_EQ(first.RequestCallIds(), call_ids);  // in the order started
  std::vector<uint64_t> ids = first.RequestEventIds();
  std::vector<uint64_t> more = second.RequestEventIds();
  ASSERT_EQ(ids.size(), 5u);
  ASSERT_EQ(more.size(), 2u);
  ids.insert(ids.end(), more.begin(), more.end());
  EXPECT_TRUE(StrictlyIncreasing(ids));
  EXPECT_GT(ids.front(), 0u);
}

TEST_F(DispatcherStreamTest, RequestCarriesCallIdMethodAndPayload) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  std::string id = Start("c1", NewOutcome(), Opts(), R"({"name":"x\ny"})");

  std::vector<RequestEnvelope> requests = ReadNow(d(), *stream).Requests();

  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].call_id, id);
  EXPECT_EQ(requests[0].method, kMethod);
  EXPECT_EQ(requests[0].payload, R"({"name":"x\ny"})");
}

TEST_F(DispatcherStreamTest, RequestTimeoutIsTheTimeRemainingWhenWritten) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Start("c1", NewOutcome(), Opts(absl::Seconds(30)));

  clock_.Advance(absl::Milliseconds(12500));
  std::vector<RequestEnvelope> requests = ReadNow(d(), *stream).Requests();

  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].timeout_ms, 17500);
}

TEST_F(DispatcherStreamTest, RequestTimeoutRoundsUpPartialMilliseconds) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Start("c1", NewOutcome(), Opts(absl::Seconds(1)));
  Start("c1", NewOutcome(), Opts(absl::Milliseconds(990)));

  clock_.Advance(absl::Microseconds(989500));
  std::vector<RequestEnvelope> requests = ReadNow(d(), *stream).Requests();

  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].timeout_ms, 11);  // 10.5 ms left
  EXPECT_EQ(requests[1].timeout_ms, 1);   // 0.5 ms left: never 0
}

TEST_F(DispatcherStreamTest, RequestPastItsDeadlineButNotYetExpiredSaysOneMs) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Start("c1", NewOutcome(), Opts(absl::Seconds(1)));

  clock_.Advance(absl::Seconds(2));  // the timer has not run yet
  std::vector<RequestEnvelope> requests = ReadNow(d(), *stream).Requests();

  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].timeout_ms, 1);
}

TEST_F(DispatcherStreamTest, CancelOfAnUnwrittenRequestIsWrittenAfterIt) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  ReadNow(d(), *stream);
  std::string id = Start("c1", NewOutcome());
  ASSERT_TRUE(d().Cancel(id, absl::OkStatus()));

  Written w = ReadNow(d(), *stream);

  // Whether or not the request is still sent, a cancel never precedes it.
  ASSERT_FALSE(w.events.empty());
  EXPECT_EQ(w.events.back().event, "cancel");
  ASSERT_EQ(w.Cancels().size(), 1u);
  EXPECT_EQ(w.Cancels()[0].call_id, id);
}

TEST_F(DispatcherStreamTest, OutOfOrderRepliesEachReachTheirOwnCallback) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  std::vector<Outcome*> outs;
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    outs.push_back(NewOutcome());
    ids.push_back(
        Start("c1", outs.back(), Opts(), "{\"n\":" + std::to_string(i) + "}"));
  }
  std::vector<RequestEnvelope> requests = ReadNow(d(), *stream).Requests();
  ASSERT_EQ(requests.size(), 6u);

  // Answer in a scrambled order, echoing each request's payload.
  for (int i : {3, 0, 5, 1, 4, 2}) {
    const RequestEnvelope& r = requests[i];
    ASSERT_TRUE(
        d().DeliverReply("c1", PayloadReply(r.call_id, r.payload)).ok());
  }

  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(outs[i]->runs, 1);
    ASSERT_TRUE(outs[i]->result.ok());
    EXPECT_EQ(*outs[i]->result, "{\"n\":" + std::to_string(i) + "}");
  }
}

TEST_F(DispatcherStreamTest, OpenStreamWithAnInvalidClientIdIsInvalidArgument) {
  EXPECT_EQ(d().OpenStream("bad id", std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d().OpenStream("", std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(d().ListClients().empty());
}

TEST_F(DispatcherStreamTest, EndedStreamReadsAsClosedWithoutACloseEvent) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  ReadNow(d(), *stream);

  d().StreamEnded(*stream);
  d().StreamEnded(*stream);  // harmless twice
  Written w = ReadNow(d(), *stream);

  EXPECT_EQ(w.status, WriteStatus::kClosed);
  EXPECT_FALSE(w.Close().has_value());
  EXPECT_EQ(d().open_streams(), 0u);
  EXPECT_EQ(Info("c1")->state, "resuming");
}

// --- Resume -----------------------------------------------------------------

TEST_F(DispatcherStreamTest,
       ResumeWithLastEventIdResendsOnlyLaterPendingCalls) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  std::string a = Start("c1", NewOutcome());
  std::string b = Start("c1", NewOutcome());
  std::string c = Start("c1", NewOutcome());
  std::string e = Start("c1", NewOutcome());
  Written w = ReadNow(d(), *stream);
  std::vector<uint64_t> ids = w.RequestEventIds();
  ASSERT_EQ(ids.size(), 4u);
  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(c, "{}")).ok());
  d().StreamEnded(*stream);

  // The client saw up to b's event: a and b are not resent, c is answered.
  auto resumed = Connect("c1", ids[1]);
  ASSERT_TRUE(resumed);
  Written again = ReadNow(d(), *resumed);

  EXPECT_EQ(again.RequestCallIds(), std::vector<std::string>{e});
  EXPECT_EQ(again.RequestEventIds(), std::vector<uint64_t>{ids[3]});
}

TEST_F(DispatcherStreamTest, ResumeWithoutLastEventIdResendsEveryPendingCall) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  std::string a = Start("c1", NewOutcome());
  std::string b = Start("c1", NewOutcome());
  std::string c = Start("c1", NewOutcome());
  std::vector<uint64_t> ids = ReadNow(d(), *stream).RequestEventIds();
  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(b, "{}")).ok());
  d().StreamEnded(*stream);

  auto resumed = Connect("c1");
  ASSERT_TRUE(resumed);
  Written again = ReadNow(d(), *resumed);

  EXPECT_EQ(again.RequestCallIds(), (std::vector<std::string>{a, c}));
  EXPECT_EQ(again.RequestEventIds(), (std::vector<uint64_t>{ids[0], ids[2]}));
}

TEST_F(DispatcherStreamTest, ResentRequestShowsTheTimeRemainingAtResume) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Start("c1", NewOutcome(), Opts(absl::Seconds(30)));
  ReadNow(d(), *stream);
  d().StreamEnded(*stream);

  clock_.Advance(absl::Seconds(8));
  auto resumed = Connect("c1");
  ASSERT_TRUE(resumed);
  std::vector<RequestEnvelope> requests = ReadNow(d(), *resumed).Requests();

  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].timeout_ms, 22000);
}

TEST_F(DispatcherStreamTest, RequestsNotYetWrittenAreResentAfterAStreamEnds) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  ReadNow(d(), *stream);
  std::string a = Start("c1", NewOutcome());  // queued, never written
  d().StreamEnded(*stream);

  auto resumed = Connect("c1", 0);
  ASSERT_TRUE(resumed);

  EXPECT_EQ(ReadNow(d(), *resumed).RequestCallIds(),
            std::vector<std::string>{a});
}

TEST_F(DispatcherStreamTest, CallsMadeWhileDisconnectedAreDeliveredOnResume) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Start("c1", NewOutcome());
  std::vector<uint64_t> seen = ReadNow(d(), *stream).RequestEventIds();
  ASSERT_EQ(seen.size(), 1u);
  d().StreamEnded(*stream);

  Outcome* out = NewOutcome();
  std::string id = Start("c1", out);  // fail fast, but within grace
  ASSERT_NE(id, "");
  EXPECT_FALSE(out->done());
  clock_.Advance(absl::Seconds(10));

  auto resumed = Connect("c1", seen[0]);
  ASSERT_TRUE(resumed);
  Written w = ReadNow(d(), *resumed);

  EXPECT_EQ(w.RequestCallIds(), std::vector<std::string>{id});
  ASSERT_EQ(w.RequestEventIds().size(), 1u);
  EXPECT_GT(w.RequestEventIds()[0], seen[0]);
  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(id, "1")).ok());
  EXPECT_EQ(*out->result, "1");
}

TEST_F(DispatcherStreamTest, CancelsMadeWhileDisconnectedAreSentOnResumeFirst) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  std::string short_call = Start("c1", NewOutcome(), Opts(absl::Seconds(5)));
  std::string long_call = Start("c1", NewOutcome(), Opts(absl::Seconds(60)));
  std::string cancelled = Start("c1", NewOutcome(), Opts(absl::Seconds(60)));
  ReadNow(d(), *stream);
  d().StreamEnded(*stream);

  AdvanceAndExpire(absl::Seconds(5));
  ASSERT_TRUE(d().Cancel(cancelled, absl::OkStatus()));
  auto resumed = Connect("c1");
  ASSERT_TRUE(resumed);
  Written w = ReadNow(d(), *resumed);

  std::vector<CancelEnvelope> cancels = w.Cancels();
  ASSERT_EQ(cancels.size(), 2u);
  EXPECT_EQ(cancels[0].call_id, short_call);
  EXPECT_EQ(cancels[0].code, absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(cancels[1].call_id, cancelled);
  EXPECT_EQ(cancels[1].code, absl::StatusCode::kCancelled);
  EXPECT_EQ(w.RequestCallIds(), std::vector<std::string>{long_call});
  // session, cancel, cancel, request.
  ASSERT_EQ(w.events.size(), 4u);
  EXPECT_EQ(w.events[3].event, "request");
}

TEST_F(DispatcherStreamTest, RetainedCancelsAreBoundedWhileDisconnected) {
  options_.max_retained_cancels = 2;
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Start("c1", NewOutcome()));
  ReadNow(d(), *stream);
  d().StreamEnded(*stream);

  for (const std::string& id : ids)
    ASSERT_TRUE(d().Cancel(id, absl::OkStatus()));
  auto resumed = Connect("c1");
  ASSERT_TRUE(resumed);

  std::vector<CancelEnvelope> cancels = ReadNow(d(), *resumed).Cancels();
  ASSERT_EQ(cancels.size(), 2u);  // the oldest two were dropped
  EXPECT_EQ(cancels[0].call_id, ids[2]);
  EXPECT_EQ(cancels[1].call_id, ids[3]);
}

TEST_F(DispatcherStreamTest, ReplyWhileTheClientIsResumingIsAccepted) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out);
  ReadNow(d(), *stream);
  d().StreamEnded(*stream);

  // The client's POST can arrive while its stream is down.
  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(id, "5")).ok());

  EXPECT_EQ(*out->result, "5");
  auto resumed = Connect("c1");
  ASSERT_TRUE(resumed);
  EXPECT_TRUE(ReadNow(d(), *resumed).Requests().empty());
}

TEST_F(DispatcherStreamTest,
       PendingCallsFailUnavailableWhenGracePassesWithoutResume) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* before = NewOutcome();
  Start("c1", before, Opts(absl::Hours(1)));
  ReadNow(d(), *stream);
  d().StreamEnded(*stream);
  clock_.Advance(absl::Seconds(10));
  Outcome* during = NewOutcome();
  Start("c1", during, Opts(absl::Hours(1)));

  AdvanceAndExpire(absl::Seconds(20) - absl::Nanoseconds(1));
  EXPECT_FALSE(before->done());
  EXPECT_FALSE(during->done());

  AdvanceAndExpire(absl::Nanoseconds(1));
  EXPECT_EQ(before->runs, 1);
  EXPECT_EQ(during->runs, 1);
  EXPECT_EQ(before->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(during->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(d().pending_calls(), 0u);
  EXPECT_FALSE(Info("c1").has_value());  // nothing left to remember

  // Now that the grace is over, fail-fast calls are refused at once.
  Outcome* after = NewOutcome();
  EXPECT_EQ(Start("c1", after), "");
  EXPECT_EQ(after->code(), absl::StatusCode::kUnavailable);
}

TEST_F(DispatcherStreamTest,
       WaitForClientCallsOutliveTheGraceUntilTheirDeadline) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* fail_fast = NewOutcome();
  Outcome* waits = NewOutcome();
  Start("c1", fail_fast, Opts(absl::Minutes(5)));
  Start("c1", waits, Opts(absl::Minutes(5), /*wait_for_client=*/true));
  ReadNow(d(), *stream);
  d().StreamEnded(*stream);

  AdvanceAndExpire(options_.resume_grace);
  EXPECT_EQ(fail_fast->code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(waits->done());
  EXPECT_EQ(Info("c1")->state, "absent");

  AdvanceAndExpire(absl::Minutes(5) - options_.resume_grace);
  EXPECT_EQ(waits->runs, 1);
  EXPECT_EQ(waits->code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(Info("c1").has_value());
}

TEST_F(DispatcherStreamTest, FailFastCallToAnAbsentClientIsUnavailable) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Start("c1", NewOutcome(), Opts(absl::Minutes(5), /*wait_for_client=*/true));
  d().StreamEnded(*stream);
  AdvanceAndExpire(options_.resume_grace);
  ASSERT_EQ(Info("c1")->state, "absent");  // kept by the waiting call

  Outcome* out = NewOutcome();
  EXPECT_EQ(Start("c1", out), "");

  EXPECT_EQ(out->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Info("c1")->pending, 1u);
}

TEST_F(DispatcherStreamTest, CancelsRetainedDuringGraceAreForgottenWhenItEnds) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  std::string cancelled = Start("c1", NewOutcome());
  Start("c1", NewOutcome(), Opts(absl::Minutes(5), /*wait_for_client=*/true));
  ReadNow(d(), *stream);
  d().StreamEnded(*stream);
  ASSERT_TRUE(d().Cancel(cancelled, absl::OkStatus()));
  AdvanceAndExpire(options_.resume_grace);

  auto back = Connect("c1");
  ASSERT_TRUE(back);
  Written w = ReadNow(d(), *back);

  EXPECT_TRUE(w.Cancels().empty());
  EXPECT_EQ(w.Requests().size(), 1u);
}

TEST_F(DispatcherStreamTest,
       WaitForClientCallIsResentWhenTheClientComesBackAfterGrace) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* waits = NewOutcome();
  std::string id = Start("c1", waits, Opts(absl::Minutes(5), true));
  std::vector<uint64_t> seen = ReadNow(d(), *stream).RequestEventIds();
  d().StreamEnded(*stream);
  AdvanceAndExpire(absl::Minutes(1));

  auto back = Connect("c1");  // no Last-Event-ID: everything pending
  ASSERT_TRUE(back);
  Written w = ReadNow(d(), *back);

  EXPECT_EQ(w.RequestCallIds(), std::vector<std::string>{id});
  EXPECT_EQ(w.RequestEventIds(), seen);
  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(id, "{}")).ok());
  EXPECT_TRUE(waits->result.ok());
}

TEST_F(DispatcherStreamTest, ResumingWithinGraceKeepsCallsAlive) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  Start("c1", out, Opts(absl::Hours(1)));
  d().StreamEnded(*stream);
  AdvanceAndExpire(options_.resume_grace - absl::Seconds(1));

  auto resumed = Connect("c1");
  ASSERT_TRUE(resumed);
  AdvanceAndExpire(absl::Minutes(10));

  EXPECT_FALSE(out->done());
  EXPECT_EQ(Info("c1")->state, "connected");
}

TEST_F(DispatcherStreamTest, EachDisconnectGetsAGracePeriodOfItsOwn) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  Start("c1", out, Opts(absl::Hours(1)));
  d().StreamEnded(*stream);  // grace until t=30
  AdvanceAndExpire(absl::Seconds(20));
  auto second = Connect("c1");
  ASSERT_TRUE(second);
  AdvanceAndExpire(absl::Seconds(5));
  d().StreamEnded(*second);  // grace until t=55

  AdvanceAndExpire(absl::Seconds(5));  // t=30: the first grace is stale
  EXPECT_FALSE(out->done());
  EXPECT_EQ(Info("c1")->state, "resuming");

  AdvanceAndExpire(absl::Seconds(25));  // t=55
  EXPECT_EQ(out->code(), absl::StatusCode::kUnavailable);
}

TEST_F(DispatcherStreamTest, EventIdsKeepIncreasingAcrossReconnects) {
  std::vector<uint64_t> all;
  std::optional<uint64_t> last;
  for (int round = 0; round < 4; ++round) {
    auto stream = Connect("c1", round % 2 == 0 ? last : std::nullopt);
    ASSERT_TRUE(stream);
    ReadNow(d(), *stream);  // resent ones are not new ids; skip them
    std::string id = Start("c1", NewOutcome());
    std::vector<uint64_t> ids = ReadNow(d(), *stream).RequestEventIds();
    ASSERT_EQ(ids.size(), 1u);
    all.push_back(ids[0]);
    last = ids[0];
    ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(id, "{}")).ok());
    d().StreamEnded(*stream);
  }
  EXPECT_TRUE(StrictlyIncreasing(all));
}

TEST_F(DispatcherStreamTest,
       NewSessionOpenedWithLastEventIdStartsItsIdsAboveIt) {
  auto stream = Connect("fresh", 50);
  ASSERT_TRUE(stream);
  ReadNow(d(), *stream);

  Start("fresh", NewOutcome());
  Start("fresh", NewOutcome());
  std::vector<uint64_t> ids = ReadNow(d(), *stream).RequestEventIds();

  ASSERT_EQ(ids.size(), 2u);
  EXPECT_GT(ids[0], 50u);
  EXPECT_GT(ids[1], ids[0]);
}

// Regression test for a fixed bug: a session created by a
// wait_for_client call always starts its event ids at 1, while OpenStream
// treats Last-Event-ID as "the client has seen everything up to here". A
// client that the server forgot (grace passed, nothing pending) and that
// reconnects with the Last-Event-ID of its previous session never receives
// the calls queued for it meanwhile; they time out.
TEST_F(DispatcherStreamTest,
       WaitForClientCallToAForgottenClientIsDeliveredDespiteItsLastEventId) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  std::vector<uint64_t> seen;
  for (int i = 0; i < 3; ++i) {
    std::string id = Start("c1", NewOutcome());
    for (uint64_t e : ReadNow(d(), *stream).RequestEventIds()) seen.push_back(e);
    ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(id, "{}")).ok());
  }
  ASSERT_EQ(seen.size(), 3u);
  d().StreamEnded(*stream);
  AdvanceAndExpire(options_.resume_grace);
  ASSERT_FALSE(Info("c1").has_value());  // forgotten

  Outcome* out = NewOutcome();
  std::string id = Start("c1", out, Opts(absl::Minutes(5), true));
  auto back = Connect("c1", seen.back());
  ASSERT_TRUE(back);
  Written w = ReadNow(d(), *back);

  EXPECT_EQ(w.RequestCallIds(), std::vector<std::string>{id});
  for (uint64_t event_id : w.RequestEventIds())
    EXPECT_GT(event_id, seen.back());
}

// Regression test for a fixed bug (ExpireDueLocked/ExpireGraceLocked): when a
// session's grace deadline and a call's own deadline are popped by the same
// PopDue (both passed before the timer ran), expiring the grace finishes the
// call through FinishLocked, which calls deadlines_.Remove() with the call's
// handle, an iterator PopDue has already erased: undefined behaviour (a
// double erase in the multimap; the tree is corrupted or the process
// crashes; AddressSanitizer reports a double free in DeadlineQueue::Remove).
// Expected: the call fails once, UNAVAILABLE (its grace came first), and the
// dispatcher keeps working.
TEST_F(DispatcherStreamTest,
       GraceAndCallDeadlinePassingTogetherEndTheCallOnce) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  Start("c1", out, Opts(options_.resume_grace + absl::Seconds(10)));
  Outcome* other = NewOutcome();
  auto other_stream = Connect("c2");
  ASSERT_TRUE(other_stream);
  Start("c2", other, Opts(absl::Hours(1)));
  d().StreamEnded(*stream);

  // The timer is late: grace (t=30) and the call's deadline (t=40) are due.
  AdvanceAndExpire(options_.resume_grace + absl::Minutes(1));

  EXPECT_EQ(out->runs, 1);
  EXPECT_EQ(out->code(), absl::StatusCode::kUnavailable);
  // The dispatcher's deadlines still work for everyone else.
  EXPECT_FALSE(other->done());
  AdvanceAndExpire(absl::Hours(1));
  EXPECT_EQ(other->code(), absl::StatusCode::kDeadlineExceeded);
}

// --- Takeover ---------------------------------------------------------------

TEST_F(DispatcherStreamTest, SecondStreamClosesTheFirstWithAborted) {
  auto first = Connect("c1");
  ASSERT_TRUE(first);
  ReadNow(d(), *first);

  auto second = Connect("c1");
  ASSERT_TRUE(second);
  Written old = ReadNow(d(), *first);

  EXPECT_EQ(old.status, WriteStatus::kClosed);
  ASSERT_TRUE(old.Close().has_value());
  EXPECT_EQ(old.Close()->code(), absl::StatusCode::kAborted);
  // The close is said once; the stream stays closed.
  Written later = ReadNow(d(), *first);
  EXPECT_EQ(later.status, WriteStatus::kClosed);
  EXPECT_FALSE(later.Close().has_value());
  // The new stream is a normal one.
  Written fresh = ReadNow(d(), *second);
  EXPECT_EQ(fresh.status, WriteStatus::kData);
  EXPECT_EQ(fresh.Named("session").size(), 1u);
  EXPECT_EQ(d().open_streams(), 1u);
  EXPECT_EQ(Info("c1")->streams_opened, 2u);
}

TEST_F(DispatcherStreamTest, PendingRequestsGoToTheStreamThatTookOver) {
  auto first = Connect("c1");
  ASSERT_TRUE(first);
  std::string written = Start("c1", NewOutcome());
  std::vector<uint64_t> seen = ReadNow(d(), *first).RequestEventIds();
  Outcome* out = NewOutcome();
  std::string unwritten = Start("c1", out);  // queued on the first stream

  auto second = Connect("c1", seen[0]);
  ASSERT_TRUE(second);
  Written old = ReadNow(d(), *first);
  Written fresh = ReadNow(d(), *second);

  EXPECT_TRUE(old.Requests().empty());
  EXPECT_EQ(old.status, WriteStatus::kClosed);
  EXPECT_EQ(fresh.RequestCallIds(), std::vector<std::string>{unwritten});
  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(unwritten, "2")).ok());
  EXPECT_EQ(*out->result, "2");
}

TEST_F(DispatcherStreamTest,
       TakeoverWithoutLastEventIdResendsEveryPendingCall) {
  auto first = Connect("c1");
  ASSERT_TRUE(first);
  std::string a = Start("c1", NewOutcome());
  std::string b = Start("c1", NewOutcome());
  ReadNow(d(), *first);

  auto second = Connect("c1");
  ASSERT_TRUE(second);

  EXPECT_EQ(ReadNow(d(), *second).RequestCallIds(),
            (std::vector<std::string>{a, b}));
}

TEST_F(DispatcherStreamTest,
       OldStreamEndingAfterTakeoverDoesNotDisturbTheNewOne) {
  auto first = Connect("c1");
  ASSERT_TRUE(first);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out, Opts(absl::Hours(1)));
  auto second = Connect("c1");
  ASSERT_TRUE(second);
  ReadNow(d(), *second);

  d().StreamEnded(*first);

  EXPECT_EQ(Info("c1")->state, "connected");
  EXPECT_EQ(d().open_streams(), 1u);
  AdvanceAndExpire(options_.resume_grace * 2);  // no grace was started
  EXPECT_FALSE(out->done());
  Outcome* next = NewOutcome();
  std::string next_id = Start("c1", next);
  EXPECT_EQ(ReadNow(d(), *second).RequestCallIds(),
            std::vector<std::string>{next_id});
  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(id, "{}")).ok());
  EXPECT_EQ(out->runs, 1);
}

TEST_F(DispatcherStreamTest, RequestOfACallThatEndedWhileQueuedIsNotWritten) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  ReadNow(d(), *stream);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out);
  ASSERT_TRUE(d().Cancel(id, absl::CancelledError("changed my mind")));
  Written w = ReadNow(d(), *stream);
  EXPECT_TRUE(w.Requests().empty());
  ASSERT_EQ(w.Cancels().size(), 1u);  // harmless: the client ignores it
  EXPECT_EQ(w.Cancels()[0].call_id, id);
}

}  // namespace
}  // namespace sserpc::server_internal::test
