// The answer POST's fast path (server/replies_fast_path.h): its head parser,
// and GuardedServer with a stand-in endpoint, so that every status the
// endpoint can answer and httplib's keep-alive count can be compared with
// what httplib itself writes for the same answers.
#include "server/replies_fast_path.h"

#include <atomic>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "proto/envelope.h"
#include "server/connection_threads.h"
#include "server/options.h"

namespace sserpc::server_internal {
namespace {

TEST(ParseRepliesRequestLine, TakesOnlyThePlainForm) {
  absl::string_view id;
  EXPECT_TRUE(ParseRepliesRequestLine(
      "POST /sserpc/v1/clients/a.B_c-9/replies HTTP/1.1\r\n", &id));
  EXPECT_EQ(id, "a.B_c-9");
  for (const char* line : {
           "POST /sserpc/v1/clients/a/replies HTTP/1.0\r\n",
           "POST /sserpc/v1/clients/a/replies HTTP/1.1\n",
           "POST /sserpc/v1/clients/a/replies  HTTP/1.1\r\n",
           "POST /sserpc/v1/clients//replies HTTP/1.1\r\n",
           "POST /sserpc/v1/clients/a%31/replies HTTP/1.1\r\n",
           "POST /sserpc/v1/clients/a/replies?x=1 HTTP/1.1\r\n",
           "POST /sserpc/v1/clients/a/b/replies HTTP/1.1\r\n",
           "post /sserpc/v1/clients/a/replies HTTP/1.1\r\n",
           "GET /sserpc/v1/clients/a/replies HTTP/1.1\r\n",
       }) {
    EXPECT_FALSE(ParseRepliesRequestLine(line, &id)) << line;
  }
  EXPECT_FALSE(ParseRepliesRequestLine(
      absl::StrCat("POST /sserpc/v1/clients/", std::string(129, 'a'),
                   "/replies HTTP/1.1\r\n"),
      &id));
}

TEST(ParseRepliesHeaders, ReadsTheFieldsHttplibWould) {
  RepliesHead h;
  ASSERT_TRUE(ParseRepliesHeaders(
      "Host: x\r\ncontent-length:  12 \r\nAUTHORIZATION: Bearer t\t\r\n"
      "Content-Type: application/json\r\nConnection: close\r\n"
      "Content-Length: 99\r\nConnection: keep-alive\r\n\r\n",
      &h));
  EXPECT_EQ(h.content_length, 12u);
  EXPECT_EQ(h.authorization, "Bearer t");
  EXPECT_EQ(h.content_type, "application/json");
  EXPECT_EQ(h.connection, "close");
}

TEST(ParseRepliesHeaders, LeavesOtherShapesToHttplib) {
  RepliesHead h;
  for (const char* fields : {
           "Host: x\r\n\r\n",                                    // no length
           "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
           "Content-Length: 1\r\nExpect: 100-continue\r\n\r\n",
           "Content-Length: 1\r\nContent-Encoding: gzip\r\n\r\n",
           "Content-Length: 1\r\nAccept-Encoding: gzip\r\n\r\n",
           "Content-Length: 1\r\nRange: bytes=0-1\r\n\r\n",
           "Content-Length: +1\r\n\r\n",
           "Content-Length: 1x\r\n\r\n",
           "Content-Length: 99999999999999999999\r\n\r\n",
           "Content-Length: 1\r\nAuthorization: Bearer a%41\r\n\r\n",
           "Content-Length: 1\r\nContent-Type: multipart/form-data; b=x\r\n\r\n",
           "Content-Length: 1\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n",
           "Content-Length: 1\r\nX-Empty:\r\n\r\n",
           "Content-Length: 1\r\nNo colon\r\n\r\n",
           "Content-Length: 1\r\nBad name: x\r\n\r\n",
           "Content-Length: 1\r\n folded: x\r\n\r\n",
           "Content-Length: 1\r\nX: a\nY: b\r\n\r\n",
           "Content-Length: 1\r\nX: a\x01\r\n\r\n",
           "Content-Length: 1\r\n\r\nextra",
       }) {
    EXPECT_FALSE(ParseRepliesHeaders(fields, &h)) << fields;
  }
}

// Answers with the status its body names, as HttpService's would.
class StandInEndpoint final : public RepliesEndpoint {
 public:
  RepliesAnswer AnswerReplies(absl::string_view, absl::string_view,
                              absl::string_view, absl::string_view body) override {
    if (in_batch_) answered_in_batch_.fetch_add(1);
    RepliesAnswer a;
    EXPECT_TRUE(absl::SimpleAtoi(body, &a.status)) << body;
    if (a.status != 204) {
      a.content_type = "application/json";
      a.body = absl::StrCat("{\"status\":", a.status, "}");
    }
    a.www_authenticate = a.status == 401;
    return a;
  }
  RepliesAnswer HttplibError(int status) override {
    RepliesAnswer a;
    a.status = status;
    a.content_type = "application/json";
    a.body = ErrorBody(absl::InternalError("httplib refused"));
    return a;
  }
  void ServeInWriteBatch(absl::FunctionRef<void()> serve) override {
    in_batch_ = true;  // one connection at a time in these tests
    serve();
    in_batch_ = false;
  }
  int answered_in_batch() const { return answered_in_batch_.load(); }

 private:
  std::atomic<bool> in_batch_{false};
  std::atomic<int> answered_in_batch_{0};
};

class GuardedRepliesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.set_replies_endpoint(&endpoint_);
    server_.set_tcp_nodelay(true);
    server_.set_keep_alive_max_count(3);
    // What HttpService's handler and error handler do with an answer.
    server_.Post(R"(/sserpc/v1/clients/([^/]*)/replies)",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   RepliesAnswer a = endpoint_.AnswerReplies(
                       req.matches[1].str(), "", "", req.body);
                   res.status = a.status;
                   if (a.www_authenticate) {
                     res.set_header("WWW-Authenticate", "Bearer");
                   }
                   if (!a.content_type.empty()) {
                     res.set_content(a.body, std::string(a.content_type));
                   }
                 });
    server_.set_error_handler([this](const httplib::Request&, httplib::Response& res) {
      if (res.body.empty()) {
        res.set_content(endpoint_.HttplibError(res.status).body,
                        "application/json");
      }
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    server_.PrepareLimits();
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  }

  void TearDown() override {
    SetRepliesFastPathEnabled(true);
    server_.stop();
    thread_.join();
    server_.CloseConnections();
  }

  // Sends `request` on a new connection and reads until the server closes
  // or is quiet for 300 ms.
  std::string Exchange(const std::string& request) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::string out;
    char buf[4096];
    while (true) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 300) <= 0) {
        out += "<open>";
        break;
      }
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) {
        out += "<closed>";
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    return out;
  }

  // httplib's bytes, then the fast path's; they must be equal.
  std::string Compare(const std::string& request, uint64_t fast_served) {
    SetRepliesFastPathEnabled(false);
    uint64_t before = RepliesFastPathServed();
    const std::string httplib = Exchange(request);
    EXPECT_EQ(RepliesFastPathServed(), before);
    SetRepliesFastPathEnabled(true);
    before = RepliesFastPathServed();
    const std::string fast = Exchange(request);
    EXPECT_EQ(RepliesFastPathServed() - before, fast_served);
    EXPECT_EQ(fast, httplib);
    return fast;
  }

  static std::string Post(const std::string& body, const std::string& extra = "") {
    return absl::StrCat("POST /sserpc/v1/clients/c1/replies HTTP/1.1\r\n",
                        "Content-Length: ", body.size(), "\r\n", extra, "\r\n",
                        body);
  }

  ServerOptions options_;
  GuardedServer server_{options_};
  StandInEndpoint endpoint_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(GuardedRepliesTest, EveryStatusIsWrittenAsHttplibWritesIt) {
  for (int status : {200, 204, 400, 401, 403, 404, 409, 413, 429, 499, 500,
                     501, 503, 504}) {
    SCOPED_TRACE(status);
    const std::string out = Compare(Post(absl::StrCat(status)), 1);
    EXPECT_EQ(out.rfind(absl::StrCat("HTTP/1.1 ", status, " "), 0), 0u) << out;
  }
}

TEST_F(GuardedRepliesTest, FastPathAnswersInsideAWriteBatch) {
  // So the stream events its answers cause go out after its response.
  Compare(Post("204") + Post("404"), 2);
  EXPECT_EQ(endpoint_.answered_in_batch(), 2);  // not httplib's two
}

TEST_F(GuardedRepliesTest, LastRequestOfTheKeepAliveCountClosesTheConnection) {
  const std::string out =
      Compare(Post("204") + Post("404") + Post("200") + Post("204"), 3);
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Keep-Alive: timeout=5, max=3\r\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 8), "<closed>");
}

TEST_F(GuardedRepliesTest, ConnectionCloseAndOtherValues) {
  Compare(Post("204", "Connection: Close\r\n") + Post("204", "Connection: close\r\n") +
              Post("204"),
          2);
}

TEST_F(GuardedRepliesTest, BodyOverTheLimitIsSkippedAnd413) {
  options_.max_body_bytes = 10;
  server_.set_payload_max_length(10);
  Compare(Post(std::string(20, '1')) + Post("204"), 2);
}

}  // namespace
}  // namespace sserpc::server_internal
