// Server::Stop() while clients are connected and calls are in flight: a real
// client holding an idle keep-alive answer connection (it answered a call)
// and running handlers, a call waiting for a client that never came, and
// calls queued for a client in its grace period. Stop() must not wait out
// the idle connection's keep-alive timeout, must end every call UNAVAILABLE
// exactly once before it returns, and must leave no connection open; nor
// may it wait for a writer blocked on a client that does not read.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "gtest/gtest.h"
#include "proto/sync.h"
#include "server/server.h"

namespace sserpc {
namespace {

struct Outcome {
  Mutex mu;
  int completions ABSL_GUARDED_BY(mu) = 0;
  absl::StatusCode code ABSL_GUARDED_BY(mu) = absl::StatusCode::kOk;
  std::string message ABSL_GUARDED_BY(mu);
  Notification done;
};

std::shared_ptr<Outcome> StartCall(Server& server, const std::string& client,
                                   const std::string& method,
                                   bool wait_for_client = false,
                                   const std::string& payload = "{}") {
  auto outcome = std::make_shared<Outcome>();
  CallOptions options;
  options.timeout = absl::Seconds(60);
  options.wait_for_client = wait_for_client;
  server.CallAsync(client, method, payload, options, [outcome](CallResult r) {
    {
      MutexLock lock(&outcome->mu);
      ++outcome->completions;
      outcome->code = r.status().code();
      outcome->message = std::string(r.status().message());
    }
    if (!outcome->done.HasBeenNotified()) outcome->done.Notify();
  });
  return outcome;
}

// After Stop(): every call in flight ended once, UNAVAILABLE, and the server
// holds no connection and no call.
void ExpectAllEndedUnavailableAndNothingOpen(
    Server& server, const std::vector<std::shared_ptr<Outcome>>& in_flight) {
  for (size_t i = 0; i < in_flight.size(); ++i) {
    Outcome& o = *in_flight[i];
    ASSERT_TRUE(o.done.HasBeenNotified()) << "call " << i << " still pending after Stop()";
    MutexLock lock(&o.mu);
    EXPECT_EQ(o.completions, 1) << "call " << i;
    EXPECT_EQ(o.code, absl::StatusCode::kUnavailable) << "call " << i << ": " << o.message;
  }
  ServerStats after = server.Stats();
  EXPECT_EQ(after.open_connections, 0u);
  EXPECT_EQ(after.pending_calls, 0u);
  EXPECT_EQ(after.calls_started, after.calls_answered + after.calls_failed);
}

std::unique_ptr<Client> MakeClient(int port, const std::string& id,
                                   Mutex* mu, int* running) {
  ClientOptions co;
  co.server_url = absl::StrCat("http://127.0.0.1:", port);
  co.client_id = id;
  auto client = std::make_unique<Client>(co);
  EXPECT_TRUE(client
                  ->Register("demo.S/Echo",
                             [](CallContext&, absl::string_view req) {
                               return absl::StatusOr<std::string>(std::string(req));
                             })
                  .ok());
  // Runs until the call is over for the caller or the client stops.
  EXPECT_TRUE(client
                  ->Register("demo.S/Block",
                             [mu, running](CallContext& ctx, absl::string_view) {
                               {
                                 MutexLock lock(mu);
                                 ++*running;
                               }
                               ctx.cancellation().WaitWithTimeout(absl::Seconds(60));
                               return absl::StatusOr<std::string>(ctx.cancel_status());
                             })
                  .ok());
  EXPECT_TRUE(client->Start().ok());
  EXPECT_TRUE(client->WaitUntilConnected(absl::Seconds(10)));
  return client;
}

TEST(StopTest, StopWithCallsInFlightAndAnIdleKeepAliveAnswerConnectionReturnsPromptly) {
  ServerOptions options;
  // Without shutting idle connections down itself, Stop() would wait a
  // minute for the idle answer connection to time out.
  options.keep_alive_timeout = absl::Seconds(60);
  Server server(options);
  const int port = server.Start("127.0.0.1", 0).value();

  Mutex mu;
  int running = 0;
  // "busy" answers a call (its answer connection then stays open, idle,
  // keep-alive) and runs three handlers that never finish by themselves.
  std::unique_ptr<Client> busy = MakeClient(port, "busy", &mu, &running);
  CallResult echo = server.Call("busy", "demo.S/Echo", "[1]");
  ASSERT_TRUE(echo.ok()) << echo.status();
  std::vector<std::shared_ptr<Outcome>> in_flight;
  for (int i = 0; i < 3; ++i) in_flight.push_back(StartCall(server, "busy", "demo.S/Block"));
  {
    MutexLock lock(&mu);
    auto all_running = [&running]() { return running == 3; };
    ASSERT_TRUE(mu.AwaitWithTimeout(Condition(&all_running), absl::Seconds(10)));
  }
  // "gone" ran a handler, then stopped without answering: its call stays
  // pending for the grace period (30 s), and one more is queued for it.
  std::unique_ptr<Client> gone = MakeClient(port, "gone", &mu, &running);
  in_flight.push_back(StartCall(server, "gone", "demo.S/Block"));
  {
    MutexLock lock(&mu);
    auto started = [&running]() { return running == 4; };
    ASSERT_TRUE(mu.AwaitWithTimeout(Condition(&started), absl::Seconds(10)));
  }
  gone->Stop(absl::ZeroDuration());
  gone.reset();
  in_flight.push_back(StartCall(server, "gone", "demo.S/Block"));
  // Waiting for a client that never connects.
  in_flight.push_back(StartCall(server, "never", "demo.S/Block", /*wait_for_client=*/true));

  ServerStats before = server.Stats();
  EXPECT_EQ(before.pending_calls, in_flight.size());
  EXPECT_GE(before.open_connections, 2u);  // busy's stream and answer connection
  for (const auto& o : in_flight) ASSERT_FALSE(o->done.HasBeenNotified());

  const absl::Time start = absl::Now();
  server.Stop();
  const absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, absl::Seconds(5)) << "Stop() took " << took;
  ExpectAllEndedUnavailableAndNothingOpen(server, in_flight);
  EXPECT_EQ(server.Stats().calls_answered, 1u);

  // Calls after the stop fail at once; the stop is idempotent.
  auto late = StartCall(server, "busy", "demo.S/Echo");
  ASSERT_TRUE(late->done.HasBeenNotified());
  {
    MutexLock lock(&late->mu);
    EXPECT_EQ(late->code, absl::StatusCode::kUnavailable);
  }
  server.Stop();
  busy->Stop(absl::ZeroDuration());
  for (const auto& o : in_flight) {
    MutexLock lock(&o->mu);
    EXPECT_EQ(o->completions, 1);
  }
}

bool WaitConnected(Server& server, const std::string& id) {
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (absl::Now() < until) {
    for (const ClientInfo& c : server.Clients()) {
      if (c.client_id == id && c.state == "connected") return true;
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  return false;
}

TEST(StopTest, ReturnsPromptlyWithAnIdleAnswerConnectionAndABlockedStreamWrite) {
  ServerOptions options;
  // Without closing them itself, Stop() would wait out an idle keep-alive
  // connection for a minute.
  options.keep_alive_timeout = absl::Seconds(60);
  // A small outbox, so that a stream that is not read fills up quickly.
  options.max_outbox_bytes = 1 << 20;
  // Stop() must not wait out a writer blocked on a client that does not
  // read (it used to: as long as this write timeout).
  options.write_timeout = absl::Seconds(20);
  Server server(options);
  const int port = server.Start("127.0.0.1", 0).value();

  // A real client: one call answered (its answer connection stays open,
  // idle, keep-alive), then one call whose handler runs until the end.
  ClientOptions co;
  co.server_url = absl::StrCat("http://127.0.0.1:", port);
  co.client_id = "real";
  Client client(co);
  Notification handler_running;
  ASSERT_TRUE(client
                  .Register("demo.S/Echo",
                            [](CallContext&, absl::string_view req) {
                              return absl::StatusOr<std::string>(std::string(req));
                            })
                  .ok());
  ASSERT_TRUE(client
                  .Register("demo.S/Block",
                            [&handler_running](CallContext& ctx, absl::string_view) {
                              handler_running.Notify();
                              ctx.cancellation().WaitWithTimeout(absl::Seconds(30));
                              return absl::StatusOr<std::string>(ctx.cancel_status());
                            })
                  .ok());
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(client.WaitUntilConnected(absl::Seconds(10)));
  CallResult echo = server.Call("real", "demo.S/Echo", "[1]");
  ASSERT_TRUE(echo.ok()) << echo.status();
  std::vector<std::shared_ptr<Outcome>> in_flight;
  in_flight.push_back(StartCall(server, "real", "demo.S/Block"));
  ASSERT_TRUE(handler_running.WaitForNotificationWithTimeout(absl::Seconds(10)));

  // A raw client that opens its stream and never reads it.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string get =
      "GET /sserpc/v1/clients/stuck/events HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, get.data(), get.size(), 0), static_cast<ssize_t>(get.size()));
  ASSERT_TRUE(WaitConnected(server, "stuck"));
  // Calls to it until its writer is stuck in a write: the writer takes the
  // whole outbox whenever it is free, so an outbox that stays full (new
  // calls refused) is one whose writer is blocked on the socket, whose
  // buffers the calls before have filled.
  const std::string payload = absl::StrCat("\"", std::string(256 * 1024, 'x'), "\"");
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  absl::Time full_since = absl::InfiniteFuture();
  while (true) {
    auto call = StartCall(server, "stuck", "demo.S/Big", false, payload);
    const absl::Time now = absl::Now();
    if (!call->done.HasBeenNotified()) {
      in_flight.push_back(call);
      full_since = absl::InfiniteFuture();
      continue;
    }
    {
      MutexLock lock(&call->mu);
      ASSERT_EQ(call->code, absl::StatusCode::kResourceExhausted) << call->message;
      ASSERT_TRUE(absl::StrContains(call->message, "is full")) << call->message;
    }
    full_since = std::min(full_since, now);
    if (now - full_since >= absl::Milliseconds(200)) break;
    ASSERT_LT(now, give_up) << "the stuck client's writer never got stuck";
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_GT(in_flight.size(), 2u);
  ServerStats before = server.Stats();
  EXPECT_EQ(before.clients_cut_off, 0u);
  EXPECT_GE(before.open_connections, 3u);  // two streams, one answer connection

  const absl::Time start = absl::Now();
  server.Stop();
  const absl::Duration took = absl::Now() - start;
  std::printf("Stop() took %s with %zu calls in flight\n",
              absl::FormatDuration(took).c_str(), in_flight.size());
  EXPECT_LT(took, absl::Seconds(3));  // write_timeout is 20 s
  ExpectAllEndedUnavailableAndNothingOpen(server, in_flight);

  client.Stop(absl::ZeroDuration());
  ::close(fd);
}

}  // namespace
}  // namespace sserpc
