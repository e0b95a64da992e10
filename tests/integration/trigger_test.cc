// sserpc-trigger, run as a real process against a real server and client.
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/sync.h"
#include "server/server.h"
#include "tests/testing/process.h"

namespace sserpc {
namespace {

using ::sserpc::testing::Process;
using ::testing::HasSubstr;

class TriggerTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options = {}) {
    server_ = std::make_unique<Server>(options);
    port_ = server_->Start("127.0.0.1", 0).value();
    ClientOptions co;
    co.server_url = Url();
    co.client_id = "laptop";
    client_ = std::make_unique<Client>(co);
    ASSERT_TRUE(client_->Register("demo.Greeter/SayHello", [](CallContext&, absl::string_view req) {
      return absl::StatusOr<std::string>(absl::StrCat(R"({"you_sent":)", req, "}"));
    }).ok());
    ASSERT_TRUE(client_->Register("demo.Greeter/Slow", [this](CallContext& ctx, absl::string_view) {
      if (ctx.cancellation().WaitWithTimeout(absl::Seconds(10)) &&
          !slow_cancelled_seen_.exchange(true)) {
        slow_cancelled_.Notify();
      }
      return absl::StatusOr<std::string>("{}");
    }).ok());
    ASSERT_TRUE(client_->Start().ok());
    ASSERT_TRUE(client_->WaitUntilConnected(absl::Seconds(10)));
  }
  void TearDown() override {
    if (client_) client_->Stop();
    if (server_) server_->Stop();
  }
  std::string Url() const { return absl::StrCat("http://127.0.0.1:", port_); }

  // Runs sserpc-trigger with `args` after --server.
  int Run(std::vector<std::string> args, const std::string& input = "",
          std::string* out = nullptr, std::string* err = nullptr) {
    std::vector<std::string> argv = {SSERPC_TRIGGER_BINARY, "--server", Url()};
    argv.insert(argv.end(), args.begin(), args.end());
    Process p(argv, input);
    int code = p.Finish();
    if (out != nullptr) *out = p.out();
    if (err != nullptr) *err = p.err();
    return code;
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<Client> client_;
  int port_ = 0;
  Notification slow_cancelled_;  // a Slow call was told it was cancelled
  std::atomic<bool> slow_cancelled_seen_{false};
};

TEST_F(TriggerTest, PrintsTheAnswerAndExitsZero) {
  Start();
  std::string out, err;
  EXPECT_EQ(Run({"--client", "laptop", "demo.Greeter/SayHello", R"({"name":"Ada"})"},
                "", &out, &err), 0) << err;
  EXPECT_EQ(out, "{\"you_sent\":{\"name\":\"Ada\"}}\n");
}

TEST_F(TriggerTest, ReadsThePayloadFromStdinWithDash) {
  Start();
  std::string out;
  EXPECT_EQ(Run({"--client=laptop", "demo.Greeter/SayHello", "-"}, "[1, 2]\n", &out), 0);
  EXPECT_EQ(out, "{\"you_sent\":[1, 2]}\n");
}

TEST_F(TriggerTest, InterruptingItCancelsTheCall) {
  ServerOptions options;
  options.liveness_check = absl::Milliseconds(20);
  Start(options);
  Process trigger({SSERPC_TRIGGER_BINARY, "--server", Url(), "--client", "laptop",
                   "--timeout-ms", "60000", "demo.Greeter/Slow", "{}"});
  for (int i = 0; i < 2000 && server_->Stats().pending_calls == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(server_->Stats().pending_calls, 1u);
  trigger.Signal(SIGINT);
  trigger.Finish();
  // The client's handler hears of it long before the call's deadline.
  EXPECT_TRUE(slow_cancelled_.WaitForNotificationWithTimeout(absl::Seconds(8)));
  EXPECT_EQ(server_->Stats().pending_calls, 0u);
}

TEST_F(TriggerTest, ListsClients) {
  Start();
  std::string out;
  EXPECT_EQ(Run({"--list"}, "", &out), 0);
  EXPECT_THAT(out, HasSubstr(R"("client_id":"laptop","state":"connected")"));
}

TEST_F(TriggerTest, EachFailureKindHasItsOwnExitCode) {
  Start();
  std::string err;
  EXPECT_EQ(Run({"--client", "laptop", "--timeout-ms", "100", "demo.Greeter/Slow", "{}"},
                "", nullptr, &err), 14);
  EXPECT_THAT(err, HasSubstr("DEADLINE_EXCEEDED"));
  EXPECT_EQ(Run({"--client", "laptop", "demo.Greeter/Nope", "{}"}, "", nullptr, &err), 22);
  EXPECT_THAT(err, HasSubstr("UNIMPLEMENTED"));
  EXPECT_EQ(Run({"--client", "ghost", "demo.Greeter/SayHello", "{}"}, "", nullptr, &err), 24);
  EXPECT_THAT(err, HasSubstr("UNAVAILABLE: client ghost is not connected"));
  EXPECT_EQ(Run({"--client", "laptop", "demo.Greeter/SayHello", "{not json"}, "", nullptr, &err), 2);
  EXPECT_THAT(err, HasSubstr("the payload is not JSON"));
  EXPECT_EQ(Run({"--client", "bad id", "demo.Greeter/SayHello", "{}"}, "", nullptr, &err), 2);
  EXPECT_EQ(Run({"--client", "laptop", "NoSlash", "{}"}, "", nullptr, &err), 2);
  EXPECT_EQ(Run({"--client", "laptop"}, "", nullptr, &err), 2);
  EXPECT_THAT(err, HasSubstr("expected a method and a payload"));
}

TEST_F(TriggerTest, UnreachableServerAndBadUrlAreReportedClearly) {
  std::string err;
  {
    Process p({SSERPC_TRIGGER_BINARY, "--server", "http://127.0.0.1:1", "--client", "x",
               "a.B/C", "{}"});
    EXPECT_EQ(p.Finish(), 3);
    EXPECT_THAT(p.err(), HasSubstr("cannot reach http://127.0.0.1:1"));
  }
  {
    Process p({SSERPC_TRIGGER_BINARY, "--server", "127.0.0.1:8080", "--list"});
    EXPECT_EQ(p.Finish(), 2);
    EXPECT_THAT(p.err(), HasSubstr("--server must look like http://host:port"));
  }
}

TEST_F(TriggerTest, AdminTokenFromFlagOrEnvironment) {
  ServerOptions options;
  options.admin_token = "s3cret";
  Start(options);
  std::string err;
  EXPECT_EQ(Run({"--client", "laptop", "demo.Greeter/SayHello", "{}"}, "", nullptr, &err), 26);
  EXPECT_THAT(err, HasSubstr("UNAUTHENTICATED"));
  EXPECT_EQ(Run({"--admin-token", "s3cret", "--client", "laptop", "demo.Greeter/SayHello", "{}"}), 0);
  setenv("SSERPC_ADMIN_TOKEN", "s3cret", 1);
  EXPECT_EQ(Run({"--list"}), 0);
  unsetenv("SSERPC_ADMIN_TOKEN");
}

TEST_F(TriggerTest, HelpDescribesUsage) {
  Process p({SSERPC_TRIGGER_BINARY, "--help"});
  p.Finish();
  EXPECT_THAT(p.out() + p.err(), HasSubstr("sserpc-trigger --server"));
}

}  // namespace
}  // namespace sserpc
