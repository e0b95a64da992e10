// Generated stubs compiled and run: typed callers and typed handlers over
// loopback, and their interplay with the untyped paths.
#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "nopackage.sserpc.h"
#include "nothing.sserpc.h"
#include "proto/sync.h"
#include "server/server.h"
#include "sserpc_test/shapes.sserpc.h"

namespace {

using ::sserpc_test::shapes::v1::Keywords;
using ::sserpc_test::shapes::v1::Mirror;
using ::sserpc_test::shapes::v1::Outer;
using ::sserpc_test::shapes::v1::Outer_Inner;
using ::sserpc_test::shapes::v1::Shapes;
using ::testing::HasSubstr;

class ShapesHandler : public Shapes::Handler {
 public:
  absl::StatusOr<Outer_Inner> Draw(sserpc::CallContext& ctx,
                                   const Outer& request) override {
    Outer_Inner out = request.inner();
    out.set_text(absl::StrCat(request.inner().text(), " drawn by ", ctx.client_id(),
                              request.has_maybe() ? " with maybe" : ""));
    return out;
  }
  absl::StatusOr<google::protobuf::Timestamp> Stamp(
      sserpc::CallContext&, const google::protobuf::Struct& request) override {
    auto it = request.fields().find("seconds");
    if (it == request.fields().end()) {
      return absl::InvalidArgumentError("seconds is required");
    }
    return google::protobuf::util::TimeUtil::SecondsToTimestamp(
        static_cast<int64_t>(it->second.number_value()));
  }
  absl::StatusOr<Outer> Echo(sserpc::CallContext& ctx, const Outer& request) override {
    ++(ctx.protobuf_payload() ? protobuf_echoes : json_echoes);
    return request;
  }
  std::atomic<int> protobuf_echoes{0};
  std::atomic<int> json_echoes{0};
  // Clear is left unimplemented.
};

class KeywordHandler : public sserpc_test::shapes::v1::delete_::Handler {
 public:
  absl::StatusOr<Keywords> new_(sserpc::CallContext&, const Keywords& r) override {
    Keywords out = r;
    out.set_class_(r.class_() + "!");
    return out;
  }
  absl::StatusOr<Keywords> Handler_(sserpc::CallContext&, const Keywords& r) override {
    Keywords out = r;
    out.set_default_(r.default_() + 1);
    return out;
  }
};

class PingHandler : public ::Pinger::Handler {
 public:
  absl::StatusOr<::Echo> Ping(sserpc::CallContext&, const ::Echo& r) override {
    ::Echo out;
    out.set_text("pong: " + r.text());
    return out;
  }
};

// Every test runs twice: with JSON payloads (the default) and with
// protobuf payloads negotiated by the client.
class TypedTest : public ::testing::TestWithParam<bool> {
 protected:
  bool protobuf() const { return GetParam(); }

  void SetUp() override {
    server_ = std::make_unique<sserpc::Server>();
    port_ = server_->Start("127.0.0.1", 0).value();
    sserpc::ClientOptions options;
    options.server_url = absl::StrCat("http://127.0.0.1:", port_);
    options.client_id = "typed";
    options.protobuf_payloads = protobuf();
    client_ = std::make_unique<sserpc::Client>(options);
    ASSERT_TRUE(Shapes::Register(*client_, &shapes_).ok());
    ASSERT_TRUE(sserpc_test::shapes::v1::delete_::Register(*client_, &keywords_).ok());
    ASSERT_TRUE(::Pinger::Register(*client_, &ping_).ok());
    ASSERT_TRUE(client_->Start().ok());
    ASSERT_TRUE(client_->WaitUntilConnected(absl::Seconds(10)));
  }
  void TearDown() override {
    client_->Stop();
    server_->Stop();
  }

  ShapesHandler shapes_;
  KeywordHandler keywords_;
  PingHandler ping_;
  std::unique_ptr<sserpc::Server> server_;
  std::unique_ptr<sserpc::Client> client_;
  int port_ = 0;
};

TEST_P(TypedTest, TypedCallerReachesTypedHandlerWithEveryFieldShape) {
  Shapes::Caller shapes(*server_);
  Outer request;
  request.mutable_inner()->set_text("circle");
  request.mutable_inner()->set_color(Outer::GREEN);
  request.set_maybe(0);  // proto3 optional: present even when zero
  request.mutable_point()->set_x(3);
  (*request.mutable_counts())["a"] = 1;
  *request.mutable_when() = google::protobuf::util::TimeUtil::SecondsToTimestamp(1700000000);
  request.add_many()->set_text("x");

  absl::StatusOr<Outer_Inner> drawn = shapes.Draw("typed", request);
  ASSERT_TRUE(drawn.ok()) << drawn.status();
  EXPECT_EQ(drawn->text(), "circle drawn by typed with maybe");
  EXPECT_EQ(drawn->color(), Outer::GREEN);

  absl::StatusOr<Outer> echoed = shapes.Echo("typed", request);
  ASSERT_TRUE(echoed.ok()) << echoed.status();
  EXPECT_EQ(echoed->SerializeAsString(), request.SerializeAsString());

  google::protobuf::Struct s;
  (*s.mutable_fields())["seconds"].set_number_value(42);
  absl::StatusOr<google::protobuf::Timestamp> stamp = shapes.Stamp("typed", s);
  ASSERT_TRUE(stamp.ok()) << stamp.status();
  EXPECT_EQ(stamp->seconds(), 42);
  absl::StatusOr<google::protobuf::Timestamp> no_seconds =
      shapes.Stamp("typed", google::protobuf::Struct());
  EXPECT_EQ(no_seconds.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(no_seconds.status().message(), "seconds is required");
}

TEST_P(TypedTest, AsyncTypedCallRunsItsCallbackOnce) {
  Shapes::Caller shapes(*server_);
  sserpc::Notification done;
  absl::StatusOr<Outer> result;
  Outer request;
  request.mutable_inner()->set_text("async");
  std::string id = shapes.EchoAsync("typed", request, sserpc::CallOptions(),
                                    [&](absl::StatusOr<Outer> r) {
                                      result = std::move(r);
                                      done.Notify();
                                    });
  EXPECT_FALSE(id.empty());
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->inner().text(), "async");
}

TEST_P(TypedTest, UnimplementedAndUnregisteredMethodsAreUnimplemented) {
  Shapes::Caller shapes(*server_);
  absl::StatusOr<google::protobuf::Empty> cleared =
      shapes.Clear("typed", google::protobuf::Empty());
  EXPECT_EQ(cleared.status().code(), absl::StatusCode::kUnimplemented);
  Mirror::Caller mirror(*server_);  // the client registered no Mirror handler
  absl::StatusOr<Outer_Inner> drawn = mirror.Draw("typed", Outer());
  EXPECT_EQ(drawn.status().code(), absl::StatusCode::kUnimplemented);
}

TEST_P(TypedTest, KeywordAndPackagelessServicesWork) {
  sserpc_test::shapes::v1::delete_::Caller keywords(*server_);
  Keywords k;
  k.set_class_("c");
  k.set_default_(1);
  absl::StatusOr<Keywords> made = keywords.new_("typed", k);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(made->class_(), "c!");
  absl::StatusOr<Keywords> handled = keywords.Handler_("typed", k);
  ASSERT_TRUE(handled.ok()) << handled.status();
  EXPECT_EQ(handled->default_(), 2);
  EXPECT_EQ(std::string(sserpc_test::shapes::v1::delete_::knewMethod),
            "sserpc_test.shapes.v1.delete/new");

  ::Pinger::Caller pinger(*server_);
  ::Echo e;
  e.set_text("hi");
  absl::StatusOr<::Echo> pong = pinger.Ping("typed", e);
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_EQ(pong->text(), "pong: hi");
  EXPECT_EQ(std::string(::Pinger::kPingMethod), "Pinger/Ping");
}

TEST_P(TypedTest, TypedHandlerAnswersTheHttpCallsEndpoint) {
  httplib::Client http("127.0.0.1", port_);
  // Both field-name forms of the proto3 JSON mapping are accepted.
  auto res = http.Post(
      "/sserpc/v1/clients/typed/calls/sserpc_test.shapes.v1.Shapes/Draw?timeout_ms=5000",
      R"({"inner":{"text":"from curl","color":"RED"},"maybe":"7"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"({"text":"from curl drawn by typed with maybe","color":"RED"})");
  auto camel = http.Post(
      "/sserpc/v1/clients/typed/calls/sserpc_test.shapes.v1.delete/new?timeout_ms=5000",
      R"({"class":"k","unknownField":1})", "application/json");
  ASSERT_TRUE(camel);
  EXPECT_EQ(camel->status, 200);
  EXPECT_EQ(camel->body, R"({"class":"k!"})");
}

TEST_P(TypedTest, PayloadOfTheWrongShapeIsInvalidArgument) {
  httplib::Client http("127.0.0.1", port_);
  auto res = http.Post(
      "/sserpc/v1/clients/typed/calls/sserpc_test.shapes.v1.Shapes/Draw?timeout_ms=5000",
      R"({"inner":5})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(res->body, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(res->body, HasSubstr("sserpc_test.shapes.v1.Outer"));
}

TEST_P(TypedTest, TypedCallsTakeTheNegotiatedFormAndHttpCallsStayJson) {
  Shapes::Caller shapes(*server_);
  Outer request;
  request.mutable_inner()->set_text("form");
  ASSERT_TRUE(shapes.Echo("typed", request).ok());
  EXPECT_EQ(shapes_.protobuf_echoes.load(), protobuf() ? 1 : 0);
  EXPECT_EQ(shapes_.json_echoes.load(), protobuf() ? 0 : 1);

  // The untyped paths give JSON and expect JSON, whatever the client chose.
  sserpc::CallResult untyped = server_->Call(
      "typed", Shapes::kEchoMethod, R"({"inner":{"text":"json"}})");
  ASSERT_TRUE(untyped.ok()) << untyped.status();
  EXPECT_EQ(*untyped, R"({"inner":{"text":"json"}})");
  EXPECT_EQ(shapes_.json_echoes.load(), protobuf() ? 1 : 2);
}

INSTANTIATE_TEST_SUITE_P(Payloads, TypedTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Protobuf" : "Json";
                         });

TEST(TypedProtobufTest, StartRefusesProtobufWithAJsonOnlyHandler) {
  sserpc::ClientOptions options;
  options.server_url = "http://127.0.0.1:1";
  options.client_id = "mixed";
  options.protobuf_payloads = true;
  sserpc::Client client(options);
  ShapesHandler shapes;
  ASSERT_TRUE(Shapes::Register(client, &shapes).ok());
  ASSERT_TRUE(client
                  .Register("other.Service/Untyped",
                            [](sserpc::CallContext&, absl::string_view) {
                              return absl::StatusOr<std::string>("{}");
                            })
                  .ok());
  absl::Status started = client.Start();
  EXPECT_EQ(started.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(started.message(), HasSubstr("other.Service/Untyped"));
}

TEST(TypedProtobufTest, AnswerThatIsNotTheResponseTypeIsInternal) {
  sserpc::Server server;
  int port = server.Start("127.0.0.1", 0).value();
  sserpc::ClientOptions options;
  options.server_url = absl::StrCat("http://127.0.0.1:", port);
  options.client_id = "raw";
  options.protobuf_payloads = true;
  sserpc::Client client(options);
  // A hand-written protobuf handler whose answer is no valid message
  // (field 1 with a truncated length).
  sserpc::HandlerOptions handler_options;
  handler_options.accepts_protobuf = true;
  ASSERT_TRUE(client
                  .Register(Shapes::kDrawMethod,
                            [](sserpc::CallContext& ctx, absl::string_view) {
                              EXPECT_TRUE(ctx.protobuf_payload());
                              return absl::StatusOr<std::string>("\x0a\x05" "ab");
                            },
                            handler_options)
                  .ok());
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(client.WaitUntilConnected(absl::Seconds(10)));
  absl::StatusOr<Outer_Inner> r = Shapes::Caller(server).Draw("raw", Outer());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(r.status().message(), HasSubstr("sserpc_test.shapes.v1.Outer.Inner"));
  client.Stop();
  server.Stop();
}

TEST(TypedAnswerTest, AnswerOfTheWrongShapeIsInternalForTheTypedCaller) {
  sserpc::Server server;
  int port = server.Start("127.0.0.1", 0).value();
  sserpc::ClientOptions options;
  options.server_url = absl::StrCat("http://127.0.0.1:", port);
  options.client_id = "untyped";
  sserpc::Client client(options);
  // An untyped handler that answers with a payload Outer_Inner cannot hold.
  ASSERT_TRUE(client
                  .Register(Shapes::kDrawMethod,
                            [](sserpc::CallContext&, absl::string_view) {
                              return absl::StatusOr<std::string>(R"({"text":[1,2]})");
                            })
                  .ok());
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(client.WaitUntilConnected(absl::Seconds(10)));
  absl::StatusOr<Outer_Inner> r = Shapes::Caller(server).Draw("untyped", Outer());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(r.status().message(), HasSubstr("sserpc_test.shapes.v1.Outer.Inner"));
  client.Stop();
  server.Stop();
}

}  // namespace
