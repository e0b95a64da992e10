// Faults with real processes on 127.0.0.1: a client killed with SIGKILL in
// the middle of a call, and a crowd of clients reconnecting at once after a
// server restart.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "gtest/gtest.h"
#include "proto/sync.h"
#include "server/server.h"
#include "tests/testing/process.h"

namespace sserpc {
namespace {

using ::sserpc::testing::Process;

// A greeter_client process (examples/greeter) serving demo.Greeter.
std::unique_ptr<Process> StartGreeterClient(int port, const std::string& id) {
  return std::make_unique<Process>(std::vector<std::string>{
      SSERPC_GREETER_CLIENT_BINARY, "--server",
      absl::StrCat("http://127.0.0.1:", port), "--client-id", id});
}

bool WaitConnected(Server& server, const std::string& id) {
  for (int i = 0; i < 2000; ++i) {
    for (const ClientInfo& c : server.Clients()) {
      if (c.client_id == id && c.state == "connected") return true;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

struct Outcome {
  Notification done;
  CallResult result;
};

std::shared_ptr<Outcome> StartCountdown(Server& server, const std::string& id,
                                        int seconds) {
  auto outcome = std::make_shared<Outcome>();
  CallOptions options;
  options.timeout = absl::Seconds(60);
  server.CallAsync(id, "demo.Greeter/Countdown",
                   absl::StrCat(R"({"seconds":)", seconds, "}"), options,
                   [outcome](CallResult r) {
                     outcome->result = std::move(r);
                     outcome->done.Notify();
                   });
  return outcome;
}

TEST(FaultTest, ClientKilledMidCallFailsTheCallUnavailableAfterTheGrace) {
  ServerOptions options;
  options.resume_grace = absl::Milliseconds(300);
  Server server(options);
  const int port = server.Start("127.0.0.1", 0).value();
  auto client = StartGreeterClient(port, "victim");
  ASSERT_TRUE(WaitConnected(server, "victim"));
  auto outcome = StartCountdown(server, "victim", 30);
  absl::SleepFor(absl::Milliseconds(100));  // let the request reach the handler
  client->Signal(SIGKILL);
  client->Finish();
  // Detection (liveness check, ≤ 1 s) + grace (0.3 s): a definite status,
  // never a hang until the 60 s deadline.
  ASSERT_TRUE(outcome->done.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_EQ(outcome->result.status().code(), absl::StatusCode::kUnavailable)
      << outcome->result.status();
}

TEST(FaultTest, ClientKilledMidCallThatComesBackInTimeAnswersTheCall) {
  ServerOptions options;
  options.resume_grace = absl::Seconds(30);
  Server server(options);
  const int port = server.Start("127.0.0.1", 0).value();
  auto first = StartGreeterClient(port, "phoenix");
  ASSERT_TRUE(WaitConnected(server, "phoenix"));
  auto outcome = StartCountdown(server, "phoenix", 1);
  absl::SleepFor(absl::Milliseconds(100));
  first->Signal(SIGKILL);
  first->Finish();
  EXPECT_FALSE(outcome->done.HasBeenNotified());
  // A new process with the same id: the pending call is sent to it again.
  auto second = StartGreeterClient(port, "phoenix");
  ASSERT_TRUE(outcome->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(outcome->result.ok()) << outcome->result.status();
  EXPECT_EQ(*outcome->result, R"({"done":true})");
  second->Signal(SIGTERM);
  EXPECT_EQ(second->Finish(), 0);
}

// A storm: 1,000 clients lose their server at once and reconnect on their
// own to its successor; every one of them answers again.
TEST(FaultTest, CrowdOfClientsReconnectsAfterAServerRestart) {
  constexpr int kClients = 1000;
  // Two sockets per client on each side, in this one process.
  struct rlimit files;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
  ASSERT_GE(files.rlim_max, rlim_t{5 * kClients}) << "hard limit on open files";
  files.rlim_cur = std::max<rlim_t>(files.rlim_cur, 5 * kClients);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &files), 0);
  auto server = std::make_unique<Server>();
  const int port = server->Start("127.0.0.1", 0).value();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) {
    ClientOptions o;
    o.server_url = absl::StrCat("http://127.0.0.1:", port);
    o.client_id = absl::StrCat("crowd-", i);
    o.max_concurrent_calls = 2;
    o.reconnect_initial = absl::Milliseconds(50);
    o.reconnect_max = absl::Milliseconds(500);
    auto c = std::make_unique<Client>(o);
    ASSERT_TRUE(c->Register("demo.S/Id",
                            [](CallContext& ctx, absl::string_view) {
                              return absl::StatusOr<std::string>(
                                  absl::StrCat("\"", ctx.client_id(), "\""));
                            })
                    .ok());
    ASSERT_TRUE(c->Start().ok());
    clients.push_back(std::move(c));
  }
  for (auto& c : clients) ASSERT_TRUE(c->WaitUntilConnected(absl::Seconds(30)));

  server->Stop();
  server.reset();
  server = std::make_unique<Server>();
  ASSERT_TRUE(server->Start("127.0.0.1", port).ok());
  // Every client comes back by itself (jittered backoff spreads them).
  for (int i = 0; i < kClients; ++i) {
    const std::string id = absl::StrCat("crowd-", i);
    CallOptions o;
    o.wait_for_client = true;
    o.timeout = absl::Seconds(30);
    CallResult r = server->Call(id, "demo.S/Id", "{}", o);
    ASSERT_TRUE(r.ok()) << id << ": " << r.status();
    EXPECT_EQ(*r, absl::StrCat("\"", id, "\""));
  }
  for (auto& c : clients) c->Stop(absl::ZeroDuration());
  server->Stop();
}

}  // namespace
}  // namespace sserpc
