#include "proto/envelope.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "envelope.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "proto/status_codes.h"

namespace sserpc {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

// Every code except OK, which is never an error on the wire.
std::vector<absl::StatusCode> ErrorCodes() {
  std::vector<absl::StatusCode> codes;
  for (int i = 1; i <= 16; ++i)
    codes.push_back(static_cast<absl::StatusCode>(i));
  return codes;
}

// Awkward text for string fields: quotes, escapes, line breaks, non-ASCII.
constexpr absl::string_view kAwkward =
    "q\"uo\\te\n\r\t\x01 caf\xC3\xA9 \xF0\x9F\x98\x80 </script>";

std::string RequestData(absl::string_view call_id, absl::string_view method,
                        int64_t timeout_ms, absl::string_view payload) {
  std::string out;
  AppendRequestData(call_id, method, timeout_ms, payload, &out);
  return out;
}

std::string CancelData(absl::string_view call_id, absl::StatusCode code) {
  std::string out;
  AppendCancelData(call_id, code, &out);
  return out;
}

std::string SessionData(absl::string_view client_id, int64_t heartbeat_ms) {
  std::string out;
  AppendSessionData(client_id, heartbeat_ms, /*protobuf_payloads=*/false, &out);
  return out;
}

std::string Reply(const ReplyEnvelope& reply) {
  std::string out;
  AppendReply(reply, &out);
  return out;
}

ReplyEnvelope PayloadReply(absl::string_view call_id,
                           absl::string_view payload) {
  ReplyEnvelope r;
  r.call_id = std::string(call_id);
  r.payload = std::string(payload);
  return r;
}

ReplyEnvelope ErrorReply(absl::string_view call_id, absl::Status error) {
  ReplyEnvelope r;
  r.call_id = std::string(call_id);
  r.error = std::move(error);
  return r;
}

void ExpectInvalid(const absl::Status& s, absl::string_view mentions = "") {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  if (!mentions.empty()) {
    EXPECT_THAT(s.message(), HasSubstr(mentions));
  }
}

// ---------------------------------------------------------------------------
// Request.

TEST(RequestDataTest, WritesSnakeCaseFieldsInSchemaOrder) {
  EXPECT_EQ(RequestData("c1", "pkg.S/M", 5000, R"({"a":1})"),
            R"({"call_id":"c1","method":"pkg.S/M","timeout_ms":5000,)"
            R"("payload":{"a":1}})");
}

TEST(RequestDataTest, RoundTrips) {
  const std::string payload = R"({"a":[1,2.5,{"b":"c"}],"d":null,"e":true})";
  absl::StatusOr<RequestEnvelope> r = ParseRequestData(
      RequestData("call-1", "pkg.Service/Method", 1500, payload));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->call_id, "call-1");
  EXPECT_EQ(r->method, "pkg.Service/Method");
  EXPECT_EQ(r->timeout_ms, 1500);
  EXPECT_EQ(r->payload, payload);
}

TEST(RequestDataTest, RoundTripsAwkwardStrings) {
  absl::StatusOr<RequestEnvelope> r =
      ParseRequestData(RequestData(kAwkward, kAwkward, 1, "{}"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->call_id, kAwkward);
  EXPECT_EQ(r->method, kAwkward);
}

TEST(RequestDataTest, RoundTripsTimeoutEdges) {
  for (int64_t t :
       {int64_t{0}, int64_t{-1}, int64_t{1}, kInt64Max, kInt64Min}) {
    absl::StatusOr<RequestEnvelope> r =
        ParseRequestData(RequestData("c", "S/M", t, "{}"));
    ASSERT_TRUE(r.ok()) << r.status() << " for " << t;
    EXPECT_EQ(r->timeout_ms, t);
  }
}

TEST(RequestDataTest, RoundTripsPayloadsOfEveryJsonType) {
  for (absl::string_view payload :
       {"{}", "[]", "null", "0", "-1.5e3", "true", "\"text\"", "[1,[2,[3]]]",
        R"({"nested":{"deeper":{"deepest":[{}]}}})"}) {
    absl::StatusOr<RequestEnvelope> r =
        ParseRequestData(RequestData("c", "S/M", 1, payload));
    ASSERT_TRUE(r.ok()) << r.status() << " for " << payload;
    EXPECT_EQ(r->payload, payload);
  }
}

TEST(RequestDataTest, AcceptsLowerCamelCaseKeys) {
  absl::StatusOr<RequestEnvelope> r = ParseRequestData(
      R"({"callId":"c","method":"p.S/M","timeoutMs":250,"payload":[1]})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->call_id, "c");
  EXPECT_EQ(r->method, "p.S/M");
  EXPECT_EQ(r->timeout_ms, 250);
  EXPECT_EQ(r->payload, "[1]");
}

TEST(RequestDataTest, AcceptsMembersInAnyOrder) {
  absl::StatusOr<RequestEnvelope> r = ParseRequestData(
      R"({"payload":{"x":1},"timeout_ms":9,"method":"S/M","call_id":"c"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->call_id, "c");
  EXPECT_EQ(r->timeout_ms, 9);
  EXPECT_EQ(r->payload, R"({"x":1})");
}

TEST(RequestDataTest, AcceptsTheQuotedInt64Form) {
  absl::StatusOr<RequestEnvelope> r = ParseRequestData(
      R"({"call_id":"c","method":"S/M","timeout_ms":"9223372036854775807"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->timeout_ms, kInt64Max);
}

TEST(RequestDataTest, IgnoresUnknownMembers) {
  absl::StatusOr<RequestEnvelope> r = ParseRequestData(
      R"({"version":2,"call_id":"c","extra":{"x":[1,{"y":null}]},)"
      R"("method":"S/M","timeout_ms":1,"Call_Id":"other","payload":{}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->call_id, "c");
}

TEST(RequestDataTest, MissingPayloadMeansEmptyObject) {
  absl::StatusOr<RequestEnvelope> r =
      ParseRequestData(R"({"call_id":"c","method":"S/M","timeout_ms":1})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->payload, "{}");
}

TEST(RequestDataTest, RejectsMissingRequiredFields) {
  ExpectInvalid(
      ParseRequestData(R"({"method":"S/M","timeout_ms":1,"payload":{}})")
          .status(),
      "call_id");
  ExpectInvalid(
      ParseRequestData(R"({"call_id":"c","timeout_ms":1,"payload":{}})")
          .status(),
      "method");
  ExpectInvalid(
      ParseRequestData(R"({"call_id":"c","method":"S/M","payload":{}})")
          .status(),
      "timeout_ms");
  ExpectInvalid(ParseRequestData("{}").status());
}

TEST(RequestDataTest, TreatsEmptyStringsAsMissing) {
  ExpectInvalid(
      ParseRequestData(R"({"call_id":"","method":"S/M","timeout_ms":1})")
          .status(),
      "call_id");
  ExpectInvalid(
      ParseRequestData(R"({"call_id":"c","method":"","timeout_ms":1})")
          .status(),
      "method");
}

TEST(RequestDataTest, RejectsWrongTypes) {
  for (absl::string_view bad : {
           R"({"call_id":5,"method":"S/M","timeout_ms":1})",
           R"({"call_id":null,"method":"S/M","timeout_ms":1})",
           R"({"call_id":"c","method":["S/M"],"timeout_ms":1})",
           R"({"call_id":"c","method":"S/M","timeout_ms":1.5})",
           R"({"call_id":"c","method":"S/M","timeout_ms":1e3})",
           R"({"call_id":"c","method":"S/M","timeout_ms":"soon"})",
           R"({"call_id":"c","method":"S/M","timeout_ms":true})",
           R"({"call_id":"c","method":"S/M","timeout_ms":null})",
           R"({"call_id":"c","method":"S/M","timeout_ms":9223372036854775808})",
       }) {
    ExpectInvalid(ParseRequestData(bad).status());
  }
}

TEST(RequestDataTest, RejectsMalformedJson) {
  for (absl::string_view bad : {
           "",
           "null",
           "[]",
           "\"c\"",
           "{",
           R"({"call_id":"c","method":"S/M","timeout_ms":1,"payload":{})",
           R"({"call_id":"c","method":"S/M","timeout_ms":1,"payload":{,}})",
           R"({"call_id":"c","method":"S/M","timeout_ms":1,"payload":01})",
           R"({"call_id":"c","method":"S/M","timeout_ms":1,"payload":})",
           R"({"call_id":"c","method":"S/M","timeout_ms":1,})",
           R"({"call_id":"c","method":"S/M","timeout_ms":1} trailing)",
           "{\"call_id\":\"\xFF\",\"method\":\"S/M\",\"timeout_ms\":1}",
       }) {
    ExpectInvalid(ParseRequestData(bad).status());
  }
}

// Regression: ForEachMember once handed out "5000 " (value plus the
// whitespace after it) and json::ParseInt64 rejected the trailing space, so
// pretty-printed data from another implementation failed.
TEST(RequestDataTest, AcceptsWhitespaceAroundValues) {
  absl::StatusOr<RequestEnvelope> r = ParseRequestData(
      "{\n  \"call_id\": \"c\" ,\n  \"method\": \"S/M\",\n"
      "  \"timeout_ms\": 5000 ,\n  \"payload\": {\"a\": 1}\n}\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->call_id, "c");
  EXPECT_EQ(r->timeout_ms, 5000);
  EXPECT_EQ(r->payload, "{\"a\": 1}");
}

// ---------------------------------------------------------------------------
// Cancel.

TEST(CancelDataTest, WritesTheCodeName) {
  EXPECT_EQ(CancelData("c1", absl::StatusCode::kDeadlineExceeded),
            R"({"call_id":"c1","code":"DEADLINE_EXCEEDED"})");
}

TEST(CancelDataTest, RoundTripsEveryErrorCode) {
  for (absl::StatusCode code : ErrorCodes()) {
    absl::StatusOr<CancelEnvelope> c =
        ParseCancelData(CancelData(kAwkward, code));
    ASSERT_TRUE(c.ok()) << c.status() << " for " << StatusCodeName(code);
    EXPECT_EQ(c->call_id, kAwkward);
    EXPECT_EQ(c->code, code);
  }
}

TEST(CancelDataTest, AcceptsLowerCamelCaseKeys) {
  absl::StatusOr<CancelEnvelope> c =
      ParseCancelData(R"({"callId":"c","code":"UNAVAILABLE"})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->call_id, "c");
  EXPECT_EQ(c->code, absl::StatusCode::kUnavailable);
}

TEST(CancelDataTest, MissingCodeMeansCancelled) {
  absl::StatusOr<CancelEnvelope> c = ParseCancelData(R"({"call_id":"c"})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->code, absl::StatusCode::kCancelled);
}

TEST(CancelDataTest, IgnoresUnknownMembers) {
  absl::StatusOr<CancelEnvelope> c = ParseCancelData(
      R"({"reason":{"why":["x"]},"call_id":"c","code":"ABORTED","n":1})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->code, absl::StatusCode::kAborted);
}

TEST(CancelDataTest, RejectsUnknownAndOkCodes) {
  for (absl::string_view code :
       {R"("OK")", R"("NOPE")", R"("cancelled")", R"("Cancelled")",
        R"(" CANCELLED")", R"("")", "1", "null", "[\"CANCELLED\"]"}) {
    ExpectInvalid(
        ParseCancelData(absl::StrCat(R"({"call_id":"c","code":)", code, "}"))
            .status());
  }
}

TEST(CancelDataTest, RejectsMissingCallId) {
  ExpectInvalid(ParseCancelData(R"({"code":"CANCELLED"})").status(), "call_id");
  ExpectInvalid(
      ParseCancelData(R"({"call_id":"","code":"CANCELLED"})").status(),
      "call_id");
}

TEST(CancelDataTest, RejectsMalformedJson) {
  for (absl::string_view bad : {"", "[]", R"({"call_id":"c")",
                                R"({"call_id":"c",})", R"({"call_id":c})"}) {
    ExpectInvalid(ParseCancelData(bad).status());
  }
}

// ---------------------------------------------------------------------------
// Session.

TEST(SessionDataTest, WritesSnakeCaseFields) {
  EXPECT_EQ(SessionData("client-1", 15000),
            R"({"client_id":"client-1","heartbeat_ms":15000})");
}

TEST(SessionDataTest, RoundTrips) {
  for (int64_t hb : {int64_t{0}, int64_t{15000}, kInt64Max, kInt64Min}) {
    absl::StatusOr<SessionEnvelope> e =
        ParseSessionData(SessionData(kAwkward, hb));
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->client_id, kAwkward);
    EXPECT_EQ(e->heartbeat_ms, hb);
  }
}

TEST(SessionDataTest, SaysProtobufPayloadsOnlyWhenNegotiated) {
  std::string with;
  AppendSessionData("c", 15000, /*protobuf_payloads=*/true, &with);
  EXPECT_EQ(with, R"({"client_id":"c","heartbeat_ms":15000,"payloads":"protobuf"})");
  absl::StatusOr<SessionEnvelope> e = ParseSessionData(with);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(e->protobuf_payloads);
  e = ParseSessionData(SessionData("c", 15000));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(e->protobuf_payloads);
  // A value this reader does not know means JSON, not an error.
  e = ParseSessionData(R"({"client_id":"c","payloads":"flatbuffers"})");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(e->protobuf_payloads);
}

TEST(SessionDataTest, AcceptsLowerCamelCaseKeysAndQuotedInt64) {
  absl::StatusOr<SessionEnvelope> e =
      ParseSessionData(R"({"clientId":"me","heartbeatMs":"20000"})");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->client_id, "me");
  EXPECT_EQ(e->heartbeat_ms, 20000);
}

TEST(SessionDataTest, HeartbeatIsOptional) {
  absl::StatusOr<SessionEnvelope> e =
      ParseSessionData(R"({"client_id":"me","future":[1,2]})");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->heartbeat_ms, 0);
}

TEST(SessionDataTest, RejectsMissingClientIdAndWrongTypes) {
  ExpectInvalid(ParseSessionData(R"({"heartbeat_ms":1})").status(),
                "client_id");
  ExpectInvalid(ParseSessionData(R"({"client_id":""})").status(), "client_id");
  ExpectInvalid(ParseSessionData(R"({"client_id":1})").status());
  ExpectInvalid(
      ParseSessionData(R"({"client_id":"me","heartbeat_ms":0.5})").status());
  ExpectInvalid(ParseSessionData("[]").status());
}

// ---------------------------------------------------------------------------
// Reply.

TEST(ReplyTest, WritesPayloadForm) {
  EXPECT_EQ(Reply(PayloadReply("c1", R"({"v":1})")),
            R"({"call_id":"c1","payload":{"v":1}})");
}

TEST(ReplyTest, WritesEmptyObjectForEmptyPayload) {
  EXPECT_EQ(Reply(PayloadReply("c1", "")), R"({"call_id":"c1","payload":{}})");
}

TEST(ReplyTest, WritesErrorForm) {
  EXPECT_EQ(
      Reply(ErrorReply("c1", absl::NotFoundError("no \"x\""))),
      R"({"call_id":"c1","error":{"code":"NOT_FOUND","message":"no \"x\""}})");
}

TEST(ReplyTest, RoundTripsPayloadForm) {
  const std::string payload = R"({"list":[1,"two",{"three":3}],"ok":true})";
  absl::StatusOr<ReplyEnvelope> r =
      ParseReply(Reply(PayloadReply(kAwkward, payload)));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->call_id, kAwkward);
  EXPECT_TRUE(r->error.ok());
  EXPECT_EQ(r->payload, payload);
}

TEST(ReplyTest, RoundTripsErrorFormForEveryCode) {
  for (absl::StatusCode code : ErrorCodes()) {
    absl::StatusOr<ReplyEnvelope> r =
        ParseReply(Reply(ErrorReply("c", absl::Status(code, kAwkward))));
    ASSERT_TRUE(r.ok()) << r.status() << " for " << StatusCodeName(code);
    EXPECT_EQ(r->error, absl::Status(code, kAwkward));
    EXPECT_TRUE(r->payload.empty());
  }
}

TEST(ReplyTest, AcceptsLowerCamelCaseCallId) {
  absl::StatusOr<ReplyEnvelope> r =
      ParseReply(R"({"callId":"c","payload":null})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->call_id, "c");
  EXPECT_EQ(r->payload, "null");
}

TEST(ReplyTest, ErrorMessageIsOptional) {
  absl::StatusOr<ReplyEnvelope> r =
      ParseReply(R"({"call_id":"c","error":{"code":"INTERNAL"}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->error, absl::InternalError(""));
}

TEST(ReplyTest, IgnoresUnknownMembersInReplyAndError) {
  absl::StatusOr<ReplyEnvelope> r = ParseReply(
      R"({"trace":{"id":[1]},"call_id":"c",)"
      R"("error":{"details":[{"x":1}],"code":"ABORTED","message":"m"}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->error, absl::AbortedError("m"));
}

TEST(ReplyTest, RequiresExactlyOneOfPayloadAndError) {
  ExpectInvalid(ParseReply(R"({"call_id":"c"})").status(), "exactly one");
  ExpectInvalid(
      ParseReply(R"({"call_id":"c","payload":{},"error":{"code":"INTERNAL"}})")
          .status(),
      "exactly one");
}

TEST(ReplyTest, RejectsMissingCallId) {
  ExpectInvalid(ParseReply(R"({"payload":{}})").status(), "call_id");
  ExpectInvalid(ParseReply(R"({"call_id":"","payload":{}})").status(),
                "call_id");
}

TEST(ReplyTest, RejectsBadErrorObjects) {
  for (absl::string_view error :
       {R"({})", R"({"message":"m"})", R"({"code":"OK"})", R"({"code":"NOPE"})",
        R"({"code":"not_found"})", R"({"code":5})",
        R"({"code":"INTERNAL","message":5})", R"("INTERNAL")", "null", "[]"}) {
    ExpectInvalid(
        ParseReply(absl::StrCat(R"({"call_id":"c","error":)", error, "}"))
            .status());
  }
}

TEST(ReplyTest, RejectsInvalidPayloadJson) {
  for (absl::string_view payload : {"{", "[1,]", "01", "tru", "\"\\x\""}) {
    ExpectInvalid(
        ParseReply(absl::StrCat(R"({"call_id":"c","payload":)", payload, "}"))
            .status());
  }
}

// ---------------------------------------------------------------------------
// ParseReplies.

TEST(ParseRepliesTest, SingleObjectIsNotABatch) {
  std::vector<ReplyEnvelope> replies;
  bool is_batch = true;
  ASSERT_TRUE(
      ParseReplies(Reply(PayloadReply("c", "[1]")), &replies, &is_batch).ok());
  EXPECT_FALSE(is_batch);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].call_id, "c");
  EXPECT_EQ(replies[0].payload, "[1]");
}

TEST(ParseRepliesTest, ArrayIsABatchInOrder) {
  const std::string body =
      absl::StrCat(" \n[", Reply(PayloadReply("a", "1")), ",",
                   Reply(ErrorReply("b", absl::UnavailableError("gone"))), ",",
                   R"({"callId":"c","payload":{}})", "]\n");
  std::vector<ReplyEnvelope> replies;
  bool is_batch = false;
  ASSERT_TRUE(ParseReplies(body, &replies, &is_batch).ok());
  EXPECT_TRUE(is_batch);
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].call_id, "a");
  EXPECT_EQ(replies[0].payload, "1");
  EXPECT_EQ(replies[1].call_id, "b");
  EXPECT_EQ(replies[1].error, absl::UnavailableError("gone"));
  EXPECT_EQ(replies[2].call_id, "c");
}

TEST(ParseRepliesTest, OneElementBatchIsStillABatch) {
  std::vector<ReplyEnvelope> replies;
  bool is_batch = false;
  ASSERT_TRUE(
      ParseReplies(R"([{"call_id":"a","payload":1}])", &replies, &is_batch)
          .ok());
  EXPECT_TRUE(is_batch);
  EXPECT_EQ(replies.size(), 1u);
}

TEST(ParseRepliesTest, ClearsPreviousReplies) {
  std::vector<ReplyEnvelope> replies = {PayloadReply("old", "1")};
  bool is_batch = false;
  ASSERT_TRUE(
      ParseReplies(R"({"call_id":"new","payload":2})", &replies, &is_batch)
          .ok());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].call_id, "new");
}

TEST(ParseRepliesTest, RejectsEmptyBatch) {
  std::vector<ReplyEnvelope> replies;
  bool is_batch = false;
  ExpectInvalid(ParseReplies("[]", &replies, &is_batch), "empty");
  ExpectInvalid(ParseReplies(" [ ] ", &replies, &is_batch), "empty");
}

TEST(ParseRepliesTest, OneMalformedElementRejectsTheWholeBatch) {
  const std::string good = Reply(PayloadReply("a", "1"));
  for (absl::string_view bad : {R"({"call_id":"b"})", R"({"payload":{}})",
                                R"({"call_id":"b","error":{"code":"OK"}})",
                                "[]", "null", "1", R"("b")"}) {
    std::vector<ReplyEnvelope> replies;
    bool is_batch = false;
    for (const std::string& body :
         {absl::StrCat("[", bad, "]"), absl::StrCat("[", good, ",", bad, "]"),
          absl::StrCat("[", bad, ",", good, "]"),
          absl::StrCat("[", good, ",", bad, ",", good, "]")}) {
      ExpectInvalid(ParseReplies(body, &replies, &is_batch));
    }
  }
}

TEST(ParseRepliesTest, RejectsMalformedBodies) {
  std::vector<ReplyEnvelope> replies;
  bool is_batch = false;
  for (absl::string_view bad :
       {"", " ", "[", R"([{"call_id":"a","payload":1},])",
        R"([{"call_id":"a","payload":1}] x)",
        R"({"call_id":"a","payload":1} x)",
        R"([{"call_id":"a","payload":1}][])", "null", "\"x\""}) {
    ExpectInvalid(ParseReplies(bad, &replies, &is_batch));
  }
}

// ---------------------------------------------------------------------------
// Error bodies.

TEST(ErrorBodyTest, WritesCodeNameAndMessage) {
  EXPECT_EQ(ErrorBody(absl::PermissionDeniedError("no\n\"way\"")),
            R"({"code":"PERMISSION_DENIED","message":"no\n\"way\""})");
  std::string out = "x";
  AppendErrorObject(absl::InternalError(""), &out);
  EXPECT_EQ(out, R"(x{"code":"INTERNAL","message":""})");
}

TEST(ErrorBodyTest, RoundTripsThroughParseErrorBody) {
  for (absl::StatusCode code : ErrorCodes()) {
    const absl::Status status(code, kAwkward);
    EXPECT_EQ(ParseErrorBody(ErrorBody(status), absl::StatusCode::kUnknown),
              status);
  }
}

TEST(ParseErrorBodyTest, AcceptsUnknownMembersAndMissingMessage) {
  EXPECT_EQ(ParseErrorBody(R"({"x":1,"code":"NOT_FOUND"})",
                           absl::StatusCode::kUnknown),
            absl::NotFoundError(""));
}

TEST(ParseErrorBodyTest, FallsBackToTheRawBody) {
  for (absl::string_view body :
       {"", "Bad Gateway", "<html>oops</html>", "{}", R"({"message":"m"})",
        R"({"code":"OK","message":"m"})", R"({"code":"WHATEVER"})",
        R"({"code":"INTERNAL")", "[]"}) {
    EXPECT_EQ(ParseErrorBody(body, absl::StatusCode::kUnavailable),
              absl::Status(absl::StatusCode::kUnavailable, body))
        << body;
  }
}

// ---------------------------------------------------------------------------
// Conformance: what the codec writes is the proto3 JSON form of the schema.

template <typename Message>
Message FromJson(absl::string_view json) {
  Message m;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(std::string(json),
                                                            &m, options);
  EXPECT_TRUE(status.ok()) << status.ToString() << " for " << json;
  return m;
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto status = google::protobuf::util::MessageToJsonString(m, &out, options);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out;
}

void ExpectSameMessage(const google::protobuf::Message& actual,
                       const google::protobuf::Message& expected) {
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(actual, expected))
      << "actual:   " << actual.ShortDebugString()
      << "\nexpected: " << expected.ShortDebugString();
}

constexpr absl::string_view kPayload =
    R"({"name":"x","list":[1,2.5,"s",null,true,{"k":[]}],"empty":{}})";

TEST(ConformanceTest, RequestDataIsARequestEvent) {
  const auto event = FromJson<sserpc::v1::RequestEvent>(
      RequestData(kAwkward, "pkg.S/M", kInt64Max, kPayload));
  EXPECT_EQ(event.call_id(), kAwkward);
  EXPECT_EQ(event.method(), "pkg.S/M");
  EXPECT_EQ(event.timeout_ms(), kInt64Max);
  ExpectSameMessage(event.payload(),
                    FromJson<google::protobuf::Value>(kPayload));
}

TEST(ConformanceTest, RequestDataWithScalarPayloadIsARequestEvent) {
  const auto event = FromJson<sserpc::v1::RequestEvent>(
      RequestData("c", "S/M", -5, "\"just text\""));
  EXPECT_EQ(event.timeout_ms(), -5);
  EXPECT_EQ(event.payload().string_value(), "just text");
}

TEST(ConformanceTest, CancelDataIsACancelEvent) {
  for (absl::StatusCode code : ErrorCodes()) {
    const auto event =
        FromJson<sserpc::v1::CancelEvent>(CancelData(kAwkward, code));
    EXPECT_EQ(event.call_id(), kAwkward);
    EXPECT_EQ(event.code(), StatusCodeName(code));
  }
}

TEST(ConformanceTest, SessionDataIsASessionEvent) {
  const auto event =
      FromJson<sserpc::v1::SessionEvent>(SessionData("client-1", 15000));
  EXPECT_EQ(event.client_id(), "client-1");
  EXPECT_EQ(event.heartbeat_ms(), 15000);
}

TEST(ConformanceTest, PayloadReplyIsAReply) {
  const auto reply =
      FromJson<sserpc::v1::Reply>(Reply(PayloadReply(kAwkward, kPayload)));
  EXPECT_EQ(reply.call_id(), kAwkward);
  ASSERT_EQ(reply.result_case(), sserpc::v1::Reply::kPayload);
  ExpectSameMessage(reply.payload(),
                    FromJson<google::protobuf::Value>(kPayload));
}

TEST(ConformanceTest, ErrorReplyIsAReply) {
  const auto reply = FromJson<sserpc::v1::Reply>(
      Reply(ErrorReply("c", absl::DeadlineExceededError(kAwkward))));
  EXPECT_EQ(reply.call_id(), "c");
  ASSERT_EQ(reply.result_case(), sserpc::v1::Reply::kError);
  EXPECT_EQ(reply.error().code(), "DEADLINE_EXCEEDED");
  EXPECT_EQ(reply.error().message(), kAwkward);
}

TEST(ConformanceTest, ErrorBodyIsAnError) {
  const auto error =
      FromJson<sserpc::v1::Error>(ErrorBody(absl::UnavailableError("down")));
  EXPECT_EQ(error.code(), "UNAVAILABLE");
  EXPECT_EQ(error.message(), "down");
}

TEST(ConformanceTest, ParsesProtobufsOwnJsonOfARequestEvent) {
  sserpc::v1::RequestEvent event;
  event.set_call_id("c");
  event.set_method("pkg.S/M");
  event.set_timeout_ms(5000);  // protobuf writes int64 as "5000"
  *event.mutable_payload() = FromJson<google::protobuf::Value>(R"({"a":[1]})");
  absl::StatusOr<RequestEnvelope> r = ParseRequestData(ToJson(event));
  ASSERT_TRUE(r.ok()) << r.status() << " for " << ToJson(event);
  EXPECT_EQ(r->call_id, "c");
  EXPECT_EQ(r->method, "pkg.S/M");
  EXPECT_EQ(r->timeout_ms, 5000);
  ExpectSameMessage(FromJson<google::protobuf::Value>(r->payload),
                    event.payload());
}

TEST(ConformanceTest, ParsesProtobufsOwnCamelCaseJson) {
  sserpc::v1::SessionEvent session;
  session.set_client_id("me");
  session.set_heartbeat_ms(1234);
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(session, &json).ok());
  ASSERT_THAT(json, HasSubstr("clientId"));
  absl::StatusOr<SessionEnvelope> e = ParseSessionData(json);
  ASSERT_TRUE(e.ok()) << e.status() << " for " << json;
  EXPECT_EQ(e->client_id, "me");
  EXPECT_EQ(e->heartbeat_ms, 1234);
}

TEST(ConformanceTest, ParsesProtobufsOwnJsonOfReplies) {
  sserpc::v1::Reply ok;
  ok.set_call_id("a");
  *ok.mutable_payload() = FromJson<google::protobuf::Value>("[1,\"x\"]");
  sserpc::v1::Reply failed;
  failed.set_call_id("b");
  failed.mutable_error()->set_code("RESOURCE_EXHAUSTED");
  failed.mutable_error()->set_message("full");
  std::vector<ReplyEnvelope> replies;
  bool is_batch = false;
  ASSERT_TRUE(
      ParseReplies(absl::StrCat("[", ToJson(ok), ",", ToJson(failed), "]"),
                   &replies, &is_batch)
          .ok());
  ASSERT_EQ(replies.size(), 2u);
  ExpectSameMessage(FromJson<google::protobuf::Value>(replies[0].payload),
                    ok.payload());
  EXPECT_EQ(replies[1].error, absl::ResourceExhaustedError("full"));
}

}  // namespace
}  // namespace sserpc
