// The answer POST's fast path (server/replies_fast_path.h) against
// cpp-httplib's own handling: the same requests, sent over raw sockets to the
// real server on 127.0.0.1, once with the fast path off (httplib serves them)
// and once with it on, must get the same bytes back, and the fast path must
// really have served the requests of its shape and no others.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "proto/binary_envelope.h"
#include "proto/envelope.h"
#include "server/replies_fast_path.h"
#include "server/server.h"
#include "tests/testing/raw_stream.h"

namespace sserpc {
namespace {

using ::sserpc::server_internal::RepliesFastPathServed;
using ::sserpc::server_internal::SetRepliesFastPathEnabled;
using ::sserpc::testing::RawStream;

constexpr char kPath[] = "/sserpc/v1/clients/c1/replies";
constexpr char kAuth[] = "Authorization: Bearer tok1\r\n";

std::string Post(const std::string& body, const std::string& extra = "",
                 const std::string& content_type = "application/json",
                 const std::string& path = kPath) {
  return absl::StrCat("POST ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\n", kAuth,
                      "Content-Type: ", content_type, "\r\nContent-Length: ",
                      body.size(), "\r\n", extra, "\r\n", body);
}

struct Wire {
  std::string bytes;
  bool closed = false;
};

// Complete responses at the start of `s` (each with Content-Length, or none
// for a 1xx / empty one).
int CompleteResponses(const std::string& s) {
  int count = 0;
  size_t pos = 0;
  while (true) {
    const size_t end = s.find("\r\n\r\n", pos);
    if (end == std::string::npos) return count;
    const std::string head = absl::AsciiStrToLower(s.substr(pos, end - pos));
    size_t length = 0;
    const size_t cl = head.find("\r\ncontent-length: ");
    if (cl != std::string::npos) {
      const size_t v = cl + 18;
      EXPECT_TRUE(absl::SimpleAtoi(head.substr(v, head.find("\r\n", v) - v),
                                   &length));
    }
    if (s.size() < end + 4 + length) return count;
    pos = end + 4 + length;
    ++count;
  }
}

class RepliesFastPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.client_tokens = {{"c1", "tok1"}};
    options.admin_token = "admin";
    options.max_body_bytes = 2048;
    server_ = std::make_unique<Server>(options);
    absl::StatusOr<int> port = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    stream_ = std::make_unique<RawStream>(
        port_, "c1", httplib::Headers{{"Authorization", "Bearer tok1"}});
    ASSERT_EQ(stream_->WaitFor("session", 1).size(), 1u);
  }

  void TearDown() override {
    SetRepliesFastPathEnabled(true);
    stream_.reset();
    server_->Stop();
  }

  // Starts `n` calls to c1 and returns their ids once c1 has received them.
  std::vector<std::string> NewCalls(int n) {
    for (int i = 0; i < n; ++i) {
      CallOptions options;
      options.timeout = absl::Seconds(30);
      server_->CallAsync("c1", "demo.Greeter/SayHello", "{}", options,
                         [](CallResult) {});
    }
    calls_ += n;
    std::vector<SseEvent> events = stream_->WaitFor("request", calls_);
    EXPECT_EQ(events.size(), calls_);
    std::vector<std::string> ids;
    for (size_t i = events.size() - n; i < events.size(); ++i) {
      absl::StatusOr<RequestEnvelope> r = ParseRequestData(events[i].data);
      EXPECT_TRUE(r.ok()) << r.status();
      ids.push_back(r.ok() ? r->call_id : "");
    }
    return ids;
  }

  int Connect() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    return fd;
  }

 public:
  // Sends `pieces` on a new connection (a short pause between them), then
  // reads until `responses` complete responses arrived, and then whether
  // the server closes the connection. `half_close`: shut our sending side
  // after the last piece.
  Wire Exchange(const std::vector<std::string>& pieces, int responses,
                bool half_close = false) {
    Wire w;
    int fd = Connect();
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (i > 0) absl::SleepFor(absl::Milliseconds(20));
      EXPECT_EQ(send(fd, pieces[i].data(), pieces[i].size(), MSG_NOSIGNAL),
                static_cast<ssize_t>(pieces[i].size()));
    }
    if (half_close) shutdown(fd, SHUT_WR);
    char buf[4096];
    while (CompleteResponses(w.bytes) < responses) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) break;
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) {
        w.closed = true;
        break;
      }
      w.bytes.append(buf, static_cast<size_t>(n));
    }
    EXPECT_EQ(CompleteResponses(w.bytes), responses) << w.bytes;
    if (!w.closed) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 200) > 0) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n > 0) w.bytes.append(buf, static_cast<size_t>(n));  // shows up in the diff
        w.closed = n <= 0;
      }
    }
    close(fd);
    return w;
  }

 protected:
  // Runs `scenario` (which builds its request from fresh calls) with the
  // fast path off, then on; the normalized responses must be equal. Returns
  // the fast path's response; `fast_served` is how many requests the fast
  // path answered in the second run.
  Wire Compare(const std::function<Wire(const std::vector<std::string>& ids,
                                        RepliesFastPathTest* t)>& scenario,
               int calls, uint64_t fast_served) {
    Wire out[2];
    for (int fast = 0; fast < 2; ++fast) {
      SetRepliesFastPathEnabled(fast == 1);
      std::vector<std::string> ids = NewCalls(calls);
      const uint64_t before = RepliesFastPathServed();
      out[fast] = scenario(ids, this);
      EXPECT_EQ(RepliesFastPathServed() - before, fast == 1 ? fast_served : 0u)
          << (fast ? "fast path" : "httplib");
      for (size_t i = 0; i < ids.size(); ++i) {
        out[fast].bytes = absl::StrReplaceAll(
            out[fast].bytes, {{ids[i], absl::StrCat("<call ", i, ">")}});
      }
    }
    EXPECT_EQ(out[1].bytes, out[0].bytes);
    EXPECT_EQ(out[1].closed, out[0].closed);
    return out[1];
  }

  static std::string Reply(const std::string& id) {
    return absl::StrCat(R"({"call_id":")", id, R"(","payload":{"m":1}})");
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<RawStream> stream_;
  int port_ = 0;
  size_t calls_ = 0;
};

using Ids = std::vector<std::string>;
using T = RepliesFastPathTest;

TEST_F(RepliesFastPathTest, SingleJsonReplyIs204) {
  Wire w = Compare(
      [](const Ids& ids, T* t) { return t->Exchange({Post(Reply(ids[0]))}, 1); },
      1, 1);
  EXPECT_EQ(w.bytes.rfind("HTTP/1.1 204 No Content\r\n", 0), 0u) << w.bytes;
  EXPECT_FALSE(w.closed);
}

TEST_F(RepliesFastPathTest, BatchIs200WithResults) {
  Wire w = Compare(
      [](const Ids& ids, T* t) {
        return t->Exchange(
            {Post(absl::StrCat("[", Reply(ids[0]), ",", Reply("nope"), ",",
                               Reply(ids[1]), "]"))},
            1);
      },
      2, 1);
  EXPECT_EQ(w.bytes.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << w.bytes;
  EXPECT_NE(w.bytes.find(R"("status":404,"code":"NOT_FOUND")"), std::string::npos);
}

TEST_F(RepliesFastPathTest, UnknownCallIs404) {
  Wire w = Compare(
      [](const Ids&, T* t) { return t->Exchange({Post(Reply("nope"))}, 1); }, 0, 1);
  EXPECT_EQ(w.bytes.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << w.bytes;
}

TEST_F(RepliesFastPathTest, MalformedBodyIs400) {
  Wire w = Compare(
      [](const Ids&, T* t) {
        return t->Exchange({Post(R"({"call_id":)"), Post("")}, 2);
      },
      0, 2);
  EXPECT_EQ(w.bytes.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << w.bytes;
}

TEST_F(RepliesFastPathTest, WrongTokenIs401AndBadIdIs400) {
  Wire w = Compare(
      [](const Ids& ids, T* t) {
        std::string wrong = absl::StrReplaceAll(Post(Reply(ids[0])),
                                                {{"tok1", "tok2"}});
        std::string none = absl::StrReplaceAll(Post(Reply(ids[0])),
                                               {{kAuth, ""}});
        std::string lower = absl::StrReplaceAll(Post(Reply(ids[0])),
                                                {{"Bearer", "bEaReR"}});
        std::string other = Post(Reply(ids[0]), "", "application/json",
                                 "/sserpc/v1/clients/c2/replies");
        return t->Exchange({wrong, none, other, lower}, 4);
      },
      1, 4);
  EXPECT_EQ(w.bytes.rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u) << w.bytes;
  EXPECT_NE(w.bytes.find("WWW-Authenticate: Bearer\r\n"), std::string::npos);
  EXPECT_NE(w.bytes.find("HTTP/1.1 204 No Content\r\n"), std::string::npos);
}

TEST_F(RepliesFastPathTest, BodyOverTheLimitIs413AndCounted) {
  const uint64_t before = server_->Stats().refused_body_too_large;
  Wire w = Compare(
      [](const Ids& ids, T* t) {
        // Sent whole: httplib reads it and answers 413, the connection
        // lives on.
        return t->Exchange(
            {Post(std::string(4096, 'x')), Post(Reply(ids[0]))}, 2);
      },
      1, 2);
  EXPECT_EQ(w.bytes.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << w.bytes;
  EXPECT_EQ(server_->Stats().refused_body_too_large - before, 2u);
}

TEST_F(RepliesFastPathTest, BodyFarOverTheLimitIsCutAsBefore) {
  const uint64_t before = server_->Stats().refused_body_too_large;
  Wire w = Compare(
      [](const Ids&, T* t) {
        return t->Exchange({Post(std::string(200 << 10, 'x'))}, 1);
      },
      0, 0);
  EXPECT_EQ(w.bytes.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << w.bytes;
  EXPECT_TRUE(w.closed);
  EXPECT_EQ(server_->Stats().refused_body_too_large - before, 2u);
}

TEST_F(RepliesFastPathTest, BodyCutShortIs400) {
  Wire w = Compare(
      [](const Ids&, T* t) {
        std::string req = Post(std::string(100, 'x'));
        req.resize(req.size() - 50);
        return t->Exchange({req}, 1, /*half_close=*/true);
      },
      0, 1);
  EXPECT_EQ(w.bytes.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << w.bytes;
}

TEST_F(RepliesFastPathTest, ProtobufBodies) {
  Wire w = Compare(
      [](const Ids& ids, T* t) {
        ReplyEnvelope error;
        error.call_id = ids[0];
        error.error = absl::NotFoundError("no such file");
        std::string accepted;
        AppendReplyProto(error, &accepted);
        ReplyEnvelope unknown = error;
        unknown.call_id = "nope";
        ReplyEnvelope wrong_form;  // a protobuf payload for a JSON call
        wrong_form.call_id = ids[1];
        wrong_form.payload = "\x0a\x01x";
        wrong_form.protobuf = true;
        std::string results;
        AppendReplyProto(unknown, &results);
        AppendReplyProto(wrong_form, &results);
        return t->Exchange({Post(accepted, "", kProtobufContentType),
                            Post(results, "", "application/protobuf; q=1"),
                            Post("\xff\xff", "", kProtobufContentType)},
                           3);
      },
      2, 3);
  EXPECT_EQ(w.bytes.rfind("HTTP/1.1 204 No Content\r\n", 0), 0u) << w.bytes;
  EXPECT_NE(w.bytes.find("Content-Type: application/x-protobuf\r\n"),
            std::string::npos);
}

TEST_F(RepliesFastPathTest, ConnectionCloseIsHonoured) {
  Wire w = Compare(
      [](const Ids& ids, T* t) {
        return t->Exchange(
            {Post(Reply(ids[0]), "Connection: close\r\n") + Post(Reply("x"))}, 1);
      },
      1, 1);
  EXPECT_NE(w.bytes.find("Connection: close\r\n"), std::string::npos) << w.bytes;
  EXPECT_TRUE(w.closed);
}

TEST_F(RepliesFastPathTest, PipelinedRequestsAndOtherEndpointsOnOneConnection) {
  Wire w = Compare(
      [](const Ids& ids, T* t) {
        std::string all =
            Post(Reply(ids[0])) + Post(Reply("nope")) +
            "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
            "GET /nope HTTP/1.1\r\n\r\n" +
            Post(Reply(ids[1])) +
            "POST /sserpc/v1/clients/nobody/calls/a.B/C HTTP/1.1\r\n"
            "Authorization: Bearer admin\r\nContent-Length: 2\r\n\r\n{}" +
            Post(Reply(ids[1]));
        // Cut at an awkward place too: the fast path reads across reads.
        return t->Exchange({all.substr(0, 37), all.substr(37)}, 7);
      },
      2, 4);
  EXPECT_NE(w.bytes.find("HTTP/1.1 200 OK\r\n"), std::string::npos);
}

// Requests of other shapes go to httplib, on the same connection as fast ones.
TEST_F(RepliesFastPathTest, OtherShapesFallBackToHttplib) {
  Wire w = Compare(
      [](const Ids& ids, T* t) {
        const std::string body = Reply(ids[0]);
        std::string encoded = Post(Reply(ids[1]), "", "application/json",
                                   "/sserpc/v1/clients/c%31/replies");
        std::string chunked = absl::StrCat(
            "POST ", kPath, " HTTP/1.1\r\n", kAuth,
            "Transfer-Encoding: chunked\r\n\r\n", absl::Hex(body.size()),
            "\r\n", body, "\r\n0\r\n\r\n");
        std::string query = Post(Reply("nope"), "", "application/json",
                                 absl::StrCat(kPath, "?a=1"));
        std::string gzip = Post(Reply("nope"), "Accept-Encoding: gzip\r\n");
        std::string http10 = absl::StrReplaceAll(Post(Reply("nope")),
                                                 {{"HTTP/1.1", "HTTP/1.0"}});
        return t->Exchange({Post(Reply(ids[2])) + encoded + chunked + query +
                                gzip + Post(Reply("nope")) + http10},
                           7);
      },
      3, 2);
  EXPECT_EQ(w.bytes.rfind("HTTP/1.1 204 No Content\r\n", 0), 0u) << w.bytes;
}

TEST_F(RepliesFastPathTest, ExpectContinueFallsBackToHttplib) {
  Compare(
      [](const Ids& ids, T* t) {
        std::string head = Post("", "Expect: 100-continue\r\n");
        head = absl::StrReplaceAll(
            head, {{"Content-Length: 0", absl::StrCat("Content-Length: ",
                                                      Reply(ids[0]).size())}});
        return t->Exchange({head, Reply(ids[0])}, 2);
      },
      1, 0);
}

// Head limits cut the connection as before, whoever reads the head.
TEST_F(RepliesFastPathTest, HeadLimitsApplyAsBefore) {
  Compare(
      [](const Ids&, T* t) {
        std::string many = absl::StrCat("POST ", kPath, " HTTP/1.1\r\n");
        for (int i = 0; i < 150; ++i) absl::StrAppend(&many, "X-A", i, ": b\r\n");
        return t->Exchange({Post(Reply("nope")) + many}, 2);
      },
      0, 1);
}

}  // namespace
}  // namespace sserpc

namespace sserpc {
namespace {

// Resident memory of this process, in MiB.
double RssMib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      int64_t kb = 0;
      absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(6, line.size() - 9)),
                       &kb);
      return static_cast<double>(kb) / 1024;
    }
  }
  return 0;
}

TEST(RepliesFastPathMemoryTest, AnnouncedBodiesDoNotCommitMemoryBeforeTheyArrive) {
  // 16 connections announce 8 MiB bodies and send one byte: a buffer sized
  // to the announced length at once would commit 128 MiB in the server
  // (this process); the buffer must grow only with the bytes that arrive.
  ServerOptions options;
  options.max_body_bytes = 8 << 20;
  Server server(options);
  const int port = server.Start("127.0.0.1", 0).value();
  const double before = RssMib();
  std::vector<int> fds;
  for (int i = 0; i < 16; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    const std::string head = absl::StrCat(
        "POST /sserpc/v1/clients/c1/replies HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: ",
        8 << 20, "\r\n\r\n{");
    ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(head.size()));
    fds.push_back(fd);
  }
  // Once the server counts them all open, each connection's thread reads
  // its head at once; the RSS is then watched for 200 ms (a buffer sized
  // to the announced length would show within the first few).
  while (server.Stats().open_connections < fds.size()) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  double peak = 0;
  for (int i = 0; i < 200; ++i) {
    peak = std::max(peak, RssMib() - before);
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_LT(peak, 32) << "MiB committed for 16 announced bodies";
  for (int fd : fds) close(fd);
  server.Stop();
}

}  // namespace
}  // namespace sserpc
