#include "server/sse_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "proto/poll_for.h"

namespace sserpc::server_internal {
namespace {

// Kept-bytes buffers larger than this are released once sent (one stream
// per client: a burst must not pin memory for the stream's life).
constexpr size_t kKeepCapacity = 16 * 1024;

// sendmsg() without blocking or SIGPIPE: bytes sent, 0 when the socket is
// full, -1 on an error.
ssize_t SendSome(int fd, iovec* iov, size_t n) {
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  while (true) {
    ssize_t r = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  }
}

}  // namespace

void SseSocket::SendNow(absl::string_view events) {
  TrySendChunk(events);  // a failure is the writer's to find (needs_writer)
}

bool SseSocket::Send(absl::string_view events) {
  if (!TrySendChunk(events)) return false;
  while (has_unsent()) {
    if (PollFor(fd_, POLLOUT, write_timeout_) <= 0) {
      failed_ = true;  // full for the whole write timeout, or closed
      return false;
    }
    if (!TrySendUnsent()) return false;
  }
  return true;
}

bool SseSocket::TrySendChunk(absl::string_view events) {
  if (failed_) return false;
  // An empty chunk would end the response body.
  if (events.empty()) return TrySendUnsent();
  char head[24];
  const int head_len = std::snprintf(head, sizeof(head), "%zx\r\n", events.size());
  static constexpr char kTail[] = "\r\n";
  iovec iov[3] = {{head, static_cast<size_t>(head_len)},
                  {const_cast<char*>(events.data()), events.size()},
                  {const_cast<char*>(kTail), 2}};
  size_t sent = 0;
  const bool behind = has_unsent();  // then the chunk goes after those bytes
  if (!behind) {
    const ssize_t r = SendSome(fd_, iov, 3);
    if (r < 0) {
      failed_ = true;
      unsent_.clear();
      unsent_off_ = 0;
      return false;
    }
    sent = static_cast<size_t>(r);
  }
  for (const iovec& v : iov) {
    const size_t skip = std::min(sent, v.iov_len);
    sent -= skip;
    unsent_.append(static_cast<const char*>(v.iov_base) + skip, v.iov_len - skip);
  }
  // Sent in part: the socket is full, trying again now would not help.
  return behind ? TrySendUnsent() : true;
}

bool SseSocket::TrySendUnsent() {
  if (failed_) return false;
  while (has_unsent()) {
    iovec v{unsent_.data() + unsent_off_, unsent_.size() - unsent_off_};
    const ssize_t r = SendSome(fd_, &v, 1);
    if (r < 0) {
      failed_ = true;
      unsent_.clear();
      unsent_off_ = 0;
      return false;
    }
    if (r == 0) return true;  // full: the rest waits
    unsent_off_ += static_cast<size_t>(r);
  }
  unsent_.clear();
  unsent_off_ = 0;
  if (unsent_.capacity() > kKeepCapacity) unsent_.shrink_to_fit();
  return true;
}

}  // namespace sserpc::server_internal
