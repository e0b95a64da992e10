// Wire-protocol rules of docs/PROTOCOL.md, checked against the real server on
// 127.0.0.1 by a test client that speaks raw HTTP and SSE.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/envelope.h"
#include "proto/sync.h"
#include "server/server.h"
#include "tests/testing/raw_stream.h"

namespace sserpc {
namespace {

using ::sserpc::testing::RawStream;
using ::testing::HasSubstr;

struct Outcome {
  Notification done;
  CallResult result;
};

class ProtocolTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    server_ = std::make_unique<Server>(options);
    absl::StatusOr<int> port = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
  }

  std::shared_ptr<Outcome> StartCall(const std::string& client,
                                     const std::string& payload,
                                     absl::Duration timeout = absl::Seconds(10),
                                     std::string* call_id = nullptr) {
    auto outcome = std::make_shared<Outcome>();
    CallOptions options;
    options.timeout = timeout;
    std::string id = server_->CallAsync(client, "demo.Greeter/SayHello",
                                        payload, options,
                                        [outcome](CallResult r) {
                                          outcome->result = std::move(r);
                                          outcome->done.Notify();
                                        });
    if (call_id != nullptr) *call_id = id;
    return outcome;
  }

  std::unique_ptr<httplib::Client> Http() {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_read_timeout(30, 0);
    return c;
  }

  httplib::Result PostReply(const std::string& client, const std::string& body,
                            httplib::Headers headers = {}) {
    return Http()->Post(
        absl::StrCat("/sserpc/v1/clients/", client, "/replies").c_str(),
        headers, body, "application/json");
  }

  static RequestEnvelope Request(const SseEvent& e) {
    absl::StatusOr<RequestEnvelope> r = ParseRequestData(e.data);
    EXPECT_TRUE(r.ok()) << r.status() << " in " << e.data;
    return r.ok() ? *r : RequestEnvelope{};
  }

  std::unique_ptr<Server> server_;
  int port_ = 0;
};

TEST_F(ProtocolTest, StreamHasExactHeadersAndStartsWithRetryAndSession) {
  ServerOptions options;
  options.retry_hint = absl::Milliseconds(1500);
  options.heartbeat = absl::Seconds(7);
  StartServer(options);
  RawStream stream(port_, "c1", {{"Accept-Encoding", "gzip, deflate"}});
  std::vector<SseEvent> session = stream.WaitFor("session", 1);
  ASSERT_EQ(session.size(), 1u);
  EXPECT_EQ(stream.status(), 200);
  EXPECT_EQ(stream.header("Content-Type"), "text/event-stream");
  EXPECT_EQ(stream.header("Cache-Control"), "no-cache");
  EXPECT_EQ(stream.header("X-Accel-Buffering"), "no");
  EXPECT_EQ(stream.header("Content-Encoding"), "");
  EXPECT_EQ(stream.raw().rfind("retry: 1500\n\n", 0), 0u) << stream.raw();
  absl::StatusOr<SessionEnvelope> s = ParseSessionData(session[0].data);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->client_id, "c1");
  EXPECT_EQ(s->heartbeat_ms, 7000);
}

TEST_F(ProtocolTest, RequestEventCarriesIdMethodPayloadAndRemainingTimeout) {
  StartServer();
  RawStream stream(port_, "c1");
  stream.WaitFor("session", 1);
  std::string call_id;
  auto outcome = StartCall("c1", R"({"name":"Ada"})", absl::Seconds(5), &call_id);
  std::vector<SseEvent> reqs = stream.WaitFor("request", 1);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].id, "1");
  RequestEnvelope r = Request(reqs[0]);
  EXPECT_EQ(r.call_id, call_id);
  EXPECT_EQ(r.call_id.size(), 22u);
  EXPECT_EQ(r.method, "demo.Greeter/SayHello");
  EXPECT_EQ(r.payload, R"({"name":"Ada"})");
  EXPECT_GT(r.timeout_ms, 0);
  EXPECT_LE(r.timeout_ms, 5000);

  auto res = PostReply("c1", absl::StrCat(R"({"call_id":")", call_id,
                                          R"(","payload":{"message":"hi"}})"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  ASSERT_TRUE(outcome->done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  ASSERT_TRUE(outcome->result.ok()) << outcome->result.status();
  EXPECT_EQ(*outcome->result, R"({"message":"hi"})");
}

TEST_F(ProtocolTest, ErrorReplyGivesTheCallerTheClientsCodeAndMessage) {
  StartServer();
  RawStream stream(port_, "c1");
  stream.WaitFor("session", 1);
  std::string id;
  auto outcome = StartCall("c1", "{}", absl::Seconds(5), &id);
  stream.WaitFor("request", 1);
  auto res = PostReply("c1", absl::StrCat(R"({"call_id":")", id,
                                          R"(","error":{"code":"NOT_FOUND","message":"no such file"}})"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  ASSERT_TRUE(outcome->done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(outcome->result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(outcome->result.status().message(), "no such file");
}

TEST_F(ProtocolTest, ReplyForAnotherClientsCallIs404AndTheOwnerCanStillAnswer) {
  StartServer();
  RawStream a(port_, "alice");
  RawStream b(port_, "bob");
  a.WaitFor("session", 1);
  b.WaitFor("session", 1);
  std::string id;
  auto outcome = StartCall("alice", "{}", absl::Seconds(5), &id);
  a.WaitFor("request", 1);
  std::string body = absl::StrCat(R"({"call_id":")", id, R"(","payload":{"who":"bob"}})");
  auto stolen = PostReply("bob", body);
  ASSERT_TRUE(stolen);
  EXPECT_EQ(stolen->status, 404);
  EXPECT_THAT(stolen->body, HasSubstr("\"NOT_FOUND\""));
  EXPECT_FALSE(outcome->done.HasBeenNotified());

  auto owner = PostReply("alice", absl::StrCat(R"({"call_id":")", id,
                                               R"(","payload":{"who":"alice"}})"));
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->status, 204);
  ASSERT_TRUE(outcome->done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(*outcome->result, R"({"who":"alice"})");
}

TEST_F(ProtocolTest, UnknownAndRepeatedRepliesAre404AndChangeNothing) {
  StartServer();
  RawStream stream(port_, "c1");
  stream.WaitFor("session", 1);
  std::string id;
  auto outcome = StartCall("c1", "{}", absl::Seconds(5), &id);
  stream.WaitFor("request", 1);
  auto unknown = PostReply("c1", R"({"call_id":"nope","payload":{}})");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  std::string body = absl::StrCat(R"({"call_id":")", id, R"(","payload":{"n":1}})");
  auto first = PostReply("c1", body);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 204);
  auto again = PostReply("c1", absl::StrCat(R"({"call_id":")", id, R"(","payload":{"n":2}})"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 404);
  ASSERT_TRUE(outcome->done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(*outcome->result, R"({"n":1})");
}

TEST_F(ProtocolTest, BatchOfRepliesGetsOneResultPerItem) {
  StartServer();
  RawStream stream(port_, "c1");
  stream.WaitFor("session", 1);
  std::string id1, id2;
  auto o1 = StartCall("c1", "{}", absl::Seconds(5), &id1);
  auto o2 = StartCall("c1", "{}", absl::Seconds(5), &id2);
  stream.WaitFor("request", 2);
  auto res = PostReply(
      "c1", absl::StrCat(R"([{"call_id":")", id2, R"(","payload":2},)",
                         R"({"call_id":"unknown","payload":0},)",
                         R"({"callId":")", id1,
                         R"(","error":{"code":"ABORTED","message":"m"}}])"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body,
            absl::StrCat(R"([{"call_id":")", id2, R"(","status":200},)",
                         R"({"call_id":"unknown","status":404,"code":"NOT_FOUND","message":"no pending call \"unknown\" for this client"},)",
                         R"({"call_id":")", id1, R"(","status":200}])"));
  ASSERT_TRUE(o1->done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  ASSERT_TRUE(o2->done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(o1->result.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(*o2->result, "2");
}

TEST_F(ProtocolTest, MalformedRepliesAre400WithJsonErrorAndChangeNothing) {
  StartServer();
  RawStream stream(port_, "c1");
  stream.WaitFor("session", 1);
  std::string id;
  auto outcome = StartCall("c1", "{}", absl::Seconds(5), &id);
  stream.WaitFor("request", 1);
  for (const std::string& body :
       {std::string("not json"), std::string(R"({"payload":{}})"),
        absl::StrCat(R"({"call_id":")", id, R"("})"),
        absl::StrCat(R"({"call_id":")", id, R"(","payload":1,"error":{"code":"INTERNAL"}})"),
        absl::StrCat(R"({"call_id":")", id, R"(","error":{"code":"NOPE"}})"),
        absl::StrCat(R"([{"call_id":")", id, R"(","payload":1},{"call_id":1}])"),
        std::string("[]"), absl::StrCat(R"({"call_id":")", id, R"(","payload":{"a":})")}) {
    auto res = PostReply("c1", body);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << body;
    EXPECT_THAT(res->body, HasSubstr(R"("code":"INVALID_ARGUMENT")")) << body;
  }
  EXPECT_FALSE(outcome->done.HasBeenNotified());
  auto ok = PostReply("c1", absl::StrCat(R"({"call_id":")", id, R"(","payload":true})"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 204);
}

TEST_F(ProtocolTest, OversizedBodyIs413) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  std::string big = absl::StrCat(R"({"call_id":"x","payload":")",
                                 std::string(4000, 'a'), "\"}");
  auto res = PostReply("c1", big);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_THAT(res->body, HasSubstr("RESOURCE_EXHAUSTED"));
}

TEST_F(ProtocolTest, BadClientIdsAre400BeforeAnyStateChanges) {
  StartServer();
  auto http = Http();
  for (const std::string& id :
       {std::string("bad%0Aid"), std::string("bad%0D%0Aevent:%20x"),
        std::string(129, 'a'), std::string("sp%20ace"), std::string("%C3%A9")}) {
    auto events = http->Get(absl::StrCat("/sserpc/v1/clients/", id, "/events").c_str());
    ASSERT_TRUE(events);
    EXPECT_EQ(events->status, 400) << id;
    EXPECT_THAT(events->body, HasSubstr("INVALID_ARGUMENT"));
    auto replies = http->Post(absl::StrCat("/sserpc/v1/clients/", id, "/replies").c_str(),
                              R"({"call_id":"x","payload":1})", "application/json");
    ASSERT_TRUE(replies);
    EXPECT_EQ(replies->status, 400) << id;
    auto calls = http->Post(
        absl::StrCat("/sserpc/v1/clients/", id, "/calls/demo.S/M").c_str(), "{}",
        "application/json");
    ASSERT_TRUE(calls);
    EXPECT_EQ(calls->status, 400) << id;
  }
  EXPECT_TRUE(server_->Clients().empty());
}

TEST_F(ProtocolTest, CallsEndpointRunsACallAndMapsOutcomesToHttp) {
  StartServer();
  RawStream stream(port_, "c1");
  stream.WaitFor("session", 1);
  auto http = Http();
  // Not connected: 503 at once.
  auto absent = http->Post("/sserpc/v1/clients/nobody/calls/demo.S/M", "{}", "application/json");
  ASSERT_TRUE(absent);
  EXPECT_EQ(absent->status, 503);
  EXPECT_THAT(absent->body, HasSubstr("UNAVAILABLE"));
  // Bad inputs: 400.
  for (const std::string& path :
       {std::string("/sserpc/v1/clients/c1/calls/demo.S/M?timeout_ms=abc"),
        std::string("/sserpc/v1/clients/c1/calls/demo.S/M?timeout_ms=-5"),
        std::string("/sserpc/v1/clients/c1/calls/demo.S%0A/M"),
        std::string("/sserpc/v1/clients/c1/calls/noslash"),
        std::string("/sserpc/v1/clients/c1/calls/demo.S/M?wait_for_client=maybe")}) {
    auto r = http->Post(path.c_str(), "{}", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << path;
  }
  auto bad_json = http->Post("/sserpc/v1/clients/c1/calls/demo.S/M", "{x", "application/json");
  ASSERT_TRUE(bad_json);
  EXPECT_EQ(bad_json->status, 400);

  // A call answered with a payload, and one answered with an error.
  std::thread answerer([&] {
    std::vector<SseEvent> reqs = stream.WaitFor("request", 1);
    ASSERT_EQ(reqs.size(), 1u);
    RequestEnvelope r1 = Request(reqs[0]);
    PostReply("c1", absl::StrCat(R"({"call_id":")", r1.call_id, R"(","payload":{"echo":)", r1.payload, "}}"));
    reqs = stream.WaitFor("request", 2);
    ASSERT_EQ(reqs.size(), 2u);
    RequestEnvelope r2 = Request(reqs[1]);
    PostReply("c1", absl::StrCat(R"({"call_id":")", r2.call_id,
                                 R"(","error":{"code":"PERMISSION_DENIED","message":"no"}})"));
  });
  auto ok = http->Post("/sserpc/v1/clients/c1/calls/demo.S/M?timeout_ms=5000", R"({"a":1})", "application/json");
  auto denied = http->Post("/sserpc/v1/clients/c1/calls/demo.S/M?timeout_ms=5000", R"({"a":2})", "application/json");
  answerer.join();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, R"({"echo":{"a":1}})");
  EXPECT_EQ(ok->get_header_value("Content-Type"), "application/json");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  EXPECT_EQ(denied->body, R"({"code":"PERMISSION_DENIED","message":"no"})");

  // Deadline: 504.
  auto late = http->Post("/sserpc/v1/clients/c1/calls/demo.S/M?timeout_ms=50", "{}", "application/json");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 504);
  EXPECT_THAT(late->body, HasSubstr("DEADLINE_EXCEEDED"));
}

TEST_F(ProtocolTest, CallsEndpointCallerThatHangsUpCancelsItsCall) {
  ServerOptions options;
  options.liveness_check = absl::Milliseconds(20);
  StartServer(options);
  RawStream stream(port_, "c1");
  stream.WaitFor("session", 1);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string post =
      "POST /sserpc/v1/clients/c1/calls/demo.S/M?timeout_ms=60000 HTTP/1.1\r\n"
      "Host: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
  ASSERT_EQ(::send(fd, post.data(), post.size(), 0), static_cast<ssize_t>(post.size()));
  std::vector<SseEvent> reqs = stream.WaitFor("request", 1);
  ASSERT_EQ(reqs.size(), 1u);
  const std::string call_id = Request(reqs[0]).call_id;
  ::close(fd);  // the caller gives up long before the call's deadline
  // The client is told, and the call is over: its answer changes nothing.
  std::vector<SseEvent> cancels = stream.WaitFor("cancel", 1);
  ASSERT_EQ(cancels.size(), 1u);
  absl::StatusOr<CancelEnvelope> c = ParseCancelData(cancels[0].data);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->call_id, call_id);
  EXPECT_EQ(c->code, absl::StatusCode::kCancelled);
  EXPECT_EQ(server_->Stats().pending_calls, 0u);
  auto res = PostReply("c1", absl::StrCat(R"({"call_id":")", call_id, R"(","payload":1})"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST_F(ProtocolTest, WaitForClientHoldsTheCallUntilTheClientConnects) {
  StartServer();
  std::unique_ptr<httplib::Result> result;
  std::thread caller([&] {
    result = std::make_unique<httplib::Result>(Http()->Post(
        "/sserpc/v1/clients/late/calls/demo.S/M?timeout_ms=10000&wait_for_client=true",
        R"({"q":1})", "application/json"));
  });
  // The call waits: the client appears as "absent" with one pending call.
  for (int i = 0; i < 1000 && (server_->Clients().empty() || server_->Clients()[0].pending == 0); ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(server_->Clients().size(), 1u);
  EXPECT_EQ(server_->Clients()[0].state, "absent");
  RawStream stream(port_, "late");
  std::vector<SseEvent> reqs = stream.WaitFor("request", 1);
  ASSERT_EQ(reqs.size(), 1u);
  RequestEnvelope r = Request(reqs[0]);
  PostReply("late", absl::StrCat(R"({"call_id":")", r.call_id, R"(","payload":"done"})"));
  caller.join();
  ASSERT_TRUE(*result);
  EXPECT_EQ((*result)->status, 200);
  EXPECT_EQ((*result)->body, "\"done\"");
}

TEST_F(ProtocolTest, DeadlineAndCancelReachTheClientAsCancelEvents) {
  StartServer();
  RawStream stream(port_, "c1");
  stream.WaitFor("session", 1);
  std::string late_id, cancelled_id;
  auto late = StartCall("c1", "{}", absl::Milliseconds(100), &late_id);
  auto cancelled = StartCall("c1", "{}", absl::Seconds(30), &cancelled_id);
  stream.WaitFor("request", 2);
  ASSERT_TRUE(late->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(late->result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(server_->Cancel(cancelled_id));
  EXPECT_FALSE(server_->Cancel(cancelled_id));
  ASSERT_TRUE(cancelled->done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(cancelled->result.status().code(), absl::StatusCode::kCancelled);

  std::vector<SseEvent> cancels = stream.WaitFor("cancel", 2);
  ASSERT_EQ(cancels.size(), 2u);
  absl::StatusOr<CancelEnvelope> c1 = ParseCancelData(cancels[0].data);
  absl::StatusOr<CancelEnvelope> c2 = ParseCancelData(cancels[1].data);
  ASSERT_TRUE(c1.ok() && c2.ok());
  EXPECT_EQ(c1->call_id, late_id);
  EXPECT_EQ(c1->code, absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(c2->call_id, cancelled_id);
  EXPECT_EQ(c2->code, absl::StatusCode::kCancelled);
  // An answer after the end changes nothing.
  auto res = PostReply("c1", absl::StrCat(R"({"call_id":")", late_id, R"(","payload":1})"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST_F(ProtocolTest, ResumeWithLastEventIdResendsOnlyLaterPendingRequests) {
  StartServer();
  std::string id1, id2, id3;
  std::shared_ptr<Outcome> o1, o2, o3;
  {
    RawStream first(port_, "c1");
    first.WaitFor("session", 1);
    o1 = StartCall("c1", R"({"n":1})", absl::Seconds(20), &id1);
    o2 = StartCall("c1", R"({"n":2})", absl::Seconds(20), &id2);
    std::vector<SseEvent> reqs = first.WaitFor("request", 2);
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[0].id, "1");
    EXPECT_EQ(reqs[1].id, "2");
    first.Close();  // the connection drops mid-call
  }
  // Wait until the server has seen the loss, then call while disconnected.
  for (int i = 0; i < 2000 && server_->Clients()[0].state != "resuming"; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(server_->Clients()[0].state, "resuming");
  o3 = StartCall("c1", R"({"n":3})", absl::Seconds(20), &id3);
  EXPECT_FALSE(id3.empty());  // queued, not refused

  RawStream second(port_, "c1", {{"Last-Event-ID", "1"}});
  std::vector<SseEvent> reqs = second.WaitFor("request", 2);
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].id, "2");
  EXPECT_EQ(Request(reqs[0]).call_id, id2);
  EXPECT_EQ(reqs[1].id, "3");
  EXPECT_EQ(Request(reqs[1]).call_id, id3);
  for (const std::string& id : {id1, id2, id3}) {
    auto res = PostReply("c1", absl::StrCat(R"({"call_id":")", id, R"(","payload":"ok"})"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 204);
  }
  for (auto* o : {&o1, &o2, &o3}) {
    ASSERT_TRUE((*o)->done.WaitForNotificationWithTimeout(absl::Seconds(5)));
    EXPECT_TRUE((*o)->result.ok());
  }
  // Ids keep increasing on the new stream.
  std::string id4;
  auto o4 = StartCall("c1", "{}", absl::Seconds(5), &id4);
  std::vector<SseEvent> more = second.WaitFor("request", 3);
  ASSERT_EQ(more.size(), 3u);
  EXPECT_EQ(more[2].id, "4");
}

TEST_F(ProtocolTest, ResumeWithoutLastEventIdResendsEveryPendingRequest) {
  StartServer();
  std::string id1, id2;
  {
    RawStream first(port_, "c1");
    first.WaitFor("session", 1);
    StartCall("c1", "{}", absl::Seconds(20), &id1);
    StartCall("c1", "{}", absl::Seconds(20), &id2);
    first.WaitFor("request", 2);
  }
  RawStream second(port_, "c1");
  std::vector<SseEvent> reqs = second.WaitFor("request", 2);
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(Request(reqs[0]).call_id, id1);
  EXPECT_EQ(Request(reqs[1]).call_id, id2);
}

TEST_F(ProtocolTest, CallsFailUnavailableWhenTheClientDoesNotResumeInTime) {
  ServerOptions options;
  options.resume_grace = absl::Milliseconds(200);
  StartServer(options);
  std::shared_ptr<Outcome> outcome;
  {
    RawStream stream(port_, "c1");
    stream.WaitFor("session", 1);
    outcome = StartCall("c1", "{}", absl::Seconds(30));
    stream.WaitFor("request", 1);
  }
  ASSERT_TRUE(outcome->done.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_EQ(outcome->result.status().code(), absl::StatusCode::kUnavailable);
  // After the grace period the client is unknown: new calls fail fast.
  auto again = StartCall("c1", "{}");
  ASSERT_TRUE(again->done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(again->result.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(ProtocolTest, SecondStreamTakesOverAndTheFirstIsToldAndEnded) {
  StartServer();
  RawStream first(port_, "c1");
  first.WaitFor("session", 1);
  RawStream second(port_, "c1");
  second.WaitFor("session", 1);
  ASSERT_TRUE(first.WaitEnded());
  std::vector<SseEvent> close = first.WaitFor("close", 1);
  ASSERT_EQ(close.size(), 1u);
  EXPECT_THAT(close[0].data, HasSubstr(R"("code":"ABORTED")"));
  std::string id;
  auto outcome = StartCall("c1", "{}", absl::Seconds(5), &id);
  std::vector<SseEvent> reqs = second.WaitFor("request", 1);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(Request(reqs[0]).call_id, id);
}

TEST_F(ProtocolTest, IdleStreamGetsHeartbeatComments) {
  ServerOptions options;
  options.heartbeat = absl::Milliseconds(50);
  StartServer(options);
  RawStream stream(port_, "c1");
  stream.WaitFor("session", 1);
  bool seen = false;
  for (int i = 0; i < 2000 && !seen; ++i) {
    seen = stream.raw().find("\n:\n\n") != std::string::npos;
    if (!seen) absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE(seen) << stream.raw();
}

TEST_F(ProtocolTest, TokensGuardStreamsRepliesCallsAndTheClientList) {
  ServerOptions options;
  options.client_tokens = {{"alice", "ta"}, {"bob", "tb"}};
  options.admin_token = "admin";
  StartServer(options);
  {
    RawStream none(port_, "alice");
    ASSERT_TRUE(none.WaitEnded());
    EXPECT_EQ(none.status(), 401);
    RawStream wrong(port_, "alice", {{"Authorization", "Bearer tb"}});
    ASSERT_TRUE(wrong.WaitEnded());
    EXPECT_EQ(wrong.status(), 401);
    RawStream unknown(port_, "carol", {{"Authorization", "Bearer ta"}});
    ASSERT_TRUE(unknown.WaitEnded());
    EXPECT_EQ(unknown.status(), 401);
  }
  RawStream alice(port_, "alice", {{"Authorization", "Bearer ta"}});
  ASSERT_EQ(alice.WaitFor("session", 1).size(), 1u);
  EXPECT_EQ(alice.status(), 200);

  auto http = Http();
  auto no_admin = http->Post("/sserpc/v1/clients/alice/calls/demo.S/M?timeout_ms=100", "{}", "application/json");
  ASSERT_TRUE(no_admin);
  EXPECT_EQ(no_admin->status, 401);
  auto client_token = http->Post("/sserpc/v1/clients/alice/calls/demo.S/M?timeout_ms=100",
                                 {{"Authorization", "Bearer ta"}}, "{}", "application/json");
  ASSERT_TRUE(client_token);
  EXPECT_EQ(client_token->status, 401);
  auto list = http->Get("/sserpc/v1/clients");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 401);
  auto list_ok = http->Get("/sserpc/v1/clients", {{"Authorization", "Bearer admin"}});
  ASSERT_TRUE(list_ok);
  EXPECT_EQ(list_ok->status, 200);
  EXPECT_THAT(list_ok->body, HasSubstr(R"("client_id":"alice","state":"connected")"));

  std::string id;
  auto outcome = StartCall("alice", "{}", absl::Seconds(5), &id);
  alice.WaitFor("request", 1);
  std::string body = absl::StrCat(R"({"call_id":")", id, R"(","payload":1})");
  auto as_bob = PostReply("alice", body, {{"Authorization", "Bearer tb"}});
  ASSERT_TRUE(as_bob);
  EXPECT_EQ(as_bob->status, 401);
  auto bob_own_path = PostReply("bob", body, {{"Authorization", "Bearer tb"}});
  ASSERT_TRUE(bob_own_path);
  EXPECT_EQ(bob_own_path->status, 404);
  EXPECT_FALSE(outcome->done.HasBeenNotified());
  auto as_alice = PostReply("alice", body, {{"Authorization", "Bearer ta"}});
  ASSERT_TRUE(as_alice);
  EXPECT_EQ(as_alice->status, 204);
  ASSERT_TRUE(outcome->done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_TRUE(outcome->result.ok());
}

TEST_F(ProtocolTest, RefusesNonLoopbackWithoutTokens) {
  Server server;
  absl::StatusOr<int> port = server.Start("0.0.0.0", 0);
  EXPECT_EQ(port.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ProtocolTest, HealthAndClientListAndUnknownPaths) {
  StartServer();
  RawStream stream(port_, "c1");
  stream.WaitFor("session", 1);
  auto http = Http();
  auto health = http->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, R"({"status":"SERVING"})");
  auto list = http->Get("/sserpc/v1/clients");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->body,
            R"({"clients":[{"client_id":"c1","state":"connected","pending":0,"calls_sent":0,"calls_answered":0,"calls_failed":0,"streams_opened":1}]})");
  auto unknown = http->Get("/sserpc/v2/whatever");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_THAT(unknown->body, HasSubstr("NOT_FOUND"));
}

TEST_F(ProtocolTest, ClientThatStopsReadingIsCutOffAndOthersAreUnaffected) {
  ServerOptions options;
  options.max_outbox_bytes = 256 * 1024;
  options.max_write_stall = absl::Milliseconds(200);
  options.write_timeout = absl::Seconds(5);
  StartServer(options);
  // A raw TCP client that sends the stream request and never reads.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string get = "GET /sserpc/v1/clients/stuck/events HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, get.data(), get.size(), 0), static_cast<ssize_t>(get.size()));
  for (int i = 0; i < 1000 && server_->Clients().empty(); ++i) absl::SleepFor(absl::Milliseconds(5));

  RawStream healthy(port_, "healthy");
  healthy.WaitFor("session", 1);

  const std::string payload = absl::StrCat("\"", std::string(64 * 1024, 'x'), "\"");
  std::vector<std::shared_ptr<Outcome>> stuck_calls;
  bool cut_off = false;
  for (int i = 0; i < 3000 && !cut_off; ++i) {
    stuck_calls.push_back(StartCall("stuck", payload, absl::Seconds(60)));
    Outcome& last = *stuck_calls.back();
    if (last.done.HasBeenNotified()) {
      // Refused: the outbox is full. Once the blocked write has lasted
      // max_write_stall, the next call cuts the client off.
      cut_off = absl::StrContains(last.result.status().message(), "cut off");
      if (!cut_off) absl::SleepFor(absl::Milliseconds(10));
    }
  }
  ASSERT_TRUE(cut_off) << "the client was never cut off";
  int exhausted = 0;
  for (auto& o : stuck_calls) {
    ASSERT_TRUE(o->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_FALSE(o->result.ok());
    exhausted += o->result.status().code() == absl::StatusCode::kResourceExhausted;
  }
  EXPECT_EQ(exhausted, static_cast<int>(stuck_calls.size()));

  // The healthy client still works.
  std::string id;
  auto fine = StartCall("healthy", "{}", absl::Seconds(5), &id);
  healthy.WaitFor("request", 1);
  PostReply("healthy", absl::StrCat(R"({"call_id":")", id, R"(","payload":1})"));
  ASSERT_TRUE(fine->done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_TRUE(fine->result.ok());
  ::close(fd);
}

TEST_F(ProtocolTest, StopFailsPendingCallsUnavailableAndEndsStreams) {
  StartServer();
  RawStream stream(port_, "c1");
  stream.WaitFor("session", 1);
  auto outcome = StartCall("c1", "{}", absl::Seconds(30));
  stream.WaitFor("request", 1);
  absl::Time start = absl::Now();
  server_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  ASSERT_TRUE(outcome->done.HasBeenNotified());
  EXPECT_EQ(outcome->result.status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(stream.WaitEnded());
  std::vector<SseEvent> close = stream.WaitFor("close", 1);
  ASSERT_EQ(close.size(), 1u);
  EXPECT_THAT(close[0].data, HasSubstr("UNAVAILABLE"));
  auto after = StartCall("c1", "{}");
  ASSERT_TRUE(after->done.HasBeenNotified());
  EXPECT_EQ(after->result.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(ProtocolTest, StopDoesNotWaitForIdleKeepAliveConnections) {
  ServerOptions options;
  options.keep_alive_timeout = absl::Seconds(60);
  StartServer(options);
  httplib::Client http("127.0.0.1", port_);
  http.set_keep_alive(true);
  auto health = http.Get("/healthz");  // leaves an idle keep-alive connection
  ASSERT_TRUE(health);
  absl::Time start = absl::Now();
  server_->Stop();
  // Without closing idle connections itself, Stop() would wait 60 s.
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

TEST_F(ProtocolTest, HostilePathsAndMethodsAreRefusedAndTheServerSurvives) {
  StartServer();
  auto http = Http();
  // std::regex routing recurses per character: a long path must be refused
  // before routing instead of overflowing a connection thread's stack.
  auto long_get = http->Get(absl::StrCat("/sserpc/v1/clients/", std::string(8000, 'a'),
                                         "/events").c_str());
  ASSERT_TRUE(long_get);
  EXPECT_EQ(long_get->status, 414);
  auto long_call = http->Post(
      absl::StrCat("/sserpc/v1/clients/c1/calls/", std::string(8000, 'm')).c_str(),
      "{}", "application/json");
  ASSERT_TRUE(long_call);
  EXPECT_EQ(long_call->status, 414);
  // HEAD would reach the stream handler and take a client's stream over.
  RawStream stream(port_, "c1");
  stream.WaitFor("session", 1);
  auto head = http->Head("/sserpc/v1/clients/c1/events");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 405);
  EXPECT_TRUE(stream.WaitFor("close", 1, absl::Milliseconds(200)).empty());
  auto bad_last_id = Http()->Get("/sserpc/v1/clients/c2/events",
                                 {{"Last-Event-ID", "18446744073709551615"}});
  ASSERT_TRUE(bad_last_id);
  EXPECT_EQ(bad_last_id->status, 400);
  auto health = http->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(ProtocolTest, BearerSchemeIsCaseInsensitive) {
  ServerOptions options;
  options.client_tokens = {{"alice", "ta"}};
  StartServer(options);
  RawStream alice(port_, "alice", {{"Authorization", "bearer ta"}});
  ASSERT_EQ(alice.WaitFor("session", 1).size(), 1u);
}

TEST_F(ProtocolTest, StopRightAfterStartReturns) {
  for (int i = 0; i < 20; ++i) {
    Server server;
    ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
    server.Stop();
  }
}

TEST_F(ProtocolTest, StartRefusesBadOptionsAndHostNamesThatOnlyLookLoopback) {
  ServerOptions bad;
  bad.heartbeat = absl::ZeroDuration();
  Server with_bad_options(bad);
  EXPECT_EQ(with_bad_options.Start("127.0.0.1", 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  Server lookalike;
  EXPECT_EQ(lookalike.Start("127.example.com", 0).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ProtocolTest, CallsEndBeforeStartAndAfterAFailedStart) {
  Server server;  // never started: deadlines still run
  CallOptions options;
  options.timeout = absl::Milliseconds(50);
  options.wait_for_client = true;
  CallResult r = server.Call("c1", "demo.S/M", "{}", options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(ProtocolTest, StatsEndpointCountsAndNeedsTheAdminToken) {
  ServerOptions options;
  options.admin_token = "adm";
  options.max_clients = 1;
  StartServer(options);
  RawStream first(port_, "first");
  first.WaitFor("session", 1);
  RawStream second(port_, "second");
  ASSERT_TRUE(second.WaitEnded());
  EXPECT_EQ(second.status(), 429);
  auto http = Http();
  auto refused = http->Get("/sserpc/v1/stats");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  auto stats = http->Get("/sserpc/v1/stats", {{"Authorization", "Bearer adm"}});
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->status, 200);
  EXPECT_THAT(stats->body, HasSubstr(R"("open_streams":1)"));
  EXPECT_THAT(stats->body, HasSubstr(R"("refused_max_clients":1)"));
}

}  // namespace
}  // namespace sserpc
