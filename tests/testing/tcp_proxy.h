#ifndef SSERPC_TESTS_TESTING_TCP_PROXY_H_
#define SSERPC_TESTS_TESTING_TCP_PROXY_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/sync.h"

namespace sserpc::testing {

// A TCP proxy on 127.0.0.1 for fault tests: point a client at port() and
// every connection it opens is relayed to 127.0.0.1:target_port, unless the
// policy decides to break it. The policy runs on the connection's own thread
// once the request line has arrived (it may block for a bounded time, e.g.
// to hold a request back until the test lets it go), and picks one of:
//
//   kForward       relay both ways until both sides have closed;
//   kCutRequest    relay only the first half of the bytes received so far,
//                  then reset both sides (SO_LINGER {1, 0}): the request is
//                  cut mid-way, the server never sees it whole, and the
//                  client sees its connection reset;
//   kDropResponse  relay the request; as soon as the server's response
//                  starts, record its status and reset the client's side
//                  without relaying any of it: the server did the work, the
//                  client cannot know.
//
// Each connection is recorded (request line, action, and for POSTs to a
// .../replies path the HTTP status of every response the server sent on
// it). The destructor stops accepting, ends every connection, joins every
// thread and closes every socket. Threads own their sockets; they are woken
// by an eventfd, never by closing a socket under them.
class TcpProxy {
 public:
  enum class Action { kForward, kCutRequest, kDropResponse };

  struct Connection {
    int index = 0;             // in accept order, from 0
    std::string request_line;  // without CRLF
    bool reply_post = false;   // "POST .../replies ..."
  };
  using Policy = std::function<Action(const Connection&)>;

  struct Record {
    Connection connection;
    Action action = Action::kForward;
    std::vector<int> statuses;  // responses from the server (reply POSTs)
    bool ended = false;
  };

  TcpProxy(int target_port, Policy policy)
      : target_port_(target_port), policy_(std::move(policy)) {
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr = Loopback(0);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listen_fd_, 128) != 0) {
      std::abort();
    }
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~TcpProxy() {
    uint64_t one = 1;
    ssize_t ignored = ::write(stop_fd_, &one, sizeof(one));
    (void)ignored;
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      MutexLock lock(&mu_);
      threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();
    ::close(listen_fd_);
    ::close(stop_fd_);
  }

  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }

  std::vector<Record> records() const {
    MutexLock lock(&mu_);
    return records_;
  }

  // Waits until `done(records)` holds; false after `timeout`.
  bool WaitFor(const std::function<bool(const std::vector<Record>&)>& done,
               absl::Duration timeout = absl::Seconds(10)) const {
    MutexLock lock(&mu_);
    auto cond = [&] { return done(records_); };
    return mu_.AwaitWithTimeout(Condition(&cond), timeout);
  }

  // The records of reply POSTs, in accept order.
  static std::vector<Record> ReplyPosts(const std::vector<Record>& all) {
    std::vector<Record> out;
    for (const Record& r : all) {
      if (r.connection.reply_post) out.push_back(r);
    }
    return out;
  }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
  }

  static void SetNonBlocking(int fd) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }

  // Closes with RST instead of FIN.
  static void Reset(int fd) {
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    ::close(fd);
  }

  // Waits for `events` on `fd`; false when the proxy stops first.
  bool PollFor(int fd, short events) const {
    pollfd fds[2] = {{fd, events, 0}, {stop_fd_, POLLIN, 0}};
    while (true) {
      int n = ::poll(fds, 2, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || (fds[1].revents & POLLIN)) return false;
      return true;
    }
  }

  bool WriteAll(int fd, absl::string_view data) const {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!PollFor(fd, POLLOUT)) return false;
        continue;
      }
      return false;
    }
    return true;
  }

  // Statuses of the responses in a server-to-client transcript. Only used
  // for reply POSTs, whose responses are short and whose bodies are JSON
  // (they never contain "HTTP/1.").
  static std::vector<int> Statuses(absl::string_view transcript) {
    std::vector<int> out;
    size_t pos = 0;
    while ((pos = transcript.find("HTTP/1.", pos)) != absl::string_view::npos) {
      int status = 0;
      if (pos + 12 <= transcript.size() &&
          absl::SimpleAtoi(transcript.substr(pos + 9, 3), &status)) {
        out.push_back(status);
      }
      pos += 7;
    }
    return out;
  }

  void AcceptLoop() {
    while (PollFor(listen_fd_, POLLIN)) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) continue;
      MutexLock lock(&mu_);
      const int index = static_cast<int>(records_.size());
      records_.emplace_back();
      records_.back().connection.index = index;
      threads_.emplace_back([this, fd, index] { Serve(fd, index); });
    }
  }

  void Update(int index, const std::function<void(Record&)>& change) {
    MutexLock lock(&mu_);
    change(records_[index]);
  }

  void Serve(int client, int index) {
    // The request line (or whatever arrives before the client closes).
    std::string head;
    char buf[16384];
    while (head.find("\r\n") == std::string::npos && head.size() < sizeof(buf)) {
      ssize_t n = ::recv(client, buf, sizeof(buf), 0);
      if (n > 0) {
        head.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
          PollFor(client, POLLIN)) {
        continue;
      }
      break;  // closed, failed, or the proxy stops
    }
    Connection c;
    c.index = index;
    c.request_line = head.substr(0, head.find("\r\n"));
    c.reply_post = absl::StartsWith(c.request_line, "POST ") &&
                   absl::StrContains(c.request_line, "/replies ");
    Update(index, [&](Record& r) { r.connection = c; });
    if (head.find("\r\n") == std::string::npos) {
      ::close(client);
      Update(index, [](Record& r) { r.ended = true; });
      return;
    }
    const Action action = policy_(c);
    Update(index, [&](Record& r) { r.action = action; });

    int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = Loopback(target_port_);
    if (server < 0 ||
        ::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      if (server >= 0) ::close(server);
      Reset(client);
      Update(index, [](Record& r) { r.ended = true; });
      return;
    }
    int one = 1;
    ::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    SetNonBlocking(server);

    if (action == Action::kCutRequest) {
      WriteAll(server, absl::string_view(head).substr(0, head.size() / 2));
      Reset(server);
      Reset(client);
      Update(index, [](Record& r) { r.ended = true; });
      return;
    }

    std::string transcript;  // server to client, reply POSTs only
    bool client_open = true;  // still reading from the client
    bool server_open = true;  // still reading from the server
    bool reset = false;
    bool ok = WriteAll(server, head);
    while (ok && (client_open || server_open)) {
      pollfd fds[3] = {{client, static_cast<short>(client_open ? POLLIN : 0), 0},
                       {server, static_cast<short>(server_open ? POLLIN : 0), 0},
                       {stop_fd_, POLLIN, 0}};
      int n = ::poll(fds, 3, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || (fds[2].revents & POLLIN)) break;
      if (fds[0].revents != 0 && client_open) {
        ssize_t got = ::recv(client, buf, sizeof(buf), 0);
        if (got > 0) {
          ok = WriteAll(server, absl::string_view(buf, static_cast<size_t>(got)));
        } else if (got == 0) {
          client_open = false;
          ::shutdown(server, SHUT_WR);
        } else if (errno != EAGAIN && errno != EINTR) {
          reset = true;
          break;
        }
      }
      if (fds[1].revents != 0 && server_open) {
        ssize_t got = ::recv(server, buf, sizeof(buf), 0);
        if (got > 0) {
          absl::string_view data(buf, static_cast<size_t>(got));
          std::vector<int> statuses;
          if (c.reply_post || action == Action::kDropResponse) {
            transcript.append(data.data(), data.size());
            statuses = Statuses(transcript);
            Update(index, [&](Record& r) { r.statuses = statuses; });
          }
          if (action == Action::kDropResponse) {
            // Nothing of the response reaches the client; once its status
            // line has been seen (and recorded), the client is reset.
            if (statuses.empty()) continue;
            reset = true;
            break;
          }
          ok = WriteAll(client, data);
        } else if (got == 0) {
          server_open = false;
          ::shutdown(client, SHUT_WR);
        } else if (errno != EAGAIN && errno != EINTR) {
          reset = true;
          break;
        }
      }
    }
    if (reset || !ok) {
      Reset(client);
      Reset(server);
    } else {
      ::close(client);
      ::close(server);
    }
    Update(index, [](Record& r) { r.ended = true; });
  }

  const int target_port_;
  const Policy policy_;
  int port_ = 0;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  std::thread accept_thread_;

  mutable Mutex mu_;
  std::vector<Record> records_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sserpc::testing

#endif  // SSERPC_TESTS_TESTING_TCP_PROXY_H_
