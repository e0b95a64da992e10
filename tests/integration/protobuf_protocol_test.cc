// "Protobuf payloads" of docs/PROTOCOL.md against the real server on
// 127.0.0.1, spoken in raw HTTP and SSE as another language's client would.
#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/binary_envelope.h"
#include "proto/envelope.h"
#include "proto/sync.h"
#include "server/server.h"
#include "tests/testing/raw_stream.h"

namespace sserpc {
namespace {

using ::sserpc::testing::RawStream;
using ::testing::HasSubstr;

constexpr char kMethod[] = "demo.Greeter/SayHello";

// Bytes "xyz" -> {"bytes":"xyz"}.
class Transcoder : public RequestTranscoder {
 public:
  absl::StatusOr<std::string> ToJson(absl::string_view bytes) const override {
    return absl::StrCat(R"({"bytes":")", bytes, R"("})");
  }
};

struct RawOutcome {
  Notification done;
  RawCallResult result;
};

class ProtobufProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = server_.Start("127.0.0.1", 0).value();
  }

  // The stream of `client`, asking for `payloads` (none when empty).
  std::unique_ptr<RawStream> Stream(const std::string& client,
                                    const std::string& payloads) {
    return std::make_unique<RawStream>(
        port_, client, httplib::Headers{},
        payloads.empty() ? "" : absl::StrCat("payloads=", payloads));
  }

  bool NegotiatedProtobuf(RawStream& stream) {
    std::vector<SseEvent> session = stream.WaitFor("session", 1);
    EXPECT_EQ(session.size(), 1u);
    if (session.empty()) return false;
    absl::StatusOr<SessionEnvelope> s = ParseSessionData(session[0].data);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() && s->protobuf_payloads;
  }

  std::shared_ptr<RawOutcome> StartProto(const std::string& client,
                                         std::string bytes) {
    auto out = std::make_shared<RawOutcome>();
    CallOptions options;
    options.timeout = absl::Seconds(10);
    server_.CallProtoAsync(client, kMethod, std::move(bytes), transcoder_,
                           options, [out](RawCallResult r) {
                             out->result = std::move(r);
                             out->done.Notify();
                           });
    return out;
  }

  httplib::Result PostBinary(const std::string& client, const std::string& body,
                             const char* content_type = kProtobufContentType) {
    httplib::Client http("127.0.0.1", port_);
    http.set_read_timeout(30, 0);
    return http.Post(absl::StrCat("/sserpc/v1/clients/", client, "/replies"),
                     body, content_type);
  }

  Transcoder transcoder_;
  Server server_;
  int port_ = 0;
};

TEST_F(ProtobufProtocolTest, TheFirstKnownFormOfThePreferenceListWins) {
  const std::pair<std::string, bool> cases[] = {
      {"", false},          {"protobuf", true},       {"json", false},
      {"json,protobuf", false}, {"protobuf,json", true},
      {"flatbuffers,protobuf", true}, {"flatbuffers", false}};
  int n = 0;
  for (const auto& [payloads, expected] : cases) {
    std::unique_ptr<RawStream> s = Stream(absl::StrCat("c", n++), payloads);
    EXPECT_EQ(NegotiatedProtobuf(*s), expected) << payloads;
  }
}

TEST_F(ProtobufProtocolTest, RequestProtoEventAndBinaryAnswerRoundTrip) {
  std::unique_ptr<RawStream> s = Stream("c1", "protobuf");
  ASSERT_TRUE(NegotiatedProtobuf(*s));
  auto out = StartProto("c1", std::string("\x0a\x03" "Ada", 5));
  std::vector<SseEvent> events = s->WaitFor("request-proto", 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "1");
  absl::StatusOr<RequestEnvelope> req = ParseRequestDataProto(events[0].data);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->method, kMethod);
  EXPECT_EQ(req->payload, std::string("\x0a\x03" "Ada", 5));
  EXPECT_GT(req->timeout_ms, 9000);

  ReplyEnvelope reply;
  reply.call_id = req->call_id;
  reply.payload = std::string("\x0a\x02hi\x00", 5);
  reply.protobuf = true;
  std::string body;
  AppendReplyProto(reply, &body);
  httplib::Result res = PostBinary("c1", body);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  EXPECT_EQ(res->body, "");
  ASSERT_TRUE(out->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(out->result.ok()) << out->result.status();
  EXPECT_TRUE(out->result->protobuf);
  EXPECT_EQ(out->result->payload, reply.payload);
}

TEST_F(ProtobufProtocolTest, PartlyRefusedBinaryBodyGetsOneResultPerAnswer) {
  std::unique_ptr<RawStream> s = Stream("c1", "protobuf");
  ASSERT_TRUE(NegotiatedProtobuf(*s));
  auto typed = StartProto("c1", "t");
  CallOptions options;
  options.timeout = absl::Seconds(10);
  Notification json_done;
  CallResult json_result;
  server_.CallAsync("c1", kMethod, R"({"j":1})", options, [&](CallResult r) {
    json_result = std::move(r);
    json_done.Notify();
  });
  std::vector<SseEvent> proto_events = s->WaitFor("request-proto", 1);
  std::vector<SseEvent> json_events = s->WaitFor("request", 1);
  ASSERT_EQ(proto_events.size(), 1u);
  ASSERT_EQ(json_events.size(), 1u);
  const std::string typed_id = ParseRequestDataProto(proto_events[0].data)->call_id;
  const std::string json_id = ParseRequestData(json_events[0].data)->call_id;

  // Three answers: the typed call's (accepted), the JSON call's in protobuf
  // (refused: its caller reads JSON), and an unknown call's.
  std::string body;
  for (const std::string& id : {typed_id, json_id, std::string("nope")}) {
    ReplyEnvelope r;
    r.call_id = id;
    r.payload = "p";
    r.protobuf = true;
    AppendReplyProto(r, &body);
  }
  httplib::Result res = PostBinary("c1", body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), kProtobufContentType);
  std::vector<std::pair<std::string, int>> results;
  ASSERT_TRUE(ForEachReplyResultProto(res->body, [&](absl::string_view id, int st) {
                results.emplace_back(std::string(id), st);
              }).ok());
  EXPECT_EQ(results, (std::vector<std::pair<std::string, int>>{
                         {typed_id, 200}, {json_id, 400}, {"nope", 404}}));
  ASSERT_TRUE(typed->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(typed->result.ok());
  // The JSON call is still pending and takes a JSON answer.
  EXPECT_FALSE(json_done.HasBeenNotified());
  httplib::Client http("127.0.0.1", port_);
  auto json_res = http.Post("/sserpc/v1/clients/c1/replies",
                            absl::StrCat(R"({"call_id":")", json_id,
                                         R"(","payload":{"ok":true}})"),
                            "application/json");
  ASSERT_TRUE(json_res);
  EXPECT_EQ(json_res->status, 204);
  ASSERT_TRUE(json_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(*json_result, R"({"ok":true})");
}

TEST_F(ProtobufProtocolTest, MalformedBinaryBodyIs400AndChangesNothing) {
  std::unique_ptr<RawStream> s = Stream("c1", "protobuf");
  ASSERT_TRUE(NegotiatedProtobuf(*s));
  auto out = StartProto("c1", "t");
  std::vector<SseEvent> events = s->WaitFor("request-proto", 1);
  ASSERT_EQ(events.size(), 1u);
  const std::string id = ParseRequestDataProto(events[0].data)->call_id;
  ReplyEnvelope good;
  good.call_id = id;
  good.protobuf = true;
  std::string body;
  AppendReplyProto(good, &body);
  // A good reply followed by a truncated one: the whole body is refused.
  for (const std::string& bad :
       {body + body.substr(0, body.size() - 1), std::string(),
        std::string(R"({"call_id":"x","payload":{}})")}) {
    httplib::Result res = PostBinary("c1", bad);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    EXPECT_THAT(res->body, HasSubstr("INVALID_ARGUMENT"));
  }
  EXPECT_FALSE(out->done.HasBeenNotified());
  // application/protobuf is the same media type.
  httplib::Result res = PostBinary("c1", body, "application/protobuf");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  ASSERT_TRUE(out->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(out->result.ok());
  EXPECT_EQ(out->result->payload, "");  // an empty message
}

TEST_F(ProtobufProtocolTest, JsonClientsGetTypedRequestsAsJson) {
  std::unique_ptr<RawStream> s = Stream("c1", "");
  ASSERT_FALSE(NegotiatedProtobuf(*s));
  auto out = StartProto("c1", "xyz");
  std::vector<SseEvent> events = s->WaitFor("request", 1);
  ASSERT_EQ(events.size(), 1u);
  absl::StatusOr<RequestEnvelope> req = ParseRequestData(events[0].data);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->payload, R"({"bytes":"xyz"})");
  EXPECT_TRUE(s->WaitFor("request-proto", 1, absl::Milliseconds(50)).empty());
}

}  // namespace
}  // namespace sserpc
