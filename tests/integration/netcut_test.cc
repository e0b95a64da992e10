// A client whose network vanishes without a FIN or RST (cable cut): the
// server must notice within the documented bound
// (ServerOptions::dead_peer_timeout), not after Linux's ~15 minutes of
// retransmissions. Real network namespaces: the server runs in this process
// on the host end of a veth pair, the client in a namespace on the other
// end, and the cut is that end's link going down, which drops packets
// silently. Needs root (CAP_NET_ADMIN) and `ip` (iproute2); the tests fail,
// never skip, without them.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "proto/sync.h"
#include "server/server.h"
#include "tests/testing/process.h"

namespace sserpc {
namespace {

using ::sserpc::testing::Process;

std::string IpBinary() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "ip";  // fails below with a clear message
}

struct RunResult {
  int code;
  std::string output;
};

// Runs `ip args...` and waits for it.
RunResult Ip(std::vector<std::string> args) {
  args.insert(args.begin(), IpBinary());
  std::string line = absl::StrJoin(args, " ");
  Process p(std::move(args));
  int code = p.Finish();
  return {code, absl::StrCat("`", line, "` exited ", code, ": ", p.out(),
                             p.err())};
}

// A network namespace with a veth pair into it, both ends up, addresses in
// a private /30; removed (with the pair) when destroyed. Names and subnet
// come from the pid, so concurrent runs do not clash.
class NetnsLink {
 public:
  NetnsLink() {
    const int pid = static_cast<int>(getpid());
    ns_ = absl::StrCat("sserpc-nc-", pid);
    host_dev_ = absl::StrCat("snh", pid);  // at most 15 characters
    ns_dev_ = absl::StrCat("snc", pid);
    const int block = pid % 16384;  // a /30 in 10.213.0.0/16
    host_ip_ = absl::StrCat("10.213.", block / 64, ".", (block % 64) * 4 + 1);
    ns_ip_ = absl::StrCat("10.213.", block / 64, ".", (block % 64) * 4 + 2);
    Cleanup();  // leftovers of a killed run with the same pid
    for (const std::vector<std::string>& cmd :
         std::vector<std::vector<std::string>>{
             {"netns", "add", ns_},
             {"link", "add", host_dev_, "type", "veth", "peer", "name", ns_dev_},
             {"link", "set", ns_dev_, "netns", ns_},
             {"addr", "add", host_ip_ + "/30", "dev", host_dev_},
             {"link", "set", host_dev_, "up"},
             {"netns", "exec", ns_, IpBinary(), "addr", "add", ns_ip_ + "/30",
              "dev", ns_dev_},
             {"netns", "exec", ns_, IpBinary(), "link", "set", ns_dev_, "up"},
             {"netns", "exec", ns_, IpBinary(), "link", "set", "lo", "up"}}) {
      RunResult r = Ip(cmd);
      if (r.code != 0) {
        error_ = r.output;
        return;
      }
    }
  }
  ~NetnsLink() { Cleanup(); }
  NetnsLink(const NetnsLink&) = delete;
  NetnsLink& operator=(const NetnsLink&) = delete;

  // Empty when the namespace and link are ready.
  const std::string& error() const { return error_; }
  const std::string& host_ip() const { return host_ip_; }
  const std::string& ns_ip() const { return ns_ip_; }

  // argv that runs `argv` inside the namespace.
  std::vector<std::string> InNamespace(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {IpBinary(), "netns", "exec", ns_});
    return argv;
  }

  // The cable cut: the namespace's end goes down. Its packets, and the
  // host's packets to it, are dropped; nobody sends FIN, RST or ICMP.
  RunResult Cut() {
    return Ip({"netns", "exec", ns_, IpBinary(), "link", "set", "dev", ns_dev_,
               "down"});
  }

 private:
  void Cleanup() {
    Ip({"link", "del", host_dev_});  // also removes the namespace's end
    Ip({"netns", "del", ns_});
  }

  std::string ns_, host_dev_, ns_dev_, host_ip_, ns_ip_, error_;
};

// The sockets of this process whose local port is `port` and that have a
// peer: the ones the server accepted. With `peer_ip`, only those from it.
std::vector<int> AcceptedSockets(int port, const std::string& peer_ip = "") {
  std::vector<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  while (dirent* entry = readdir(dir)) {
    int fd;
    if (!absl::SimpleAtoi(entry->d_name, &fd) || fd == dirfd(dir)) continue;
    sockaddr_in local{}, peer{};
    socklen_t len = sizeof(local), peer_len = sizeof(peer);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0 ||
        local.sin_family != AF_INET || ntohs(local.sin_port) != port ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
      continue;
    }
    char ip[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
    if (peer_ip.empty() || peer_ip == ip) fds.push_back(fd);
  }
  closedir(dir);
  return fds;
}

// The listening socket on `port` (no peer), or -1.
int ListeningSocket(int port) {
  int found = -1;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (dirent* entry = readdir(dir)) {
    int fd;
    if (!absl::SimpleAtoi(entry->d_name, &fd) || fd == dirfd(dir)) continue;
    sockaddr_in local{}, peer{};
    socklen_t len = sizeof(local), peer_len = sizeof(peer);
    int listening = 0;
    socklen_t int_len = sizeof(listening);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
        local.sin_family == AF_INET && ntohs(local.sin_port) == port &&
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 &&
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &int_len) == 0 &&
        listening) {
      found = fd;
    }
  }
  closedir(dir);
  return found;
}

struct DeadPeerSettings {
  int keepalive, idle_s, interval_s, count, user_timeout_ms;
  bool operator==(const DeadPeerSettings& o) const {
    return keepalive == o.keepalive && idle_s == o.idle_s &&
           interval_s == o.interval_s && count == o.count &&
           user_timeout_ms == o.user_timeout_ms;
  }
};

std::ostream& operator<<(std::ostream& os, const DeadPeerSettings& s) {
  return os << "{SO_KEEPALIVE=" << s.keepalive << " TCP_KEEPIDLE=" << s.idle_s
            << " TCP_KEEPINTVL=" << s.interval_s << " TCP_KEEPCNT=" << s.count
            << " TCP_USER_TIMEOUT=" << s.user_timeout_ms << "}";
}

DeadPeerSettings ReadSettings(int fd) {
  DeadPeerSettings s{-1, -1, -1, -1, -1};
  socklen_t len = sizeof(int);
  getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &s.keepalive, &len);
  len = sizeof(int);
  getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &s.idle_s, &len);
  len = sizeof(int);
  getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &s.interval_s, &len);
  len = sizeof(int);
  getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &s.count, &len);
  len = sizeof(int);
  getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &s.user_timeout_ms, &len);
  return s;
}

// A plain TCP connection from this process to 127.0.0.1:port.
int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::optional<ClientInfo> FindClient(Server& server, const std::string& id) {
  for (const ClientInfo& c : server.Clients()) {
    if (c.client_id == id) return c;
  }
  return std::nullopt;
}

bool WaitFor(absl::Duration timeout, const std::function<bool()>& done) {
  const absl::Time end = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > end) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// The options are set on the listening socket; Linux copies them to every
// socket accept() returns. This checks the copy on real accepted sockets,
// for a short timeout (probes every second) and a long one (127 probes at
// most, spread out).
TEST(NetcutTest, AcceptedSocketsInheritTheDeadPeerSettings) {
  struct Case {
    absl::Duration dead_peer_timeout;
    DeadPeerSettings want;
  };
  for (const Case& c : {
           // 7 s: idle 3 s, then a probe a second, abort at 7 s.
           Case{absl::Seconds(7), {1, 3, 1, 4, 7000}},
           // 2.5 s: whole seconds for keepalive (3 s), exact user timeout.
           Case{absl::Milliseconds(2500), {1, 1, 1, 2, 2500}},
           // 1 h: idle 1800 s, then 120 probes 15 s apart.
           Case{absl::Hours(1), {1, 1800, 15, 120, 3600000}},
       }) {
    SCOPED_TRACE(absl::FormatDuration(c.dead_peer_timeout));
    ServerOptions options;
    options.dead_peer_timeout = c.dead_peer_timeout;
    Server server(options);
    const int port = server.Start("127.0.0.1", 0).value();
    const int listener = ListeningSocket(port);
    ASSERT_GE(listener, 0);
    EXPECT_EQ(ReadSettings(listener), c.want);

    const int fd = ConnectLoopback(port);
    ASSERT_GE(fd, 0) << strerror(errno);
    std::vector<int> accepted;
    ASSERT_TRUE(WaitFor(absl::Seconds(5), [&] {
      accepted = AcceptedSockets(port);
      return !accepted.empty();
    }));
    ASSERT_EQ(accepted.size(), 1u);
    EXPECT_EQ(ReadSettings(accepted[0]), c.want);
    // Not what Linux gives a fresh socket (keepalive off, 7200 s, no user
    // timeout): the values really are copied, not defaults that match.
    const int fresh = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(ReadSettings(fresh).keepalive, 0);
    EXPECT_EQ(ReadSettings(fresh).user_timeout_ms, 0);
    close(fresh);
    close(fd);
    server.Stop();
  }
}

TEST(NetcutTest, DeadPeerTimeoutOutOfRangeIsRefused) {
  for (absl::Duration d :
       {absl::Milliseconds(1999), absl::ZeroDuration(), absl::Seconds(-1),
        absl::Hours(1) + absl::Seconds(1), absl::InfiniteDuration()}) {
    ServerOptions options;
    options.dead_peer_timeout = d;
    Server server(options);
    absl::StatusOr<int> port = server.Start("127.0.0.1", 0);
    EXPECT_EQ(port.status().code(), absl::StatusCode::kInvalidArgument)
        << absl::FormatDuration(d);
    EXPECT_NE(port.status().message().find("dead_peer_timeout"),
              std::string::npos)
        << port.status();
  }
}

struct Outcome {
  Notification done;
  CallResult result;
  absl::Time at;
};

// A stream's client vanishes mid-call: its next heartbeat is never
// acknowledged, TCP_USER_TIMEOUT aborts the connection dead_peer_timeout
// later, the stream ends, and after the resume grace the call fails
// UNAVAILABLE. Without the socket options the heartbeats would sit in the
// send buffer and the stream would stay "connected" for ~15 minutes.
TEST(NetcutTest, StreamWhosePeerVanishedWithoutFinEndsWithinTheBound) {
  NetnsLink net;
  ASSERT_EQ(net.error(), "")
      << "cannot build the network namespace this test needs (run as root, "
         "with iproute2 installed: scripts/deps.sh)";

  ServerOptions options;
  options.heartbeat = absl::Seconds(1);
  options.liveness_check = absl::Milliseconds(250);
  options.dead_peer_timeout = absl::Seconds(2);
  options.resume_grace = absl::Milliseconds(500);
  options.allow_insecure_non_loopback = true;  // a private veth link
  Server server(options);
  const int port = server.Start(net.host_ip(), 0).value();

  const std::string id = "netcut";
  Process client(net.InNamespace(
      {SSERPC_GREETER_CLIENT_BINARY, "--server",
       absl::StrCat("http://", net.host_ip(), ":", port), "--client-id", id}));
  ASSERT_TRUE(WaitFor(absl::Seconds(10), [&] {
    std::optional<ClientInfo> c = FindClient(server, id);
    return c.has_value() && c->state == "connected";
  })) << "the client in the namespace never connected";
  ASSERT_EQ(AcceptedSockets(port, net.ns_ip()).size(), 1u);

  auto outcome = std::make_shared<Outcome>();
  CallOptions call_options;
  call_options.timeout = absl::Seconds(120);  // never the reason it ends
  server.CallAsync(id, "demo.Greeter/Countdown", R"({"seconds":100})",
                   call_options, [outcome](CallResult r) {
                     outcome->result = std::move(r);
                     outcome->at = absl::Now();
                     outcome->done.Notify();
                   });
  // The request is written (and, over a veth, acknowledged at once).
  ASSERT_TRUE(WaitFor(absl::Seconds(5), [&] {
    std::optional<ClientInfo> c = FindClient(server, id);
    return c.has_value() && c->calls_sent == 1;
  }));
  absl::SleepFor(absl::Milliseconds(200));
  ASSERT_FALSE(outcome->done.HasBeenNotified()) << outcome->result.status();

  const absl::Time cut = absl::Now();
  RunResult r = net.Cut();
  ASSERT_EQ(r.code, 0) << r.output;

  // The documented bound (server/options.h, docs/PROTOCOL.md).
  const absl::Duration detect_bound =
      options.heartbeat + options.dead_peer_timeout + options.liveness_check;
  const absl::Duration slack = absl::Seconds(1);
  std::optional<absl::Time> stream_ended;
  bool saw_resuming = false;
  WaitFor(detect_bound + options.resume_grace + slack + absl::Seconds(2), [&] {
    std::optional<ClientInfo> c = FindClient(server, id);
    if (!stream_ended && (!c.has_value() || c->state != "connected")) {
      stream_ended = absl::Now();
    }
    if (c.has_value() && c->state == "resuming") saw_resuming = true;
    return outcome->done.HasBeenNotified();
  });
  ASSERT_TRUE(stream_ended.has_value())
      << "the stream to the vanished client is still connected "
      << absl::FormatDuration(absl::Now() - cut) << " after the cut";
  const absl::Duration detected = *stream_ended - cut;
  std::printf("stream ended %s after the cut (bound %s)\n",
              absl::FormatDuration(detected).c_str(),
              absl::FormatDuration(detect_bound).c_str());
  // Not before TCP_USER_TIMEOUT could have fired: the cut, not something
  // else (a reset, an error), ended the stream.
  EXPECT_GE(detected, options.dead_peer_timeout - absl::Milliseconds(50));
  EXPECT_LE(detected, detect_bound + slack);
  EXPECT_TRUE(saw_resuming) << "the session did not enter the resume grace";
  EXPECT_EQ(server.Stats().open_streams, 0u);

  ASSERT_TRUE(outcome->done.HasBeenNotified())
      << "the call is still pending " << absl::FormatDuration(absl::Now() - cut)
      << " after the cut";
  EXPECT_EQ(outcome->result.status().code(), absl::StatusCode::kUnavailable)
      << outcome->result.status();
  const absl::Duration ended = outcome->at - cut;
  std::printf("call ended %s after the cut: %s\n",
              absl::FormatDuration(ended).c_str(),
              outcome->result.status().ToString().c_str());
  EXPECT_GE(outcome->at - *stream_ended,
            options.resume_grace - absl::Milliseconds(50));
  EXPECT_LE(ended, detect_bound + options.resume_grace + slack);
  std::optional<ClientInfo> after = FindClient(server, id);
  EXPECT_TRUE(!after.has_value() || after->state != "connected");
}

// A connection that carries nothing (here: opened, no request sent) to a
// peer that vanishes is aborted by keepalive within dead_peer_timeout
// (whole seconds) of the peer's last answer, while httplib would keep it
// for its keep-alive timeout (60 s here). While the peer is there, the
// probes are answered and the idle connection stays.
TEST(NetcutTest, IdleConnectionToAVanishedPeerIsAbortedByKeepalive) {
  NetnsLink net;
  ASSERT_EQ(net.error(), "")
      << "cannot build the network namespace this test needs (run as root, "
         "with iproute2 installed: scripts/deps.sh)";

  ServerOptions options;
  options.dead_peer_timeout = absl::Seconds(2);
  options.keep_alive_timeout = absl::Seconds(60);
  options.read_timeout = absl::Seconds(60);
  options.allow_insecure_non_loopback = true;
  Server server(options);
  const int port = server.Start(net.host_ip(), 0).value();

  // bash opens the connection as fd 3 and becomes `sleep`, which holds it.
  Process idle(net.InNamespace(
      {"/bin/bash", "-c",
       absl::StrCat("exec 3<>/dev/tcp/", net.host_ip(), "/", port,
                    " && exec sleep 60")}));
  ASSERT_TRUE(WaitFor(absl::Seconds(10), [&] {
    return AcceptedSockets(port, net.ns_ip()).size() == 1;
  })) << "the idle connection from the namespace never arrived";

  // Healthy: keepalive probes (from 1 s on) are answered, nothing is cut.
  absl::SleepFor(options.dead_peer_timeout + absl::Milliseconds(500));
  ASSERT_EQ(AcceptedSockets(port, net.ns_ip()).size(), 1u)
      << "a healthy idle connection was closed";

  const absl::Time cut = absl::Now();
  RunResult r = net.Cut();
  ASSERT_EQ(r.code, 0) << r.output;
  // Aborted at the first probe time (whole seconds) at least
  // dead_peer_timeout after the last answer, which was at most a probe
  // interval (1 s) before the cut.
  const absl::Duration bound = options.dead_peer_timeout + absl::Seconds(1);
  const absl::Duration slack = absl::Seconds(1);
  ASSERT_TRUE(WaitFor(bound + slack + absl::Seconds(2), [&] {
    return AcceptedSockets(port, net.ns_ip()).empty();
  })) << "the idle connection to the vanished peer is still open "
      << absl::FormatDuration(absl::Now() - cut) << " after the cut";
  const absl::Duration closed = absl::Now() - cut;
  std::printf("idle connection closed %s after the cut (bound %s)\n",
              absl::FormatDuration(closed).c_str(),
              absl::FormatDuration(bound).c_str());
  EXPECT_GE(closed, options.dead_peer_timeout - absl::Seconds(1));
  EXPECT_LE(closed, bound + slack);
}

}  // namespace
}  // namespace sserpc
