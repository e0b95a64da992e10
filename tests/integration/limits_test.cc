// Hostile input and connection limits (docs/PROTOCOL.md, "Connections and
// hostile input"), against the real server on 127.0.0.1 with raw TCP
// sockets, so a test can send what no HTTP library would: unterminated
// lines, thousands of headers, a head trickled a byte at a time.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/testing/process.h"

namespace sserpc {
namespace {

using ::testing::HasSubstr;

// One raw TCP connection to the server.
class Raw {
 public:
  explicit Raw(int port, const char* source = "127.0.0.1") {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source, &src.sin_addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof(src));
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) == 0;
  }
  ~Raw() { Close(); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  // Sends everything, or fails (the server closed, or reset).
  bool Send(absl::string_view data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // What arrives until the server closes the connection (or `timeout`).
  std::string ReadUntilClosed(absl::Duration timeout = absl::Seconds(10),
                              bool* closed = nullptr) {
    std::string out;
    const absl::Time until = absl::Now() + timeout;
    bool eof = false;
    while (!eof) {
      const absl::Duration left = until - absl::Now();
      if (left <= absl::ZeroDuration()) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) {
        continue;
      }
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        eof = true;
      } else {
        out.append(buf, static_cast<size_t>(n));
      }
    }
    if (closed != nullptr) *closed = eof;
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// "HTTP/1.1 431 ..." -> 431; 0 when there is no status line.
int StatusOf(absl::string_view response) {
  int status = 0;
  if (!absl::ConsumePrefix(&response, "HTTP/1.1 ") || response.size() < 3 ||
      !absl::SimpleAtoi(response.substr(0, 3), &status)) {
    return 0;
  }
  return status;
}

std::string BodyOf(const std::string& response) {
  size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

size_t CountEntries(const char* dir) {
  size_t n = 0;
  if (DIR* d = opendir(dir)) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

class LimitsTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    server_ = std::make_unique<Server>(options);
    absl::StatusOr<int> port = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
  }

  // Sends `request` on a new connection; returns the whole response.
  std::string Exchange(absl::string_view request, bool* closed = nullptr) {
    Raw c(port_);
    EXPECT_TRUE(c.connected());
    c.Send(request);
    return c.ReadUntilClosed(absl::Seconds(10), closed);
  }

  // Waits until `pred(stats)` holds (counters are updated by other threads).
  template <typename Pred>
  bool WaitForStats(Pred pred, absl::Duration timeout = absl::Seconds(10)) {
    const absl::Time until = absl::Now() + timeout;
    while (!pred(server_->Stats())) {
      if (absl::Now() > until) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  std::unique_ptr<Server> server_;
  int port_ = 0;
};

// --- Oversized heads -------------------------------------------------------

TEST_F(LimitsTest, OverlongRequestLineIs414AsSoonAsItPassesTheLimit) {
  StartServer();
  // No line end: httplib alone buffers the line until its newline (or the
  // read timeout, then closes without an answer).
  bool closed = false;
  const absl::Time start = absl::Now();
  std::string r = Exchange(absl::StrCat("GET /", std::string(9000, 'a')), &closed);
  EXPECT_EQ(StatusOf(r), 414) << r;
  EXPECT_THAT(BodyOf(r), HasSubstr(R"("code":"INVALID_ARGUMENT")"));
  EXPECT_TRUE(closed);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(server_->Stats().refused_uri_too_long, 1u);
}

TEST_F(LimitsTest, OverlongHeaderLineIs431WithAJsonBody) {
  StartServer();
  // Complete request: httplib alone answers 400 "malformed".
  std::string r = Exchange(absl::StrCat("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ",
                                        std::string(9000, 'a'), "\r\n\r\n"));
  EXPECT_EQ(StatusOf(r), 431) << r;
  EXPECT_THAT(BodyOf(r), HasSubstr(R"("code":"RESOURCE_EXHAUSTED")"));
  EXPECT_THAT(BodyOf(r), HasSubstr("header line longer than 8192 bytes"));
  // Unterminated and endless: cut at the limit, not buffered.
  Raw endless(port_);
  endless.Send("GET /healthz HTTP/1.1\r\nX-Big: ");
  std::string chunk(64 << 10, 'a');
  size_t sent = 0;
  while (sent < (256u << 20) && endless.Send(chunk)) sent += chunk.size();
  EXPECT_LT(sent, 256u << 20) << "the server kept reading a 256 MB header line";
  EXPECT_EQ(StatusOf(endless.ReadUntilClosed()), 431);
  EXPECT_EQ(server_->Stats().refused_request_head_too_large, 2u);
}

TEST_F(LimitsTest, TooManyHeaderFieldsIs431AndTheLimitIsConfigurable) {
  ServerOptions options;
  options.max_request_headers = 20;
  StartServer(options);
  auto request = [](int fields) {
    std::string r = "GET /healthz HTTP/1.1\r\nConnection: close\r\n";
    for (int i = 1; i < fields; ++i) absl::StrAppend(&r, "X-H", i, ": v\r\n");
    return r + "\r\n";
  };
  EXPECT_EQ(StatusOf(Exchange(request(20))), 200);
  std::string r = Exchange(request(21));
  EXPECT_EQ(StatusOf(r), 431) << r;
  EXPECT_THAT(BodyOf(r), HasSubstr("more than 20 header fields"));
  EXPECT_EQ(server_->Stats().refused_request_head_too_large, 1u);
}

TEST_F(LimitsTest, DefaultHeaderFieldLimitRefusesThousandsOfHeaders) {
  StartServer();
  // httplib alone accepts any number of header fields (memory grows with
  // them): 10,000 were answered 200.
  std::string r = "GET /healthz HTTP/1.1\r\n";
  for (int i = 0; i < 10000; ++i) absl::StrAppend(&r, "X-H", i, ": v\r\n");
  std::string response = Exchange(r + "\r\n");
  EXPECT_EQ(StatusOf(response), 431) << response.substr(0, 200);
  EXPECT_THAT(BodyOf(response), HasSubstr("more than 100 header fields"));
}

TEST_F(LimitsTest, HeadLargerThanMaxRequestHeadBytesIs431BeforeItEnds) {
  ServerOptions options;
  options.max_request_head_bytes = 4096;
  StartServer(options);
  std::string ok = "GET /healthz HTTP/1.1\r\nConnection: close\r\n";
  for (int i = 0; i < 3; ++i) absl::StrAppend(&ok, "X-H", i, ": ", std::string(1000, 'v'), "\r\n");
  EXPECT_EQ(StatusOf(Exchange(ok + "\r\n")), 200);
  // Five 1000-byte fields and no end of head: refused once 4096 bytes are in.
  std::string big = "GET /healthz HTTP/1.1\r\n";
  for (int i = 0; i < 5; ++i) absl::StrAppend(&big, "X-H", i, ": ", std::string(1000, 'v'), "\r\n");
  std::string r = Exchange(big);
  EXPECT_EQ(StatusOf(r), 431) << r;
  EXPECT_THAT(BodyOf(r), HasSubstr("request head larger than 4096 bytes"));
  EXPECT_EQ(server_->Stats().refused_request_head_too_large, 1u);
}

// --- Oversized bodies ------------------------------------------------------

TEST_F(LimitsTest, BodiesOverMaxBodyBytesAre413WhateverTheirEncoding) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  const std::string head =
      "POST /sserpc/v1/clients/c1/replies HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\n";
  // Content-Length over the limit (httplib's own 413).
  std::string with_length = Exchange(absl::StrCat(
      head, "Content-Length: 2000\r\nConnection: close\r\n\r\n", std::string(2000, ' ')));
  EXPECT_EQ(StatusOf(with_length), 413) << with_length;
  EXPECT_THAT(BodyOf(with_length), HasSubstr("RESOURCE_EXHAUSTED"));
  // Chunked, 2000 bytes in 100-byte chunks: httplib 0.11.4 applies no limit
  // to chunked bodies.
  std::string chunked = absl::StrCat(head, "Transfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 20; ++i) absl::StrAppend(&chunked, "64\r\n", std::string(100, ' '), "\r\n");
  std::string r = Exchange(chunked + "0\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 413) << r;
  EXPECT_THAT(BodyOf(r), HasSubstr("RESOURCE_EXHAUSTED"));
  // Chunked and endless: cut on the wire, not buffered (it was, whole).
  Raw endless(port_);
  endless.Send(absl::StrCat(head, "Transfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = absl::StrCat("10000\r\n", std::string(0x10000, ' '), "\r\n");
  size_t sent = 0;
  while (sent < (256u << 20) && endless.Send(chunk)) sent += chunk.size();
  EXPECT_LT(sent, 256u << 20) << "the server kept reading a 256 MB chunked body";
  EXPECT_EQ(StatusOf(endless.ReadUntilClosed()), 413);
  EXPECT_EQ(server_->Stats().refused_body_too_large, 3u);
}

// --- Slow loris --------------------------------------------------------------

TEST_F(LimitsTest, SlowLorisHeadsAreCutWhileHealthyClientsAreServed) {
  constexpr int kSlow = 200;
  ServerOptions options;
  options.max_request_head_time = absl::Seconds(2);
  StartServer(options);

  // Each slow connection starts a request and then trickles one byte of a
  // header every 300 ms: never idle for read_timeout (5 s), so only the
  // head deadline cuts it.
  std::vector<std::unique_ptr<Raw>> slow;
  std::vector<absl::Time> opened;
  for (int i = 0; i < kSlow; ++i) {
    slow.push_back(std::make_unique<Raw>(port_));
    opened.push_back(absl::Now());
    ASSERT_TRUE(slow.back()->connected());
    ASSERT_TRUE(slow.back()->Send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  }
  std::atomic<bool> stop{false};
  std::thread trickler([&] {
    std::vector<bool> dead(kSlow, false);
    while (!stop.load()) {
      for (int i = 0; i < kSlow; ++i) {
        if (!dead[i]) dead[i] = !slow[i]->Send("x");
      }
      absl::SleepFor(absl::Milliseconds(300));
    }
  });

  // A healthy client, end to end, while every slow connection holds on.
  ClientOptions co;
  co.server_url = absl::StrCat("http://127.0.0.1:", port_);
  co.client_id = "healthy";
  Client client(co);
  ASSERT_TRUE(client.Register("demo.S/Echo", [](CallContext&, absl::string_view req) {
                      return absl::StatusOr<std::string>(std::string(req));
                    }).ok());
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(client.WaitUntilConnected(absl::Seconds(5)));
  CallOptions call;
  call.timeout = absl::Seconds(5);
  CallResult r = server_->Call("healthy", "demo.S/Echo", R"({"n":1})", call);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, R"({"n":1})");
  EXPECT_LT(absl::Now() - opened.back(), options.max_request_head_time)
      << "the healthy call ran after the slow heads' deadline";
  EXPECT_GE(server_->Stats().open_connections, static_cast<uint64_t>(kSlow));

  // Every slow connection gets 408 at its deadline and is closed.
  int cut = 0;
  absl::Duration latest = absl::ZeroDuration();
  for (int i = 0; i < kSlow; ++i) {
    bool closed = false;
    std::string got = slow[i]->ReadUntilClosed(
        opened[i] + absl::Seconds(6) - absl::Now(), &closed);
    const absl::Duration after = absl::Now() - opened[i];
    if (StatusOf(got) == 408 && closed) ++cut;
    latest = std::max(latest, after);
    EXPECT_THAT(BodyOf(got), HasSubstr("DEADLINE_EXCEEDED")) << i;
  }
  stop = true;
  trickler.join();
  EXPECT_EQ(cut, kSlow);
  // 2 s deadline, plus slack for a loaded 2-core machine.
  EXPECT_LT(latest, absl::Seconds(4)) << "slow heads outlived the bound";
  EXPECT_EQ(server_->Stats().refused_request_head_timeout,
            static_cast<uint64_t>(kSlow));
  // The healthy client is still served.
  r = server_->Call("healthy", "demo.S/Echo", R"({"n":2})", call);
  ASSERT_TRUE(r.ok()) << r.status();
  client.Stop();
}

TEST_F(LimitsTest, ASilentFirstRequestCountsTowardTheHeadDeadline) {
  ServerOptions options;
  options.max_request_head_time = absl::Milliseconds(500);
  options.keep_alive_timeout = absl::Seconds(30);
  StartServer(options);
  Raw silent(port_);
  const absl::Time start = absl::Now();
  bool closed = false;
  std::string got = silent.ReadUntilClosed(absl::Seconds(5), &closed);
  EXPECT_EQ(StatusOf(got), 408) << got;
  EXPECT_TRUE(closed);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  // Between requests of a keep-alive connection only the keep-alive timeout
  // applies: a second request after a pause longer than the head time works.
  Raw keep(port_);
  keep.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  absl::SleepFor(absl::Milliseconds(800));
  keep.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string both = keep.ReadUntilClosed();
  EXPECT_EQ(StatusOf(both), 200);
  EXPECT_EQ(StatusOf(both.substr(both.find("HTTP/1.1", 1))), 200) << both;
  EXPECT_EQ(server_->Stats().refused_request_head_timeout, 1u);
}

// --- Connection caps ---------------------------------------------------------

TEST_F(LimitsTest, MaxConnectionsRefusesAtOnceWithoutLeakingFdsOrThreads) {
  constexpr int kMax = 20;
  constexpr int kExtra = 100;
  ServerOptions options;
  options.max_connections = kMax;
  options.keep_alive_timeout = absl::Seconds(60);
  options.max_request_head_time = absl::Seconds(60);
  StartServer(options);
  const size_t fds_before = CountEntries("/proc/self/fd");
  const size_t threads_before = CountEntries("/proc/self/task");

  std::vector<std::unique_ptr<Raw>> idle;
  for (int i = 0; i < kMax; ++i) idle.push_back(std::make_unique<Raw>(port_));
  ASSERT_TRUE(WaitForStats([&](const ServerStats& s) { return s.open_connections == kMax; }));
  for (int i = 0; i < kExtra; ++i) {
    Raw extra(port_);
    const absl::Time start = absl::Now();
    bool closed = false;
    std::string got = extra.ReadUntilClosed(absl::Seconds(5), &closed);
    ASSERT_EQ(StatusOf(got), 429) << i << ": " << got;
    EXPECT_THAT(BodyOf(got), HasSubstr("max_connections"));
    EXPECT_TRUE(closed);
    EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  }
  // A refused connection never got a thread.
  EXPECT_LE(CountEntries("/proc/self/task"), threads_before + kMax + 2);
  ServerStats s = server_->Stats();
  EXPECT_EQ(s.refused_max_connections, static_cast<uint64_t>(kExtra));
  EXPECT_EQ(s.open_connections, static_cast<uint64_t>(kMax));

  // Room again once connections close; then nothing is left behind.
  idle.pop_back();
  ASSERT_TRUE(WaitForStats([&](const ServerStats& s) { return s.open_connections == kMax - 1; }));
  EXPECT_EQ(StatusOf(Exchange("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")), 200);
  idle.clear();
  ASSERT_TRUE(WaitForStats([](const ServerStats& s) { return s.open_connections == 0; }));
  const absl::Time until = absl::Now() + absl::Seconds(5);
  while ((CountEntries("/proc/self/fd") != fds_before ||
          CountEntries("/proc/self/task") != threads_before) &&
         absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(CountEntries("/proc/self/fd"), fds_before);
  EXPECT_EQ(CountEntries("/proc/self/task"), threads_before);
}

TEST_F(LimitsTest, PerPeerCapRefusesOneAddressButNotAnother) {
  ServerOptions options;
  options.max_connections_per_peer = 3;
  options.keep_alive_timeout = absl::Seconds(60);
  options.max_request_head_time = absl::Seconds(60);
  StartServer(options);
  std::vector<std::unique_ptr<Raw>> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(std::make_unique<Raw>(port_, "127.0.0.1"));
  ASSERT_TRUE(WaitForStats([](const ServerStats& s) { return s.open_connections == 3; }));
  Raw fourth(port_, "127.0.0.1");
  std::string got = fourth.ReadUntilClosed(absl::Seconds(5));
  EXPECT_EQ(StatusOf(got), 429) << got;
  EXPECT_THAT(BodyOf(got), HasSubstr("max_connections_per_peer"));
  // Another address (every 127/8 address is this machine) is served.
  Raw other(port_, "127.0.0.2");
  ASSERT_TRUE(other.connected());
  other.Send("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusOf(other.ReadUntilClosed()), 200);
  // A slot of the first address frees when one of its connections closes.
  idle.pop_back();
  ASSERT_TRUE(WaitForStats([](const ServerStats& s) { return s.open_connections == 2; }));
  EXPECT_EQ(StatusOf(Exchange("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")), 200);
  EXPECT_EQ(server_->Stats().refused_connections_per_peer, 1u);
}

TEST_F(LimitsTest, ConnectionRateIsATokenBucket) {
  ServerOptions options;
  options.max_connections_per_second = 5;
  options.connection_burst = 5;
  StartServer(options);
  int ok = 0, refused = 0;
  const absl::Time start = absl::Now();
  for (int i = 0; i < 30; ++i) {
    std::string got = Exchange("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
    int status = StatusOf(got);
    if (status == 200) ++ok;
    if (status == 429) {
      ++refused;
      EXPECT_THAT(got, HasSubstr("Retry-After: 1\r\n"));
      EXPECT_THAT(BodyOf(got), HasSubstr("max_connections_per_second"));
    }
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  EXPECT_EQ(ok + refused, 30);
  // The burst, plus what refilled meanwhile (5/s).
  EXPECT_GE(ok, 5);
  EXPECT_LE(ok, 5 + static_cast<int>(seconds * 5) + 1);
  EXPECT_EQ(server_->Stats().refused_connection_rate, static_cast<uint64_t>(refused));
  absl::SleepFor(absl::Milliseconds(1100));
  EXPECT_EQ(StatusOf(Exchange("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")), 200);
}

TEST_F(LimitsTest, ClientsRefusedByTheRateLimitBackOffAndAllConnect) {
  constexpr int kClients = 40;
  ServerOptions options;
  options.max_connections_per_second = 20;
  options.connection_burst = 10;
  StartServer(options);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) {
    ClientOptions o;
    o.server_url = absl::StrCat("http://127.0.0.1:", port_);
    o.client_id = absl::StrCat("storm-", i);
    o.reconnect_initial = absl::Milliseconds(100);
    o.reconnect_max = absl::Seconds(2);
    auto c = std::make_unique<Client>(o);
    ASSERT_TRUE(c->Register("demo.S/Id", [](CallContext& ctx, absl::string_view) {
                      return absl::StatusOr<std::string>(
                          absl::StrCat("\"", ctx.client_id(), "\""));
                    }).ok());
    ASSERT_TRUE(c->Start().ok());
    clients.push_back(std::move(c));
  }
  for (auto& c : clients) ASSERT_TRUE(c->WaitUntilConnected(absl::Seconds(30)));
  EXPECT_GT(server_->Stats().refused_connection_rate, 0u);
  for (int i = 0; i < kClients; ++i) {
    CallOptions call;
    call.timeout = absl::Seconds(20);
    CallResult r = server_->Call(absl::StrCat("storm-", i), "demo.S/Id", "{}", call);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
  }
  for (auto& c : clients) c->Stop(absl::ZeroDuration());
}

TEST_F(LimitsTest, StatsEndpointShowsTheConnectionCounters) {
  ServerOptions options;
  options.max_connections_per_peer = 1;
  options.keep_alive_timeout = absl::Seconds(60);
  StartServer(options);
  Exchange(absl::StrCat("GET /healthz HTTP/1.1\r\nX: ", std::string(9000, 'a'), "\r\n\r\n"));
  ASSERT_TRUE(WaitForStats([](const ServerStats& s) { return s.open_connections == 0; }));
  httplib::Client http("127.0.0.1", port_);
  http.set_keep_alive(true);
  ASSERT_TRUE(http.Get("/healthz"));  // holds the one slot of 127.0.0.1
  Raw refused(port_);
  EXPECT_EQ(StatusOf(refused.ReadUntilClosed()), 429);
  auto stats = http.Get("/sserpc/v1/stats");
  ASSERT_TRUE(stats);
  for (const char* field :
       {R"("open_connections":1)", R"("refused_connections_per_peer":1)",
        R"("refused_request_head_too_large":1)", R"("refused_max_connections":0)",
        R"("refused_connection_rate":0)", R"("refused_request_head_timeout":0)",
        R"("refused_uri_too_long":0)", R"("refused_body_too_large":0)",
        R"("connections_accepted":2)"}) {
    EXPECT_THAT(stats->body, HasSubstr(field));
  }
}

TEST_F(LimitsTest, StartRefusesLimitsOutOfRange) {
  for (auto bad : std::vector<void (*)(ServerOptions&)>{
           [](ServerOptions& o) { o.max_connections = 0; },
           [](ServerOptions& o) { o.max_request_headers = 0; },
           [](ServerOptions& o) { o.max_request_head_bytes = 100; },
           [](ServerOptions& o) { o.max_request_head_time = absl::ZeroDuration(); },
           [](ServerOptions& o) { o.connection_burst = 0; }}) {
    ServerOptions options;
    bad(options);
    Server server(options);
    EXPECT_EQ(server.Start("127.0.0.1", 0).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  ServerOptions unlimited_rate;
  unlimited_rate.max_connections_per_second = 0;
  unlimited_rate.connection_burst = 0;
  Server server(unlimited_rate);
  EXPECT_TRUE(server.Start("127.0.0.1", 0).ok());
}

// --- sserpc-server -----------------------------------------------------------

int ReadPort(testing::Process& p) {
  std::string line = p.Line();
  int port = 0;
  EXPECT_EQ(line.rfind("LISTENING ", 0), 0u) << line;
  EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(10)), &port));
  return port;
}

TEST(ServerBinaryLimitsTest, HelpListsTheLimitFlags) {
  testing::Process help({SSERPC_SERVER_BINARY, "--help"});
  help.Finish();
  for (const char* flag :
       {"--max_connections", "--max_connections_per_peer", "--max_connections_per_second",
        "--connection_burst", "--max_request_head_time_ms", "--max_request_head_bytes",
        "--max_request_headers"}) {
    EXPECT_THAT(help.out() + help.err(), HasSubstr(flag));
  }
}

TEST(ServerBinaryLimitsTest, FlagsSetTheLimitsAndRlimitNofileCapsConnections) {
  // 256 open files: max_connections 1000 cannot be honoured; the server says
  // so and serves at most 256 - 32 = 224 connections.
  testing::Process server(
      {"/bin/sh", "-c",
       absl::StrCat("ulimit -n 256 && exec ", SSERPC_SERVER_BINARY,
                    " --port=0 --max-connections=1000 --max-request-headers=5")});
  const int port = ReadPort(server);
  ASSERT_GT(port, 0);
  std::string many = "GET /healthz HTTP/1.1\r\nConnection: close\r\n";
  for (int i = 0; i < 5; ++i) absl::StrAppend(&many, "X-H", i, ": v\r\n");
  {
    Raw c(port);
    c.Send(many + "\r\n");
    EXPECT_EQ(StatusOf(c.ReadUntilClosed()), 431);
  }
  std::vector<std::unique_ptr<Raw>> idle;
  for (int i = 0; i < 224; ++i) idle.push_back(std::make_unique<Raw>(port));
  Raw over(port);
  EXPECT_EQ(StatusOf(over.ReadUntilClosed()), 429);
  idle.clear();
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Finish(), 0);
  EXPECT_THAT(server.err(), HasSubstr("max_connections is 1000 but RLIMIT_NOFILE allows 256"));
  EXPECT_THAT(server.err(), HasSubstr("serving at most 224 connections"));
}

}  // namespace
}  // namespace sserpc
