// Dispatcher: how one call starts and ends (reply, client error, deadline,
// cancel, refusal, limits), and that callbacks never run under its lock.
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <thread>
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

using DispatcherCallTest = DispatcherTest;

TEST_F(DispatcherCallTest, ReplyCompletesTheCallOnceWithItsPayload) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out, Opts(), R"({"q":1})");
  ASSERT_FALSE(id.empty());
  EXPECT_FALSE(out->done());
  EXPECT_EQ(d().pending_calls(), 1u);

  EXPECT_TRUE(d().DeliverReply("c1", PayloadReply(id, R"({"a":[1,2]})")).ok());

  EXPECT_EQ(out->runs, 1);
  ASSERT_TRUE(out->result.ok()) << out->result.status();
  EXPECT_EQ(*out->result, R"({"a":[1,2]})");
  EXPECT_EQ(d().pending_calls(), 0u);
}

TEST_F(DispatcherCallTest, ReplyDoesNotSendACancelToTheClient) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out);
  ReadNow(d(), *stream);

  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(id, "{}")).ok());

  EXPECT_EQ(ReadNow(d(), *stream).status, WriteStatus::kIdle);
}

TEST_F(DispatcherCallTest, ClientErrorReplyEndsTheCallWithThatCodeAndMessage) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out);

  ASSERT_TRUE(d().DeliverReply("c1", ErrorReply(id, absl::PermissionDeniedError(
                                                        "no way")))
                  .ok());

  EXPECT_EQ(out->runs, 1);
  EXPECT_EQ(out->result.status(), absl::PermissionDeniedError("no way"));
}

TEST_F(DispatcherCallTest,
       ReplyFromAnotherClientIsNotFoundAndOwnerCanStillReply) {
  auto s1 = Connect("c1");
  auto s2 = Connect("c2");
  ASSERT_TRUE(s1 && s2);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out);

  absl::Status wrong = d().DeliverReply("c2", PayloadReply(id, R"("stolen")"));

  EXPECT_EQ(wrong.code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(out->done());
  EXPECT_EQ(d().pending_calls(), 1u);

  EXPECT_TRUE(d().DeliverReply("c1", PayloadReply(id, R"("mine")")).ok());
  EXPECT_EQ(out->runs, 1);
  EXPECT_EQ(*out->result, R"("mine")");
}

TEST_F(DispatcherCallTest, SecondReplyIsNotFoundAndDoesNotRunTheCallbackAgain) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out);
  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(id, "1")).ok());

  absl::Status again = d().DeliverReply("c1", PayloadReply(id, "2"));
  absl::Status again_error =
      d().DeliverReply("c1", ErrorReply(id, absl::InternalError("late")));

  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(again_error.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(out->runs, 1);
  EXPECT_EQ(*out->result, "1");
}

TEST_F(DispatcherCallTest, ReplyToAnUnknownCallIsNotFound) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  EXPECT_EQ(d().DeliverReply("c1", PayloadReply("no-such-call", "{}")).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(DispatcherCallTest, DeadlineEndsTheCallAndSendsADeadlineCancel) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out, Opts(absl::Seconds(5)));
  ReadNow(d(), *stream);

  AdvanceAndExpire(absl::Seconds(5));

  EXPECT_EQ(out->runs, 1);
  EXPECT_EQ(out->code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(d().pending_calls(), 0u);
  Written w = ReadNow(d(), *stream);
  EXPECT_EQ(w.status, WriteStatus::kData);
  std::vector<CancelEnvelope> cancels = w.Cancels();
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].call_id, id);
  EXPECT_EQ(cancels[0].code, absl::StatusCode::kDeadlineExceeded);
}

TEST_F(DispatcherCallTest, CallIsStillPendingJustBeforeItsDeadline) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  Start("c1", out, Opts(absl::Seconds(5)));

  AdvanceAndExpire(absl::Seconds(5) - absl::Nanoseconds(1));
  EXPECT_FALSE(out->done());

  AdvanceAndExpire(absl::Nanoseconds(1));
  EXPECT_EQ(out->code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(DispatcherCallTest, ExpireDueTwiceEndsTheCallOnlyOnce) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  Start("c1", out, Opts(absl::Seconds(1)));

  AdvanceAndExpire(absl::Seconds(2));
  AdvanceAndExpire(absl::Seconds(2));

  EXPECT_EQ(out->runs, 1);
}

TEST_F(DispatcherCallTest, ReplyAfterTheDeadlineIsNotFound) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out, Opts(absl::Seconds(1)));
  AdvanceAndExpire(absl::Seconds(1));

  EXPECT_EQ(d().DeliverReply("c1", PayloadReply(id, "{}")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(out->runs, 1);
  EXPECT_EQ(out->code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(DispatcherCallTest, AnsweredCallDoesNotExpireLater) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out, Opts(absl::Seconds(1)));
  ReadNow(d(), *stream);
  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(id, "{}")).ok());

  AdvanceAndExpire(absl::Seconds(10));

  EXPECT_EQ(out->runs, 1);
  EXPECT_TRUE(out->result.ok());
  EXPECT_EQ(ReadNow(d(), *stream).status, WriteStatus::kIdle);
}

TEST_F(DispatcherCallTest, CancelByIdEndsTheCallCancelledAndTellsTheClient) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out);
  ReadNow(d(), *stream);

  EXPECT_TRUE(d().Cancel(id, absl::OkStatus()));

  EXPECT_EQ(out->runs, 1);
  EXPECT_EQ(out->code(), absl::StatusCode::kCancelled);
  std::vector<CancelEnvelope> cancels = ReadNow(d(), *stream).Cancels();
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].call_id, id);
  EXPECT_EQ(cancels[0].code, absl::StatusCode::kCancelled);
}

TEST_F(DispatcherCallTest, CancelWithAStatusEndsTheCallWithThatStatus) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out);
  ReadNow(d(), *stream);

  EXPECT_TRUE(d().Cancel(id, absl::AbortedError("changed my mind")));

  EXPECT_EQ(out->result.status(), absl::AbortedError("changed my mind"));
  std::vector<CancelEnvelope> cancels = ReadNow(d(), *stream).Cancels();
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].code, absl::StatusCode::kAborted);
}

TEST_F(DispatcherCallTest, CancelOfAnUnknownOrEndedCallReturnsFalse) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out);
  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(id, "{}")).ok());
  ReadNow(d(), *stream);

  EXPECT_FALSE(d().Cancel(id, absl::OkStatus()));
  EXPECT_FALSE(d().Cancel("never-existed", absl::OkStatus()));

  EXPECT_EQ(out->runs, 1);
  EXPECT_TRUE(out->result.ok());
  EXPECT_EQ(ReadNow(d(), *stream).status, WriteStatus::kIdle);
}

TEST_F(DispatcherCallTest, ReplyAfterCancelIsNotFound) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out);
  ASSERT_TRUE(d().Cancel(id, absl::OkStatus()));

  EXPECT_EQ(d().DeliverReply("c1", PayloadReply(id, "{}")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(out->runs, 1);
}

TEST_F(DispatcherCallTest, CancellationObjectEndsTheCallWithItsStatus) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  auto cancellation = std::make_shared<Cancellation>();
  CallOptions opts = Opts();
  opts.cancellation = cancellation;
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out, opts);
  ReadNow(d(), *stream);

  cancellation->Cancel();

  EXPECT_EQ(out->runs, 1);
  EXPECT_EQ(out->code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(d().pending_calls(), 0u);
  std::vector<CancelEnvelope> cancels = ReadNow(d(), *stream).Cancels();
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].call_id, id);
  EXPECT_EQ(cancels[0].code, absl::StatusCode::kCancelled);
}

TEST_F(DispatcherCallTest, CancellationWithAStatusEndsTheCallWithThatStatus) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  auto cancellation = std::make_shared<Cancellation>();
  CallOptions opts = Opts();
  opts.cancellation = cancellation;
  Outcome* out = NewOutcome();
  Start("c1", out, opts);

  cancellation->Cancel(absl::UnavailableError("caller went away"));

  EXPECT_EQ(out->result.status(), absl::UnavailableError("caller went away"));
}

TEST_F(DispatcherCallTest, CancellationSharedByCallsEndsEveryOneOfThem) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  auto cancellation = std::make_shared<Cancellation>();
  CallOptions opts = Opts();
  opts.cancellation = cancellation;
  Outcome* a = NewOutcome();
  Outcome* b = NewOutcome();
  Outcome* unrelated = NewOutcome();
  Start("c1", a, opts);
  Start("c1", b, opts);
  Start("c1", unrelated);

  cancellation->Cancel();

  EXPECT_EQ(a->runs, 1);
  EXPECT_EQ(b->runs, 1);
  EXPECT_EQ(a->code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(b->code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(unrelated->done());
  EXPECT_EQ(d().pending_calls(), 1u);
}

TEST_F(DispatcherCallTest, CancellationAlreadyCancelledFailsTheCallAtOnce) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  ReadNow(d(), *stream);
  auto cancellation = std::make_shared<Cancellation>();
  cancellation->Cancel(absl::CancelledError("before start"));
  CallOptions opts = Opts();
  opts.cancellation = cancellation;
  Outcome* out = NewOutcome();

  std::string id = Start("c1", out, opts);

  EXPECT_EQ(id, "");
  EXPECT_EQ(out->runs, 1);
  EXPECT_EQ(out->result.status(), absl::CancelledError("before start"));
  EXPECT_EQ(d().pending_calls(), 0u);
  EXPECT_EQ(Info("c1")->calls_sent, 0u);
  EXPECT_EQ(ReadNow(d(), *stream).status, WriteStatus::kIdle);
}

TEST_F(DispatcherCallTest, CancellationAfterTheCallEndedDoesNothing) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  auto cancellation = std::make_shared<Cancellation>();
  CallOptions opts = Opts();
  opts.cancellation = cancellation;
  Outcome* out = NewOutcome();
  std::string id = Start("c1", out, opts);
  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(id, "7")).ok());
  ReadNow(d(), *stream);

  cancellation->Cancel();

  EXPECT_EQ(out->runs, 1);
  EXPECT_EQ(*out->result, "7");
  EXPECT_EQ(ReadNow(d(), *stream).status, WriteStatus::kIdle);
}

TEST_F(DispatcherCallTest, FailFastCallToAnUnknownClientIsUnavailableAtOnce) {
  Outcome* out = NewOutcome();

  std::string id = Start("nobody", out);

  EXPECT_EQ(id, "");
  EXPECT_EQ(out->runs, 1);
  EXPECT_EQ(out->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(d().pending_calls(), 0u);
  EXPECT_TRUE(d().ListClients().empty());
}

TEST_F(DispatcherCallTest, WaitForClientCallIsDeliveredWhenTheStreamOpens) {
  Outcome* out = NewOutcome();
  std::string id = Start("later", out, Opts(absl::Seconds(30), true));
  ASSERT_FALSE(id.empty());
  EXPECT_FALSE(out->done());
  clock_.Advance(absl::Seconds(10));

  auto stream = Connect("later");
  ASSERT_TRUE(stream);
  std::vector<RequestEnvelope> requests = ReadNow(d(), *stream).Requests();

  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].call_id, id);
  EXPECT_EQ(requests[0].timeout_ms, 20000);
  ASSERT_TRUE(d().DeliverReply("later", PayloadReply(id, "true")).ok());
  EXPECT_EQ(*out->result, "true");
}

TEST_F(DispatcherCallTest, WaitForClientCallTimesOutIfTheClientNeverConnects) {
  Outcome* out = NewOutcome();
  Start("never", out, Opts(absl::Seconds(30), true));

  // Far past any resume grace: only the call's own deadline ends it.
  AdvanceAndExpire(absl::Seconds(29));
  EXPECT_FALSE(out->done());

  AdvanceAndExpire(absl::Seconds(1));
  EXPECT_EQ(out->runs, 1);
  EXPECT_EQ(out->code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(d().pending_calls(), 0u);
  EXPECT_TRUE(d().ListClients().empty());  // nothing left to remember
}

TEST_F(DispatcherCallTest, InvalidClientIdIsInvalidArgumentWithoutStateChange) {
  for (const std::string& bad :
       {std::string(""), std::string("has space"), std::string("a/b"),
        std::string(129, 'x'), std::string("new\nline")}) {
    Outcome* out = NewOutcome();
    std::string id = d().StartCall(bad, kMethod, "{}",
                                   Opts(absl::Seconds(1), true), Record(out));
    EXPECT_EQ(id, "") << bad;
    EXPECT_EQ(out->runs, 1) << bad;
    EXPECT_EQ(out->code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(d().pending_calls(), 0u);
  EXPECT_TRUE(d().ListClients().empty());
}

TEST_F(DispatcherCallTest, LongestValidClientIdIsAccepted) {
  Outcome* out = NewOutcome();
  std::string id =
      Start(std::string(128, 'x'), out, Opts(absl::Seconds(1), true));
  EXPECT_NE(id, "");
  EXPECT_FALSE(out->done());
}

TEST_F(DispatcherCallTest, InvalidMethodIsInvalidArgumentWithoutStateChange) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  ReadNow(d(), *stream);
  for (const std::string& bad :
       {std::string(""), std::string("NoSlash"), std::string("pkg.Svc/"),
        std::string("/Method"), std::string("pkg.Svc/Me thod"),
        std::string("pkg..Svc/M")}) {
    Outcome* out = NewOutcome();
    std::string id = d().StartCall("c1", bad, "{}", Opts(), Record(out));
    EXPECT_EQ(id, "") << bad;
    EXPECT_EQ(out->runs, 1) << bad;
    EXPECT_EQ(out->code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(d().pending_calls(), 0u);
  EXPECT_EQ(Info("c1")->calls_sent, 0u);
  EXPECT_EQ(ReadNow(d(), *stream).status, WriteStatus::kIdle);
}

TEST_F(DispatcherCallTest,
       InvalidPayloadJsonIsInvalidArgumentWithoutStateChange) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  ReadNow(d(), *stream);
  for (const std::string& bad :
       {std::string("{"), std::string("{\"a\":}"), std::string("[1,]"),
        std::string("{} {}"), std::string("nul"), std::string("'x'")}) {
    Outcome* out = NewOutcome();
    std::string id = Start("c1", out, Opts(), bad);
    EXPECT_EQ(id, "") << bad;
    EXPECT_EQ(out->runs, 1) << bad;
    EXPECT_EQ(out->code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(d().pending_calls(), 0u);
  EXPECT_EQ(Info("c1")->calls_sent, 0u);
  EXPECT_EQ(ReadNow(d(), *stream).status, WriteStatus::kIdle);
}

TEST_F(DispatcherCallTest, AnyJsonValueIsAnAcceptablePayloadAndIsSentVerbatim) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  ReadNow(d(), *stream);
  const std::vector<std::string> payloads = {R"({"k": [1, 2.5, "x"]})", "42",
                                             R"("text")", "null", "[]"};
  for (const std::string& p : payloads) Start("c1", NewOutcome(), Opts(), p);

  std::vector<RequestEnvelope> requests = ReadNow(d(), *stream).Requests();

  ASSERT_EQ(requests.size(), payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i) {
    EXPECT_EQ(requests[i].payload, payloads[i]);
    EXPECT_EQ(requests[i].method, kMethod);
  }
}

TEST_F(DispatcherCallTest, EmptyPayloadIsSentAsAnEmptyObject) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Start("c1", NewOutcome(), Opts(), "");

  std::vector<RequestEnvelope> requests = ReadNow(d(), *stream).Requests();

  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].payload, "{}");
}

TEST_F(DispatcherCallTest, NonPositiveTimeoutIsDeadlineExceededAtOnce) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  ReadNow(d(), *stream);
  for (absl::Duration t :
       {absl::ZeroDuration(), absl::Seconds(-1), -absl::InfiniteDuration()}) {
    Outcome* out = NewOutcome();
    std::string id = Start("c1", out, Opts(t));
    EXPECT_EQ(id, "") << t;
    EXPECT_EQ(out->runs, 1) << t;
    EXPECT_EQ(out->code(), absl::StatusCode::kDeadlineExceeded) << t;
  }
  EXPECT_EQ(d().pending_calls(), 0u);
  EXPECT_EQ(ReadNow(d(), *stream).status, WriteStatus::kIdle);
}

TEST_F(DispatcherCallTest, TimeoutLongerThanTheMaximumIsClamped) {
  options_.max_timeout = absl::Minutes(1);
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  Start("c1", out, Opts(absl::Hours(5)));

  std::vector<RequestEnvelope> requests = ReadNow(d(), *stream).Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].timeout_ms, 60000);

  AdvanceAndExpire(absl::Minutes(1));
  EXPECT_EQ(out->code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(DispatcherCallTest, InfiniteTimeoutIsClampedToTheMaximum) {
  options_.max_timeout = absl::Minutes(1);
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  Start("c1", out, Opts(absl::InfiniteDuration()));

  AdvanceAndExpire(absl::Minutes(1));
  EXPECT_EQ(out->code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(DispatcherCallTest, OneCallTooManyForAClientIsResourceExhausted) {
  options_.max_pending_per_client = 2;
  auto s1 = Connect("c1");
  auto s2 = Connect("c2");
  ASSERT_TRUE(s1 && s2);
  ReadNow(d(), *s1);
  Start("c1", NewOutcome());
  Start("c1", NewOutcome());
  ReadNow(d(), *s1);
  Outcome* third = NewOutcome();

  std::string id = Start("c1", third);

  EXPECT_EQ(id, "");
  EXPECT_EQ(third->runs, 1);
  EXPECT_EQ(third->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(d().pending_calls(), 2u);
  EXPECT_EQ(ReadNow(d(), *s1).status, WriteStatus::kIdle);
  // Another client is not affected by c1's limit.
  Outcome* other = NewOutcome();
  EXPECT_NE(Start("c2", other), "");
  EXPECT_FALSE(other->done());
}

TEST_F(DispatcherCallTest, PerClientLimitFreesUpWhenACallEnds) {
  options_.max_pending_per_client = 1;
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  std::string first = Start("c1", NewOutcome());
  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(first, "{}")).ok());

  Outcome* second = NewOutcome();
  EXPECT_NE(Start("c1", second), "");
  EXPECT_FALSE(second->done());
}

TEST_F(DispatcherCallTest, PerClientLimitAppliesToWaitForClientCalls) {
  options_.max_pending_per_client = 1;
  Start("later", NewOutcome(), Opts(absl::Seconds(30), true));
  Outcome* second = NewOutcome();

  Start("later", second, Opts(absl::Seconds(30), true));

  EXPECT_EQ(second->code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(DispatcherCallTest, OneCallTooManyInTheServerIsResourceExhausted) {
  options_.max_pending_total = 3;
  auto s1 = Connect("c1");
  auto s2 = Connect("c2");
  ASSERT_TRUE(s1 && s2);
  Start("c1", NewOutcome());
  Start("c2", NewOutcome());
  Start("c1", NewOutcome());
  Outcome* fourth = NewOutcome();

  std::string id = Start("c2", fourth);

  EXPECT_EQ(id, "");
  EXPECT_EQ(fourth->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(d().pending_calls(), 3u);
  EXPECT_EQ(Info("c2")->pending, 1u);
}

TEST_F(DispatcherCallTest, PayloadOverTheBodyLimitIsResourceExhausted) {
  options_.max_body_bytes = 16;
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  ReadNow(d(), *stream);
  const std::string at_limit = R"({"k":"01234567"})";  // 16 bytes
  ASSERT_EQ(at_limit.size(), 16u);
  const std::string over_limit = R"({"k":"012345678"})";

  Outcome* big = NewOutcome();
  EXPECT_EQ(Start("c1", big, Opts(), over_limit), "");
  EXPECT_EQ(big->runs, 1);
  EXPECT_EQ(big->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(d().pending_calls(), 0u);

  Outcome* fits = NewOutcome();
  EXPECT_NE(Start("c1", fits, Opts(), at_limit), "");
  EXPECT_FALSE(fits->done());
}

TEST_F(DispatcherCallTest, CallIdsAreDistinct) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(Start("c1", NewOutcome()));
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_EQ(ids.count(""), 0u);
}

TEST_F(DispatcherCallTest, CallAndWaitReturnsTheErrorAtOnceWhenRefused) {
  CallResult r = d().CallAndWait("nobody", kMethod, "{}", Opts());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(DispatcherCallTest, CallAndWaitReturnsTheReplyDeliveredByTheClient) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  // A "client" thread reads the stream (a real condition-variable wait, not a
  // sleep) and answers the first request it sees.
  std::thread client([&] {
    while (true) {
      std::string out;
      Dispatcher::WriteStatus st =
          d().NextWrite(*stream, absl::Seconds(10), &out);
      if (st == WriteStatus::kClosed) return;
      Written w = Parse(st, std::move(out));
      for (const RequestEnvelope& r : w.Requests()) {
        ASSERT_TRUE(
            d().DeliverReply("c1", PayloadReply(r.call_id, R"("pong")")).ok());
        return;
      }
    }
  });

  CallResult r = d().CallAndWait("c1", kMethod, "{}", Opts());
  client.join();

  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, R"("pong")");
}

// Every way a call can end runs its callback after the dispatcher's lock is
// released, so a callback may call back into the dispatcher.
class ReentrantCallbackTest : public DispatcherTest {
 protected:
  // A callback that uses the dispatcher the way a real caller might.
  CallCallback Reenter(Outcome* out) {
    return [this, out](CallResult r) {
      ++out->runs;
      out->result = std::move(r);
      d().ListClients();
      d().pending_calls();
      d().open_streams();
      d().Cancel("no-such-call", absl::OkStatus());
      d().StartCall("c1", kMethod, "{}", Opts(absl::Seconds(100)),
                    Record(&nested_.emplace_back()));
    };
  }

  std::string StartReentrant(const std::string& client, Outcome* out,
                             CallOptions opts = Opts()) {
    return d().StartCall(client, kMethod, "{}", opts, Reenter(out));
  }

  std::deque<Outcome> nested_;
};

TEST_F(ReentrantCallbackTest, CallbackRunOnReplyMayUseTheDispatcher) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  std::string id = StartReentrant("c1", out);

  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(id, "{}")).ok());

  EXPECT_EQ(out->runs, 1);
  ASSERT_EQ(nested_.size(), 1u);
  EXPECT_FALSE(nested_[0].done());  // the nested call really started
  EXPECT_EQ(d().pending_calls(), 1u);
}

TEST_F(ReentrantCallbackTest, CallbackRunOnDeadlineMayUseTheDispatcher) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  StartReentrant("c1", out, Opts(absl::Seconds(1)));

  AdvanceAndExpire(absl::Seconds(1));

  EXPECT_EQ(out->code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(nested_.size(), 1u);
}

TEST_F(ReentrantCallbackTest, CallbackRunOnCancelMayUseTheDispatcher) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  std::string id = StartReentrant("c1", out);

  EXPECT_TRUE(d().Cancel(id, absl::OkStatus()));

  EXPECT_EQ(out->code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(nested_.size(), 1u);
}

TEST_F(ReentrantCallbackTest, CallbackRunOnCancellationMayUseTheDispatcher) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  auto cancellation = std::make_shared<Cancellation>();
  CallOptions opts = Opts();
  opts.cancellation = cancellation;
  Outcome* out = NewOutcome();
  StartReentrant("c1", out, opts);

  cancellation->Cancel();

  EXPECT_EQ(out->code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(nested_.size(), 1u);
}

TEST_F(ReentrantCallbackTest, CallbackRunOnRefusalMayUseTheDispatcher) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* unknown = NewOutcome();
  Outcome* invalid = NewOutcome();

  StartReentrant("nobody", unknown);
  d().StartCall("c1", "bad method", "{}", Opts(), Reenter(invalid));

  EXPECT_EQ(unknown->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(invalid->code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(nested_.size(), 2u);
}

TEST_F(ReentrantCallbackTest, CallbackRunOnGraceExpiryMayUseTheDispatcher) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  StartReentrant("c1", out, Opts(absl::Hours(1)));
  d().StreamEnded(*stream);

  AdvanceAndExpire(options_.resume_grace);

  EXPECT_EQ(out->code(), absl::StatusCode::kUnavailable);
  ASSERT_EQ(nested_.size(), 1u);
  EXPECT_EQ(nested_[0].code(), absl::StatusCode::kUnavailable);
}

TEST_F(ReentrantCallbackTest, CallbackRunOnShutdownMayUseTheDispatcher) {
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();
  StartReentrant("c1", out);

  d().Shutdown();

  EXPECT_EQ(out->code(), absl::StatusCode::kUnavailable);
  ASSERT_EQ(nested_.size(), 1u);
  EXPECT_EQ(nested_[0].code(), absl::StatusCode::kUnavailable);
}

TEST_F(ReentrantCallbackTest, CallbackRunOnCutOffMayUseTheDispatcher) {
  options_.max_outbox_bytes = 1;  // no request fits
  auto stream = Connect("c1");
  ASSERT_TRUE(stream);
  Outcome* out = NewOutcome();

  StartReentrant("c1", out);

  EXPECT_EQ(out->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_GE(nested_.size(), 1u);
}

}  // namespace
}  // namespace sserpc::server_internal::test
