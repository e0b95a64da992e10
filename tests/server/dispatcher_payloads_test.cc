// Protobuf payloads in the dispatcher: which form a typed call's request
// takes on each stream, and which answers it accepts.
#include <deque>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "proto/binary_envelope.h"
#include "tests/server/dispatcher_test_util.h"

namespace sserpc::server_internal::test {
namespace {

// Stands in for a message type: "bytes" -> {"b":"bytes"}.
class FakeTranscoder : public RequestTranscoder {
 public:
  absl::StatusOr<std::string> ToJson(absl::string_view bytes) const override {
    ++calls;
    if (bytes == "untranscodable") {
      return absl::InvalidArgumentError("unknown Any type");
    }
    if (bytes == "inflate") {  // JSON much larger than the bytes
      return absl::StrCat(R"({"b":")", std::string(100, 'i'), R"("})");
    }
    return absl::StrCat(R"({"b":")", bytes, R"("})");
  }
  mutable int calls = 0;
};

struct RawOutcome {
  int runs = 0;
  RawCallResult result = absl::UnknownError("callback never ran");
};

RawCallCallback RecordRaw(RawOutcome* o) {
  return [o](RawCallResult r) {
    ++o->runs;
    o->result = std::move(r);
  };
}

std::vector<RequestEnvelope> ProtoRequests(const Written& w) {
  std::vector<RequestEnvelope> out;
  for (const SseEvent& e : w.Named("request-proto")) {
    absl::StatusOr<RequestEnvelope> r = ParseRequestDataProto(e.data);
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) out.push_back(*std::move(r));
  }
  return out;
}

ReplyEnvelope ProtoReply(std::string call_id, std::string bytes) {
  ReplyEnvelope r = PayloadReply(std::move(call_id), std::move(bytes));
  r.protobuf = true;
  return r;
}

class PayloadsTest : public DispatcherTest {
 protected:
  std::shared_ptr<StreamState> ConnectAs(const std::string& client_id,
                                         bool protobuf) {
    absl::StatusOr<std::shared_ptr<StreamState>> s =
        d().OpenStream(client_id, std::nullopt, protobuf);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : nullptr;
  }

  std::string StartProto(const std::string& client_id, std::string bytes,
                         RawOutcome* out, CallOptions options = Opts()) {
    return d().StartProtoCall(client_id, kMethod, std::move(bytes),
                              transcoder_, options, RecordRaw(out));
  }

  // Outcomes outlive the test body: TearDown() fails what is still pending.
  RawOutcome& NewRaw() { return raw_outcomes_.emplace_back(); }

  FakeTranscoder transcoder_;
  std::deque<RawOutcome> raw_outcomes_;
};

TEST_F(PayloadsTest, SessionEventSaysWhatWasNegotiated) {
  for (bool protobuf : {false, true}) {
    std::shared_ptr<StreamState> s = ConnectAs("c1", protobuf);
    ASSERT_TRUE(s);
    Written w = ReadNow(d(), *s);
    ASSERT_EQ(w.Named("session").size(), 1u);
    absl::StatusOr<SessionEnvelope> e =
        ParseSessionData(w.Named("session")[0].data);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->protobuf_payloads, protobuf);
  }
}

TEST_F(PayloadsTest, TypedCallToAProtobufClientGoesAsItsBytes) {
  std::shared_ptr<StreamState> s = ConnectAs("c1", true);
  ReadNow(d(), *s);
  RawOutcome& out = NewRaw();
  const std::string id = StartProto("c1", std::string("\x0a\x01\x00", 3), &out);
  ASSERT_FALSE(id.empty());
  Written w = ReadNow(d(), *s);
  EXPECT_TRUE(w.Requests().empty());
  std::vector<RequestEnvelope> reqs = ProtoRequests(w);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].call_id, id);
  EXPECT_EQ(reqs[0].method, kMethod);
  EXPECT_EQ(reqs[0].payload, std::string("\x0a\x01\x00", 3));
  EXPECT_EQ(reqs[0].timeout_ms, 30000);
  EXPECT_EQ(transcoder_.calls, 0);
  // The event id is the usual one.
  EXPECT_EQ(w.Named("request-proto")[0].id, "1");

  ASSERT_TRUE(d().DeliverReply("c1", ProtoReply(id, "answer\x00")).ok());
  ASSERT_EQ(out.runs, 1);
  ASSERT_TRUE(out.result.ok());
  EXPECT_TRUE(out.result->protobuf);
  EXPECT_EQ(out.result->payload, "answer\x00");
}

TEST_F(PayloadsTest, TypedCallToAJsonClientIsTranscodedAndMayBeAnsweredInJson) {
  std::shared_ptr<StreamState> s = ConnectAs("c1", false);
  ReadNow(d(), *s);
  RawOutcome& out = NewRaw();
  const std::string id = StartProto("c1", "bytes", &out);
  Written w = ReadNow(d(), *s);
  EXPECT_TRUE(w.Named("request-proto").empty());
  std::vector<RequestEnvelope> reqs = w.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].payload, R"({"b":"bytes"})");
  EXPECT_EQ(transcoder_.calls, 1);

  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(id, R"({"x":1})")).ok());
  ASSERT_TRUE(out.result.ok());
  EXPECT_FALSE(out.result->protobuf);
  EXPECT_EQ(out.result->payload, R"({"x":1})");
}

TEST_F(PayloadsTest, JsonCallsStayJsonOnProtobufStreams) {
  std::shared_ptr<StreamState> s = ConnectAs("c1", true);
  ReadNow(d(), *s);
  Outcome* out = NewOutcome();
  const std::string id = Start("c1", out, Opts(), R"({"q":1})");
  Written w = ReadNow(d(), *s);
  EXPECT_TRUE(w.Named("request-proto").empty());
  ASSERT_EQ(w.Requests().size(), 1u);
  EXPECT_EQ(w.Requests()[0].payload, R"({"q":1})");

  // The untyped caller reads JSON: a protobuf answer is refused and
  // changes nothing.
  absl::Status refused = d().DeliverReply("c1", ProtoReply(id, "\x08\x01"));
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused;
  EXPECT_FALSE(out->done());
  // A protobuf-form error is fine: errors have no payload.
  ReplyEnvelope error = ErrorReply(id, absl::NotFoundError("no"));
  error.protobuf = true;
  ASSERT_TRUE(d().DeliverReply("c1", error).ok());
  EXPECT_EQ(out->code(), absl::StatusCode::kNotFound);
}

TEST_F(PayloadsTest, ResumeOnAStreamOfTheOtherFormResendsInThatForm) {
  std::shared_ptr<StreamState> first = ConnectAs("c1", true);
  ReadNow(d(), *first);
  RawOutcome& out = NewRaw();
  const std::string id = StartProto("c1", "bytes", &out);
  ASSERT_EQ(ProtoRequests(ReadNow(d(), *first)).size(), 1u);
  d().StreamEnded(*first);

  std::shared_ptr<StreamState> second = ConnectAs("c1", false);
  Written w = ReadNow(d(), *second);
  ASSERT_EQ(w.Requests().size(), 1u);
  EXPECT_EQ(w.Requests()[0].call_id, id);
  EXPECT_EQ(w.Requests()[0].payload, R"({"b":"bytes"})");
  EXPECT_EQ(w.RequestEventIds(), std::vector<uint64_t>{1});

  // The first process's protobuf answer still arrives first: accepted.
  ASSERT_TRUE(d().DeliverReply("c1", ProtoReply(id, "late")).ok());
  ASSERT_TRUE(out.result.ok());
  EXPECT_TRUE(out.result->protobuf);
  EXPECT_EQ(out.result->payload, "late");
}

TEST_F(PayloadsTest, UntranscodableRequestEndsItsCallInternal) {
  std::shared_ptr<StreamState> s = ConnectAs("c1", false);
  ReadNow(d(), *s);
  RawOutcome& bad = NewRaw();
  RawOutcome& good = NewRaw();
  const std::string bad_id = StartProto("c1", "untranscodable", &bad);
  const std::string good_id = StartProto("c1", "fine", &good);
  Written w = ReadNow(d(), *s);
  ASSERT_EQ(w.Requests().size(), 1u);
  EXPECT_EQ(w.Requests()[0].call_id, good_id);
  ASSERT_EQ(bad.runs, 1);
  EXPECT_EQ(bad.result.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(bad.result.status().message()),
              ::testing::HasSubstr("unknown Any type"));
  EXPECT_EQ(good.runs, 0);
  EXPECT_EQ(d().pending_calls(), 1u);
  // The client never saw it: no cancel is sent for it either.
  Written after = ReadNow(d(), *s);
  EXPECT_TRUE(after.Cancels().empty());
  EXPECT_TRUE(w.Cancels().empty());
  // The same call never ends twice: its answer is now refused.
  EXPECT_EQ(d().DeliverReply("c1", PayloadReply(bad_id, "{}")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(bad.runs, 1);
}

TEST_F(PayloadsTest, ProtobufRequestsAreNotCheckedAsJsonButAreSizeLimited) {
  options_.max_body_bytes = 16;
  std::shared_ptr<StreamState> s = ConnectAs("c1", true);
  RawOutcome& ok = NewRaw();
  EXPECT_FALSE(StartProto("c1", "\xff\xfe not json", &ok).empty());
  RawOutcome& too_big = NewRaw();
  EXPECT_TRUE(StartProto("c1", std::string(17, 'x'), &too_big).empty());
  ASSERT_EQ(too_big.runs, 1);
  EXPECT_EQ(too_big.result.status().code(),
            absl::StatusCode::kResourceExhausted);
  // The limit counts the bytes in base64, as they go on the wire: 13 bytes
  // are 20 characters.
  RawOutcome& base64_too_big = NewRaw();
  EXPECT_TRUE(StartProto("c1", std::string(13, 'x'), &base64_too_big).empty());
  EXPECT_EQ(base64_too_big.result.status().code(),
            absl::StatusCode::kResourceExhausted);
  // An empty message is a valid protobuf request (all fields default).
  RawOutcome& empty = NewRaw();
  const std::string id = StartProto("c1", "", &empty);
  ASSERT_FALSE(id.empty());
  ReadNow(d(), *s);
  ASSERT_TRUE(d().DeliverReply("c1", ProtoReply(id, "")).ok());
  ASSERT_TRUE(empty.result.ok());
  EXPECT_EQ(empty.result->payload, "");
}

TEST_F(PayloadsTest, RequestWhoseJsonIsOverTheLimitEndsResourceExhausted) {
  options_.max_body_bytes = 32;
  std::shared_ptr<StreamState> s = ConnectAs("c1", false);
  ReadNow(d(), *s);
  RawOutcome& out = NewRaw();
  // 7 bytes pass as protobuf (12 in base64); their JSON is 108: too long.
  const std::string id = StartProto("c1", "inflate", &out);
  ASSERT_FALSE(id.empty());
  Written w = ReadNow(d(), *s);
  EXPECT_TRUE(w.Requests().empty());
  EXPECT_TRUE(w.Cancels().empty());
  ASSERT_EQ(out.runs, 1);
  EXPECT_EQ(out.result.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(d().Stats().refused_payload_too_large, 1u);
}

TEST_F(PayloadsTest, FailuresReachTheRawCallbackOnce) {
  RawOutcome& absent = NewRaw();
  EXPECT_TRUE(StartProto("nobody", "x", &absent).empty());
  ASSERT_EQ(absent.runs, 1);
  EXPECT_EQ(absent.result.status().code(), absl::StatusCode::kUnavailable);

  std::shared_ptr<StreamState> s = ConnectAs("c1", true);
  RawOutcome& timed_out = NewRaw();
  StartProto("c1", "x", &timed_out, Opts(absl::Seconds(1)));
  AdvanceAndExpire(absl::Seconds(2));
  ASSERT_EQ(timed_out.runs, 1);
  EXPECT_EQ(timed_out.result.status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace sserpc::server_internal::test
