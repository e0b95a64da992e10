#include "proto/binary_envelope.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "envelope.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/status_codes.h"

// The hand-written protobuf codec against libprotobuf's own encoding of
// proto/envelope.proto: what we write is byte for byte what libprotobuf
// writes, and what libprotobuf writes we read.
namespace sserpc {
namespace {

using ::testing::HasSubstr;

std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

std::string Serialize(const google::protobuf::Message& m) {
  std::string out;
  EXPECT_TRUE(m.SerializeToString(&out));
  return out;
}

std::string Base64(absl::string_view bytes) {
  std::string out;
  AppendBase64(bytes, &out);
  return out;
}

void ExpectInvalid(const absl::Status& s, absl::string_view what) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr(what));
}

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},     {"fo", "Zm8="},
      {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64(plain), encoded);
    std::string decoded = "junk";
    ASSERT_TRUE(DecodeBase64(encoded, &decoded).ok()) << encoded;
    EXPECT_EQ(decoded, plain);
  }
}

TEST(Base64Test, AppendsAndRoundTripsEveryByte) {
  std::string out = "prefix:";
  AppendBase64(AllBytes(), &out);
  ASSERT_EQ(out.substr(0, 7), "prefix:");
  EXPECT_EQ(out.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
                7),
            std::string::npos);
  std::string decoded;
  ASSERT_TRUE(DecodeBase64(absl::string_view(out).substr(7), &decoded).ok());
  EXPECT_EQ(decoded, AllBytes());
}

TEST(Base64Test, RejectsAnythingButCanonicalPaddedBase64) {
  std::string out;
  for (const char* bad : {"Zg", "Zg=", "Zm9", "Z===", "Zm9v\n", " Zm9v",
                          "Zm-v", "Zm_v", "Zg==Zg==", "Z=g=", "Zh==", "Zm9="}) {
    EXPECT_FALSE(DecodeBase64(bad, &out).ok()) << bad;
  }
}

TEST(RequestDataProtoTest, IsLibprotobufsEncodingInBase64) {
  for (const std::string& payload : {std::string(), std::string("\x0a\x03" "Ada"),
                                     AllBytes()}) {
    for (int64_t timeout : {int64_t{1}, int64_t{29998},
                            std::numeric_limits<int64_t>::max()}) {
      sserpc::v1::RequestEvent expected;
      expected.set_call_id("kq0d3c2bYJ9oM1Wf8R-4uA");
      expected.set_method("demo.Greeter/SayHello");
      expected.set_timeout_ms(timeout);
      expected.set_payload_proto(payload);
      std::string data;
      AppendRequestDataProto(expected.call_id(), expected.method(), timeout,
                             payload, &data);
      EXPECT_EQ(data, Base64(Serialize(expected)));

      absl::StatusOr<RequestEnvelope> parsed = ParseRequestDataProto(data);
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      EXPECT_TRUE(parsed->protobuf);
      EXPECT_EQ(parsed->call_id, expected.call_id());
      EXPECT_EQ(parsed->method, expected.method());
      EXPECT_EQ(parsed->timeout_ms, timeout);
      EXPECT_EQ(parsed->payload, payload);
    }
  }
}

TEST(RequestDataProtoTest, TheExampleInProtocolMdIsExact) {
  // docs/PROTOCOL.md, "Protobuf payloads": the request event of the JSON
  // example, with the payload {name: "Ada"} as protobuf (field 1, string).
  constexpr char kDocumented[] =
      "ChZrcTBkM2MyYllKOW9NMVdmOFItNHVBEhVkZW1vLkdyZWV0ZXIvU2F5SGVsbG8YruoBKgUKA0FkYQ==";
  std::string data;
  AppendRequestDataProto("kq0d3c2bYJ9oM1Wf8R-4uA", "demo.Greeter/SayHello",
                         29998, std::string("\x0a\x03" "Ada", 5), &data);
  EXPECT_EQ(data, kDocumented);
}

TEST(RequestDataProtoTest, SkipsUnknownFieldsOfEveryWireType) {
  sserpc::v1::RequestEvent e;
  e.set_call_id("id");
  e.set_method("a.B/C");
  e.set_timeout_ms(5);
  e.set_payload_proto("xyz");
  std::string binary = Serialize(e);
  // Field 9 as varint, 10 as fixed64, 11 as bytes, 12 as fixed32.
  binary += std::string("\x48\x96\x01", 3);
  binary += std::string("\x51" "12345678", 9);
  binary += std::string("\x5a\x02hi", 4);
  binary += std::string("\x65" "1234", 5);
  absl::StatusOr<RequestEnvelope> parsed =
      ParseRequestDataProto(Base64(binary));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->payload, "xyz");
  EXPECT_EQ(parsed->timeout_ms, 5);
}

TEST(RequestDataProtoTest, RejectsMissingFieldsJsonPayloadAndBadBytes) {
  sserpc::v1::RequestEvent e;
  e.set_call_id("id");
  e.set_method("a.B/C");
  e.set_timeout_ms(5);
  sserpc::v1::RequestEvent no_id = e;
  no_id.clear_call_id();
  ExpectInvalid(ParseRequestDataProto(Base64(Serialize(no_id))).status(),
                "call_id");
  sserpc::v1::RequestEvent no_method = e;
  no_method.clear_method();
  ExpectInvalid(ParseRequestDataProto(Base64(Serialize(no_method))).status(),
                "method");
  sserpc::v1::RequestEvent no_timeout = e;
  no_timeout.clear_timeout_ms();
  ExpectInvalid(ParseRequestDataProto(Base64(Serialize(no_timeout))).status(),
                "timeout_ms");
  sserpc::v1::RequestEvent negative = e;
  negative.set_timeout_ms(-1);
  ExpectInvalid(ParseRequestDataProto(Base64(Serialize(negative))).status(),
                "timeout_ms");
  sserpc::v1::RequestEvent json = e;
  json.mutable_payload()->set_string_value("x");
  ExpectInvalid(ParseRequestDataProto(Base64(Serialize(json))).status(),
                "payload_proto");
  ExpectInvalid(ParseRequestDataProto("{\"call_id\":\"x\"}").status(), "base64");
  // A group (wire type 3) and field number 0.
  ExpectInvalid(ParseRequestDataProto(Base64("\x0b")).status(), "wire type");
  ExpectInvalid(ParseRequestDataProto(Base64(std::string("\x00\x01", 2))).status(),
                "field number");
  // A varint longer than 10 bytes.
  ExpectInvalid(
      ParseRequestDataProto(Base64(std::string(11, '\xff') + "\x01")).status(),
      "overlong");
}

TEST(RequestDataProtoTest, EveryTruncationIsAnErrorOrAConsistentPrefix) {
  sserpc::v1::RequestEvent e;
  e.set_call_id("kq0d3c2bYJ9oM1Wf8R-4uA");
  e.set_method("demo.Greeter/SayHello");
  e.set_timeout_ms(300000);
  e.set_payload_proto(std::string(200, 'p'));
  const std::string binary = Serialize(e);
  for (size_t n = 0; n < binary.size(); ++n) {
    absl::StatusOr<RequestEnvelope> parsed =
        ParseRequestDataProto(Base64(binary.substr(0, n)));
    // Only a cut between the timeout and the payload leaves a valid event
    // (with an empty payload); a cut inside a field never parses.
    if (parsed.ok()) {
      EXPECT_TRUE(parsed->payload.empty()) << n;
      EXPECT_EQ(parsed->timeout_ms, 300000) << n;
    }
  }
  EXPECT_FALSE(ParseRequestDataProto(Base64(binary.substr(0, binary.size() - 1)))
                   .ok());
}

ReplyEnvelope PayloadReply(std::string call_id, std::string payload) {
  ReplyEnvelope r;
  r.call_id = std::move(call_id);
  r.payload = std::move(payload);
  r.protobuf = true;
  return r;
}

ReplyEnvelope ErrorReply(std::string call_id, absl::Status error) {
  ReplyEnvelope r;
  r.call_id = std::move(call_id);
  r.error = std::move(error);
  r.protobuf = true;
  return r;
}

TEST(RepliesProtoTest, BatchIsLibprotobufsEncodingAndRoundTrips) {
  const std::vector<ReplyEnvelope> replies = {
      PayloadReply("a", "\x0a\x02hi"), PayloadReply("b", ""),
      PayloadReply("c", AllBytes()),
      ErrorReply("d", absl::NotFoundError("no such \"file\"\n")),
      ErrorReply("e", absl::Status(absl::StatusCode::kUnavailable, ""))};
  sserpc::v1::ReplyBatch expected;
  std::string body;
  for (const ReplyEnvelope& r : replies) {
    AppendReplyProto(r, &body);
    sserpc::v1::Reply* e = expected.add_replies();
    e->set_call_id(r.call_id);
    if (r.error.ok()) {
      e->set_payload_proto(r.payload);
    } else {
      e->mutable_error()->set_code(std::string(StatusCodeName(r.error.code())));
      e->mutable_error()->set_message(std::string(r.error.message()));
    }
  }
  EXPECT_EQ(body, Serialize(expected));

  std::vector<ReplyEnvelope> parsed;
  ASSERT_TRUE(ParseRepliesProto(body, &parsed).ok());
  ASSERT_EQ(parsed.size(), replies.size());
  for (size_t i = 0; i < replies.size(); ++i) {
    EXPECT_EQ(parsed[i].call_id, replies[i].call_id);
    EXPECT_EQ(parsed[i].error, replies[i].error);
    EXPECT_EQ(parsed[i].payload, replies[i].payload);
    EXPECT_TRUE(parsed[i].protobuf);
  }
}

std::string BatchOf(const sserpc::v1::Reply& reply) {
  sserpc::v1::ReplyBatch batch;
  *batch.add_replies() = reply;
  return Serialize(batch);
}

TEST(RepliesProtoTest, OneBadReplyMakesTheBodyMalformed) {
  std::vector<ReplyEnvelope> parsed;
  ExpectInvalid(ParseRepliesProto("", &parsed), "empty batch");
  sserpc::v1::Reply good;
  good.set_call_id("a");
  good.set_payload_proto("x");

  sserpc::v1::Reply no_id = good;
  no_id.clear_call_id();
  ExpectInvalid(ParseRepliesProto(BatchOf(good) + BatchOf(no_id), &parsed),
                "call_id");
  EXPECT_TRUE(parsed.empty() || parsed.size() == 1);  // nothing to deliver

  sserpc::v1::Reply neither;
  neither.set_call_id("a");
  ExpectInvalid(ParseRepliesProto(BatchOf(neither), &parsed), "exactly one");

  sserpc::v1::Reply json = good;
  json.mutable_payload()->set_number_value(1);
  ExpectInvalid(ParseRepliesProto(BatchOf(json), &parsed), "payload_proto");

  sserpc::v1::Reply unknown_code;
  unknown_code.set_call_id("a");
  unknown_code.mutable_error()->set_code("NOPE");
  ExpectInvalid(ParseRepliesProto(BatchOf(unknown_code), &parsed), "NOPE");
  sserpc::v1::Reply ok_code = unknown_code;
  ok_code.mutable_error()->set_code("OK");
  ExpectInvalid(ParseRepliesProto(BatchOf(ok_code), &parsed), "OK");
  sserpc::v1::Reply no_code = unknown_code;
  no_code.mutable_error()->clear_code();
  ExpectInvalid(ParseRepliesProto(BatchOf(no_code), &parsed), "code");

  // Both members of the oneof, one after the other (libprotobuf would keep
  // the last; the protocol says exactly one).
  std::string both = BatchOf(good);
  sserpc::v1::Reply err;
  err.mutable_error()->set_code("INTERNAL");
  std::string err_bytes = Serialize(err);
  // Splice the error field into the first reply: rebuild it by hand.
  std::string inner = Serialize(good) + err_bytes;
  both = std::string("\x0a") + static_cast<char>(inner.size()) + inner;
  ExpectInvalid(ParseRepliesProto(both, &parsed), "exactly one");
}

TEST(RepliesProtoTest, ARepeatedOneofMemberCountsOnceWithItsLastValue) {
  sserpc::v1::Reply first;
  first.set_call_id("a");
  first.set_payload_proto("old");
  sserpc::v1::Reply second;
  second.set_payload_proto("new");
  // Two payload_proto fields in one Reply, as a protobuf merge would write.
  const std::string inner = Serialize(first) + Serialize(second);
  const std::string body =
      std::string("\x0a") + static_cast<char>(inner.size()) + inner;
  std::vector<ReplyEnvelope> parsed;
  ASSERT_TRUE(ParseRepliesProto(body, &parsed).ok());
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].payload, "new");
  // libprotobuf reads it the same way.
  sserpc::v1::ReplyBatch batch;
  ASSERT_TRUE(batch.ParseFromString(body));
  EXPECT_EQ(batch.replies(0).payload_proto(), "new");
}

TEST(RepliesProtoTest, JsonAndProtobufMediaTypes) {
  EXPECT_TRUE(IsProtobufContentType("application/x-protobuf"));
  EXPECT_TRUE(IsProtobufContentType("Application/Protobuf; proto=sserpc.v1.ReplyBatch"));
  EXPECT_FALSE(IsProtobufContentType("application/json"));
  EXPECT_FALSE(IsProtobufContentType(""));
  EXPECT_FALSE(IsProtobufContentType("application/x-protobuffer"));
}

TEST(ReplyResultsProtoTest, IsLibprotobufsEncodingAndReadsBack) {
  std::string body;
  AppendReplyResultProto("a", 200, absl::OkStatus(), &body);
  AppendReplyResultProto("b", 404, absl::NotFoundError("gone"), &body);
  sserpc::v1::ReplyResults expected;
  sserpc::v1::ReplyResult* a = expected.add_results();
  a->set_call_id("a");
  a->set_status(200);
  sserpc::v1::ReplyResult* b = expected.add_results();
  b->set_call_id("b");
  b->set_status(404);
  b->set_code("NOT_FOUND");
  b->set_message("gone");
  EXPECT_EQ(body, Serialize(expected));

  std::vector<std::pair<std::string, int>> seen;
  ASSERT_TRUE(ForEachReplyResultProto(body, [&](absl::string_view id, int st) {
                seen.emplace_back(std::string(id), st);
              }).ok());
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, int>>{{"a", 200},
                                                            {"b", 404}}));
  EXPECT_FALSE(
      ForEachReplyResultProto(body.substr(0, body.size() - 1),
                              [](absl::string_view, int) {})
          .ok());
}

}  // namespace
}  // namespace sserpc
