// sserpc-server, the standalone relay binary, run as a real process.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"

namespace {

using ::testing::HasSubstr;

using ::sserpc::testing::Process;

int ReadPort(Process& p) {
  std::string line = p.Line();
  int port = 0;
  EXPECT_EQ(line.rfind("LISTENING ", 0), 0u) << line;
  EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(10)), &port));
  return port;
}

TEST(ServerBinaryTest, ServesTheProtocolAndRelaysCallsToAClient) {
  Process server({SSERPC_SERVER_BINARY, "--port=0"});
  const int port = ReadPort(server);
  ASSERT_GT(port, 0);
  sserpc::ClientOptions options;
  options.server_url = absl::StrCat("http://127.0.0.1:", port);
  options.client_id = "laptop";
  sserpc::Client client(options);
  ASSERT_TRUE(client
                  .Register("demo.Greeter/SayHello",
                            [](sserpc::CallContext&, absl::string_view req) {
                              return absl::StatusOr<std::string>(
                                  absl::StrCat(R"({"got":)", req, "}"));
                            })
                  .ok());
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(client.WaitUntilConnected(absl::Seconds(10)));

  httplib::Client http("127.0.0.1", port);
  auto health = http.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto call = http.Post("/sserpc/v1/clients/laptop/calls/demo.Greeter/SayHello?timeout_ms=5000",
                        R"({"name":"Ada"})", "application/json");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->status, 200);
  EXPECT_EQ(call->body, R"({"got":{"name":"Ada"}})");
  auto empty = http.Post("/sserpc/v1/clients/laptop/calls/demo.Greeter/SayHello?timeout_ms=5000",
                         "", "application/json");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 200);
  EXPECT_EQ(empty->body, R"({"got":{}})");

  server.Signal(SIGTERM);
  EXPECT_EQ(server.Finish(), 0);
  client.Stop();
}

TEST(ServerBinaryTest, TokenFileGuardsClientsAndAdminTokenGuardsCalls) {
  char path[] = "/tmp/sserpc-tokens-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string tokens = "# client tokens\nlaptop s3cret\n\nphone  other\n";
  ASSERT_EQ(write(fd, tokens.data(), tokens.size()), static_cast<ssize_t>(tokens.size()));
  close(fd);
  Process server({SSERPC_SERVER_BINARY, "--port=0", "--client-tokens", path,
                  "--admin-token=adm"});
  const int port = ReadPort(server);
  sserpc::ClientOptions options;
  options.server_url = absl::StrCat("http://127.0.0.1:", port);
  options.client_id = "laptop";
  options.token = "wrong";
  {
    sserpc::Client refused(options);
    ASSERT_TRUE(refused.Start().ok());
    for (int i = 0; i < 1000 && refused.status().ok(); ++i) absl::SleepFor(absl::Milliseconds(5));
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  }
  options.token = "s3cret";
  sserpc::Client client(options);
  ASSERT_TRUE(client
                  .Register("demo.S/Ping",
                            [](sserpc::CallContext&, absl::string_view) {
                              return absl::StatusOr<std::string>("\"pong\"");
                            })
                  .ok());
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(client.WaitUntilConnected(absl::Seconds(10)));
  httplib::Client http("127.0.0.1", port);
  auto no_admin = http.Post("/sserpc/v1/clients/laptop/calls/demo.S/Ping", "{}", "application/json");
  ASSERT_TRUE(no_admin);
  EXPECT_EQ(no_admin->status, 401);
  auto ok = http.Post("/sserpc/v1/clients/laptop/calls/demo.S/Ping",
                      {{"Authorization", "Bearer adm"}}, "{}", "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "\"pong\"");
  server.Signal(SIGINT);
  EXPECT_EQ(server.Finish(), 0);
  client.Stop();
  unlink(path);
}

TEST(ServerBinaryTest, AdminTokenFromAFile) {
  char path[] = "/tmp/sserpc-admin-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string token = "from-file\n";
  ASSERT_EQ(write(fd, token.data(), token.size()), static_cast<ssize_t>(token.size()));
  close(fd);
  Process server({SSERPC_SERVER_BINARY, "--port=0", "--admin-token-file", path});
  const int port = ReadPort(server);
  httplib::Client http("127.0.0.1", port);
  auto refused = http.Get("/sserpc/v1/clients");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  auto ok = http.Get("/sserpc/v1/clients", {{"Authorization", "Bearer from-file"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Finish(), 0);
  unlink(path);
}

TEST(ServerBinaryTest, BadTokenFileAndNonLoopbackWithoutTokensAreRefused) {
  {
    Process server({SSERPC_SERVER_BINARY, "--port=0", "--client_tokens=/nonexistent/file"});
    EXPECT_EQ(server.Finish(), 2);
    EXPECT_THAT(server.err(), HasSubstr("cannot read /nonexistent/file"));
  }
  {
    char path[] = "/tmp/sserpc-tokens-XXXXXX";
    int fd = mkstemp(path);
    std::string bad = "bad%id token\n";
    ASSERT_EQ(write(fd, bad.data(), bad.size()), static_cast<ssize_t>(bad.size()));
    close(fd);
    Process server({SSERPC_SERVER_BINARY, "--port=0", absl::StrCat("--client_tokens=", path)});
    EXPECT_EQ(server.Finish(), 2);
    EXPECT_THAT(server.err(), HasSubstr(":1: expected '<client_id> <token>'"));
    unlink(path);
  }
  {
    Process server({SSERPC_SERVER_BINARY, "--host=0.0.0.0", "--port=0"});
    EXPECT_EQ(server.Finish(), 1);
    EXPECT_THAT(server.err(), HasSubstr("refusing to listen on 0.0.0.0"));
  }
}

}  // namespace
