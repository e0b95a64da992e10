// HttpConnection (the answer sender's HTTP/1.1 client) against a real
// cpp-httplib server, and against a raw socket server in the test for what
// cpp-httplib's server never does (chunked and interim responses, partial
// writes, malformed or oversized responses, silence). Everything is on
// loopback with ephemeral ports; waits are notifications with timeouts.

#include "client/http_connection.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "proto/sync.h"

namespace sserpc::client_internal {
namespace {

constexpr absl::Duration kWait = absl::Seconds(10);
constexpr size_t kMaxBody = 4 << 20;

std::unique_ptr<HttpConnection> Connection(int port,
                                           std::string host = "127.0.0.1",
                                           std::string token = "",
                                           absl::Duration io_timeout = kWait,
                                           size_t max_body = kMaxBody) {
  return std::make_unique<HttpConnection>(
      std::move(host), port, std::move(token), kWait, io_timeout, max_body);
}

// ---------------------------------------------------------------------------
// cpp-httplib's server, recording what each POST carried.

struct Seen {
  std::string method;
  std::string path;
  std::string host;
  std::string content_type;
  std::string content_length;
  bool has_authorization = false;
  std::string authorization;
  std::string body;
  int remote_port = 0;
};

class HttplibServer {
 public:
  using Respond =
      std::function<void(const httplib::Request&, httplib::Response&)>;

  // `port` 0: any free port. `host` "::1" for IPv6 loopback.
  explicit HttplibServer(Respond respond, int port = 0,
                         std::string host = "127.0.0.1")
      : respond_(std::move(respond)) {
    // Bounds Stop() when a connection is left open.
    svr_.set_keep_alive_timeout(1);
    svr_.Post(".*",
              [this](const httplib::Request& req, httplib::Response& res) {
                Seen s;
                s.method = req.method;
                s.path = req.path;
                s.host = req.get_header_value("Host");
                s.content_type = req.get_header_value("Content-Type");
                s.content_length = req.get_header_value("Content-Length");
                s.has_authorization = req.has_header("Authorization");
                s.authorization = req.get_header_value("Authorization");
                s.body = req.body;
                s.remote_port = req.remote_port;
                {
                  MutexLock lock(&mu_);
                  seen_.push_back(std::move(s));
                }
                respond_(req, res);
              });
    svr_.Get("/ready", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ready", "text/plain");
    });
    if (port == 0) {
      port_ = svr_.bind_to_any_port(host);
      bound_ = port_ > 0;
    } else {
      port_ = port;
      bound_ = svr_.bind_to_port(host, port);
    }
    if (!bound_) return;
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    // Answered once the accept loop runs, so that Stop() finds the server
    // running (stop() before that is ignored and the thread never ends).
    const std::string base = host.find(':') == std::string::npos
                                 ? host
                                 : absl::StrCat("[", host, "]");
    httplib::Client ready(absl::StrCat("http://", base, ":", port_));
    ready.set_connection_timeout(10);
    auto res = ready.Get("/ready");
    ready_ = res && res->status == 200;
  }

  ~HttplibServer() { Stop(); }

  // Returns once every connection the server had is closed.
  void Stop() {
    if (!thread_.joinable()) return;
    svr_.stop();
    thread_.join();
  }

  bool ok() const { return bound_ && ready_; }
  int port() const { return port_; }

  std::vector<Seen> seen() {
    MutexLock lock(&mu_);
    return seen_;
  }

 private:
  Respond respond_;
  httplib::Server svr_;
  int port_ = 0;
  bool bound_ = false;
  bool ready_ = false;
  std::thread thread_;
  Mutex mu_;
  std::vector<Seen> seen_ ABSL_GUARDED_BY(mu_);
};

void RespondOk(const httplib::Request&, httplib::Response& res) {
  res.set_content(R"({"ok":true})", "application/json");
}

TEST(HttpConnectionHttplibTest, PostCarriesBodyAndHeaders) {
  HttplibServer server(RespondOk);
  ASSERT_TRUE(server.ok());
  auto http = Connection(server.port());
  absl::StatusOr<HttpResponse> r =
      http->Post("/sserpc/v1/clients/c1/replies", "application/json",
                 R"({"call_id":"a","payload":{}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"ok":true})");
  EXPECT_EQ(r->content_type, "application/json");

  std::vector<Seen> seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].path, "/sserpc/v1/clients/c1/replies");
  EXPECT_EQ(seen[0].host, absl::StrCat("127.0.0.1:", server.port()));
  EXPECT_EQ(seen[0].content_type, "application/json");
  EXPECT_EQ(seen[0].content_length, "28");
  EXPECT_EQ(seen[0].body, R"({"call_id":"a","payload":{}})");
  EXPECT_FALSE(seen[0].has_authorization);
}

TEST(HttpConnectionHttplibTest, ContentTypeIsTheCallersAndBodiesMayBeBinary) {
  HttplibServer server([](const httplib::Request&, httplib::Response& res) {
    res.status = 204;
  });
  ASSERT_TRUE(server.ok());
  auto http = Connection(server.port());
  const std::string binary("\x0a\x00\xff\r\n\r\n", 7);
  absl::StatusOr<HttpResponse> r =
      http->Post("/p", "application/x-protobuf", binary);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->body, "");
  std::vector<Seen> seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].content_type, "application/x-protobuf");
  EXPECT_EQ(seen[0].body, binary);
}

TEST(HttpConnectionHttplibTest, SendsTheBearerToken) {
  HttplibServer server(RespondOk);
  ASSERT_TRUE(server.ok());
  auto http = Connection(server.port(), "127.0.0.1", "s3cret-token");
  ASSERT_TRUE(http->Post("/p", "application/json", "{}").ok());
  std::vector<Seen> seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].has_authorization);
  EXPECT_EQ(seen[0].authorization, "Bearer s3cret-token");
}

TEST(HttpConnectionHttplibTest, ConsecutivePostsShareOneConnection) {
  HttplibServer server(RespondOk);
  ASSERT_TRUE(server.ok());
  auto http = Connection(server.port());
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<HttpResponse> r =
        http->Post("/p", "application/json", absl::StrCat("[", i, "]"));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(http->connected());
  }
  std::vector<Seen> seen = server.seen();
  ASSERT_EQ(seen.size(), 3u);
  // The same client port: the same TCP connection.
  EXPECT_EQ(seen[1].remote_port, seen[0].remote_port);
  EXPECT_EQ(seen[2].remote_port, seen[0].remote_port);
  EXPECT_EQ(seen[2].body, "[2]");
  EXPECT_EQ(http->connects(), 1u);
}

TEST(HttpConnectionHttplibTest, IdleConnectionClosedByTheServerIsReopened) {
  auto first = std::make_unique<HttplibServer>(RespondOk);
  ASSERT_TRUE(first->ok());
  const int port = first->port();
  auto http = Connection(port);
  ASSERT_TRUE(http->Post("/p", "application/json", "1").ok());
  ASSERT_TRUE(http->connected());
  // Stop() returns once the server has closed our idle connection; a new
  // server takes the port.
  first->Stop();
  HttplibServer second(RespondOk, port);
  ASSERT_TRUE(second.ok()) << "port " << port << " taken meanwhile";

  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "2");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  std::vector<Seen> seen = second.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, "2");
  EXPECT_EQ(http->connects(), 2u);
  // The close was seen before sending (the idle check): no resend needed.
  EXPECT_EQ(http->resends(), 0u);
}

TEST(HttpConnectionHttplibTest, LargeBodiesBothWays) {
  HttplibServer server([](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.body, "application/octet-stream");
  });
  ASSERT_TRUE(server.ok());
  auto http = Connection(server.port());
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4093)
    big[i] = static_cast<char>('a' + i % 26);
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", big);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body == big) << "echoed " << r->body.size() << " bytes";
  // And the connection is still in step.
  r = http->Post("/p", "application/json", "small");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "small");
  EXPECT_EQ(http->connects(), 1u);
}

TEST(HttpConnectionHttplibTest, LocalhostByName) {
  HttplibServer server(RespondOk);
  ASSERT_TRUE(server.ok());
  // "localhost" may resolve to ::1 first, where nobody listens: the next
  // address is tried.
  auto http = Connection(server.port(), "localhost");
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server.seen().at(0).host,
            absl::StrCat("localhost:", server.port()));
}

TEST(HttpConnectionHttplibTest, BracketedIpv6Literal) {
  HttplibServer server(RespondOk, 0, "::1");
  if (!server.ok()) GTEST_SKIP() << "no IPv6 loopback here";
  auto http = Connection(server.port(), "[::1]");
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server.seen().at(0).host, absl::StrCat("[::1]:", server.port()));
}

// ---------------------------------------------------------------------------
// A raw socket server: one connection at a time, each handed to a script.

class RawConnection {
 public:
  explicit RawConnection(int fd) : fd_(fd) {}

  // Reads through the blank line ending a request head; false if the peer
  // closed (or the 10 s receive timeout passed) first.
  bool ReadHead(std::string* head) {
    while (true) {
      size_t end = pending_.find("\r\n\r\n");
      if (end != std::string::npos) {
        *head = pending_.substr(0, end + 4);
        pending_.erase(0, end + 4);
        return true;
      }
      if (!ReadSome()) return false;
    }
  }

  // A request head and its Content-Length body.
  bool ReadRequest(std::string* head = nullptr, std::string* body = nullptr) {
    std::string h;
    if (!ReadHead(&h)) return false;
    const std::string lower = absl::AsciiStrToLower(h);
    size_t length = 0;
    const size_t at = lower.find("\r\ncontent-length:");
    if (at != std::string::npos) {
      const size_t from = at + 17;
      const size_t eol = lower.find("\r\n", from);
      if (!absl::SimpleAtoi(
              absl::StripAsciiWhitespace(
                  absl::string_view(lower).substr(from, eol - from)),
              &length)) {
        return false;
      }
    }
    while (pending_.size() < length) {
      if (!ReadSome()) return false;
    }
    if (head != nullptr) *head = std::move(h);
    if (body != nullptr) *body = pending_.substr(0, length);
    pending_.erase(0, length);
    return true;
  }

  void Write(absl::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  // One send() per byte (TCP_NODELAY is on: one segment each).
  void WriteBytewise(absl::string_view data) {
    for (char c : data) Write(absl::string_view(&c, 1));
  }

  // Until the peer closes (or the receive timeout).
  void ReadUntilClosed() {
    while (ReadSome()) pending_.clear();
  }

 private:
  bool ReadSome() {
    char buf[16384];
    while (true) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      pending_.append(buf, static_cast<size_t>(n));
      return true;
    }
  }

  const int fd_;
  std::string pending_;
};

class RawServer {
 public:
  // Runs on each accepted connection in turn (`index` counts from 0); the
  // connection is closed when it returns.
  using Script = std::function<void(RawConnection& conn, int index)>;

  explicit RawServer(Script script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (listen_fd_ < 0 ||
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
            0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) !=
            0) {
      ADD_FAILURE() << "raw server: " << std::strerror(errno);
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }

  ~RawServer() {
    // Wakes accept() (Linux), then waits for the script in progress.
    if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }

  int port() const { return port_; }

  int accepted() {
    MutexLock lock(&mu_);
    return accepted_;
  }

  // Waits until `n` connections were closed by the server.
  bool WaitForClosed(int n) {
    struct Target {
      RawServer* server;
      int n;
    } t{this, n};
    MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(
        Condition(
            +[](Target* t) { return t->server->closed_ >= t->n; }, &t),
        kWait);
  }

 private:
  void Run() {
    for (int index = 0;; ++index) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) {
          --index;
          continue;
        }
        return;
      }
      // Every blocking step of a script is bounded.
      timeval tv{10, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      {
        MutexLock lock(&mu_);
        ++accepted_;
      }
      {
        RawConnection conn(fd);
        script_(conn, index);
      }
      ::close(fd);
      MutexLock lock(&mu_);
      ++closed_;
    }
  }

  Script script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  Mutex mu_;
  int accepted_ ABSL_GUARDED_BY(mu_) = 0;
  int closed_ ABSL_GUARDED_BY(mu_) = 0;
};

// Answers every request on the connection with `response`.
RawServer::Script AnswerEach(std::string response) {
  return [response](RawConnection& conn, int) {
    while (conn.ReadRequest()) conn.Write(response);
  };
}

TEST(HttpConnectionRawTest, RequestIsExactlyWhatItShouldBe) {
  Mutex mu;
  std::string head;
  std::string body;
  RawServer server([&](RawConnection& conn, int) {
    std::string h, b;
    if (!conn.ReadRequest(&h, &b)) return;
    {
      MutexLock lock(&mu);
      head = h;
      body = b;
    }
    conn.Write("HTTP/1.1 204 No Content\r\n\r\n");
    conn.ReadUntilClosed();
  });
  auto http = Connection(server.port(), "127.0.0.1", "tok");
  absl::StatusOr<HttpResponse> r = http->Post("/x/y", "text/plain", "body");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 204);
  MutexLock lock(&mu);
  EXPECT_EQ(head, absl::StrCat(
                      "POST /x/y HTTP/1.1\r\nHost: 127.0.0.1:", server.port(),
                      "\r\nAuthorization: Bearer tok\r\n"
                      "Content-Type: text/plain\r\n"
                      "Content-Length: 4\r\n\r\n"));
  EXPECT_EQ(body, "body");
}

TEST(HttpConnectionRawTest, ChunkedResponseIsReassembledAndTheConnectionKept) {
  RawServer server(AnswerEach(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
      "Content-Type: text/plain\r\n\r\n"
      "5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"));
  auto http = Connection(server.port());
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello, world");
    EXPECT_EQ(r->content_type, "text/plain");
  }
  EXPECT_EQ(http->connects(), 1u);
  EXPECT_EQ(server.accepted(), 1);
}

TEST(HttpConnectionRawTest, ConnectionCloseIsHonoured) {
  // Each connection answers once and waits for the client to close, so a
  // client that kept it would get no answer to its next request.
  RawServer server([](RawConnection& conn, int index) {
    if (!conn.ReadRequest()) return;
    if (index == 0) {
      conn.Write(
          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: "
          "close\r\n\r\nok");
    } else {
      conn.Write("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold");
    }
    conn.ReadUntilClosed();
  });
  auto http = Connection(server.port(), "127.0.0.1", "", absl::Seconds(2));
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "ok");
  EXPECT_FALSE(http->connected());
  // HTTP/1.0 without "Connection: keep-alive" closes too.
  r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "old");
  EXPECT_FALSE(http->connected());
  EXPECT_EQ(http->connects(), 2u);
  EXPECT_EQ(http->resends(), 0u);
}

TEST(HttpConnectionRawTest, BodyUntilCloseEndsTheConnection) {
  RawServer server([](RawConnection& conn, int) {
    if (!conn.ReadRequest()) return;
    conn.Write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nread until");
    conn.Write(" the end");
  });
  auto http = Connection(server.port());
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "read until the end");
  EXPECT_FALSE(http->connected());
}

TEST(HttpConnectionRawTest, ResponsesSentOneByteAtATime) {
  RawServer server([](RawConnection& conn, int) {
    if (!conn.ReadRequest()) return;
    conn.WriteBytewise(
        "HTTP/1.1 200 OK\r\ncontent-length: 10\r\nCONTENT-TYPE: "
        "a/b\r\n\r\n0123456789");
    if (!conn.ReadRequest()) return;
    conn.WriteBytewise(
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n");
    conn.ReadUntilClosed();
  });
  auto http = Connection(server.port());
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "0123456789");
  EXPECT_EQ(r->content_type, "a/b");
  r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "abcd");
  EXPECT_EQ(http->connects(), 1u);
}

TEST(HttpConnectionRawTest, InterimResponsesAreSkipped) {
  RawServer server(AnswerEach(
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 202 Accepted\r\nContent-Length: 3\r\n\r\nabc"));
  auto http = Connection(server.port());
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, "abc");
  EXPECT_TRUE(http->connected());
}

// Connection `index` of the server gets responses[index], then the server
// waits for the client to close.
RawServer::Script AnswerInTurn(std::vector<std::string> responses) {
  return [responses](RawConnection& conn, int index) {
    if (!conn.ReadRequest()) return;
    if (index < static_cast<int>(responses.size()))
      conn.Write(responses[index]);
    conn.ReadUntilClosed();
  };
}

// Each response fails with UNAVAILABLE, a message holding `expected`, and
// the connection closed (so each one is on a new connection).
void ExpectEachFails(const std::vector<std::string>& responses,
                     absl::string_view expected, size_t max_body = kMaxBody) {
  RawServer server(AnswerInTurn(responses));
  auto http = Connection(server.port(), "127.0.0.1", "", kWait, max_body);
  for (const std::string& response : responses) {
    SCOPED_TRACE(response.substr(0, 80));
    absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
    ASSERT_FALSE(r.ok()) << "status " << r->status << " body " << r->body;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), expected))
        << r.status();
    EXPECT_FALSE(http->connected());
  }
  EXPECT_EQ(http->connects(), responses.size());
  EXPECT_EQ(http->resends(), 0u);
}

TEST(HttpConnectionRawTest, ResponseHeadOverTheLimitFails) {
  std::string many_headers = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 2000; ++i)
    absl::StrAppend(&many_headers, "X-H", i, ": v\r\n");
  std::string many_interim;
  for (int i = 0; i < 700; ++i) many_interim += "HTTP/1.1 100 Continue\r\n\r\n";
  ExpectEachFails(
      {
          absl::StrCat("HTTP/1.1 200 OK\r\nX-Big: ", std::string(17000, 'a'),
                       "\r\nContent-Length: 0\r\n\r\n"),
          many_headers + "\r\n",
          many_interim,
      },
      "response head larger than 16384 bytes");
}

TEST(HttpConnectionRawTest, BodyOverTheLimitFails) {
  const std::string over(1001, 'b');
  ExpectEachFails(
      {
          "HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n",
          "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999\r\n\r\n",
          absl::StrCat("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "1f4\r\n",
                       std::string(500, 'a'), "\r\n1f5\r\n"),
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          "ffffffffffffffffffffffff\r\n",
          absl::StrCat("HTTP/1.1 200 OK\r\n\r\n", over),
      },
      "over the limit", 1000);
}

TEST(HttpConnectionRawTest, BodyAtTheLimitIsFine) {
  RawServer server(
      AnswerEach(absl::StrCat("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
                              std::string(1000, 'c'))));
  auto http = Connection(server.port(), "127.0.0.1", "", kWait, 1000);
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body.size(), 1000u);
}

TEST(HttpConnectionRawTest, MalformedResponsesFail) {
  ExpectEachFails(
      {
          "HTTP/1.1 2OO OK\r\n\r\n",
          "HTTP/2 200\r\n\r\n",
          "SSH-2.0-OpenSSH_9.2\r\n\r\n",
          "\r\n",
          "HTTP/1.1 099 Low\r\n\r\n",
          "HTTP/1.1 600 High\r\n\r\n",
          "HTTP/1.1 200OK\r\n\r\n",
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
          "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
          "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
          "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
          "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok",
          "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
          "chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n",
          absl::StrCat("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                       std::string(2000, '0'), "1\r\n"),
      },
      "malformed response");
}

TEST(HttpConnectionRawTest, ResponseCutShortFails) {
  // The server closes after part of its response (cut by EOF, not by the
  // timeout).
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234",
       "connection closed after 5 of 10 body bytes"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
       "connection closed in the middle of a chunk"},
      {"HTTP/1.1 200 OK\r\nContent-",
       "connection closed in the middle of the response"},
  };
  RawServer server([&](RawConnection& conn, int index) {
    if (!conn.ReadRequest()) return;
    if (index < static_cast<int>(cases.size())) conn.Write(cases[index].first);
  });
  auto http = Connection(server.port());
  for (const auto& [response, expected] : cases) {
    SCOPED_TRACE(response);
    absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(absl::StrContains(r.status().message(), expected))
        << r.status();
  }
  EXPECT_EQ(http->resends(), 0u);
}

TEST(HttpConnectionRawTest, ServerThatNeverAnswersTimesOut) {
  Notification release;
  RawServer server([&](RawConnection& conn, int) {
    if (!conn.ReadRequest()) return;
    release.WaitForNotificationWithTimeout(kWait);
  });
  auto http =
      Connection(server.port(), "127.0.0.1", "", absl::Milliseconds(200));
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  release.Notify();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
      << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "timed out after 200ms"))
      << r.status();
  EXPECT_FALSE(http->connected());
  EXPECT_EQ(http->connects(), 1u);
}

TEST(HttpConnectionRawTest, TimeoutOnAReusedConnectionIsNotRetried) {
  Notification release;
  RawServer server([&](RawConnection& conn, int index) {
    if (!conn.ReadRequest()) return;
    conn.Write("HTTP/1.1 204 No Content\r\n\r\n");
    if (!conn.ReadRequest()) return;
    release.WaitForNotificationWithTimeout(kWait);
  });
  auto http =
      Connection(server.port(), "127.0.0.1", "", absl::Milliseconds(200));
  ASSERT_TRUE(http->Post("/p", "application/json", "{}").ok());
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  release.Notify();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
      << r.status();
  EXPECT_EQ(http->connects(), 1u);
  EXPECT_EQ(http->resends(), 0u);
}

TEST(HttpConnectionRawTest, ConnectionRefused) {
  // A bound socket that does not listen: connects to it are refused, and
  // nobody else can take the port meanwhile.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  auto http = Connection(ntohs(addr.sin_port));
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  ::close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(
      absl::StrContains(r.status().message(), "connect: Connection refused"))
      << r.status();
  EXPECT_EQ(http->connects(), 0u);
}

TEST(HttpConnectionRawTest, UnresolvableHostFails) {
  auto http = Connection(80, "no-such-host.invalid");
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "resolving the host"))
      << r.status();
}

TEST(HttpConnectionRawTest, ReusedConnectionClosedWhileIdleIsReplacedBeforeSending) {
  RawServer server([](RawConnection& conn, int index) {
    if (!conn.ReadRequest()) return;
    // Answers as if keeping the connection, then closes it (as a server
    // whose keep-alive timeout passed would).
    conn.Write(index == 0
                   ? "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
                   : "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond");
    if (index > 0) conn.ReadUntilClosed();
  });
  auto http = Connection(server.port());
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "first");
  ASSERT_TRUE(server.WaitForClosed(1));
  r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "second");
  EXPECT_EQ(http->connects(), 2u);
  // The close was seen before sending: nothing had to be sent twice.
  EXPECT_EQ(http->resends(), 0u);
  EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpConnectionRawTest, ReusedConnectionClosedUnansweredIsRetriedOnce) {
  RawServer server([](RawConnection& conn, int index) {
    if (!conn.ReadRequest()) return;
    if (index == 0) {
      conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
      // Takes the next request on the kept connection, then closes without
      // an answer (the server's close raced with the request).
      conn.ReadRequest();
      return;
    }
    conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond");
    conn.ReadUntilClosed();
  });
  auto http = Connection(server.port());
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "first");
  r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "second");
  EXPECT_EQ(http->connects(), 2u);
  EXPECT_EQ(http->resends(), 1u);
  EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpConnectionRawTest, NewConnectionClosedBeforeAnswerIsNotRetried) {
  // The first connection closes unanswered; a second would be answered.
  RawServer server([](RawConnection& conn, int index) {
    if (!conn.ReadRequest() || index == 0) return;
    conn.Write("HTTP/1.1 204 No Content\r\n\r\n");
    conn.ReadUntilClosed();
  });
  auto http = Connection(server.port());
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  ASSERT_FALSE(r.ok()) << "sent again: status " << r->status;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(r.status().message(),
                                "connection closed before any response"))
      << r.status();
  EXPECT_EQ(http->connects(), 1u);
  EXPECT_EQ(http->resends(), 0u);
}

TEST(HttpConnectionRawTest,
     ReusedConnectionCutAfterPartOfTheAnswerIsNotRetried) {
  RawServer server([](RawConnection& conn, int) {
    if (!conn.ReadRequest()) return;
    conn.Write("HTTP/1.1 204 No Content\r\n\r\n");
    if (!conn.ReadRequest()) return;
    conn.Write("HTTP/1.1 200 OK\r\nContent-Len");
  });
  auto http = Connection(server.port());
  ASSERT_TRUE(http->Post("/p", "application/json", "{}").ok());
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(
      absl::StrContains(r.status().message(), "in the middle of the response"))
      << r.status();
  EXPECT_EQ(http->connects(), 1u);
  EXPECT_EQ(http->resends(), 0u);
}

TEST(HttpConnectionRawTest, AnswerBeforeTheWholeRequestIsRead) {
  // A server refusing a large body after its head: the client stops sending
  // and reads the refusal, while the server still holds the connection open
  // (and neither reads nor closes) until the client has returned.
  Notification release;
  std::atomic<bool> server_gave_up{false};
  RawServer server([&](RawConnection& conn, int) {
    std::string head;
    if (!conn.ReadHead(&head)) return;
    conn.Write(
        "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n"
        "Connection: close\r\n\r\ntoo big!");
    if (!release.WaitForNotificationWithTimeout(kWait)) server_gave_up = true;
  });
  auto http = Connection(server.port());
  const std::string body(64 << 20, 'x');  // more than the socket buffers hold
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", body);
  release.Notify();
  ASSERT_TRUE(server.WaitForClosed(1));
  EXPECT_FALSE(server_gave_up) << "the client returned only once the server "
                                  "closed the connection";
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->body, "too big!");
  EXPECT_FALSE(http->connected());
}

TEST(HttpConnectionRawTest, StrayBytesAfterAResponseStartANewConnection) {
  RawServer server([](RawConnection& conn, int index) {
    if (!conn.ReadRequest()) return;
    conn.Write(absl::StrCat("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n",
                            index, index == 0 ? "garbage" : ""));
    conn.ReadUntilClosed();
  });
  auto http = Connection(server.port());
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "0");
  // Response and stray bytes left in one small send(): on loopback the
  // client's first recv() takes them together.
  r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "1");
  EXPECT_EQ(http->connects(), 2u);
}

TEST(HttpConnectionRawTest, WhatAnIdleConnectionReceivedIsNotTakenForAResponse) {
  // A proxy that times an idle keep-alive connection out may send a 408
  // before closing it; read by the next POST as its response, it would make
  // the sender drop that POST's answers as refused.
  Notification first_read;
  Notification stale_sent;
  RawServer server([&](RawConnection& conn, int index) {
    if (!conn.ReadRequest()) return;
    conn.Write(absl::StrCat("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n",
                            index));
    if (index == 0) {
      // Once the client has read its response: the connection is idle.
      first_read.WaitForNotificationWithTimeout(absl::Seconds(10));
      conn.Write("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n");
      stale_sent.Notify();
    }
    conn.ReadUntilClosed();
  });
  auto http = Connection(server.port());
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "{}");
  first_read.Notify();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "0");
  ASSERT_TRUE(stale_sent.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // On loopback a send() has put its bytes in the peer's receive queue by
  // the time it returns: the 408 is waiting on the client's socket now.
  r = http->Post("/p", "application/json", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "1");
  EXPECT_EQ(http->connects(), 2u);
}

// ---------------------------------------------------------------------------
// A POST split between two threads (SendPost / AwaitInput / FinishPost).

TEST(HttpConnectionRawTest, PostSentByOneThreadIsAnsweredToTheThreadAwaitingInput) {
  RawServer server([](RawConnection& conn, int) {
    std::string body;
    while (conn.ReadRequest(nullptr, &body)) {
      conn.Write(absl::StrCat("HTTP/1.1 200 OK\r\nContent-Length: ",
                              body.size(), "\r\n\r\n", body));
    }
  });
  auto http = Connection(server.port());
  absl::StatusOr<HttpResponse> r = http->Post("/p", "application/json", "a");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(http->idle());
  for (const char* body : {"second", "third"}) {
    Notification sent;
    std::thread sender([&] {
      http->SendPost("/p", "application/json", body);
      sent.Notify();
    });
    EXPECT_EQ(http->AwaitInput(), HttpConnection::Input::kData);
    // The two threads hand over before the response is read.
    ASSERT_TRUE(sent.WaitForNotificationWithTimeout(kWait));
    sender.join();
    bool unanswered = true;
    r = http->FinishPost(&unanswered);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, body);
    EXPECT_FALSE(unanswered);
    EXPECT_TRUE(http->idle());
  }
  EXPECT_EQ(http->connects(), 1u);
}

TEST(HttpConnectionRawTest, AwaitInputSeesWhatAnIdleConnectionReceives) {
  RawServer server([](RawConnection& conn, int index) {
    if (!conn.ReadRequest()) return;
    conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    if (index == 0) {
      conn.Write("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n");
    }
    // index 1: closes after its response
  });
  for (int i = 0; i < 2; ++i) {
    auto http = Connection(server.port());
    ASSERT_TRUE(http->Post("/p", "application/json", "{}").ok());
    // Either the 408 (data) or the close.
    EXPECT_EQ(http->AwaitInput(), i == 0 ? HttpConnection::Input::kData
                                         : HttpConnection::Input::kClosed);
  }
}

TEST(HttpConnectionRawTest, AwaitInputTimesOutAndEndAwaitInputEndsIt) {
  RawServer server([](RawConnection& conn, int) {
    if (!conn.ReadRequest()) return;
    conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    conn.ReadUntilClosed();
  });
  auto http = Connection(server.port(), "127.0.0.1", "",
                         /*io_timeout=*/absl::Milliseconds(50));
  ASSERT_TRUE(http->Post("/p", "application/json", "{}").ok());
  EXPECT_EQ(http->AwaitInput(), HttpConnection::Input::kTimeout);
  http->Close();  // the raw server serves one connection at a time
  auto slow = Connection(server.port(), "127.0.0.1", "",
                         /*io_timeout=*/absl::Seconds(60));
  ASSERT_TRUE(slow->Post("/p", "application/json", "{}").ok());
  std::thread ender([&] {
    absl::SleepFor(absl::Milliseconds(20));
    slow->EndAwaitInput();
  });
  EXPECT_EQ(slow->AwaitInput(), HttpConnection::Input::kClosed);
  ender.join();
  // Unlike Interrupt(), later connections still work.
  slow->Close();
  EXPECT_TRUE(slow->Post("/p", "application/json", "{}").ok());
}

TEST(HttpConnectionRawTest, SendPostNeverWaitsForRoomAndWakesTheAwaitingThread) {
  // The server takes the first request, then reads nothing more: a large
  // request fills the socket buffers.
  Notification release;
  RawServer server([&](RawConnection& conn, int index) {
    if (!conn.ReadRequest()) return;
    conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    if (index == 0) release.WaitForNotificationWithTimeout(kWait);
  });
  auto http = Connection(server.port(), "127.0.0.1", "",
                         /*io_timeout=*/absl::Seconds(60));
  ASSERT_TRUE(http->Post("/p", "application/json", "{}").ok());
  const std::string big(32 << 20, 'x');
  const absl::Time start = absl::Now();
  HttpConnection::Input input = HttpConnection::Input::kData;
  std::thread reader([&] { input = http->AwaitInput(); });
  http->SendPost("/p", "application/json", big);
  reader.join();  // woken by the shutdown, not the 60 s timeout
  EXPECT_EQ(input, HttpConnection::Input::kClosed);
  bool unanswered = false;
  absl::StatusOr<HttpResponse> r = http->FinishPost(&unanswered);
  // Waiting for room would take until the server lets go (10 s).
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_TRUE(unanswered);
  EXPECT_FALSE(http->connected());
  release.Notify();
}

TEST(HttpConnectionRawTest, SendPostWithoutAConnectionFailsUnanswered) {
  auto http = Connection(1);  // never connected
  http->SendPost("/p", "application/json", "{}");
  bool unanswered = false;
  absl::StatusOr<HttpResponse> r = http->FinishPost(&unanswered);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(unanswered);
  http->SendPost("no slash", "application/json", "{}");
  r = http->FinishPost(&unanswered);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(unanswered);
}

// ---------------------------------------------------------------------------
// Streamed responses (OpenStream / ReadStream): the client's SSE stream.

// Reads the stream to its end (or an error), concatenating the pieces.
struct StreamedBody {
  std::string body;
  int pieces = 0;
  HttpConnection::StreamRead last = HttpConnection::StreamRead::kData;
  absl::Status error;
};
StreamedBody ReadAll(HttpConnection& http) {
  StreamedBody out;
  absl::string_view data;
  while ((out.last = http.ReadStream(&data, &out.error)) ==
         HttpConnection::StreamRead::kData) {
    out.body.append(data.data(), data.size());
    ++out.pieces;
  }
  return out;
}

TEST(HttpConnectionStreamTest, GetHeadIsExactlyWhatItShouldBe) {
  Mutex mu;
  std::string head;
  RawServer server([&](RawConnection& conn, int) {
    std::string h;
    if (!conn.ReadHead(&h)) return;
    {
      MutexLock lock(&mu);
      head = h;
    }
    conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  });
  auto http = Connection(server.port(), "127.0.0.1", "tok");
  absl::StatusOr<int> status =
      http->OpenStream("/s/events", "Accept: text/event-stream\r\n");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, 200);
  MutexLock lock(&mu);
  EXPECT_EQ(head, absl::StrCat("GET /s/events HTTP/1.1\r\nHost: 127.0.0.1:",
                               server.port(),
                               "\r\nAuthorization: Bearer tok\r\n"
                               "Accept: text/event-stream\r\n\r\n"));
}

TEST(HttpConnectionStreamTest, ChunkedBodyArrivesPieceByPieceWithoutFraming) {
  Notification first_read, second_chunk_sent;
  RawServer server([&](RawConnection& conn, int) {
    std::string h;
    if (!conn.ReadHead(&h)) return;
    conn.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               "6;ext=1\r\nevent:\r\n");
    first_read.WaitForNotificationWithTimeout(kWait);
    // A chunk split across segments, its size in upper-case hex, then the
    // last chunk and a trailer.
    conn.WriteBytewise("A\r\n data: x\n\n\r\n");
    conn.Write("0\r\nX-Trailer: 1\r\n\r\n");
    second_chunk_sent.Notify();
  });
  auto http = Connection(server.port());
  ASSERT_EQ(*http->OpenStream("/s", ""), 200);
  absl::string_view data;
  absl::Status error;
  // The first chunk is handed over before the next one exists.
  ASSERT_EQ(http->ReadStream(&data, &error), HttpConnection::StreamRead::kData)
      << error;
  EXPECT_EQ(data, "event:");
  first_read.Notify();
  StreamedBody rest = ReadAll(*http);
  EXPECT_EQ(rest.last, HttpConnection::StreamRead::kEnd) << rest.error;
  EXPECT_EQ(rest.body, " data: x\n\n");
  // Ended streams stay ended.
  EXPECT_EQ(http->ReadStream(&data, &error), HttpConnection::StreamRead::kEnd);
}

TEST(HttpConnectionStreamTest, LengthAndCloseDelimitedBodies) {
  RawServer server([&](RawConnection& conn, int index) {
    std::string h;
    if (!conn.ReadHead(&h)) return;
    if (index == 0) {
      conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
      conn.ReadUntilClosed();
    } else {
      conn.Write("HTTP/1.0 200 OK\r\n\r\nuntil close");
    }
  });
  auto http = Connection(server.port());
  ASSERT_EQ(*http->OpenStream("/s", ""), 200);
  StreamedBody a = ReadAll(*http);
  EXPECT_EQ(a.last, HttpConnection::StreamRead::kEnd) << a.error;
  EXPECT_EQ(a.body, "hello");
  // A second stream opens its own connection.
  ASSERT_EQ(*http->OpenStream("/s", ""), 200);
  EXPECT_EQ(http->connects(), 2u);
  StreamedBody b = ReadAll(*http);
  EXPECT_EQ(b.last, HttpConnection::StreamRead::kEnd) << b.error;
  EXPECT_EQ(b.body, "until close");
}

TEST(HttpConnectionStreamTest, RefusalStatusAndItsBodyAreReturned) {
  RawServer server([&](RawConnection& conn, int) {
    std::string h;
    if (!conn.ReadHead(&h)) return;
    conn.Write("HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope");
    conn.ReadUntilClosed();
  });
  auto http = Connection(server.port());
  absl::StatusOr<int> status = http->OpenStream("/s", "");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, 401);
  EXPECT_EQ(ReadAll(*http).body, "nope");
}

TEST(HttpConnectionStreamTest, StreamCutShortOrMalformedFails) {
  RawServer server([&](RawConnection& conn, int index) {
    std::string h;
    if (!conn.ReadHead(&h)) return;
    if (index == 0) {
      conn.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "10\r\nonly part");
    } else {
      conn.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nabcde\r\n");
    }
  });
  auto http = Connection(server.port());
  ASSERT_EQ(*http->OpenStream("/s", ""), 200);
  StreamedBody cut = ReadAll(*http);
  EXPECT_EQ(cut.last, HttpConnection::StreamRead::kError);
  EXPECT_EQ(cut.body, "only part");
  EXPECT_EQ(cut.error.code(), absl::StatusCode::kUnavailable) << cut.error;
  EXPECT_TRUE(absl::StrContains(cut.error.message(), "in the middle of a chunk"))
      << cut.error;
  ASSERT_EQ(*http->OpenStream("/s", ""), 200);
  StreamedBody bad = ReadAll(*http);
  EXPECT_EQ(bad.last, HttpConnection::StreamRead::kError);
  EXPECT_TRUE(absl::StrContains(bad.error.message(), "chunk longer than its size"))
      << bad.error;
  EXPECT_TRUE(absl::StartsWith(bad.error.message(), "GET http://")) << bad.error;
}

// Answers a GET with the head of a chunked stream, then sends nothing until
// `release`.
RawServer::Script OpenStreamThenSilence(Notification* release) {
  return [release](RawConnection& conn, int) {
    std::string h;
    if (!conn.ReadHead(&h)) return;
    conn.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    release->WaitForNotificationWithTimeout(kWait);
  };
}

TEST(HttpConnectionStreamTest, SilentStreamTimesOut) {
  Notification release;
  RawServer server(OpenStreamThenSilence(&release));
  auto http =
      Connection(server.port(), "127.0.0.1", "", absl::Milliseconds(200));
  ASSERT_EQ(*http->OpenStream("/s", ""), 200);
  StreamedBody r = ReadAll(*http);
  release.Notify();
  EXPECT_EQ(r.last, HttpConnection::StreamRead::kError);
  EXPECT_EQ(r.error.code(), absl::StatusCode::kDeadlineExceeded) << r.error;
}

TEST(HttpConnectionStreamTest, InterruptEndsABlockedReadAndLaterConnects) {
  Notification release;
  RawServer server(OpenStreamThenSilence(&release));
  auto http = Connection(server.port());
  ASSERT_EQ(*http->OpenStream("/s", ""), 200);
  const absl::Time start = absl::Now();
  std::thread stopper([&] {
    absl::SleepFor(absl::Milliseconds(50));
    http->Interrupt();
  });
  StreamedBody r = ReadAll(*http);
  stopper.join();
  release.Notify();
  // Ended by the interruption, long before the 10 s read timeout.
  EXPECT_NE(r.last, HttpConnection::StreamRead::kData);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  absl::StatusOr<int> again = http->OpenStream("/s", "");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kCancelled)
      << again.status();
}

TEST(HttpConnectionStreamTest, LineBreaksAndUnterminatedHeadersAreRefused) {
  auto http = Connection(1);  // never connected: refused before that
  EXPECT_EQ(http->OpenStream("/a\r\nX: y", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(http->OpenStream("no-slash", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(http->OpenStream("/a", "Accept: x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(http->connects(), 0u);
}

TEST(HttpConnectionTest, LineBreaksInFieldsAreRefused) {
  auto http = Connection(1);
  EXPECT_EQ(http->Post("/p\r\nX: y", "a/b", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(http->Post("/p", "a/b\nX: y", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(http->Post("p", "a/b", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(http->Post(absl::string_view("/p\0x", 4), "a/b", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(http->Post("/p\rX", "a/b", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto bad_token = Connection(1, "127.0.0.1", "t\r\nX: y");
  EXPECT_EQ(bad_token->Post("/p", "a/b", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(http->connects(), 0u);
}

TEST(HttpConnectionTest, ParseHttpHostPort) {
  struct Case {
    const char* url;
    const char* host;
    int port;
  };
  for (const Case& c :
       {Case{"http://localhost", "localhost", 80},
        Case{"http://127.0.0.1:8080", "127.0.0.1", 8080},
        Case{"http://[::1]:9000", "[::1]", 9000},
        Case{"http://[fe80::1]", "[fe80::1]", 80},
        Case{"http://example.com:65535", "example.com", 65535}}) {
    SCOPED_TRACE(c.url);
    absl::StatusOr<HttpHostPort> hp = ParseHttpHostPort(c.url);
    ASSERT_TRUE(hp.ok()) << hp.status();
    EXPECT_EQ(hp->host, c.host);
    EXPECT_EQ(hp->port, c.port);
  }
  for (const char* bad : {"https://localhost", "localhost:80", "http://",
                          "http://host:", "http://host:0", "http://host:65536",
                          "http://host:12ab", "http://[::1", "http://[]:80",
                          "http://[::1]x", "http://:80", "http://host/path"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(ParseHttpHostPort(bad).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace sserpc::client_internal
