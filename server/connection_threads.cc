#include "server/connection_threads.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "proto/envelope.h"
#include "proto/log.h"
#include "proto/thread_name.h"
#include "proto/poll_for.h"

namespace sserpc::server_internal {
namespace {

// cpp-httplib 0.11.4 refuses longer lines itself, but only after buffering
// them whole (CPPHTTPLIB_HEADER_MAX_LENGTH, CPPHTTPLIB_REQUEST_URI_MAX_LENGTH,
// both 8192, CRLF included).
constexpr size_t kMaxLineBytes = 8192;
// Chunk framing a body may add to max_body_bytes on the wire (chunks of
// 1 KiB or more add well under 1%).
constexpr size_t kBodyFramingAllowance = 64 << 10;
// After cutting a connection, unread input is drained for at most this long
// (and this much) before closing, so the peer reads our response instead of
// a reset.
constexpr absl::Duration kDrainTime = absl::Seconds(1);
constexpr size_t kDrainBytes = 256 << 10;

// Deadlines and the token bucket must not jump with the wall clock: an
// absl::Time on the steady clock (only ever compared with its kind).
absl::Time MonotonicNow() {
  return absl::UnixEpoch() +
         absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

const char* Reason(int status) {
  switch (status) {
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// A complete response that closes the connection, with the JSON error body
// every other refusal has.
std::string CannedResponse(int status, const absl::Status& error,
                           bool retry_after) {
  const std::string body = ErrorBody(error);
  return absl::StrCat("HTTP/1.1 ", status, " ", Reason(status),
                      "\r\nContent-Type: application/json\r\nContent-Length: ",
                      body.size(), "\r\nConnection: close\r\n",
                      retry_after ? "Retry-After: 1\r\n" : "", "\r\n", body);
}

// Best effort and never blocking: the peer may not read at all.
void SendNow(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off,
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

std::string AddressString(const sockaddr_storage& addr, int* port) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
    if (port != nullptr) *port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], buf, sizeof(buf));
    } else {
      inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
    }
    if (port != nullptr) *port = ntohs(a->sin6_port);
  }
  return buf;
}

std::string PeerAddress(int fd, int* port = nullptr) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  return AddressString(addr, port);
}

}  // namespace

// ---------------------------------------------------------------------------
// ConnectionThreads

struct ConnectionThreads::Task {
  std::shared_ptr<Counter> counter;
  std::function<void()> fn;
};

void* ConnectionThreads::Main(void* arg) {
  std::unique_ptr<Task> task(static_cast<Task*>(arg));
  NameThisThread("sserpc-conn");
  task->fn();
  std::shared_ptr<Counter> counter = std::move(task->counter);
  task.reset();  // drop the task's captures before Wait() can return
  MutexLock lock(&counter->mu);
  --counter->active;
  return nullptr;
}

bool ConnectionThreads::Start(std::function<void()> fn) {
  {
    MutexLock lock(&counter_->mu);
    ++counter_->active;
  }
  auto* task = new Task{counter_, std::move(fn)};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_bytes_);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  int err = pthread_create(&thread, &attr, &ConnectionThreads::Main, task);
  pthread_attr_destroy(&attr);
  if (err == 0) return true;
  SSERPC_LOG(kError, "pthread_create failed (", err, "): connection refused");
  delete task;
  MutexLock lock(&counter_->mu);
  --counter_->active;
  return false;
}

void ConnectionThreads::Wait() {
  MutexLock lock(&counter_->mu);
  counter_->mu.Await(Condition(
      +[](size_t* n) { return *n == 0; }, &counter_->active));
}

size_t ConnectionThreads::active() const {
  MutexLock lock(&counter_->mu);
  return counter_->active;
}

// ---------------------------------------------------------------------------
// GuardedStream: the socket as httplib's request parser sees it.
//
// Reads are buffered (httplib's line reader asks for one byte at a time) and
// every byte handed to httplib is accounted: in a request head, its lines,
// header count, size and deadline; in a body, its wire size. A breach
// writes the final response here, shuts the sending side and makes every
// later read and write fail, so httplib gives up on the connection. Writes
// and liveness checks behave exactly as httplib's own SocketStream (wait
// until writable within the write timeout, check that the peer has not
// closed, then send).

class GuardedServer::GuardedStream final : public httplib::Stream {
 public:
  GuardedStream(GuardedServer& server, int fd, absl::Duration read_timeout,
                absl::Duration write_timeout)
      : server_(server),
        options_(server.options_),
        fd_(fd),
        read_timeout_(read_timeout),
        write_timeout_(write_timeout) {}

  // Waits for the next request on the connection: up to `keep_alive` of
  // silence; for the first request also no later than its head deadline
  // (silence until then is a head that did not arrive: 408). Then starts
  // accounting a new head.
  bool WaitForRequest(bool first, absl::Time accepted, absl::Duration keep_alive) {
    if (cut_) return false;
    if (off_ < len_ || replay_off_ < replay_end_) {
      BeginHead(first ? accepted : MonotonicNow());
      return true;
    }
    if (!first) {
      // Between keep-alive requests: wait in recv() itself (one syscall, not
      // a poll() and then a recv()).
      switch (ReceiveWithin(keep_alive)) {
        case Waited::kData:
          BeginHead(MonotonicNow());
          return true;
        case Waited::kNothing:
          return false;
        case Waited::kCannot:
          break;  // poll() as for the first request
      }
    }
    absl::Duration wait = keep_alive;
    const absl::Time head_deadline = accepted + options_.max_request_head_time;
    if (first) wait = std::min(wait, head_deadline - MonotonicNow());
    int r = PollFor(fd_, POLLIN, wait);
    if (r > 0) {
      BeginHead(first ? accepted : MonotonicNow());
      return true;
    }
    if (r == 0 && first && MonotonicNow() >= head_deadline) {
      Cut(408, absl::DeadlineExceededError(
                   "no complete request head within max_request_head_time"));
    }
    return false;
  }

  bool cut() const { return cut_; }
  int fd() const { return fd_; }

  bool peer_still_there() const { return !cut_ && PeerStillThere(); }

  // After a cut: reads and drops what the peer still sends (for a short
  // while), so closing does not reset the connection before the peer has
  // read the response.
  void DrainBeforeClose() {
    const absl::Time until = MonotonicNow() + kDrainTime;
    size_t drained = 0;
    char buf[4096];
    while (drained < kDrainBytes && PollFor(fd_, POLLIN, until - MonotonicNow()) > 0) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) break;
      drained += static_cast<size_t>(n);
    }
  }

  bool is_readable() const override {
    return !cut_ && (off_ < len_ || replay_off_ < replay_end_ ||
                     PollFor(fd_, POLLIN, read_timeout_) > 0);
  }

  bool is_writable() const override {
    return !cut_ && PollFor(fd_, POLLOUT, write_timeout_) > 0 && PeerStillThere();
  }

  ssize_t read(char* ptr, size_t size) override {
    if (cut_) return -1;
    if (size == 0) return 0;
    size_t n;
    if (replay_off_ < replay_end_) {
      n = std::min(size, replay_end_ - replay_off_);
      std::memcpy(ptr, head_.data() + replay_off_, n);
      replay_off_ += n;
      // Accounted when the fast path read them, unless a new head began.
      if (!replay_accounted_ && !Account(ptr, n)) return -1;
      return static_cast<ssize_t>(n);
    }
    if (off_ < len_) {
      n = std::min(size, len_ - off_);
      std::memcpy(ptr, buf_ + off_, n);
      off_ += n;
    } else if (size >= sizeof(buf_)) {
      ssize_t r = Receive(ptr, size);
      if (r <= 0) return r;
      n = static_cast<size_t>(r);
    } else {
      ssize_t r = Receive(buf_, sizeof(buf_));
      if (r <= 0) return r;
      len_ = static_cast<size_t>(r);
      n = std::min(size, len_);
      std::memcpy(ptr, buf_, n);
      off_ = n;
    }
    if (!Account(ptr, n)) return -1;
    return static_cast<ssize_t>(n);
  }

  // The fast path's reading of a head: one line at a time, through the same
  // accounting (limits, deadline, counters) as httplib's reads, into head().
  enum class LineRead { kLine, kEnd, kCut };
  // Appends the next line through its '\n' to head(). kEnd: the peer closed
  // or the read failed first (the part read is in head()); kCut: a limit
  // cut the connection.
  LineRead ReadHeadLine() {
    while (true) {
      if (cut_) return LineRead::kCut;
      if (off_ == len_) {
        ssize_t r = Receive(buf_, sizeof(buf_));
        if (r <= 0) return cut_ ? LineRead::kCut : LineRead::kEnd;
        off_ = 0;
        len_ = static_cast<size_t>(r);
      }
      const char* start = buf_ + off_;
      const void* nl = std::memchr(start, '\n', len_ - off_);
      const size_t n = nl != nullptr
                           ? static_cast<size_t>(static_cast<const char*>(nl) - start) + 1
                           : len_ - off_;
      if (!Account(start, n)) return LineRead::kCut;
      head_.append(start, n);
      off_ += n;
      if (nl != nullptr) return LineRead::kLine;
    }
  }

  // The bytes of the current head the fast path has read.
  std::string& head() { return head_; }
  // A reusable buffer for a fast-path body.
  std::string& body() { return body_; }
  // True while bytes handed back by ReplayHead() are still unread.
  bool replaying() const { return replay_off_ < replay_end_; }
  // Starts a new head in head(); no replay may be pending.
  void StartHead() {
    head_.clear();
    replay_off_ = replay_end_ = 0;
  }
  // Hands head() back: httplib's reads get it again before the socket's
  // bytes, without accounting it twice, so it parses exactly what it would
  // have read itself.
  void ReplayHead() {
    replay_off_ = 0;
    replay_end_ = head_.size();
    replay_accounted_ = true;
  }

  // send() at once, waiting (up to the write timeout) only when the socket
  // buffer is full. httplib's own stream polls twice before every send
  // (writable? peer still there?); a peer that has gone makes the send, or
  // the next one, fail anyway, and idle streams check with is_writable().
  ssize_t write(const char* ptr, size_t size) override {
    if (cut_) return -1;
    while (true) {
      ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (PollFor(fd_, POLLOUT, write_timeout_) <= 0) return -1;
    }
  }

  // httplib asks for both addresses on every request: looked up once.
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    if (remote_port_ < 0) remote_ip_ = PeerAddress(fd_, &remote_port_);
    ip = remote_ip_;
    port = remote_port_;
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    if (local_port_ < 0) {
      sockaddr_storage addr{};
      socklen_t len = sizeof(addr);
      local_port_ = 0;
      if (getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        local_ip_ = AddressString(addr, &local_port_);
      }
    }
    ip = local_ip_;
    port = local_port_;
  }

  socket_t socket() const override { return fd_; }

 private:
  enum class Phase { kHead, kBody };

  enum class Waited { kData, kNothing, kCannot };
  // A blocking recv() into the empty read buffer, for at most `wait`
  // (SO_RCVTIMEO, set once: every call waits the same keep-alive time).
  // kNothing: the peer closed, the read failed or the time passed; kCannot:
  // the socket is non-blocking or the timeout could not be set (then poll).
  // Every other read of the socket passes MSG_DONTWAIT, so the timeout
  // changes nothing else.
  Waited ReceiveWithin(absl::Duration wait) {
    if (recv_timeout_ == absl::ZeroDuration()) {
      const int flags = ::fcntl(fd_, F_GETFL);
      const int64_t us = std::clamp<int64_t>(absl::ToInt64Microseconds(wait),
                                             1, int64_t{1} << 40);
      timeval tv{};
      tv.tv_sec = static_cast<time_t>(us / 1000000);
      tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
      const bool usable =
          flags >= 0 && (flags & O_NONBLOCK) == 0 &&
          ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0;
      recv_timeout_ = usable ? wait : absl::InfiniteDuration();
    }
    if (wait != recv_timeout_) return Waited::kCannot;
    while (true) {
      const ssize_t n = ::recv(fd_, buf_, sizeof(buf_), 0);
      if (n > 0) {
        off_ = 0;
        len_ = static_cast<size_t>(n);
        return Waited::kData;
      }
      if (n < 0 && errno == EINTR) continue;
      return Waited::kNothing;
    }
  }
  // SO_RCVTIMEO once set; zero before; infinite if it cannot be used.
  absl::Duration recv_timeout_ = absl::ZeroDuration();

  void BeginHead(absl::Time start) {
    phase_ = Phase::kHead;
    head_deadline_ = start + options_.max_request_head_time;
    head_bytes_ = line_bytes_ = lines_ = headers_ = 0;
    prev_ = 0;
    // Bytes still to be replayed belong to the new head: accounted again.
    replay_accounted_ = false;
  }

  // recv() without waiting when data is there (the common case), else
  // waits up to the read timeout, and inside a head no later than its
  // deadline: a head that stalls is cut with 408.
  ssize_t Receive(char* ptr, size_t size) {
    while (true) {
      ssize_t n = ::recv(fd_, ptr, size, MSG_DONTWAIT);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      absl::Duration wait = read_timeout_;
      if (phase_ == Phase::kHead) {
        wait = std::min(wait, head_deadline_ - MonotonicNow());
      }
      int r = PollFor(fd_, POLLIN, wait);
      if (r < 0) return -1;
      if (r == 0) {
        if (phase_ == Phase::kHead) {
          Cut(408, absl::DeadlineExceededError(
                       MonotonicNow() >= head_deadline_
                           ? "request head not complete within "
                             "max_request_head_time"
                           : "request head stalled longer than read_timeout"));
        }
        return -1;
      }
    }
  }

  // Accounts bytes handed to httplib; false after a cut.
  bool Account(const char* p, size_t n) {
    size_t i = 0;
    for (; i < n && phase_ == Phase::kHead; ++i) {
      const char c = p[i];
      ++head_bytes_;
      ++line_bytes_;
      if (line_bytes_ > kMaxLineBytes || head_bytes_ > options_.max_request_head_bytes) {
        if (lines_ == 0) {
          return Cut(414, absl::InvalidArgumentError(absl::StrCat(
                              "request line longer than ",
                              std::min(kMaxLineBytes, options_.max_request_head_bytes),
                              " bytes")));
        }
        return Cut(431, absl::ResourceExhaustedError(
                            line_bytes_ > kMaxLineBytes
                                ? absl::StrCat("header line longer than ",
                                               kMaxLineBytes, " bytes")
                                : absl::StrCat("request head larger than ",
                                               options_.max_request_head_bytes,
                                               " bytes")));
      }
      if (c == '\n') {
        // httplib ends the head at the first line that is exactly CRLF.
        if (lines_ > 0 && line_bytes_ == 2 && prev_ == '\r') {
          phase_ = Phase::kBody;
          body_bytes_ = 0;
        } else if (lines_ > 0 && ++headers_ > options_.max_request_headers) {
          return Cut(431, absl::ResourceExhaustedError(absl::StrCat(
                              "more than ", options_.max_request_headers,
                              " header fields")));
        }
        ++lines_;
        line_bytes_ = 0;
      }
      prev_ = c;
    }
    if (i < n) {
      body_bytes_ += n - i;
      if (body_bytes_ > options_.max_body_bytes + kBodyFramingAllowance) {
        return Cut(413, absl::ResourceExhaustedError(
                            "request body exceeds the size limit"));
      }
    }
    return true;
  }

  // Answers `status` and ends the connection; always false.
  bool Cut(int status, const absl::Status& error) {
    if (cut_) return false;
    cut_ = true;
    switch (status) {
      case 408: server_.head_timeout_.fetch_add(1, std::memory_order_relaxed); break;
      case 413: server_.body_too_large_.fetch_add(1, std::memory_order_relaxed); break;
      case 414: server_.uri_too_long_.fetch_add(1, std::memory_order_relaxed); break;
      default: server_.head_too_large_.fetch_add(1, std::memory_order_relaxed); break;
    }
    SSERPC_LOG(kDebug, "connection from ", PeerAddress(fd_), " cut with ",
               status, ": ", error.message());
    SendNow(fd_, CannedResponse(status, error, false));
    ::shutdown(fd_, SHUT_WR);
    return false;
  }

  // httplib's is_socket_alive(): not closed by the peer.
  bool PeerStillThere() const {
    int r = PollFor(fd_, POLLIN, absl::ZeroDuration());
    if (r == 0) return true;
    if (r < 0) return false;
    char c;
    ssize_t n;
    do {
      n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n > 0;
  }

  GuardedServer& server_;
  const ServerOptions& options_;
  const int fd_;
  const absl::Duration read_timeout_;
  const absl::Duration write_timeout_;
  bool cut_ = false;

  char buf_[4096];
  size_t off_ = 0;
  size_t len_ = 0;
  // The fast path's head, and the part of it being replayed to httplib.
  std::string head_;
  size_t replay_off_ = 0;
  size_t replay_end_ = 0;
  bool replay_accounted_ = true;
  std::string body_;

  Phase phase_ = Phase::kHead;
  absl::Time head_deadline_;
  size_t head_bytes_ = 0;
  size_t line_bytes_ = 0;
  size_t lines_ = 0;
  size_t headers_ = 0;
  char prev_ = 0;
  size_t body_bytes_ = 0;
  // The connection's addresses, once asked for (the stream is used by its
  // connection's thread only).
  mutable std::string remote_ip_;
  mutable int remote_port_ = -1;
  mutable std::string local_ip_;
  mutable int local_port_ = -1;
};

namespace {

// Runs httplib's accept-loop closures inline: on the accept thread they only
// decide admission and start the connection's thread.
class InlineTaskQueue final : public httplib::TaskQueue {
 public:
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override {}
};

}  // namespace

// ---------------------------------------------------------------------------
// GuardedServer

GuardedServer::GuardedServer(const ServerOptions& options)
    : options_(options),
      max_connections_(options.max_connections),
      tokens_(static_cast<double>(options.connection_burst)),
      refilled_(MonotonicNow()) {
  new_task_queue = [] { return new InlineTaskQueue(); };
}

GuardedServer::~GuardedServer() { CloseConnections(); }

thread_local const GuardedServer::GuardedStream* GuardedServer::current_ =
    nullptr;

bool GuardedServer::CurrentConnectionCut() {
  return current_ != nullptr && current_->cut();
}

int GuardedServer::CurrentConnectionFd() {
  return current_ != nullptr ? current_->fd() : -1;
}

bool GuardedServer::CurrentPeerStillThere() {
  return current_ == nullptr || current_->peer_still_there();
}

size_t GuardedServer::PrepareLimits() {
  size_t cap = options_.max_connections;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    const rlim_t reserve = std::max<rlim_t>(32, rl.rlim_cur / 10);
    const size_t allowed =
        rl.rlim_cur > reserve ? static_cast<size_t>(rl.rlim_cur - reserve) : 1;
    if (cap > allowed) {
      static std::atomic<bool> warned{false};
      if (!warned.exchange(true)) {
        SSERPC_LOG(kWarn, "ServerOptions.max_connections is ", cap,
                   " but RLIMIT_NOFILE allows ", rl.rlim_cur,
                   " open files (", reserve,
                   " kept for the rest of the process): serving at most ",
                   allowed, " connections; raise the limit (ulimit -n) to "
                   "serve more");
      } else {
        SSERPC_LOG(kInfo, "max_connections capped to ", allowed,
                   " by RLIMIT_NOFILE ", rl.rlim_cur);
      }
      cap = allowed;
    }
  }
  MutexLock lock(&mu_);
  max_connections_ = cap;
  stopping_ = false;
  return cap;
}

void GuardedServer::CloseConnections() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    // The fds stay open until their threads remove them (under mu_), so
    // none of these can be a reused number.
    for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
  }
  threads_.Wait();
}

void GuardedServer::AddStats(ServerStats* s) const {
  {
    MutexLock lock(&mu_);
    s->open_connections = open_.size();
  }
  auto get = [](const std::atomic<uint64_t>& a) {
    return a.load(std::memory_order_relaxed);
  };
  s->connections_accepted = get(accepted_);
  s->refused_max_connections = get(refused_max_connections_);
  s->refused_connections_per_peer = get(refused_per_peer_);
  s->refused_connection_rate = get(refused_rate_);
  s->refused_request_head_timeout = get(head_timeout_);
  s->refused_request_head_too_large = get(head_too_large_);
  s->refused_uri_too_long = get(uri_too_long_);
  s->refused_body_too_large = get(body_too_large_);
}

// Runs on the accept thread (InlineTaskQueue): decides quickly and never
// blocks.
bool GuardedServer::process_and_close_socket(socket_t sock) {
  // httplib makes the sockets it creates close-on-exec, but accepts without
  // SOCK_CLOEXEC: a process that embeds the server and starts programs
  // would hand them its clients' connections (a stream closed here would
  // then stay open there). Set at once, on the accept thread; a fork racing
  // this accept is the only window.
  fcntl(sock, F_SETFD, FD_CLOEXEC);
  const std::string peer =
      options_.max_connections_per_peer > 0 ? PeerAddress(sock) : std::string();
  Refusal why = Admit(sock, peer);
  if (why != Refusal::kNone) {
    Refuse(sock, why);
    return false;
  }
  const absl::Time accepted = MonotonicNow();
  if (!threads_.Start([this, sock, peer, accepted] {
        Serve(sock, accepted);
        Release(sock, peer);
      })) {
    {
      MutexLock lock(&mu_);
      open_.erase(sock);
      if (!peer.empty() && --per_peer_[peer] == 0) per_peer_.erase(peer);
    }
    accepted_.fetch_sub(1, std::memory_order_relaxed);
    Refuse(sock, Refusal::kNoThread);
    return false;
  }
  return true;
}

GuardedServer::Refusal GuardedServer::Admit(int fd, const std::string& peer) {
  MutexLock lock(&mu_);
  if (stopping_ || svr_sock_ == INVALID_SOCKET) return Refusal::kStopping;
  if (open_.size() >= max_connections_) return Refusal::kMaxConnections;
  if (!peer.empty()) {
    auto it = per_peer_.find(peer);
    if (it != per_peer_.end() && it->second >= options_.max_connections_per_peer) {
      return Refusal::kPerPeer;
    }
  }
  if (options_.max_connections_per_second > 0) {
    const absl::Time now = MonotonicNow();
    const double burst = static_cast<double>(options_.connection_burst);
    tokens_ = std::min(burst, tokens_ + absl::ToDoubleSeconds(now - refilled_) *
                                            static_cast<double>(
                                                options_.max_connections_per_second));
    refilled_ = now;
    if (tokens_ < 1.0) return Refusal::kRate;
    tokens_ -= 1.0;
  }
  open_.insert(fd);
  if (!peer.empty()) ++per_peer_[peer];
  accepted_.fetch_add(1, std::memory_order_relaxed);
  return Refusal::kNone;
}

void GuardedServer::Release(int fd, const std::string& peer) {
  {
    MutexLock lock(&mu_);
    open_.erase(fd);
    if (!peer.empty()) {
      auto it = per_peer_.find(peer);
      if (it != per_peer_.end() && --it->second == 0) per_peer_.erase(it);
    }
  }
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

void GuardedServer::Refuse(int fd, Refusal why) {
  absl::Status error;
  int status = 429;
  switch (why) {
    case Refusal::kNone:
    case Refusal::kStopping:
      ::close(fd);
      return;
    case Refusal::kMaxConnections:
      refused_max_connections_.fetch_add(1, std::memory_order_relaxed);
      error = absl::ResourceExhaustedError(
          "server is at max_connections; retry later");
      break;
    case Refusal::kPerPeer:
      refused_per_peer_.fetch_add(1, std::memory_order_relaxed);
      error = absl::ResourceExhaustedError(
          "too many connections from this address (max_connections_per_peer)");
      break;
    case Refusal::kRate:
      refused_rate_.fetch_add(1, std::memory_order_relaxed);
      error = absl::ResourceExhaustedError(
          "too many new connections per second (max_connections_per_second); "
          "retry later");
      break;
    case Refusal::kNoThread:
      refused_max_connections_.fetch_add(1, std::memory_order_relaxed);
      status = 503;
      error = absl::UnavailableError("no thread for this connection; retry later");
      break;
  }
  // A warning now and then, not one per refusal: a flood must not become a
  // flood of log lines.
  const int64_t now_ns = absl::GetCurrentTimeNanos();
  int64_t last = last_refusal_log_ns_.load(std::memory_order_relaxed);
  if (now_ns - last >= 10'000'000'000 &&
      last_refusal_log_ns_.compare_exchange_strong(last, now_ns)) {
    SSERPC_LOG(kWarn, "refusing connections: ", error.message(),
               " (counted in /sserpc/v1/stats)");
  }
  // Input already queued is read first (without waiting), so that closing
  // sends FIN after the response rather than a reset that could destroy it.
  char buf[4096];
  for (int i = 0; i < 4; ++i) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) break;
  }
  SendNow(fd, CannedResponse(status, error, status == 429));
  ::close(fd);
}

void GuardedServer::Serve(int fd, absl::Time accepted) {
  auto seconds = [](time_t s, time_t us) {
    return absl::Seconds(s) + absl::Microseconds(us);
  };
  GuardedStream stream(*this, fd, seconds(read_timeout_sec_, read_timeout_usec_),
                       seconds(write_timeout_sec_, write_timeout_usec_));
  current_ = &stream;
  const absl::Duration keep_alive = absl::Seconds(keep_alive_timeout_sec_);
  // httplib's own keep-alive loop (process_server_socket), with one stream
  // for the connection's life so bytes read ahead are never lost.
  size_t remaining = keep_alive_max_count_;
  bool first = true;
  const bool fast_path = replies_ != nullptr && RepliesFastPathEnabled();
  while (svr_sock_ != INVALID_SOCKET && remaining > 0 &&
         stream.WaitForRequest(first, accepted, keep_alive)) {
    bool connection_closed = false;
    FastPath fast = FastPath::kNotMine;
    if (fast_path) {
      replies_->ServeInWriteBatch([&] {
        fast = ServeRepliesFast(stream, remaining == 1, &connection_closed);
      });
    }
    const bool ok = fast == FastPath::kNotMine
                        ? process_request(stream, remaining == 1,
                                          connection_closed, nullptr)
                        : fast == FastPath::kServed;
    if (!ok || connection_closed || stream.cut()) break;
    --remaining;
    first = false;
  }
  if (stream.cut()) stream.DrainBeforeClose();
  current_ = nullptr;
}

// What httplib's process_request does for an answer POST, in the same order
// (head, body or its skipping when too large, handler, response), with the
// same bytes on the wire; see server/replies_fast_path.h for which requests
// qualify. Every read goes through the stream as httplib's would, so the
// head and body limits cut at the same byte; a head that does not qualify is
// replayed to httplib from where it started.
GuardedServer::FastPath GuardedServer::ServeRepliesFast(
    GuardedStream& stream, bool close_connection, bool* connection_closed) {
  using LineRead = GuardedStream::LineRead;
  if (stream.replaying()) return FastPath::kNotMine;
  stream.StartHead();
  std::string& head = stream.head();
  // The request line alone first: httplib reads no further when it is not
  // a request line, and neither may this (the next line would then count
  // toward the next request's head).
  LineRead r = stream.ReadHeadLine();
  if (r == LineRead::kCut) return FastPath::kFailed;
  absl::string_view client_id;
  if (r != LineRead::kLine || !ParseRepliesRequestLine(head, &client_id)) {
    stream.ReplayHead();
    return FastPath::kNotMine;
  }
  const size_t line_bytes = head.size();
  while (true) {
    const size_t start = head.size();
    r = stream.ReadHeadLine();
    if (r == LineRead::kCut) return FastPath::kFailed;
    if (r == LineRead::kEnd) {
      stream.ReplayHead();
      return FastPath::kNotMine;
    }
    if (head.size() - start == 2 && head[start] == '\r') break;
  }
  RepliesHead h;
  if (!ParseRepliesHeaders(absl::string_view(head).substr(line_bytes), &h)) {
    stream.ReplayHead();
    return FastPath::kNotMine;
  }
  ParseRepliesRequestLine(absl::string_view(head).substr(0, line_bytes),
                          &h.client_id);
  *connection_closed = h.connection == "close";

  RepliesAnswer answer;
  std::string& body = stream.body();
  if (h.content_length > options_.max_body_bytes) {
    // httplib reads the body and drops it, then answers 413 (the stream
    // cuts a body far over the limit, as it did for httplib).
    char sink[4096];
    uint64_t left = h.content_length;
    while (left > 0) {
      ssize_t n = stream.read(sink, std::min<uint64_t>(left, sizeof(sink)));
      if (n <= 0) break;
      left -= static_cast<uint64_t>(n);
    }
    if (stream.cut()) return FastPath::kFailed;
    answer = replies_->HttplibError(413);
  } else {
    // The buffer grows with the bytes that arrive, not to the announced
    // length at once: a peer that announces max_body_bytes and sends
    // nothing must not make every connection hold that much.
    body.clear();
    size_t got = 0;
    while (got < h.content_length) {
      const size_t want =
          std::min<size_t>(h.content_length - got, size_t{64} << 10);
      body.resize(got + want);
      ssize_t n = stream.read(&body[got], want);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    body.resize(got);
    if (stream.cut()) return FastPath::kFailed;
    answer = got < h.content_length
                 ? replies_->HttplibError(400)  // httplib: body cut short
                 : replies_->AnswerReplies(h.client_id, h.authorization,
                                           h.content_type, body);
  }
  // Only a small body's buffer is kept for the connection's life (10,000
  // answer connections each holding a large one would add up).
  if (body.capacity() > (4 << 10)) std::string().swap(body);

  // head (and client_id, a view into it) is not needed any more: its
  // buffer takes the response, which goes out in one send.
  std::string& out = head;
  out.clear();
  AppendRepliesResponse(answer, close_connection || *connection_closed,
                        static_cast<int64_t>(keep_alive_timeout_sec_),
                        static_cast<uint64_t>(keep_alive_max_count_), &out);
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = stream.write(out.data() + off, out.size() - off);
    if (n <= 0) return FastPath::kFailed;
    off += static_cast<size_t>(n);
  }
  // As for the body: a large batch's results must not stay allocated.
  if (out.capacity() > (4 << 10)) std::string().swap(out);
  CountRepliesFastPathServed();
  return FastPath::kServed;
}

}  // namespace sserpc::server_internal
