// The C++ APIs end to end: a real Server and real Clients on 127.0.0.1.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "gtest/gtest.h"
#include "proto/sync.h"
#include "server/server.h"

namespace sserpc {
namespace {

class EndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer({}); }

  void StartServer(ServerOptions options) {
    server_ = std::make_unique<Server>(options);
    absl::StatusOr<int> port = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
  }

  ClientOptions Options(const std::string& id) {
    ClientOptions o;
    o.server_url = absl::StrCat("http://127.0.0.1:", port_);
    o.client_id = id;
    o.reconnect_initial = absl::Milliseconds(20);
    return o;
  }

  std::unique_ptr<Client> Connect(std::unique_ptr<Client> client) {
    EXPECT_TRUE(client->Start().ok());
    EXPECT_TRUE(client->WaitUntilConnected(absl::Seconds(10)));
    return client;
  }

  std::unique_ptr<Server> server_;
  int port_ = 0;
};

Handler Echo() {
  return [](CallContext&, absl::string_view payload) {
    return absl::StatusOr<std::string>(std::string(payload));
  };
}

TEST_F(EndToEndTest, BlockingCallReturnsTheHandlersAnswer) {
  auto client = std::make_unique<Client>(Options("laptop"));
  ASSERT_TRUE(client->Register("demo.Greeter/SayHello",
                               [](CallContext& ctx, absl::string_view req) {
                                 return absl::StatusOr<std::string>(absl::StrCat(
                                     R"({"message":"hello from )", ctx.client_id(),
                                     R"(","request":)", req, "}"));
                               })
                  .ok());
  client = Connect(std::move(client));
  CallResult r = server_->Call("laptop", "demo.Greeter/SayHello", R"({"name":"Ada"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, R"({"message":"hello from laptop","request":{"name":"Ada"}})");
}

TEST_F(EndToEndTest, ConcurrentCallsAnsweredOutOfOrderReachTheirOwnCallers) {
  auto client = std::make_unique<Client>(Options("c"));
  ASSERT_TRUE(client->Register("demo.S/Delay", [](CallContext&, absl::string_view req) {
    int n = 0;
    EXPECT_TRUE(absl::SimpleAtoi(req, &n));
    absl::SleepFor(absl::Milliseconds((n * 7) % 23));  // finish out of order
    return absl::StatusOr<std::string>(absl::StrCat(n * 10));
  }).ok());
  client = Connect(std::move(client));
  constexpr int kCalls = 64;
  std::vector<CallResult> results(kCalls);
  std::vector<Notification> done(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    CallOptions o;
    o.timeout = absl::Seconds(20);
    server_->CallAsync("c", "demo.S/Delay", absl::StrCat(i), o,
                       [&, i](CallResult r) {
                         results[i] = std::move(r);
                         done[i].Notify();
                       });
  }
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(done[i].WaitForNotificationWithTimeout(absl::Seconds(20)));
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    EXPECT_EQ(*results[i], absl::StrCat(i * 10));
  }
}

TEST_F(EndToEndTest, UnknownMethodIsUnimplementedAndHandlerErrorsKeepTheirCode) {
  auto client = std::make_unique<Client>(Options("c"));
  ASSERT_TRUE(client->Register("demo.S/Fail", [](CallContext&, absl::string_view) {
    return absl::StatusOr<std::string>(absl::PermissionDeniedError("denied by user"));
  }).ok());
  client = Connect(std::move(client));
  CallResult missing = server_->Call("c", "demo.S/Nope", "{}");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnimplemented);
  CallResult failed = server_->Call("c", "demo.S/Fail", "{}");
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(failed.status().message(), "denied by user");
}

TEST_F(EndToEndTest, DeadlineEndsTheCallAndTheHandlerSeesIt) {
  Notification handler_saw_cancel;
  std::atomic<int> seen_code{-1};
  auto client = std::make_unique<Client>(Options("c"));
  ASSERT_TRUE(client->Register("demo.S/Slow", [&](CallContext& ctx, absl::string_view) {
    ctx.cancellation().WaitWithTimeout(absl::Seconds(20));
    seen_code = static_cast<int>(ctx.cancel_status().code());
    handler_saw_cancel.Notify();
    return absl::StatusOr<std::string>("{}");
  }).ok());
  client = Connect(std::move(client));
  CallOptions o;
  o.timeout = absl::Milliseconds(150);
  CallResult r = server_->Call("c", "demo.S/Slow", "{}", o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(handler_saw_cancel.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(seen_code, static_cast<int>(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(EndToEndTest, CancellingACallTellsTheRunningHandler) {
  Notification started, handler_saw_cancel;
  std::atomic<int> seen_code{-1};
  auto client = std::make_unique<Client>(Options("c"));
  ASSERT_TRUE(client->Register("demo.S/Slow", [&](CallContext& ctx, absl::string_view) {
    started.Notify();
    ctx.cancellation().WaitWithTimeout(absl::Seconds(20));
    seen_code = static_cast<int>(ctx.cancel_status().code());
    handler_saw_cancel.Notify();
    return absl::StatusOr<std::string>("{}");
  }).ok());
  client = Connect(std::move(client));
  CallOptions o;
  o.timeout = absl::Seconds(30);
  o.cancellation = std::make_shared<Cancellation>();
  std::thread canceller([&] {
    started.WaitForNotification();
    o.cancellation->Cancel(absl::CancelledError("user pressed stop"));
  });
  CallResult r = server_->Call("c", "demo.S/Slow", "{}", o);
  canceller.join();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(r.status().message(), "user pressed stop");
  ASSERT_TRUE(handler_saw_cancel.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(seen_code, static_cast<int>(absl::StatusCode::kCancelled));
}

TEST_F(EndToEndTest, SlowHandlerDoesNotBlockOtherCalls) {
  Notification release;
  auto client = std::make_unique<Client>(Options("c"));
  ASSERT_TRUE(client->Register("demo.S/Block", [&](CallContext&, absl::string_view) {
    release.WaitForNotificationWithTimeout(absl::Seconds(20));
    return absl::StatusOr<std::string>("\"unblocked\"");
  }).ok());
  ASSERT_TRUE(client->Register("demo.S/Echo", Echo()).ok());
  client = Connect(std::move(client));
  Notification blocked_done;
  CallResult blocked;
  CallOptions o;
  o.timeout = absl::Seconds(30);
  server_->CallAsync("c", "demo.S/Block", "{}", o, [&](CallResult r) {
    blocked = std::move(r);
    blocked_done.Notify();
  });
  CallResult quick = server_->Call("c", "demo.S/Echo", "[1,2]");
  ASSERT_TRUE(quick.ok());
  EXPECT_EQ(*quick, "[1,2]");
  EXPECT_FALSE(blocked_done.HasBeenNotified());
  release.Notify();
  ASSERT_TRUE(blocked_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(*blocked, "\"unblocked\"");
}

TEST_F(EndToEndTest, StreamThreadHandlerRunsWhileEveryWorkerIsBusy) {
  Notification started, release;
  ClientOptions options = Options("c");
  options.max_concurrent_calls = 1;
  options.max_queued_calls = 0;
  auto client = std::make_unique<Client>(options);
  ASSERT_TRUE(client->Register("demo.S/Block", [&](CallContext&, absl::string_view) {
    started.Notify();
    release.WaitForNotificationWithTimeout(absl::Seconds(20));
    return absl::StatusOr<std::string>("1");
  }).ok());
  HandlerOptions on_stream;
  on_stream.run_on_stream_thread = true;
  ASSERT_TRUE(client->Register("demo.S/Quick", Echo(), on_stream).ok());
  ASSERT_TRUE(client->Register("demo.S/Pooled", Echo()).ok());
  client = Connect(std::move(client));
  Notification blocked_done;
  CallOptions o;
  o.timeout = absl::Seconds(30);
  server_->CallAsync("c", "demo.S/Block", "{}", o,
                     [&](CallResult) { blocked_done.Notify(); });
  // The only worker is taken: a pooled call is refused...
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(server_->Call("c", "demo.S/Pooled", "0").status().code(),
            absl::StatusCode::kResourceExhausted);
  // ...while a stream-thread handler still answers.
  CallResult quick = server_->Call("c", "demo.S/Quick", "[7]");
  ASSERT_TRUE(quick.ok()) << quick.status();
  EXPECT_EQ(*quick, "[7]");
  release.Notify();
  ASSERT_TRUE(blocked_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST_F(EndToEndTest, ClientThatDisconnectsMidCallAndComesBackAnswersIt) {
  Notification first_started;
  auto first = std::make_unique<Client>(Options("c"));
  ASSERT_TRUE(first->Register("demo.S/Work", [&](CallContext& ctx, absl::string_view) {
    first_started.Notify();
    ctx.cancellation().WaitWithTimeout(absl::Seconds(20));
    return absl::StatusOr<std::string>(absl::UnavailableError("went away"));
  }).ok());
  first = Connect(std::move(first));
  Notification done;
  CallResult result;
  CallOptions o;
  o.timeout = absl::Seconds(30);
  server_->CallAsync("c", "demo.S/Work", R"({"job":7})", o, [&](CallResult r) {
    result = std::move(r);
    done.Notify();
  });
  ASSERT_TRUE(first_started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  first->Stop(absl::ZeroDuration());  // drops the stream, answer not sent
  first.reset();
  EXPECT_FALSE(done.HasBeenNotified());

  // The same client id comes back (a new process) within the grace period.
  auto second = std::make_unique<Client>(Options("c"));
  ASSERT_TRUE(second->Register("demo.S/Work", [](CallContext&, absl::string_view req) {
    return absl::StatusOr<std::string>(absl::StrCat(R"({"redone":)", req, "}"));
  }).ok());
  second = Connect(std::move(second));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // Either the first client's drained answer or the second's: never both,
  // never a hang. With a zero drain the first sends nothing.
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, R"({"redone":{"job":7}})");
}

TEST_F(EndToEndTest, FailFastCallToUnknownClientIsUnavailableAndWaitingCallSucceeds) {
  CallResult fast = server_->Call("ghost", "demo.S/Echo", "{}");
  EXPECT_EQ(fast.status().code(), absl::StatusCode::kUnavailable);

  Notification done;
  CallResult waited;
  CallOptions o;
  o.timeout = absl::Seconds(20);
  o.wait_for_client = true;
  server_->CallAsync("ghost", "demo.S/Echo", R"({"x":1})", o, [&](CallResult r) {
    waited = std::move(r);
    done.Notify();
  });
  auto client = std::make_unique<Client>(Options("ghost"));
  ASSERT_TRUE(client->Register("demo.S/Echo", Echo()).ok());
  client = Connect(std::move(client));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_EQ(*waited, R"({"x":1})");
}

TEST_F(EndToEndTest, ClientReconnectsAfterServerRestartOnTheSamePort) {
  auto client = std::make_unique<Client>(Options("c"));
  ASSERT_TRUE(client->Register("demo.S/Echo", Echo()).ok());
  client = Connect(std::move(client));
  const int port = port_;
  server_->Stop();
  server_.reset();
  server_ = std::make_unique<Server>();
  absl::StatusOr<int> again = server_->Start("127.0.0.1", port);
  ASSERT_TRUE(again.ok()) << again.status();
  CallResult r;
  for (int i = 0; i < 1000; ++i) {
    r = server_->Call("c", "demo.S/Echo", "7");
    if (r.ok()) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "7");
}

TEST_F(EndToEndTest, EveryCallEndsExactlyOnceUnderMixedOutcomes) {
  auto client = std::make_unique<Client>(Options("c"));
  ASSERT_TRUE(client->Register("demo.S/Mixed", [](CallContext& ctx, absl::string_view req) {
    int n = 0;
    if (!absl::SimpleAtoi(req, &n)) {
      return absl::StatusOr<std::string>(absl::InvalidArgumentError("not a number"));
    }
    if (n % 4 == 0) return absl::StatusOr<std::string>(absl::AbortedError("no"));
    if (n % 4 == 1) ctx.cancellation().WaitWithTimeout(absl::Seconds(5));
    return absl::StatusOr<std::string>(std::string(req));
  }).ok());
  client = Connect(std::move(client));
  constexpr int kCalls = 200;
  std::atomic<int> completions{0};
  std::vector<std::atomic<int>> per_call(kCalls);
  std::vector<std::string> ids(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    CallOptions o;
    o.timeout = i % 4 == 1 ? absl::Milliseconds(50) : absl::Seconds(20);
    ids[i] = server_->CallAsync("c", "demo.S/Mixed", absl::StrCat(i), o,
                                [&, i](CallResult) {
                                  per_call[i]++;
                                  completions++;
                                });
    if (i % 4 == 3) server_->Cancel(ids[i]);
  }
  for (int i = 0; i < 2000 && completions < kCalls; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(completions, kCalls);
  for (int i = 0; i < kCalls; ++i) EXPECT_EQ(per_call[i], 1) << i;
}

// The client's TCP sockets connected to `port` in this process (the
// server's own sockets have `port` as their local port, not as their peer's).
std::vector<int> SocketsConnectedTo(int port) {
  std::vector<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  while (dirent* e = readdir(dir)) {
    const int fd = std::atoi(e->d_name);
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    if (fd <= 2 || getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) {
      continue;
    }
    if (peer.sin_family == AF_INET && ntohs(peer.sin_port) == port) {
      fds.push_back(fd);
    }
  }
  closedir(dir);
  return fds;
}

// 1 when the socket acknowledges every read at once (Linux's quick-ACK
// mode), 0 when it delays acknowledgements.
int QuickAck(int fd) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &v, &len), 0);
  return v;
}

TEST_F(EndToEndTest, StreamSocketDelaysItsAcknowledgementsAndAsksAgainAfterALull) {
  auto client = std::make_unique<Client>(Options("acks"));
  ASSERT_TRUE(client->Register("demo.S/Echo", Echo()).ok());
  client = Connect(std::move(client));
  // No call yet, so no answer connection: the one socket is the stream's.
  std::vector<int> fds = SocketsConnectedTo(port_);
  ASSERT_EQ(fds.size(), 1u);
  const int stream_fd = fds[0];
  // Asked when the stream opened. (The kernel's delayed-ACK timer, which
  // would end it, fires 40 ms or more after the last event read.)
  EXPECT_EQ(QuickAck(stream_fd), 0);
  // What the kernel does when that timer fires in a quiet moment (whether
  // it fires depends on whether an acknowledgement was pending then, so
  // the test does it itself):
  const int one = 1;
  ASSERT_EQ(setsockopt(stream_fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one), 0);
  ASSERT_EQ(QuickAck(stream_fd), 1);
  // The client asks again at most every 100 ms; the first event read after
  // that asks for delayed acknowledgements again.
  absl::SleepFor(absl::Milliseconds(150));
  ASSERT_TRUE(server_->Call("acks", "demo.S/Echo", "2").ok());
  EXPECT_EQ(QuickAck(stream_fd), 0);
}

}  // namespace
}  // namespace sserpc
