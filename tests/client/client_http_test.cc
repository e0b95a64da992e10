// The real sserpc::Client against a scripted fake server on 127.0.0.1.
// Waits are bounded polls or notifications with timeouts; nothing asserts on
// how long something took.

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "client/reply_sender.h"
#include "client/server_url.h"
#include "gtest/gtest.h"
#include "proto/clock.h"
#include "proto/binary_envelope.h"
#include "proto/envelope.h"
#include "proto/sse.h"
#include "proto/sync.h"
#include "tests/client/fake_server.h"

namespace sserpc {
namespace {

using ::sserpc::testing::FakeServer;

constexpr absl::Duration kWait = absl::Seconds(10);
constexpr char kClientId[] = "test-client";

// Polls `done` every 5 ms for up to `timeout`.
template <typename F>
bool PollUntil(F done, absl::Duration timeout = kWait) {
  const absl::Time until = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= until) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// Waits for `n`, giving up early if the call is cancelled (so a failing test
// never leaves a handler blocked for long).
bool WaitOrCancelled(Notification& n, CallContext& ctx) {
  const absl::Time until = absl::Now() + kWait;
  while (!n.WaitForNotificationWithTimeout(absl::Milliseconds(5))) {
    if (ctx.IsCancelled() || absl::Now() >= until) return false;
  }
  return true;
}

absl::StatusOr<std::string> EmptyAnswer(CallContext&, absl::string_view) {
  return std::string("{}");
}

// What a handler saw of its cancellation.
struct Seen {
  Notification started;
  Notification finished;
  std::atomic<bool> cancelled{false};
  Mutex mu;
  absl::Status status ABSL_GUARDED_BY(mu);

  absl::Status cancel_status() {
    MutexLock lock(&mu);
    return status;
  }
};

// Starts, records, and returns once the call is cancelled (or after kWait).
Handler WaitForCancellation(Seen* seen,
                            std::string answer = std::string("{}")) {
  return [seen, answer](CallContext& ctx,
                        absl::string_view) -> absl::StatusOr<std::string> {
    seen->started.Notify();
    ctx.cancellation().WaitWithTimeout(kWait);
    seen->cancelled = ctx.IsCancelled();
    {
      MutexLock lock(&seen->mu);
      seen->status = ctx.cancel_status();
    }
    seen->finished.Notify();
    return answer;
  };
}

class ClientHttpTest : public ::testing::Test {
 protected:
  ClientOptions Options() {
    ClientOptions o;
    o.server_url = server_.url();
    o.client_id = kClientId;
    o.reconnect_initial = absl::Milliseconds(20);
    o.reconnect_max = absl::Milliseconds(200);
    o.reply_retry_initial = absl::Milliseconds(10);
    o.reply_retry_max = absl::Milliseconds(100);
    return o;
  }

  // Starts `client` and waits until its first stream is open.
  void StartAndConnect(Client& client) {
    ASSERT_TRUE(client.Start().ok());
    ASSERT_TRUE(server_.WaitForStreams(1));
    ASSERT_TRUE(client.WaitUntilConnected(kWait));
  }

  FakeServer server_;
};

TEST_F(ClientHttpTest, PostsTheAnswerOfItsHandler) {
  Client client(Options());
  ASSERT_TRUE(client
                  .Register("demo.Echo/Say",
                            [](CallContext& ctx, absl::string_view payload)
                                -> absl::StatusOr<std::string> {
                              return absl::StrCat(
                                  R"({"echo":)", payload, R"(,"call_id":")",
                                  ctx.call_id(), R"(","method":")",
                                  ctx.method(), R"(","client_id":")",
                                  ctx.client_id(), R"("})");
                            })
                  .ok());
  StartAndConnect(client);

  server_.SendRequest("call-1", "demo.Echo/Say", R"({"n":1})");
  std::optional<ReplyEnvelope> reply = server_.WaitForReply("call-1");
  ASSERT_TRUE(reply.has_value());
  EXPECT_TRUE(reply->error.ok()) << reply->error;
  EXPECT_EQ(reply->payload,
            R"({"echo":{"n":1},"call_id":"call-1",)"
            R"("method":"demo.Echo/Say","client_id":"test-client"})");

  std::vector<FakeServer::Post> posts = server_.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].client_id, kClientId);
  EXPECT_FALSE(posts[0].is_batch);
  EXPECT_TRUE(absl::StrContains(posts[0].body, R"("call_id":"call-1")"))
      << posts[0].body;
  EXPECT_EQ(posts[0].authorization, "");  // no token configured

  std::vector<FakeServer::StreamRequest> streams = server_.stream_requests();
  EXPECT_EQ(streams[0].client_id, kClientId);
  EXPECT_FALSE(streams[0].has_last_event_id);

  EXPECT_TRUE(PollUntil([&] { return client.stats().answers_sent == 1; }));
  Client::Stats stats = client.stats();
  EXPECT_EQ(stats.requests, 1u);
  EXPECT_EQ(stats.duplicates, 0u);
  EXPECT_EQ(stats.streams_opened, 1u);
  EXPECT_EQ(stats.answer_retries, 0u);
}

TEST_F(ClientHttpTest, ProtobufClientAsksForItAndAnswersEachCallInItsForm) {
  ClientOptions options = Options();
  options.protobuf_payloads = true;
  Client client(options);
  HandlerOptions handler_options;
  handler_options.accepts_protobuf = true;
  ASSERT_TRUE(client
                  .Register("demo.Echo/Say",
                            [](CallContext& ctx, absl::string_view payload)
                                -> absl::StatusOr<std::string> {
                              if (ctx.protobuf_payload()) {
                                return absl::StrCat(payload, "\x10\x01");
                              }
                              return std::string(R"({"json":true})");
                            },
                            handler_options)
                  .ok());
  StartAndConnect(client);
  EXPECT_EQ(server_.stream_requests()[0].payloads, "protobuf");

  server_.SendProtoRequest("call-p", "demo.Echo/Say", std::string("\x08\x00", 2));
  std::optional<ReplyEnvelope> reply = server_.WaitForReply("call-p");
  ASSERT_TRUE(reply.has_value());
  EXPECT_TRUE(reply->protobuf);
  EXPECT_EQ(reply->payload, std::string("\x08\x00\x10\x01", 4));

  server_.SendRequest("call-j", "demo.Echo/Say", R"({"n":1})");
  reply = server_.WaitForReply("call-j");
  ASSERT_TRUE(reply.has_value());
  EXPECT_FALSE(reply->protobuf);
  EXPECT_EQ(reply->payload, R"({"json":true})");

  // Answers of both forms that queue together still leave in bodies of one
  // form each.
  std::string both;
  std::string data;
  AppendRequestDataProto("call-p2", "demo.Echo/Say", 30000, "", &data);
  AppendSseEvent("request-proto", data, 0, &both);
  data.clear();
  AppendRequestData("call-j2", "demo.Echo/Say", 30000, "{}", &data);
  AppendSseEvent("request", data, 0, &both);
  server_.Send(both);
  ASSERT_TRUE(server_.WaitForReply("call-p2").has_value());
  ASSERT_TRUE(server_.WaitForReply("call-j2").has_value());
  for (const FakeServer::Post& p : server_.posts()) {
    for (const ReplyEnvelope& r : p.replies) {
      EXPECT_EQ(r.protobuf, p.protobuf) << r.call_id;
      EXPECT_EQ(absl::StartsWith(r.call_id, "call-p"), p.protobuf) << r.call_id;
    }
  }
}

TEST_F(ClientHttpTest, JsonOnlyHandlerRefusesAProtobufRequest) {
  Client client(Options());  // protobuf not asked for
  ASSERT_TRUE(client.Register("demo.Known/Method", EmptyAnswer).ok());
  StartAndConnect(client);
  EXPECT_EQ(server_.stream_requests()[0].payloads, "");
  server_.SendProtoRequest("call-1", "demo.Known/Method", "\x08\x01");
  std::optional<ReplyEnvelope> reply = server_.WaitForReply("call-1");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->error.code(), absl::StatusCode::kInvalidArgument)
      << reply->error;
  EXPECT_TRUE(absl::StrContains(reply->error.message(), "JSON payloads only"));
}

TEST_F(ClientHttpTest, UnknownMethodIsAnsweredUnimplemented) {
  Client client(Options());
  ASSERT_TRUE(client.Register("demo.Known/Method", EmptyAnswer).ok());
  StartAndConnect(client);

  server_.SendRequest("call-1", "demo.Unknown/Method");
  std::optional<ReplyEnvelope> reply = server_.WaitForReply("call-1");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->error.code(), absl::StatusCode::kUnimplemented)
      << reply->error;
  EXPECT_TRUE(reply->payload.empty());
}

TEST_F(ClientHttpTest, HandlerErrorStatusReachesTheServer) {
  Client client(Options());
  ASSERT_TRUE(client
                  .Register("demo.Fail/Now",
                            [](CallContext&, absl::string_view)
                                -> absl::StatusOr<std::string> {
                              return absl::NotFoundError("no such thing");
                            })
                  .ok());
  StartAndConnect(client);

  server_.SendRequest("call-1", "demo.Fail/Now");
  std::optional<ReplyEnvelope> reply = server_.WaitForReply("call-1");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->error.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(reply->error.message(), "no such thing");
}

TEST_F(ClientHttpTest, RedeliveredRequestRunsTheHandlerOnce) {
  std::atomic<int> runs{0};
  Client client(Options());
  ASSERT_TRUE(client
                  .Register("demo.Count/Once",
                            [&](CallContext&, absl::string_view)
                                -> absl::StatusOr<std::string> {
                              ++runs;
                              return std::string("{}");
                            })
                  .ok());
  ASSERT_TRUE(client.Register("demo.Control/Ping", EmptyAnswer).ok());
  StartAndConnect(client);

  // Twice on the same stream...
  server_.SendRequest("dup", "demo.Count/Once", "{}", 30000, 1);
  server_.SendRequest("dup", "demo.Count/Once", "{}", 30000, 2);
  ASSERT_TRUE(server_.WaitForReply("dup").has_value());
  ASSERT_TRUE(PollUntil([&] { return client.stats().duplicates == 1; }));

  // ...and once more after a reconnect.
  server_.EndStream();
  ASSERT_TRUE(server_.WaitForStreams(2));
  server_.SendRequest("dup", "demo.Count/Once", "{}", 30000, 3);
  ASSERT_TRUE(PollUntil([&] { return client.stats().duplicates == 2; }));

  // Anything the redeliveries could have produced is posted before this.
  server_.SendRequest("control", "demo.Control/Ping");
  ASSERT_TRUE(server_.WaitForReply("control").has_value());

  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(server_.PostsCarrying("dup"), 1);
  EXPECT_EQ(client.stats().requests, 2u);  // "dup" and "control"
}

TEST_F(ClientHttpTest, CancelledBeforeItArrivesIsNeverRun) {
  std::atomic<int> runs{0};
  Client client(Options());
  ASSERT_TRUE(client
                  .Register("demo.Count/Once",
                            [&](CallContext&, absl::string_view)
                                -> absl::StatusOr<std::string> {
                              ++runs;
                              return std::string("{}");
                            })
                  .ok());
  StartAndConnect(client);

  server_.SendCancel("early");
  server_.SendRequest("early", "demo.Count/Once");
  server_.SendRequest("control", "demo.Count/Once");
  ASSERT_TRUE(server_.WaitForReply("control").has_value());
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(server_.PostsCarrying("early"), 0);
  Client::Stats stats = client.stats();
  EXPECT_EQ(stats.cancels, 1u);
  EXPECT_EQ(stats.duplicates, 1u);
}

TEST_F(ClientHttpTest, CancelEventCancelsTheRunningHandlerAndNoAnswerIsSent) {
  Seen seen;
  ClientOptions options = Options();
  // One worker: the control call below runs only after the cancelled call's
  // task ended, and its answer is queued after anything that task queued.
  options.max_concurrent_calls = 1;
  Client client(options);
  ASSERT_TRUE(client.Register("demo.Slow/Wait", WaitForCancellation(&seen)).ok());
  ASSERT_TRUE(client.Register("demo.Control/Ping", EmptyAnswer).ok());
  StartAndConnect(client);

  server_.SendRequest("slow", "demo.Slow/Wait");
  ASSERT_TRUE(seen.started.WaitForNotificationWithTimeout(kWait));
  server_.SendCancel("slow", absl::StatusCode::kCancelled);
  ASSERT_TRUE(seen.finished.WaitForNotificationWithTimeout(kWait));
  EXPECT_TRUE(seen.cancelled);
  EXPECT_EQ(seen.cancel_status().code(), absl::StatusCode::kCancelled);

  server_.SendRequest("control", "demo.Control/Ping");
  ASSERT_TRUE(server_.WaitForReply("control").has_value());
  EXPECT_EQ(server_.PostsCarrying("slow"), 0);
  EXPECT_EQ(client.stats().cancels, 1u);
}

TEST_F(ClientHttpTest, CancelCodeFromTheServerIsPassedOn) {
  Seen seen;
  Client client(Options());
  ASSERT_TRUE(client.Register("demo.Slow/Wait", WaitForCancellation(&seen)).ok());
  StartAndConnect(client);

  server_.SendRequest("slow", "demo.Slow/Wait");
  ASSERT_TRUE(seen.started.WaitForNotificationWithTimeout(kWait));
  server_.SendCancel("slow", absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(seen.finished.WaitForNotificationWithTimeout(kWait));
  EXPECT_EQ(seen.cancel_status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(ClientHttpTest, DeadlineCancelsTheHandlerWithDeadlineExceeded) {
  Seen seen;
  ClientOptions options = Options();
  options.max_concurrent_calls = 1;
  Client client(options);
  ASSERT_TRUE(client.Register("demo.Slow/Wait", WaitForCancellation(&seen)).ok());
  ASSERT_TRUE(client.Register("demo.Control/Ping", EmptyAnswer).ok());
  StartAndConnect(client);

  server_.SendRequest("slow", "demo.Slow/Wait", "{}", /*timeout_ms=*/100);
  ASSERT_TRUE(seen.finished.WaitForNotificationWithTimeout(kWait));
  EXPECT_TRUE(seen.cancelled);
  EXPECT_EQ(seen.cancel_status().code(), absl::StatusCode::kDeadlineExceeded)
      << seen.cancel_status();

  // Nobody waits for the answer of an expired call.
  server_.SendRequest("control", "demo.Control/Ping");
  ASSERT_TRUE(server_.WaitForReply("control").has_value());
  EXPECT_EQ(server_.PostsCarrying("slow"), 0);
}

TEST_F(ClientHttpTest, ContextCarriesTheDeadline) {
  Mutex mu;
  absl::Time deadline;
  Client client(Options());
  ASSERT_TRUE(client
                  .Register("demo.Deadline/Get",
                            [&](CallContext& ctx, absl::string_view)
                                -> absl::StatusOr<std::string> {
                              MutexLock lock(&mu);
                              deadline = ctx.deadline();
                              return std::string("{}");
                            })
                  .ok());
  StartAndConnect(client);
  const absl::Time before = absl::Now();
  server_.SendRequest("c", "demo.Deadline/Get", "{}", 60000);
  ASSERT_TRUE(server_.WaitForReply("c").has_value());
  MutexLock lock(&mu);
  EXPECT_GE(deadline, before + absl::Seconds(60));
  EXPECT_LE(deadline, absl::Now() + absl::Seconds(60));
}

TEST_F(ClientHttpTest, FailedAnswerPostIsRetried) {
  server_.set_reply_policy(
      [](int index, const std::vector<ReplyEnvelope>&) {
        return index == 0 ? 503 : 0;
      });
  Client client(Options());
  ASSERT_TRUE(client.Register("demo.Echo/Say", EmptyAnswer).ok());
  StartAndConnect(client);

  server_.SendRequest("call-1", "demo.Echo/Say");
  ASSERT_TRUE(server_.WaitForReply("call-1").has_value());
  EXPECT_EQ(server_.PostsCarrying("call-1"), 2);
  EXPECT_EQ(server_.AcceptedRepliesFor("call-1"), 1);
  ASSERT_TRUE(PollUntil([&] { return client.stats().answers_sent == 1; }));
  EXPECT_GE(client.stats().answer_retries, 1u);
}

TEST_F(ClientHttpTest, AnswerRefusedWith404IsNotRetried) {
  server_.set_reply_policy(
      [](int, const std::vector<ReplyEnvelope>& replies) {
        for (const ReplyEnvelope& r : replies) {
          if (r.call_id == "gone") return 404;
        }
        return 0;
      });
  Client client(Options());
  ASSERT_TRUE(client.Register("demo.Echo/Say", EmptyAnswer).ok());
  StartAndConnect(client);

  server_.SendRequest("gone", "demo.Echo/Say");
  ASSERT_TRUE(server_.WaitForPosts(1));
  // A retry of "gone" would be posted before or with this answer (and make
  // it fail too).
  server_.SendRequest("after", "demo.Echo/Say");
  ASSERT_TRUE(server_.WaitForReply("after").has_value());
  EXPECT_EQ(server_.PostsCarrying("gone"), 1);
  ASSERT_TRUE(PollUntil([&] { return client.stats().answers_sent == 1; }));
  EXPECT_EQ(client.stats().answer_retries, 0u);
}

TEST_F(ClientHttpTest, AnswerTooLargeForTheServerBecomesResourceExhausted) {
  // The server refuses any answer carrying a payload with 413, as it does
  // for bodies over its limit.
  server_.set_reply_policy([](int, const std::vector<ReplyEnvelope>& replies) {
    for (const ReplyEnvelope& r : replies) {
      if (r.error.ok()) return 413;
    }
    return 0;
  });
  Client client(Options());
  ASSERT_TRUE(client.Register("demo.Echo/Say", EmptyAnswer).ok());
  StartAndConnect(client);
  server_.SendRequest("big", "demo.Echo/Say");
  std::optional<ReplyEnvelope> r = server_.WaitForReply("big");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->error.code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(ClientHttpTest, ReconnectsAfterTheStreamEndsSendingLastEventId) {
  Client client(Options());
  ASSERT_TRUE(client.Register("demo.Echo/Say", EmptyAnswer).ok());
  StartAndConnect(client);

  server_.SendRequest("ev-7", "demo.Echo/Say", "{}", 30000, /*id=*/7);
  ASSERT_TRUE(server_.WaitForReply("ev-7").has_value());
  server_.EndStream();
  // The fake's `retry: 50` hint brings the client back quickly.
  ASSERT_TRUE(server_.WaitForStreams(2));
  ASSERT_TRUE(PollUntil([&] { return client.stats().streams_opened == 2; }));
  EXPECT_TRUE(client.connected());

  // A stream without ids leaves the last id in force.
  server_.EndStream();
  ASSERT_TRUE(server_.WaitForStreams(3));

  std::vector<FakeServer::StreamRequest> streams = server_.stream_requests();
  ASSERT_EQ(streams.size(), 3u);
  EXPECT_FALSE(streams[0].has_last_event_id);
  EXPECT_TRUE(streams[1].has_last_event_id);
  EXPECT_EQ(streams[1].last_event_id, "7");
  EXPECT_EQ(streams[2].last_event_id, "7");
  EXPECT_EQ(streams[1].accept, "text/event-stream");

  // The new stream works.
  server_.SendRequest("ev-8", "demo.Echo/Say", "{}", 30000, 8);
  ASSERT_TRUE(server_.WaitForReply("ev-8").has_value());
  EXPECT_TRUE(client.status().ok());
}

// Regression test for a fixed bug (proto/sse.cc, SseParser::ProcessLine, seen through the client's
// EventStream): an `id:` line updates last_event_id() at once, not when its
// event is dispatched. A stream cut after an event's `id:` line but before
// the blank line that ends it makes the client reconnect with that id in
// Last-Event-ID, although it never saw the event: a server that resumes after
// Last-Event-ID skips it. The SSE spec (WHATWG HTML, "dispatch the event")
// sets the last event ID only on dispatch.
TEST_F(ClientHttpTest, LastEventIdCountsOnlyDispatchedEvents) {
  Client client(Options());
  ASSERT_TRUE(client.Register("demo.Echo/Say", EmptyAnswer).ok());
  StartAndConnect(client);

  server_.SendRequest("ev-4", "demo.Echo/Say", "{}", 30000, /*id=*/4);
  ASSERT_TRUE(server_.WaitForReply("ev-4").has_value());
  std::string data;
  AppendRequestData("ev-5", "demo.Echo/Say", 30000, "{}", &data);
  server_.Send(absl::StrCat("id: 5\nevent: request\ndata: ", data, "\n"));
  server_.EndStream();  // cut before the blank line
  ASSERT_TRUE(server_.WaitForStreams(2));
  std::vector<FakeServer::StreamRequest> streams = server_.stream_requests();
  EXPECT_EQ(streams[1].last_event_id, "4");
  EXPECT_EQ(server_.PostsCarrying("ev-5"), 0);
}

TEST_F(ClientHttpTest, CloseWithAbortedStopsReconnecting) {
  Client client(Options());
  StartAndConnect(client);

  server_.SendClose(absl::AbortedError("another stream took over"));
  server_.EndStream();
  ASSERT_TRUE(PollUntil([&] {
    return client.status().code() == absl::StatusCode::kAborted;
  }));
  ASSERT_TRUE(PollUntil([&] { return !client.connected(); }));
  // Ten times the retry hint: the client would have been back long before.
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(server_.streams(), 1);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kAborted);
}

TEST_F(ClientHttpTest, CloseWithAnotherCodeReconnects) {
  Client client(Options());
  StartAndConnect(client);

  server_.SendClose(absl::UnavailableError("server restarting"));
  server_.EndStream();
  ASSERT_TRUE(server_.WaitForStreams(2));
  ASSERT_TRUE(PollUntil([&] { return client.stats().streams_opened == 2; }));
  EXPECT_TRUE(client.status().ok()) << client.status();
}

// Regression test for a fixed bug (client/event_stream.cc, EventStream::Backoff as used by Loop): the
// backoff doubles the server's `retry:` hint, and a hint of 0 doubles to 0:
// once a server has sent `retry: 0`, every later failed attempt (503, refused
// connection) is retried at once, in a tight loop, for as long as the server
// fails. options.h promises a delay that "doubles per failed attempt up to
// reconnect_max".
TEST(ClientReconnectTest, ZeroRetryHintStillBacksOffWhileTheServerFails) {
  FakeServer server(/*retry_ms=*/0);
  ClientOptions options;
  options.server_url = server.url();
  options.client_id = kClientId;
  options.reconnect_initial = absl::Milliseconds(20);
  options.reconnect_max = absl::Milliseconds(200);
  Client client(options);
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(client.WaitUntilConnected(kWait));
  server.set_stream_status(503);
  server.EndStream();
  ASSERT_TRUE(server.WaitForStreams(2));
  absl::SleepFor(absl::Milliseconds(500));
  // With any doubling from a non-zero start, a handful of attempts; slowness
  // only lowers the count.
  EXPECT_LE(server.streams(), 30);
}

TEST_F(ClientHttpTest, Http401OnTheStreamGivesUpUnauthenticated) {
  server_.set_stream_status(401);
  Client client(Options());
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(PollUntil([&] {
    return client.status().code() == absl::StatusCode::kUnauthenticated;
  }));
  EXPECT_FALSE(client.connected());
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(server_.streams(), 1);
}

TEST_F(ClientHttpTest, Http403OnTheStreamGivesUpPermissionDenied) {
  server_.set_stream_status(403);
  Client client(Options());
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(PollUntil([&] {
    return client.status().code() == absl::StatusCode::kPermissionDenied;
  }));
}

TEST_F(ClientHttpTest, Http503OnTheStreamIsRetried) {
  server_.set_stream_status(503);
  Client client(Options());
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(server_.WaitForStreams(3));
  EXPECT_TRUE(client.status().ok()) << client.status();
  server_.set_stream_status(200);
  EXPECT_TRUE(client.WaitUntilConnected(kWait));
}

TEST_F(ClientHttpTest, SendsTheBearerTokenOnStreamAndReplies) {
  ClientOptions options = Options();
  options.token = "s3cret-t0ken";
  Client client(options);
  ASSERT_TRUE(client.Register("demo.Echo/Say", EmptyAnswer).ok());
  StartAndConnect(client);

  server_.SendRequest("call-1", "demo.Echo/Say");
  ASSERT_TRUE(server_.WaitForReply("call-1").has_value());
  EXPECT_EQ(server_.stream_requests()[0].authorization, "Bearer s3cret-t0ken");
  EXPECT_EQ(server_.posts()[0].authorization, "Bearer s3cret-t0ken");
}

TEST_F(ClientHttpTest, SlowHandlerDoesNotBlockASecondCall) {
  Notification slow_started;
  Notification fast_answered;
  std::atomic<bool> slow_saw_release{false};
  Client client(Options());
  ASSERT_TRUE(client
                  .Register("demo.Slow/Wait",
                            [&](CallContext& ctx, absl::string_view)
                                -> absl::StatusOr<std::string> {
                              slow_started.Notify();
                              slow_saw_release = WaitOrCancelled(fast_answered, ctx);
                              return std::string(R"({"slow":true})");
                            })
                  .ok());
  ASSERT_TRUE(client.Register("demo.Fast/Now", EmptyAnswer).ok());
  StartAndConnect(client);

  server_.SendRequest("slow", "demo.Slow/Wait");
  ASSERT_TRUE(slow_started.WaitForNotificationWithTimeout(kWait));
  server_.SendRequest("fast", "demo.Fast/Now");
  const bool fast_arrived = server_.WaitForReply("fast").has_value();
  fast_answered.Notify();
  ASSERT_TRUE(fast_arrived);
  std::optional<ReplyEnvelope> slow = server_.WaitForReply("slow");
  ASSERT_TRUE(slow.has_value());
  EXPECT_EQ(slow->payload, R"({"slow":true})");
  EXPECT_TRUE(slow_saw_release);
}

TEST_F(ClientHttpTest, InvalidJsonFromTheHandlerIsAnsweredInternal) {
  Client client(Options());
  ASSERT_TRUE(client
                  .Register("demo.Bad/Json",
                            [](CallContext&, absl::string_view)
                                -> absl::StatusOr<std::string> {
                              return std::string(R"({"unterminated": )");
                            })
                  .ok());
  StartAndConnect(client);

  server_.SendRequest("call-1", "demo.Bad/Json");
  std::optional<ReplyEnvelope> reply = server_.WaitForReply("call-1");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->error.code(), absl::StatusCode::kInternal) << reply->error;
  EXPECT_TRUE(reply->payload.empty());
}

TEST_F(ClientHttpTest, ThrowingHandlerIsAnsweredInternal) {
  Client client(Options());
  ASSERT_TRUE(client
                  .Register("demo.Bad/Throw",
                            [](CallContext&, absl::string_view)
                                -> absl::StatusOr<std::string> {
                              throw std::runtime_error("boom");
                            })
                  .ok());
  ASSERT_TRUE(client
                  .Register("demo.Bad/ThrowInt",
                            [](CallContext&, absl::string_view)
                                -> absl::StatusOr<std::string> { throw 42; })
                  .ok());
  StartAndConnect(client);

  server_.SendRequest("call-1", "demo.Bad/Throw");
  server_.SendRequest("call-2", "demo.Bad/ThrowInt");
  std::optional<ReplyEnvelope> r1 = server_.WaitForReply("call-1");
  std::optional<ReplyEnvelope> r2 = server_.WaitForReply("call-2");
  ASSERT_TRUE(r1.has_value());
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(r1->error.code(), absl::StatusCode::kInternal) << r1->error;
  EXPECT_TRUE(absl::StrContains(r1->error.message(), "boom")) << r1->error;
  EXPECT_EQ(r2->error.code(), absl::StatusCode::kInternal) << r2->error;
}

TEST_F(ClientHttpTest, EmptyHandlerResultIsAnEmptyObject) {
  Client client(Options());
  ASSERT_TRUE(client
                  .Register("demo.Empty/Get",
                            [](CallContext&, absl::string_view)
                                -> absl::StatusOr<std::string> {
                              return std::string();
                            })
                  .ok());
  StartAndConnect(client);
  server_.SendRequest("call-1", "demo.Empty/Get");
  std::optional<ReplyEnvelope> reply = server_.WaitForReply("call-1");
  ASSERT_TRUE(reply.has_value());
  EXPECT_TRUE(reply->error.ok());
  EXPECT_EQ(reply->payload, "{}");
}

TEST_F(ClientHttpTest, OversizedAnswerIsAnsweredResourceExhausted) {
  ClientOptions options = Options();
  options.max_message_bytes = 64;
  Client client(options);
  ASSERT_TRUE(client
                  .Register("demo.Big/Get",
                            [](CallContext&, absl::string_view)
                                -> absl::StatusOr<std::string> {
                              return absl::StrCat(R"({"x":")",
                                                  std::string(200, 'a'), "\"}");
                            })
                  .ok());
  StartAndConnect(client);
  server_.SendRequest("call-1", "demo.Big/Get");
  std::optional<ReplyEnvelope> reply = server_.WaitForReply("call-1");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->error.code(), absl::StatusCode::kResourceExhausted)
      << reply->error;
}

TEST_F(ClientHttpTest, CallsBeyondTheQueueAreAnsweredResourceExhausted) {
  ClientOptions options = Options();
  options.max_concurrent_calls = 1;
  options.max_queued_calls = 0;
  Notification release;
  Notification started;
  Client client(options);
  ASSERT_TRUE(client
                  .Register("demo.Slow/Wait",
                            [&](CallContext& ctx, absl::string_view)
                                -> absl::StatusOr<std::string> {
                              started.Notify();
                              WaitOrCancelled(release, ctx);
                              return std::string("{}");
                            })
                  .ok());
  StartAndConnect(client);

  server_.SendRequest("first", "demo.Slow/Wait");
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  server_.SendRequest("second", "demo.Slow/Wait");
  std::optional<ReplyEnvelope> second = server_.WaitForReply("second");
  release.Notify();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->error.code(), absl::StatusCode::kResourceExhausted)
      << second->error;
  std::optional<ReplyEnvelope> first = server_.WaitForReply("first");
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->error.ok());
}

// Handlers run one at a time (one worker), so when call k starts, the answers
// of calls 1..k-1 are queued. The first POST is held until the last call
// starts: the answers behind it must go out in later POSTs, batched or not.
class BatchingTest : public ClientHttpTest {
 protected:
  static constexpr int kCalls = 20;

  void RunCalls(ClientOptions options) {
    options.max_concurrent_calls = 1;
    std::atomic<int> started{0};
    Client client(options);
    ASSERT_TRUE(client
                    .Register("demo.Echo/Say",
                              [&](CallContext& ctx, absl::string_view)
                                  -> absl::StatusOr<std::string> {
                                ++started;
                                return absl::StrCat(R"({"id":")",
                                                    ctx.call_id(), "\"}");
                              })
                    .ok());
    server_.set_before_reply([&](int index) {
      if (index == 0) PollUntil([&] { return started.load() == kCalls; });
    });
    StartAndConnect(client);

    for (int i = 0; i < kCalls; ++i) {
      server_.SendRequest(absl::StrCat("call-", i), "demo.Echo/Say");
    }
    for (int i = 0; i < kCalls; ++i) {
      const std::string id = absl::StrCat("call-", i);
      std::optional<ReplyEnvelope> reply = server_.WaitForReply(id);
      ASSERT_TRUE(reply.has_value()) << id;
      EXPECT_EQ(reply->payload, absl::StrCat(R"({"id":")", id, "\"}"));
      EXPECT_EQ(server_.AcceptedRepliesFor(id), 1) << id;
    }
    EXPECT_TRUE(
        PollUntil([&] { return client.stats().answers_sent == kCalls; }))
        << client.stats().answers_sent;
    EXPECT_EQ(client.stats().answer_retries, 0u);
    server_.set_before_reply(nullptr);
  }
};

TEST_F(BatchingTest, AnswersQueuedBehindAPostAreBatched) {
  RunCalls(Options());
  int batches = 0;
  for (const FakeServer::Post& p : server_.posts()) {
    EXPECT_TRUE(p.parsed) << p.body;
    batches += p.is_batch;
  }
  EXPECT_GE(batches, 1);
}

TEST_F(BatchingTest, BatchesStayWithinMaxBatchBytes) {
  ClientOptions options = Options();
  // The sender counts payload + 128 bytes per answer: three per POST here.
  options.max_batch_bytes = 3 * (128 + 20);
  RunCalls(options);
  int batches = 0;
  for (const FakeServer::Post& p : server_.posts()) {
    EXPECT_LE(p.replies.size(), 3u) << p.body;
    EXPECT_LE(p.body.size(), options.max_batch_bytes) << p.body;
    batches += p.is_batch;
  }
  EXPECT_GE(batches, 1);
}

// How many of this process's threads carry `name`.
int ThreadsNamed(const std::string& name) {
  int n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    std::getline(comm, line);
    n += line == name;
  }
  return n;
}

// A connected client that was never called holds one thread (its stream):
// the answer sender and the deadline timer start with its first call.
TEST_F(ClientHttpTest, IdleClientHasOnlyItsStreamThread) {
  Client client(Options());
  ASSERT_TRUE(client.Register("demo.Echo/Say", EmptyAnswer).ok());
  StartAndConnect(client);
  EXPECT_EQ(ThreadsNamed("sserpc-stream"), 1);
  EXPECT_EQ(ThreadsNamed("sserpc-answers"), 0);
  EXPECT_EQ(ThreadsNamed("sserpc-deadline"), 0);
  EXPECT_EQ(ThreadsNamed("sserpc-worker"), 0);

  server_.SendRequest("call-1", "demo.Echo/Say");
  ASSERT_TRUE(server_.WaitForReply("call-1").has_value());
  // (A new thread names itself when it first runs.)
  EXPECT_TRUE(PollUntil([] { return ThreadsNamed("sserpc-answers") == 1; }));
  EXPECT_TRUE(PollUntil([] { return ThreadsNamed("sserpc-deadline") == 1; }));
  client.Stop();
  // Stop() joined both threads. A joined thread's /proc/self/task entry can
  // outlive the join by a moment: the kernel wakes the joiner as the thread
  // lets go of its memory, and removes the entry later in its exit.
  EXPECT_TRUE(PollUntil([] { return ThreadsNamed("sserpc-answers") == 0; }));
  EXPECT_TRUE(PollUntil([] { return ThreadsNamed("sserpc-deadline") == 0; }));
}

// Requests that arrive together (one read of the stream) for a handler that
// runs on the stream thread are answered together: the sender thread is
// woken once, after the stream thread has handled all of them, so they leave
// in one POST instead of the first alone.
TEST_F(ClientHttpTest, StreamThreadAnswersOfOneReadLeaveInOnePost) {
  constexpr int kCalls = 20;
  Client client(Options());
  HandlerOptions inline_handler;
  inline_handler.run_on_stream_thread = true;
  ASSERT_TRUE(client
                  .Register("demo.Echo/Say",
                            [](CallContext&, absl::string_view payload)
                                -> absl::StatusOr<std::string> {
                              // 1 ms of work: time enough for a sender
                              // woken by the previous answer to post it.
                              const absl::Time until =
                                  absl::Now() + absl::Milliseconds(1);
                              while (absl::Now() < until) {
                                std::this_thread::yield();
                              }
                              return std::string(payload);
                            },
                            inline_handler)
                  .ok());
  StartAndConnect(client);

  std::string burst;
  for (int i = 0; i < kCalls; ++i) {
    std::string data;
    AppendRequestData(absl::StrCat("call-", i), "demo.Echo/Say", 10000,
                      absl::StrCat(R"({"n":)", i, "}"), &data);
    AppendSseEvent("request", data, 0, &burst);
  }
  server_.Send(burst);  // one write: the client reads it in one piece
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(server_.WaitForReply(absl::StrCat("call-", i)).has_value());
  }
  // One write is usually one read, but the client may read it in a few
  // pieces (5 seen under ThreadSanitizer). Woken per answer, the sender
  // would post nearly every answer alone (each takes the handler 1 ms; a
  // POST takes far less here).
  std::vector<FakeServer::Post> posts = server_.posts();
  EXPECT_LE(posts.size(), 7u);
  size_t answers = 0;
  for (const FakeServer::Post& p : posts) answers += p.replies.size();
  EXPECT_EQ(answers, static_cast<size_t>(kCalls));
}

TEST_F(ClientHttpTest, StopWhileAHandlerRunsCancelsItAndLeavesNothingRunning) {
  Seen seen;
  std::atomic<int> runs{0};
  auto client = std::make_unique<Client>(Options());
  Handler wait = WaitForCancellation(&seen);
  ASSERT_TRUE(client
                  ->Register("demo.Slow/Wait",
                             [&, wait](CallContext& ctx, absl::string_view p) {
                               ++runs;
                               return wait(ctx, p);
                             })
                  .ok());
  StartAndConnect(*client);

  server_.SendRequest("slow", "demo.Slow/Wait");
  ASSERT_TRUE(seen.started.WaitForNotificationWithTimeout(kWait));
  client->Stop();
  // Stop() cancelled the handler and waited for it.
  EXPECT_TRUE(seen.finished.HasBeenNotified());
  EXPECT_TRUE(seen.cancelled);
  EXPECT_EQ(seen.cancel_status().code(), absl::StatusCode::kUnavailable)
      << seen.cancel_status();
  EXPECT_FALSE(client->connected());

  client->Stop();  // idempotent
  const Client::Stats after_stop = client->stats();

  // Nothing of the client runs any more: the stream is not reopened and
  // requests pushed now are not handled.
  server_.SendRequest("late", "demo.Slow/Wait");
  server_.EndStream();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(server_.streams(), 1);
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(client->stats().requests, after_stop.requests);
  EXPECT_EQ(client->stats().streams_opened, after_stop.streams_opened);
  client.reset();
  EXPECT_EQ(server_.PostsCarrying("late"), 0);
}

// Regression test for a fixed bug (client/client.cc Client::Stop with client/reply_sender.cc
// ReplySender::StopBy/Loop): Stop() calls sender_->StopBy(drain_until) before
// it cancels the handlers. The sender thread wakes, finds its queue empty and
// returns ("stopping, all sent"). The answers that the cancelled handlers
// queue a moment later (Client skips them only when not stopping) are then
// never posted, and not even counted as expired, although Stop() promises to
// give them up to `drain` to reach the server.
TEST_F(ClientHttpTest, StopDeliversTheAnswersOfTheHandlersItCancelled) {
  Seen seen;
  Client client(Options());
  ASSERT_TRUE(client
                  .Register("demo.Slow/Wait",
                            WaitForCancellation(&seen, R"({"partial":true})"))
                  .ok());
  StartAndConnect(client);

  server_.SendRequest("slow", "demo.Slow/Wait");
  ASSERT_TRUE(seen.started.WaitForNotificationWithTimeout(kWait));
  client.Stop(absl::Seconds(2));
  // Stop() has joined the sender: whatever it posted has arrived.
  std::optional<ReplyEnvelope> reply =
      server_.WaitForReply("slow", absl::Seconds(1));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->payload, R"({"partial":true})");
  EXPECT_EQ(client.stats().answers_sent, 1u);
}

TEST_F(ClientHttpTest, StopDoesNotAnswerAHandlerThatGaveBackItsInterruption) {
  Notification started;
  Client client(Options());
  ASSERT_TRUE(client
                  .Register("demo.Slow/Ask",
                            [&](CallContext& ctx, absl::string_view)
                                -> absl::StatusOr<std::string> {
                              started.Notify();
                              ctx.cancellation().WaitWithTimeout(kWait);
                              return ctx.cancel_status();  // "I was stopped"
                            })
                  .ok());
  StartAndConnect(client);
  server_.SendRequest("asked", "demo.Slow/Ask");
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  client.Stop(absl::Seconds(2));
  // Unanswered, the call stays pending on the server, to be redelivered
  // when this client id comes back.
  EXPECT_EQ(server_.PostsCarrying("asked"), 0);
  EXPECT_EQ(client.stats().answers_sent, 0u);
}

TEST_F(ClientHttpTest, DestroyingARunningClientStopsIt) {
  Seen seen;
  {
    Client client(Options());
    ASSERT_TRUE(
        client.Register("demo.Slow/Wait", WaitForCancellation(&seen)).ok());
    StartAndConnect(client);
    server_.SendRequest("slow", "demo.Slow/Wait");
    ASSERT_TRUE(seen.started.WaitForNotificationWithTimeout(kWait));
  }
  EXPECT_TRUE(seen.finished.HasBeenNotified());
  EXPECT_EQ(seen.cancel_status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(ClientHttpTest, RegisterAndStartValidate) {
  Client client(Options());
  EXPECT_EQ(client.Register("not a method", EmptyAnswer).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client.Register("demo.Echo/Say", nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(client.Register("demo.Echo/Say", EmptyAnswer).ok());
  EXPECT_EQ(client.Register("demo.Echo/Say", EmptyAnswer).code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(client.Start().ok());
  EXPECT_EQ(client.Start().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client.Register("demo.Echo/Later", EmptyAnswer).code(),
            absl::StatusCode::kFailedPrecondition);

  ClientOptions bad_url = Options();
  bad_url.server_url = "ftp://127.0.0.1";
  EXPECT_EQ(Client(bad_url).Start().code(), absl::StatusCode::kInvalidArgument);
  ClientOptions bad_id = Options();
  bad_id.client_id = "no spaces";
  EXPECT_EQ(Client(bad_id).Start().code(), absl::StatusCode::kInvalidArgument);
}

// ReplySender on its own, against the fake.
class ReplySenderTest : public ClientHttpTest {
 protected:
  client_internal::ServerUrl Url() {
    return *client_internal::ParseServerUrl(server_.url());
  }
  static ReplyEnvelope Reply(std::string call_id) {
    ReplyEnvelope r;
    r.call_id = std::move(call_id);
    r.payload = "{}";
    return r;
  }
};

TEST_F(ReplySenderTest, DropsAnswersPastTheirDeadline) {
  server_.set_reply_policy([](int, const std::vector<ReplyEnvelope>&) {
    return 503;
  });
  ClientOptions options = Options();
  client_internal::ReplySender sender(options, Url(), Clock::Real());
  sender.Send(Reply("c"), absl::Now() + absl::Milliseconds(200));
  ASSERT_TRUE(PollUntil([&] { return sender.stats().expired == 1; }));
  EXPECT_EQ(sender.stats().delivered, 0u);
  EXPECT_GE(sender.stats().retried, 1u);
  sender.Stop(absl::ZeroDuration());
}

TEST_F(ReplySenderTest, StopDeliversWhatIsQueued) {
  ClientOptions options = Options();
  client_internal::ReplySender sender(options, Url(), Clock::Real());
  for (int i = 0; i < 5; ++i) {
    sender.Send(Reply(absl::StrCat("c", i)), absl::Now() + absl::Seconds(30));
  }
  sender.Stop(absl::Seconds(5));
  EXPECT_EQ(sender.stats().delivered, 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(server_.AcceptedRepliesFor(absl::StrCat("c", i)), 1);
  }
}

TEST_F(ReplySenderTest, AnswerHandedOverWhileTheSenderIsIdleIsPostedByTheHandingThread) {
  ClientOptions options = Options();
  client_internal::ReplySender sender(options, Url(), Clock::Real());
  // The first answer: the sender thread connects and posts it.
  sender.Send(Reply("c0"), absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(PollUntil([&] { return sender.stats().delivered == 1; }));
  // Then it waits on the kept connection; the next answer's POST is
  // written by the thread that hands it over, on that connection.
  ASSERT_TRUE(PollUntil([&] { return sender.parked(); }));
  sender.Send(Reply("c1"), absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(PollUntil([&] { return sender.stats().delivered == 2; }));
  EXPECT_EQ(sender.stats().posts, 2u);
  EXPECT_EQ(sender.stats().direct_posts, 1u);
  EXPECT_EQ(server_.AcceptedRepliesFor("c1"), 1);
  // Answers handed over with wake=false wait for Flush(), then leave
  // together, again from the handing thread.
  ASSERT_TRUE(PollUntil([&] { return sender.parked(); }));
  sender.Send(Reply("c2"), absl::Now() + absl::Seconds(30), /*wake=*/false);
  sender.Send(Reply("c3"), absl::Now() + absl::Seconds(30), /*wake=*/false);
  EXPECT_EQ(sender.stats().posts, 2u);
  sender.Flush();
  ASSERT_TRUE(PollUntil([&] { return sender.stats().delivered == 4; }));
  EXPECT_EQ(sender.stats().posts, 3u);
  EXPECT_EQ(sender.stats().direct_posts, 2u);
  sender.Stop(absl::Seconds(5));
}

TEST_F(ReplySenderTest, LargeAnswerHandedOverWhileIdleArrivesOnce) {
  // 16 MiB cannot go in one non-blocking send: the handing thread gives
  // up on that connection and the sender thread sends it on a new one.
  ClientOptions options = Options();
  options.max_batch_bytes = 64 << 20;
  client_internal::ReplySender sender(options, Url(), Clock::Real());
  sender.Send(Reply("small"), absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(PollUntil([&] { return sender.parked(); }));
  ReplyEnvelope big = Reply("big");
  big.payload = absl::StrCat("\"", std::string(16 << 20, 'x'), "\"");
  const absl::Time start = absl::Now();
  sender.Send(std::move(big), absl::Now() + absl::Seconds(60));
  // Send() returned without waiting for the server to take 16 MiB.
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_TRUE(PollUntil([&] { return sender.stats().delivered == 2; },
                        absl::Seconds(30)));
  EXPECT_EQ(server_.AcceptedRepliesFor("big"), 1);
  EXPECT_EQ(sender.stats().refused, 0u);
  sender.Stop(absl::Seconds(5));
}

TEST_F(ReplySenderTest, IdleConnectionClosedByTheServerIsLetGoAtOnce) {
  // The fake server closes a keep-alive connection after 1 s idle.
  ClientOptions options = Options();
  client_internal::ReplySender sender(options, Url(), Clock::Real());
  sender.Send(Reply("c0"), absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(PollUntil([&] { return sender.parked(); }));
  // The sender thread sees the close while waiting, not at the next POST.
  ASSERT_TRUE(PollUntil([&] { return !sender.parked(); }, absl::Seconds(10)));
  // With no connection the sender thread posts the next answer itself, on a
  // new connection.
  sender.Send(Reply("c1"), absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(PollUntil([&] { return sender.stats().delivered == 2; }));
  EXPECT_EQ(sender.stats().direct_posts, 0u);
  EXPECT_EQ(sender.stats().retried, 0u);
  sender.Stop(absl::Seconds(5));
}

TEST_F(ReplySenderTest, StopEndsTheWaitOnAnIdleConnectionAtOnce) {
  // A server that keeps the idle connection open for longer than the test.
  FakeServer patient(/*retry_ms=*/50, /*keep_alive_s=*/120);
  ClientOptions options = Options();
  options.server_url = patient.url();
  options.reply_timeout = absl::Seconds(60);  // the recv() wait's bound
  client_internal::ReplySender sender(
      options, *client_internal::ParseServerUrl(patient.url()), Clock::Real());
  sender.Send(Reply("c0"), absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(PollUntil([&] { return sender.parked(); }));
  const absl::Time start = absl::Now();
  sender.Stop(absl::Seconds(30));
  // Without ending the wait, Stop() would take the 60 s receive timeout.
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  EXPECT_EQ(sender.stats().delivered, 1u);
}

TEST_F(ReplySenderTest, AnswerPostTimedOutWith408IsRetried) {
  // 408: the request was not taken (a proxy or the server timed it, or the
  // idle connection it crossed, out); the answer must not be dropped.
  server_.set_reply_policy([](int post, const std::vector<ReplyEnvelope>&) {
    return post == 0 ? 408 : 0;
  });
  ClientOptions options = Options();
  client_internal::ReplySender sender(options, Url(), Clock::Real());
  sender.Send(Reply("c"), absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(PollUntil([&] { return sender.stats().delivered == 1; }));
  EXPECT_EQ(sender.stats().refused, 0u);
  EXPECT_GE(sender.stats().retried, 1u);
  EXPECT_EQ(server_.AcceptedRepliesFor("c"), 1);
  sender.Stop(absl::ZeroDuration());
}

// Regression test for a fixed bug (client/reply_sender.cc, ReplySender::Loop): the backoff wait before a
// retry is `while (!stopping_ && ...)`, so once Stop(drain) has been called
// every retry during the drain goes out at once, without backoff: a server
// answering 503 is hammered with back-to-back POSTs for the whole drain.
// With the backoff (20 ms doubling) a 500 ms drain allows about five tries.
TEST_F(ReplySenderTest, RetriesDuringTheDrainKeepTheirBackoff) {
  server_.set_reply_policy([](int, const std::vector<ReplyEnvelope>&) {
    return 503;
  });
  ClientOptions options = Options();
  options.reply_retry_initial = absl::Milliseconds(20);
  options.reply_retry_max = absl::Seconds(2);
  client_internal::ReplySender sender(options, Url(), Clock::Real());
  sender.Send(Reply("c"), absl::Now() + absl::Seconds(60));
  ASSERT_TRUE(server_.WaitForPosts(1));
  sender.Stop(absl::Milliseconds(500));
  // Slowness only lowers the count, so this cannot fail spuriously.
  EXPECT_LE(server_.posts().size(), 15u);
}

}  // namespace
}  // namespace sserpc
