#include "client/http_connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "proto/poll_for.h"

namespace sserpc::client_internal {
namespace {

// A response head (status line and header fields), together with any
// interim (1xx) heads before it and the trailers of a chunked body, is
// refused beyond this. The sserpc server's heads are ~150 bytes.
constexpr size_t kMaxHeadBytes = 16 << 10;
// The receive buffer holds the longest line we accept, so any line can be
// parsed in place.
constexpr size_t kBufferBytes = kMaxHeadBytes;
// Error messages passed along on every request: literals, not built each
// time.
constexpr absl::string_view kHeadTooLarge =
    "response head larger than 16384 bytes";
constexpr absl::string_view kTrailersTooLarge =
    "response head and trailers larger than 16384 bytes";
static_assert(kMaxHeadBytes == 16384, "update the messages");
// A chunk-size line: hex digits and optional chunk extensions.
constexpr size_t kMaxChunkLineBytes = 1024;

// CR, LF or NUL anywhere in `s`. (A loop, not find_first_of, which builds
// a 256-entry table per call: this runs on every POST.)
bool HasLineBreak(absl::string_view s) {
  for (const char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return true;
  }
  return false;
}

std::string Unbracket(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// Only digits, at most 18 of them (so the value fits without checks).
bool ParseDecimal(absl::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A chunk-size line: hex digits, then optionally whitespace and extensions
// (ignored). A size too large for 64 bits comes out as UINT64_MAX (over any
// limit).
bool ParseChunkSize(absl::string_view line, uint64_t* size) {
  uint64_t v = 0;
  size_t i = 0;
  for (; i < line.size() && HexDigit(line[i]) >= 0; ++i) {
    v = v > (UINT64_MAX >> 4) ? UINT64_MAX
                              : v * 16 + static_cast<uint64_t>(HexDigit(line[i]));
  }
  const absl::string_view after =
      absl::StripLeadingAsciiWhitespace(line.substr(i));
  if (i == 0 || !(after.empty() || after[0] == ';')) return false;
  *size = v;
  return true;
}

// For messages: the start of what the server sent, escaped.
std::string Excerpt(absl::string_view s) {
  return absl::StrCat("\"", absl::CHexEscape(s.substr(0, 64)),
                      s.size() > 64 ? "...\"" : "\"");
}

}  // namespace

absl::StatusOr<HttpHostPort> ParseHttpHostPort(
    absl::string_view scheme_host_port) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(why, ": \"", scheme_host_port, "\""));
  };
  absl::string_view rest = scheme_host_port;
  if (!absl::ConsumePrefix(&rest, "http://")) {
    return invalid("not an http:// URL");
  }
  HttpHostPort out;
  absl::string_view port;
  bool has_port = false;
  if (absl::StartsWith(rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos || close == 1) {
      return invalid("malformed IPv6 address in URL");
    }
    out.host = std::string(rest.substr(0, close + 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return invalid("malformed host in URL");
      port = rest.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = rest.find(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != absl::string_view::npos) {
      port = rest.substr(colon + 1);
      has_port = true;
    }
    if (out.host.empty() ||
        out.host.find_first_of("/[]") != std::string::npos) {
      return invalid("malformed host in URL");
    }
  }
  if (has_port) {
    uint64_t p = 0;
    if (!ParseDecimal(port, &p) || p == 0 || p > 65535) {
      return invalid("malformed port in URL");
    }
    out.port = static_cast<int>(p);
  }
  return out;
}

HttpConnection::HttpConnection(std::string host, int port,
                               std::string bearer_token,
                               absl::Duration connect_timeout,
                               absl::Duration io_timeout,
                               size_t max_response_body_bytes)
    : host_(std::move(host)),
      lookup_host_(Unbracket(host_)),
      port_string_(std::to_string(port)),
      // As cpp-httplib sends it: the port only when not the default.
      authority_(port == 80 ? host_ : absl::StrCat(host_, ":", port)),
      authorization_(
          bearer_token.empty()
              ? std::string()
              : absl::StrCat("Authorization: Bearer ", bearer_token, "\r\n")),
      token_ok_(!HasLineBreak(bearer_token)),
      connect_timeout_(connect_timeout),
      io_timeout_(io_timeout),
      max_body_bytes_(max_response_body_bytes),
      buf_(new char[kBufferBytes]) {
  head_.reserve(256 + authority_.size() + authorization_.size());
}

HttpConnection::~HttpConnection() { Close(); }

void HttpConnection::Close() {
  if (fd_ >= 0) {
    std::lock_guard<std::mutex> lock(fd_mu_);
    ::close(fd_);
    fd_ = -1;
  }
  begin_ = end_ = 0;
}

void HttpConnection::DelayAcks(int fd) {
  int zero = 0;
  // A socket that refuses it only costs more segments.
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
}

void HttpConnection::Interrupt() {
  std::lock_guard<std::mutex> lock(fd_mu_);
  interrupted_ = true;
  // Wakes a blocked connect, send or recv; the owner closes the socket.
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void HttpConnection::EndAwaitInput() {
  std::lock_guard<std::mutex> lock(fd_mu_);
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RD);
}

absl::Status HttpConnection::Unavailable(absl::string_view what) const {
  return absl::UnavailableError(
      absl::StrCat(method_, " http://", authority_, path_, ": ", what));
}

absl::Status HttpConnection::ErrnoError(absl::string_view what, int err) const {
  char buf[128];
  // The GNU strerror_r: returns the message (maybe not in buf).
  const char* message = strerror_r(err, buf, sizeof(buf));
  return Unavailable(absl::StrCat(what, ": ", message));
}

absl::StatusOr<HttpResponse> HttpConnection::Post(
    absl::string_view path, absl::string_view content_type,
    absl::string_view body) {
  absl::Status head = BuildPostHead(path, content_type, body.size());
  if (!head.ok()) return head;
  // Bytes after the previous response mean the connection is out of step
  // with the server: start over on a new one. The same for bytes (or a
  // FIN) that arrived while it was idle: a proxy's 408 before it closes
  // would otherwise be read as this request's response.
  if (fd_ >= 0 && (begin_ != end_ || IdleConnectionHasInput())) Close();
  while (true) {
    const bool reused = fd_ >= 0;
    if (!reused) {
      absl::Status connected = Connect();
      if (!connected.ok()) return connected;
    }
    bool unanswered = false;
    absl::StatusOr<HttpResponse> response = Exchange(body, &unanswered);
    if (response.ok()) return response;
    Close();
    // A connection kept from an earlier request that fails before any byte
    // of the response arrived was most likely closed by the server while it
    // was idle (its keep-alive timeout or request cap), before it read this
    // request: send it once more on a new connection. Should the server have
    // got it after all, the copy is harmless: answers are idempotent by
    // call id (the second one is refused with 404 and changes nothing).
    // Never on a new connection (the server is failing, and the caller
    // retries with backoff) nor once part of a response arrived (the
    // server did see the request).
    if (!reused || !unanswered) return response.status();
    ++resends_;
  }
}

absl::Status HttpConnection::Connect() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* list = nullptr;
  // Looked up on every (re)connect: the server's address may change.
  const int rc =
      ::getaddrinfo(lookup_host_.c_str(), port_string_.c_str(), &hints, &list);
  if (rc != 0) {
    if (rc == EAI_SYSTEM) return ErrnoError("resolving the host", errno);
    return Unavailable(
        absl::StrCat("resolving the host: ", ::gai_strerror(rc)));
  }
  absl::Status status = Unavailable("resolving the host: no address");
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    status =
        ConnectTo(ai->ai_addr, ai->ai_addrlen, ai->ai_family, ai->ai_protocol);
    if (status.ok()) break;
  }
  ::freeaddrinfo(list);
  if (status.ok()) ++connects_;
  return status;
}

absl::Status HttpConnection::ConnectTo(const void* addr, unsigned addr_len,
                                       int family, int protocol) {
  const int fd =
      ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return ErrnoError("socket()", errno);
  // A request is one send, but one too large for a segment would otherwise
  // leave its last part waiting for the server's delayed ACK.
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  {
    std::lock_guard<std::mutex> lock(fd_mu_);
    fd_ = fd;
    if (interrupted_) {
      ::close(fd_);
      fd_ = -1;
      return absl::CancelledError(
          absl::StrCat(method_, " http://", authority_, path_, ": interrupted"));
    }
  }
  begin_ = end_ = 0;
  absl::Status status;
  if (::connect(fd, static_cast<const sockaddr*>(addr), addr_len) != 0) {
    if (errno == EINPROGRESS || errno == EINTR) {
      status = Wait(POLLOUT, connect_timeout_, "connecting");
      if (status.ok()) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
          err = errno;
        }
        if (err != 0) status = ErrnoError("connect", err);
      }
    } else {
      status = ErrnoError("connect", errno);
    }
  }
  if (status.ok()) status = MakeBlockingWithTimeouts();
  if (!status.ok()) Close();
  return status;
}

absl::Status HttpConnection::MakeBlockingWithTimeouts() {
  // Connected: from now on a read blocks in recv() itself, up to io_timeout_
  // (SO_RCVTIMEO), instead of a poll() and then a recv(): one syscall per
  // read, not two. Sends stay non-blocking (MSG_DONTWAIT), to notice a
  // server that answers before taking the whole request.
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return ErrnoError("fcntl", errno);
  }
  const int64_t us = std::clamp<int64_t>(
      absl::ToInt64Microseconds(io_timeout_), 1, int64_t{1} << 40);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(us / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
    return ErrnoError("setsockopt(SO_RCVTIMEO)", errno);
  }
  return absl::OkStatus();
}

absl::Status HttpConnection::BuildPostHead(absl::string_view path,
                                           absl::string_view content_type,
                                           size_t body_bytes) {
  method_ = "POST";
  path_ = path;
  if (!token_ok_ || HasLineBreak(path) || HasLineBreak(content_type) ||
      !absl::StartsWith(path, "/")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "POST http://", authority_, Excerpt(path),
        ": the path must start with '/', and neither it, the content type "
        "nor the token may hold CR, LF or NUL"));
  }
  head_.clear();
  absl::StrAppend(&head_, "POST ", path, " HTTP/1.1\r\nHost: ", authority_,
                  "\r\n", authorization_, "Content-Type: ", content_type,
                  "\r\nContent-Length: ", body_bytes, "\r\n\r\n");
  return absl::OkStatus();
}

absl::StatusOr<HttpResponse> HttpConnection::Exchange(absl::string_view body,
                                                      bool* unanswered) {
  received_ = 0;
  answered_early_ = false;
  sent_ = Send(body, &answered_early_);
  return Complete(unanswered);
}

absl::StatusOr<HttpResponse> HttpConnection::Complete(bool* unanswered) {
  if (!sent_.ok()) {
    // A timeout is not a closed connection (nor is a request that could
    // not be written): not sent again.
    *unanswered = sent_.code() == absl::StatusCode::kUnavailable;
    return sent_;
  }
  bool keep_open = false;
  absl::StatusOr<HttpResponse> response = ReadResponse(&keep_open);
  if (!response.ok()) {
    *unanswered = received_ == 0 &&
                  response.status().code() == absl::StatusCode::kUnavailable;
    return response.status();
  }
  // After a request cut short the connection is out of step.
  if (!keep_open || answered_early_) Close();
  return response;
}

void HttpConnection::SendPost(absl::string_view path,
                              absl::string_view content_type,
                              absl::string_view body) {
  answered_early_ = false;
  sent_ = BuildPostHead(path, content_type, body.size());
  if (!sent_.ok()) return;
  if (fd_ < 0) {
    sent_ = Unavailable("not connected");
    return;
  }
  sent_ = Send(body, &answered_early_, /*may_wait=*/false);
  if (!sent_.ok()) {
    // The request did not leave whole (the socket's buffer was full, or
    // sending failed): the connection cannot carry it. Ending its reading
    // wakes the thread in AwaitInput(), whose FinishPost() then reports the
    // request unanswered, to be sent again on a new connection.
    EndAwaitInput();
  }
}

absl::StatusOr<HttpResponse> HttpConnection::FinishPost(bool* unanswered) {
  *unanswered = false;
  // What AwaitInput() read is the start of the response.
  received_ = end_ - begin_;
  absl::StatusOr<HttpResponse> response = Complete(unanswered);
  if (!response.ok()) Close();
  return response;
}

HttpConnection::Input HttpConnection::AwaitInput() {
  if (fd_ < 0) return Input::kClosed;
  // As Fill(), but touching nothing that SendPost() (on another thread)
  // uses: no counters, no messages.
  if (begin_ != end_) return Input::kData;
  begin_ = end_ = 0;
  while (true) {
    // Blocks up to io_timeout_ (SO_RCVTIMEO).
    const ssize_t n = ::recv(fd_, buf_.get() + end_, kBufferBytes - end_, 0);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      return Input::kData;
    }
    if (n == 0) return Input::kClosed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Input::kTimeout;
    return Input::kClosed;  // reset or failed: the reader finds out why
  }
}

absl::Status HttpConnection::Send(absl::string_view body,
                                  bool* answered_early, bool may_wait) {
  iovec iov[2] = {{const_cast<char*>(head_.data()), head_.size()},
                  {const_cast<char*>(body.data()), body.size()}};
  iovec* next = iov;
  size_t count = body.empty() ? 1 : 2;
  while (true) {
    msghdr msg{};
    msg.msg_iov = next;
    msg.msg_iovlen = count;
    const ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      size_t left = static_cast<size_t>(n);
      while (count > 0 && left >= next->iov_len) {
        left -= next->iov_len;
        ++next;
        --count;
      }
      if (count == 0) return absl::OkStatus();
      next->iov_base = static_cast<char*>(next->iov_base) + left;
      next->iov_len -= left;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EPIPE || errno == ECONNRESET) {
      // The server closed the connection. What it sent before (a refusal
      // of this request, or nothing if it closed the connection while
      // idle) is still there to read, and reading does not wait.
      *answered_early = true;
      return absl::OkStatus();
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return ErrnoError("sending the request", errno);
    }
    if (!may_wait) {
      return Unavailable("the connection did not take the request at once");
    }
    // The socket buffer is full. Input now means the server answers (or
    // closes) before taking the rest: read that instead of waiting for the
    // write timeout.
    short revents = 0;
    absl::Status ready =
        Wait(POLLOUT | POLLIN, io_timeout_, "sending the request", &revents);
    if (!ready.ok()) return ready;
    if (revents & POLLIN) {
      *answered_early = true;
      return absl::OkStatus();
    }
  }
}

absl::Status HttpConnection::Wait(short events, absl::Duration timeout,
                                  absl::string_view doing, short* revents) {
  const int r = PollFor(fd_, events, timeout, revents);
  if (r > 0) return absl::OkStatus();
  if (r == 0) {
    return absl::DeadlineExceededError(
        absl::StrCat(method_, " http://", authority_, path_, ": timed out after ",
                     absl::FormatDuration(timeout), " ", doing));
  }
  return ErrnoError("poll", errno);
}

bool HttpConnection::IdleConnectionHasInput() const {
  // Readable, closed, or an error.
  return PollFor(fd_, POLLIN, absl::ZeroDuration()) != 0;
}

HttpConnection::Recv HttpConnection::Receive(char* dst, size_t size,
                                             size_t* got, absl::Status* error) {
  while (true) {
    // Blocks up to io_timeout_ (SO_RCVTIMEO).
    const ssize_t n = ::recv(fd_, dst, size, 0);
    if (n > 0) {
      *got = static_cast<size_t>(n);
      received_ += *got;
      return Recv::kData;
    }
    if (n == 0) return Recv::kEof;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      *error = absl::DeadlineExceededError(absl::StrCat(
          method_, " http://", authority_, path_, ": timed out after ",
          absl::FormatDuration(io_timeout_), " waiting for the response"));
    } else {
      *error = ErrnoError("receiving the response", errno);
    }
    return Recv::kError;
  }
}

HttpConnection::Recv HttpConnection::Fill(absl::Status* error) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (end_ == kBufferBytes) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  size_t got = 0;
  const Recv r = Receive(buf_.get() + end_, kBufferBytes - end_, &got, error);
  if (r == Recv::kData) end_ += got;
  return r;
}

absl::Status HttpConnection::ReadLine(size_t max_bytes,
                                      absl::string_view too_long,
                                      const char** begin, const char** end,
                                      size_t* line_bytes) {
  size_t scanned = 0;  // bytes known to hold no LF
  while (true) {
    const char* start = buf_.get() + begin_;
    const size_t available = end_ - begin_;
    const void* lf = std::memchr(start + scanned, '\n', available - scanned);
    if (lf != nullptr) {
      const char* nl = static_cast<const char*>(lf);
      const size_t n = static_cast<size_t>(nl - start) + 1;
      if (n > max_bytes) return Unavailable(too_long);
      *begin = start;
      *end = nl > start && nl[-1] == '\r' ? nl - 1 : nl;
      *line_bytes = n;
      begin_ += n;
      return absl::OkStatus();
    }
    scanned = available;
    if (available >= max_bytes) return Unavailable(too_long);
    absl::Status error;
    switch (Fill(&error)) {
      case Recv::kData:
        break;
      case Recv::kEof:
        return Unavailable(received_ == 0
                               ? "connection closed before any response"
                               : "connection closed in the middle of the "
                                 "response");
      case Recv::kError:
        return error;
    }
  }
}

absl::Status HttpConnection::ReadHead(Head* head, std::string* content_type,
                                      size_t* head_budget) {
  auto malformed = [this](absl::string_view what) {
    return Unavailable(absl::StrCat("malformed response: ", what));
  };
  while (true) {  // once more after each interim (1xx) response
    const char* begin;
    const char* end;
    size_t n;
    absl::Status s = ReadLine(*head_budget, kHeadTooLarge, &begin, &end, &n);
    if (!s.ok()) return s;
    *head_budget -= n;
    // "HTTP/1.x NNN reason"; the reason may be empty or absent.
    absl::string_view line(begin, static_cast<size_t>(end - begin));
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "HTTP/1.") || rest.size() < 5 ||
        !absl::ascii_isdigit(rest[0]) || rest[1] != ' ' ||
        !absl::ascii_isdigit(rest[2]) || !absl::ascii_isdigit(rest[3]) ||
        !absl::ascii_isdigit(rest[4]) || (rest.size() > 5 && rest[5] != ' ')) {
      return malformed(absl::StrCat("status line ", Excerpt(line)));
    }
    const bool http10 = rest[0] == '0';
    const int status =
        (rest[2] - '0') * 100 + (rest[3] - '0') * 10 + (rest[4] - '0');
    if (status < 100 || status > 599) {
      return malformed(absl::StrCat("status line ", Excerpt(line)));
    }

    bool has_length = false;
    uint64_t length = 0;
    bool has_transfer_encoding = false;
    bool chunked = false;
    bool close_token = false;
    bool keep_alive_token = false;
    content_type->clear();
    while (true) {
      s = ReadLine(*head_budget, kHeadTooLarge, &begin, &end, &n);
      if (!s.ok()) return s;
      *head_budget -= n;
      if (begin == end) break;
      line = absl::string_view(begin, static_cast<size_t>(end - begin));
      const size_t colon = line.find(':');
      const absl::string_view name = line.substr(0, colon);
      // No folded lines (obsolete), no space before the colon.
      if (colon == absl::string_view::npos || name.empty() ||
          name.find_first_of(" \t") != absl::string_view::npos) {
        return malformed(absl::StrCat("header line ", Excerpt(line)));
      }
      const absl::string_view value =
          absl::StripAsciiWhitespace(line.substr(colon + 1));
      if (absl::EqualsIgnoreCase(name, "Content-Length")) {
        uint64_t v = 0;
        if (!ParseDecimal(value, &v) || (has_length && v != length)) {
          return malformed(absl::StrCat("Content-Length ", Excerpt(value)));
        }
        has_length = true;
        length = v;
      } else if (absl::EqualsIgnoreCase(name, "Transfer-Encoding")) {
        // The body is chunked if chunked is the last coding applied.
        has_transfer_encoding = true;
        const size_t comma = value.rfind(',');
        chunked = absl::EqualsIgnoreCase(
            absl::StripAsciiWhitespace(comma == absl::string_view::npos
                                           ? value
                                           : value.substr(comma + 1)),
            "chunked");
      } else if (absl::EqualsIgnoreCase(name, "Connection")) {
        for (absl::string_view token : absl::StrSplit(value, ',')) {
          token = absl::StripAsciiWhitespace(token);
          if (absl::EqualsIgnoreCase(token, "close")) close_token = true;
          if (absl::EqualsIgnoreCase(token, "keep-alive")) {
            keep_alive_token = true;
          }
        }
      } else if (absl::EqualsIgnoreCase(name, "Content-Type")) {
        content_type->assign(value.data(), value.size());
      }
    }
    if (status < 200) {
      // We never ask to switch protocols; other 1xx (100 Continue, 102,
      // 103) are followed by the real response.
      if (status == 101) return malformed("101 Switching Protocols");
      continue;
    }
    head->status = status;
    head->close = close_token || (http10 && !keep_alive_token);
    head->length = 0;
    // Bodies as RFC 9112 section 6.3 frames them (no HEAD requests here).
    if (status == 204 || status == 304) {
      head->framing = Framing::kNone;  // whatever the headers say
    } else if (has_transfer_encoding) {
      // Both framings at once: the length is ignored, and the connection
      // not trusted with another request.
      if (has_length) head->close = true;
      head->framing = chunked ? Framing::kChunked : Framing::kUntilClose;
    } else if (has_length) {
      head->framing = Framing::kLength;
      head->length = length;
    } else {
      head->framing = Framing::kUntilClose;
    }
    if (head->framing == Framing::kUntilClose) head->close = true;
    return absl::OkStatus();
  }
}

absl::StatusOr<HttpResponse> HttpConnection::ReadResponse(bool* keep_open) {
  size_t head_budget = kMaxHeadBytes;
  HttpResponse response;
  Head head;
  absl::Status s = ReadHead(&head, &response.content_type, &head_budget);
  if (!s.ok()) return s;
  response.status = head.status;
  switch (head.framing) {
    case Framing::kNone:
      break;
    case Framing::kChunked:
      s = ReadChunkedBody(&response.body, &head_budget);
      break;
    case Framing::kUntilClose:
      s = ReadBodyUntilClose(&response.body);
      break;
    case Framing::kLength:
      if (head.length > max_body_bytes_) {
        return Unavailable(absl::StrCat("response body of ", head.length,
                                        " bytes is over the limit of ",
                                        max_body_bytes_));
      }
      s = ReadBodyWithLength(static_cast<size_t>(head.length), &response.body);
      break;
  }
  if (!s.ok()) return s;
  *keep_open = !head.close;
  return response;
}

absl::StatusOr<int> HttpConnection::OpenStream(absl::string_view path,
                                               absl::string_view headers) {
  method_ = "GET";
  path_ = path;
  if (!token_ok_ || HasLineBreak(path) || !absl::StartsWith(path, "/") ||
      !(headers.empty() || absl::EndsWith(headers, "\r\n"))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GET http://", authority_, Excerpt(path),
        ": the path must start with '/', and neither it nor the token may "
        "hold CR, LF or NUL; header lines end in CRLF"));
  }
  Close();  // a stream has a connection of its own
  head_.clear();
  absl::StrAppend(&head_, "GET ", path, " HTTP/1.1\r\nHost: ", authority_,
                  "\r\n", authorization_, headers, "\r\n");
  absl::Status s = Connect();
  received_ = 0;
  bool answered_early = false;
  if (s.ok()) s = Send(absl::string_view(), &answered_early);
  size_t head_budget = kMaxHeadBytes;
  Head head;
  std::string content_type;
  if (s.ok()) s = ReadHead(&head, &content_type, &head_budget);
  if (!s.ok()) {
    Close();
    return s;
  }
  stream_ = StreamState{};
  stream_.framing = head.framing;
  stream_.left = head.length;
  return head.status;
}

HttpConnection::StreamRead HttpConnection::ReadStream(absl::string_view* data,
                                                      absl::Status* error) {
  auto fill = [&](absl::string_view eof_error) -> StreamRead {
    switch (Fill(error)) {
      case Recv::kData:
        return StreamRead::kData;
      case Recv::kEof:
        if (eof_error.empty()) return StreamRead::kEnd;
        *error = Unavailable(eof_error);
        return StreamRead::kError;
      case Recv::kError:
        return StreamRead::kError;
    }
    return StreamRead::kError;
  };
  auto take = [&](size_t n) {
    *data = absl::string_view(buf_.get() + begin_, n);
    begin_ += n;
    return StreamRead::kData;
  };
  // Up to stream_.left bytes, reading if none are buffered.
  auto take_left = [&](absl::string_view eof_error) {
    if (begin_ == end_) {
      StreamRead r = fill(eof_error);
      if (r != StreamRead::kData) return r;
    }
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(stream_.left, end_ - begin_));
    stream_.left -= n;
    return take(n);
  };
  if (fd_ < 0) {
    *error = Unavailable("no stream open");
    return StreamRead::kError;
  }
  switch (stream_.framing) {
    case Framing::kNone:
      return StreamRead::kEnd;
    case Framing::kUntilClose:
      if (begin_ == end_) {
        StreamRead r = fill("");
        if (r != StreamRead::kData) return r;
      }
      return take(end_ - begin_);
    case Framing::kLength:
      if (stream_.left == 0) return StreamRead::kEnd;
      return take_left("connection closed in the middle of the body");
    case Framing::kChunked:
      break;
  }
  if (stream_.done) return StreamRead::kEnd;
  if (stream_.left == 0) {
    size_t trailer_budget = kMaxHeadBytes;
    uint64_t size = 0;
    *error = ReadChunkHead(stream_.after_chunk, &trailer_budget, &size);
    if (!error->ok()) return StreamRead::kError;
    if (size == 0) {
      stream_.done = true;
      return StreamRead::kEnd;
    }
    stream_.left = size;
    stream_.after_chunk = true;
  }
  return take_left("connection closed in the middle of a chunk");
}

absl::Status HttpConnection::ReadBodyWithLength(size_t length,
                                                std::string* body) {
  body->resize(length);
  size_t have = std::min(end_ - begin_, length);
  std::memcpy(body->data(), buf_.get() + begin_, have);
  begin_ += have;
  // The rest straight into the body: no copy, and no read past it.
  while (have < length) {
    size_t got = 0;
    absl::Status error;
    switch (Receive(body->data() + have, length - have, &got, &error)) {
      case Recv::kData:
        have += got;
        break;
      case Recv::kEof:
        return Unavailable(absl::StrCat("connection closed after ", have,
                                        " of ", length, " body bytes"));
      case Recv::kError:
        return error;
    }
  }
  return absl::OkStatus();
}

absl::Status HttpConnection::ReadChunkHead(bool after_chunk,
                                           size_t* trailer_budget,
                                           uint64_t* size) {
  const char* begin;
  const char* end;
  size_t n;
  if (after_chunk) {
    absl::Status s = ReadLine(2, "malformed response: chunk longer than its size",
                              &begin, &end, &n);
    if (!s.ok()) return s;
    if (begin != end) {
      return Unavailable("malformed response: chunk longer than its size");
    }
  }
  absl::Status s = ReadLine(kMaxChunkLineBytes,
                            "malformed response: chunk size line too long",
                            &begin, &end, &n);
  if (!s.ok()) return s;
  const absl::string_view line(begin, static_cast<size_t>(end - begin));
  if (!ParseChunkSize(line, size)) {
    return Unavailable(
        absl::StrCat("malformed response: chunk size line ", Excerpt(line)));
  }
  if (*size > 0) return absl::OkStatus();
  // Trailer fields (ignored) up to an empty line.
  while (true) {
    s = ReadLine(*trailer_budget, kTrailersTooLarge, &begin, &end, &n);
    if (!s.ok()) return s;
    *trailer_budget -= n;
    if (begin == end) return absl::OkStatus();
  }
}

absl::Status HttpConnection::ReadChunkedBody(std::string* body,
                                             size_t* head_budget) {
  bool after_chunk = false;
  while (true) {
    uint64_t size = 0;
    // Trailers are counted with the head.
    absl::Status s = ReadChunkHead(after_chunk, head_budget, &size);
    if (!s.ok()) return s;
    if (size == 0) return absl::OkStatus();
    if (size > max_body_bytes_ - body->size()) {
      return Unavailable(absl::StrCat(
          "chunked response body over the limit of ", max_body_bytes_,
          " bytes"));
    }
    size_t left = static_cast<size_t>(size);
    while (left > 0) {
      if (begin_ == end_) {
        absl::Status error;
        switch (Fill(&error)) {
          case Recv::kData:
            break;
          case Recv::kEof:
            return Unavailable("connection closed in the middle of a chunk");
          case Recv::kError:
            return error;
        }
      }
      const size_t take = std::min(left, end_ - begin_);
      body->append(buf_.get() + begin_, take);
      begin_ += take;
      left -= take;
    }
    after_chunk = true;
  }
}

absl::Status HttpConnection::ReadBodyUntilClose(std::string* body) {
  while (true) {
    const size_t have = end_ - begin_;
    if (have > max_body_bytes_ - body->size()) {
      return Unavailable(absl::StrCat("response body over the limit of ",
                                      max_body_bytes_, " bytes"));
    }
    body->append(buf_.get() + begin_, have);
    begin_ = end_;
    absl::Status error;
    switch (Fill(&error)) {
      case Recv::kData:
        break;
      case Recv::kEof:
        return absl::OkStatus();
      case Recv::kError:
        return error;
    }
  }
}

}  // namespace sserpc::client_internal
