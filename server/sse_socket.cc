#include "server/sse_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>

#include "proto/poll_for.h"

namespace sserpc::server_internal {
namespace {

// Kept-bytes buffers larger than this are released once sent (one stream
// per client: a burst must not pin memory for the stream's life).
constexpr size_t kKeepCapacity = 16 * 1024;

// Writes a chunk's size line ("<hex>\r\n") to `out` (room for 18 bytes);
// returns its length. (snprintf was 0.7% of the server's CPU.)
size_t ChunkHead(size_t size, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  char digits[16];
  size_t n = 0;
  do {
    digits[n++] = kHex[size & 0xf];
    size >>= 4;
  } while (size != 0);
  for (size_t i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\r';
  out[n + 1] = '\n';
  return n + 2;
}

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
  const size_t head_len = ChunkHead(events.size(), head);
  static constexpr char kTail[] = "\r\n";
  iovec iov[3] = {{head, head_len},
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
