// Answer POSTs that fail in transport are retried, and the retries are
// harmless: a real sserpc::Client talks to a real sserpc::Server through a
// TCP proxy (tests/testing/tcp_proxy.h) that cuts answer connections mid-way,
// drops the server's response to an answer it has processed, or holds an
// answer back until its call is over. Every call ends exactly once, and the
// server counts an answer once (a second delivery is a 404 and counts
// nowhere).
#include <dirent.h>

#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "gtest/gtest.h"
#include "proto/sync.h"
#include "server/server.h"
#include "tests/testing/tcp_proxy.h"

namespace sserpc {
namespace {

using ::sserpc::testing::TcpProxy;
using Action = TcpProxy::Action;
using Records = std::vector<TcpProxy::Record>;

constexpr char kMethod[] = "demo.Answers/Echo";

// How one call ended, and how many times.
struct Outcome {
  Mutex mu;
  int completions ABSL_GUARDED_BY(mu) = 0;
  CallResult result ABSL_GUARDED_BY(mu);
  Notification done;

  CallCallback Callback(std::shared_ptr<Outcome> self) {
    return [self](CallResult r) {
      {
        MutexLock lock(&self->mu);
        ++self->completions;
        self->result = std::move(r);
      }
      if (!self->done.HasBeenNotified()) self->done.Notify();
    };
  }
  int completions_now() {
    MutexLock lock(&mu);
    return completions;
  }
  CallResult result_now() {
    MutexLock lock(&mu);
    return result;
  }
};

// Polls `done` (a condition on counters that have no wait of their own)
// until it holds or `timeout` passes.
template <typename F>
bool Eventually(F done, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time until = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= until) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

class AnswerFaultTest : public ::testing::Test {
 protected:
  // Starts the server, the proxy in front of it with `policy`, and a client
  // "c1" connected through the proxy whose handler answers with `handler`.
  void Start(TcpProxy::Policy policy, Handler handler) {
    server_ = std::make_unique<Server>();
    absl::StatusOr<int> port = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    server_port_ = *port;
    proxy_ = std::make_unique<TcpProxy>(server_port_, std::move(policy));
    ClientOptions o;
    o.server_url = absl::StrCat("http://127.0.0.1:", proxy_->port());
    o.client_id = "c1";
    o.reply_timeout = absl::Seconds(5);
    client_ = std::make_unique<Client>(o);
    ASSERT_TRUE(client_->Register(kMethod, std::move(handler)).ok());
    ASSERT_TRUE(client_->Start().ok());
    ASSERT_TRUE(client_->WaitUntilConnected(absl::Seconds(10)));
  }

  std::shared_ptr<Outcome> Call(const std::string& payload,
                                absl::Duration timeout) {
    auto outcome = std::make_shared<Outcome>();
    CallOptions options;
    options.timeout = timeout;
    call_id_ = server_->CallAsync("c1", kMethod, payload, options,
                                  outcome->Callback(outcome));
    EXPECT_FALSE(call_id_.empty());
    return outcome;
  }

  static Handler Echo() {
    return [](CallContext&, absl::string_view req) {
      return absl::StatusOr<std::string>(absl::StrCat(R"({"echo":)", req, "}"));
    };
  }

  void SetUp() override { fds_before_ = OpenFds(); }

  // Ends the client first (its answer sender drains), then the proxy and the
  // server. Every socket of the three is closed by then: the proxy's own
  // threads and sockets included.
  void TearDown() override {
    if (client_ != nullptr) client_->Stop(absl::Seconds(2));
    client_.reset();
    proxy_.reset();
    server_.reset();
    EXPECT_EQ(OpenFds(), fds_before_) << "sockets left open";
  }

  // Open file descriptors of this process.
  static int OpenFds() {
    int n = 0;
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) return -1;
    while (readdir(dir) != nullptr) ++n;
    closedir(dir);
    return n;
  }

  std::unique_ptr<Server> server_;
  int server_port_ = 0;
  std::unique_ptr<TcpProxy> proxy_;
  std::unique_ptr<Client> client_;
  std::string call_id_;
  std::atomic<int> reply_connections_{0};  // seen by the proxy's policy
  int fds_before_ = 0;
};

// (a) The first two answer connections are cut mid-request (the server sees
// a partial request and a reset, the client a reset): the answer still gets
// through on the third, and is counted once.
TEST_F(AnswerFaultTest, AnswerCutMidRequestIsRetriedAndArrivesOnce) {
  Start(
      [this](const TcpProxy::Connection& c) {
        if (!c.reply_post) return Action::kForward;
        return reply_connections_.fetch_add(1) < 2 ? Action::kCutRequest
                                                  : Action::kForward;
      },
      Echo());
  auto outcome = Call(R"({"n":42})", absl::Seconds(8));
  ASSERT_TRUE(outcome->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  CallResult result = outcome->result_now();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, R"({"echo":{"n":42}})");

  // The third answer connection carried the accepted answer (204), and the
  // client has counted it.
  ASSERT_TRUE(proxy_->WaitFor([](const Records& all) {
    Records posts = TcpProxy::ReplyPosts(all);
    return posts.size() >= 3 && !posts[2].statuses.empty();
  })) << "the answer never got through the third connection";
  ASSERT_TRUE(Eventually([&] { return client_->stats().answers_sent == 1; }));
  Records posts = TcpProxy::ReplyPosts(proxy_->records());
  ASSERT_EQ(posts.size(), 3u);
  EXPECT_EQ(posts[0].action, Action::kCutRequest);
  EXPECT_EQ(posts[1].action, Action::kCutRequest);
  EXPECT_TRUE(posts[0].statuses.empty());
  EXPECT_TRUE(posts[1].statuses.empty());
  EXPECT_EQ(posts[2].statuses, std::vector<int>{204});

  Client::Stats cs = client_->stats();
  EXPECT_GE(cs.answer_retries, 2u);
  EXPECT_EQ(cs.answer_posts, 3u);
  EXPECT_EQ(cs.answers_sent, 1u);
  ServerStats ss = server_->Stats();
  EXPECT_EQ(ss.calls_started, 1u);
  EXPECT_EQ(ss.calls_answered, 1u);
  EXPECT_EQ(ss.calls_failed, 0u);
  EXPECT_EQ(ss.pending_calls, 0u);
  EXPECT_EQ(outcome->completions_now(), 1);
}

// (b) The server processes the answer, but its response never reaches the
// client (the proxy resets the connection instead of relaying the 204). The
// client cannot know and retries; the retry is refused with 404 (the call is
// over) and changes nothing: the caller got the answer once.
TEST_F(AnswerFaultTest, AnswerWhoseResponseIsLostIsRetriedAndRefusedHarmlessly) {
  Start(
      [this](const TcpProxy::Connection& c) {
        if (!c.reply_post) return Action::kForward;
        return reply_connections_.fetch_add(1) == 0 ? Action::kDropResponse
                                                   : Action::kForward;
      },
      Echo());
  auto outcome = Call(R"({"n":7})", absl::Seconds(8));
  ASSERT_TRUE(outcome->done.WaitForNotificationWithTimeout(absl::Seconds(10)));

  // The first connection's 204 was dropped, the retry got a 404. The
  // server's reply handler completes a call before it responds, so a second
  // completion would already have happened by the time the 404 is seen.
  ASSERT_TRUE(proxy_->WaitFor([](const Records& all) {
    Records posts = TcpProxy::ReplyPosts(all);
    return posts.size() >= 2 && !posts[1].statuses.empty();
  })) << "the client did not retry the answer whose response was lost";
  ASSERT_TRUE(Eventually([&] { return client_->stats().answer_posts >= 2; }));
  Records posts = TcpProxy::ReplyPosts(proxy_->records());
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].action, Action::kDropResponse);
  EXPECT_EQ(posts[0].statuses, std::vector<int>{204});
  EXPECT_EQ(posts[1].statuses, std::vector<int>{404});

  EXPECT_EQ(outcome->completions_now(), 1);
  CallResult result = outcome->result_now();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, R"({"echo":{"n":7}})");
  Client::Stats cs = client_->stats();
  EXPECT_GE(cs.answer_retries, 1u);
  EXPECT_EQ(cs.answer_posts, 2u);
  EXPECT_EQ(cs.answers_sent, 0u);  // it never saw the 204, and the 404 is a refusal
  ServerStats ss = server_->Stats();
  EXPECT_EQ(ss.calls_started, 1u);
  EXPECT_EQ(ss.calls_answered, 1u);
  EXPECT_EQ(ss.calls_failed, 0u);
  EXPECT_EQ(ss.pending_calls, 0u);
  std::vector<ClientInfo> clients = server_->Clients();
  ASSERT_EQ(clients.size(), 1u);
  EXPECT_EQ(clients[0].calls_answered, 1u);
  EXPECT_EQ(clients[0].calls_failed, 0u);
}

// (c) An answer that reaches the server after the call's deadline: the
// handler answered in time, but the proxy holds the POST until the caller
// has its DEADLINE_EXCEEDED. The late answer is refused with 404, is not
// retried, and is counted nowhere as an answer.
TEST_F(AnswerFaultTest, AnswerArrivingAfterTheDeadlineIsRefused404) {
  auto outcome = std::make_shared<Outcome>();
  Start(
      [outcome](const TcpProxy::Connection& c) {
        if (c.reply_post) {
          // Bounded: a call that never ends fails the test below anyway.
          outcome->done.WaitForNotificationWithTimeout(absl::Seconds(10));
        }
        return Action::kForward;
      },
      Echo());
  CallOptions options;
  options.timeout = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  call_id_ = server_->CallAsync("c1", kMethod, R"({"n":1})", options,
                                outcome->Callback(outcome));
  ASSERT_FALSE(call_id_.empty());
  ASSERT_TRUE(outcome->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_EQ(outcome->result_now().status().code(),
            absl::StatusCode::kDeadlineExceeded)
      << outcome->result_now().status();

  ASSERT_TRUE(proxy_->WaitFor([](const Records& all) {
    Records posts = TcpProxy::ReplyPosts(all);
    return !posts.empty() && !posts[0].statuses.empty();
  })) << "the held answer never reached the server";
  ASSERT_TRUE(Eventually([&] { return client_->stats().answer_posts >= 1; }));
  Records posts = TcpProxy::ReplyPosts(proxy_->records());
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].statuses, std::vector<int>{404});

  EXPECT_EQ(outcome->completions_now(), 1);
  Client::Stats cs = client_->stats();
  EXPECT_EQ(cs.answer_posts, 1u);
  EXPECT_EQ(cs.answer_retries, 0u);  // a 404 is final
  EXPECT_EQ(cs.answers_sent, 0u);
  ServerStats ss = server_->Stats();
  EXPECT_EQ(ss.calls_started, 1u);
  EXPECT_EQ(ss.calls_answered, 0u);
  EXPECT_EQ(ss.calls_failed, 1u);
  EXPECT_EQ(ss.pending_calls, 0u);
  std::vector<ClientInfo> clients = server_->Clients();
  ASSERT_EQ(clients.size(), 1u);
  EXPECT_EQ(clients[0].calls_answered, 0u);
  EXPECT_EQ(clients[0].calls_failed, 1u);
}

// (c') A handler that really answers after the call's deadline (it ignores
// its context's cancellation). Whatever the client does with that answer
// (the C++ client drops it; a client in another language might post it),
// the caller has DEADLINE_EXCEEDED exactly once, a late POST of the answer
// is refused with 404, and nothing counts it as an answer.
TEST_F(AnswerFaultTest, HandlerAnsweringAfterTheDeadlineChangesNothing) {
  auto outcome = std::make_shared<Outcome>();
  std::atomic<bool> handler_returned{false};
  Start([](const TcpProxy::Connection&) { return Action::kForward; },
        [outcome, &handler_returned](CallContext&, absl::string_view) {
          // Answers once the caller has its outcome, deadline or not.
          outcome->done.WaitForNotificationWithTimeout(absl::Seconds(10));
          handler_returned = true;
          return absl::StatusOr<std::string>(R"({"late":true})");
        });
  CallOptions options;
  options.timeout = absl::Milliseconds(200);
  call_id_ = server_->CallAsync("c1", kMethod, "{}", options,
                                outcome->Callback(outcome));
  ASSERT_FALSE(call_id_.empty());
  ASSERT_TRUE(outcome->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(outcome->result_now().status().code(),
            absl::StatusCode::kDeadlineExceeded)
      << outcome->result_now().status();
  // Stop() waits for the handler and drains the answer sender: whatever the
  // client was going to post has been posted when it returns.
  client_->Stop(absl::Seconds(2));
  EXPECT_TRUE(handler_returned);
  for (const TcpProxy::Record& post : TcpProxy::ReplyPosts(proxy_->records())) {
    for (int status : post.statuses) EXPECT_EQ(status, 404);
  }
  EXPECT_EQ(client_->stats().answers_sent, 0u);

  // The same late answer posted by hand, as any client could.
  httplib::Client http("127.0.0.1", server_port_);
  auto late = http.Post(
      "/sserpc/v1/clients/c1/replies",
      absl::StrCat(R"({"call_id":")", call_id_, R"(","payload":{"late":true}})"),
      "application/json");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 404) << late->body;

  EXPECT_EQ(outcome->completions_now(), 1);
  ServerStats ss = server_->Stats();
  EXPECT_EQ(ss.calls_started, 1u);
  EXPECT_EQ(ss.calls_answered, 0u);
  EXPECT_EQ(ss.calls_failed, 1u);
  EXPECT_EQ(ss.pending_calls, 0u);
}

}  // namespace
}  // namespace sserpc
