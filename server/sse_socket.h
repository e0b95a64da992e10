#ifndef SSERPC_SERVER_SSE_SOCKET_H_
#define SSERPC_SERVER_SSE_SOCKET_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/session.h"

namespace sserpc::server_internal {

// The socket of one SSE response (HTTP/1.1 chunked transfer coding, after
// cpp-httplib has written the response head), written by two kinds of
// thread, never at once (the dispatcher's write turn, see StreamState):
//   - the stream's writer, which may block: Send();
//   - while that writer is parked, any thread that has made requests for the
//     stream: SendNow(), which never blocks. What the socket does not take
//     at once is kept, and the writer sends it before anything else.
// Each Send/SendNow is one chunk ("<hex size>\r\n<events>\r\n") in one
// sendmsg without copying the events; only a remainder is copied.
class SseSocket final : public DirectSender {
 public:
  // `fd` stays open while the writer runs; `write_timeout` bounds how long
  // the writer waits for room in the socket.
  SseSocket(int fd, absl::Duration write_timeout)
      : fd_(fd), write_timeout_(write_timeout) {}

  void SendNow(absl::string_view events) override;
  bool needs_writer() const override { return failed_ || has_unsent(); }

  // The writer: sends what SendNow() kept, then `events` (if any) as one
  // chunk, waiting for room up to the write timeout each time the socket is
  // full. False if the connection failed or stayed full that long.
  bool Send(absl::string_view events);

 private:
  // Sends the chunk without blocking; keeps what is not sent. False on a
  // socket error (everything unsent is then dropped: the stream is over).
  bool TrySendChunk(absl::string_view events);
  // Sends the kept bytes without blocking; false on a socket error.
  bool TrySendUnsent();
  bool has_unsent() const { return unsent_off_ < unsent_.size(); }

  const int fd_;
  const absl::Duration write_timeout_;
  bool failed_ = false;
  std::string unsent_;  // bytes of chunks not yet sent, from unsent_off_
  size_t unsent_off_ = 0;
};

}  // namespace sserpc::server_internal

#endif  // SSERPC_SERVER_SSE_SOCKET_H_
