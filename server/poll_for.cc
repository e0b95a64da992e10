#include "server/poll_for.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace sserpc::server_internal {

int PollFor(int fd, short events, absl::Duration timeout) {
  int ms = timeout <= absl::ZeroDuration()
               ? 0
               : static_cast<int>(std::min<int64_t>(
                     absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1))),
                     INT32_MAX));
  pollfd p{fd, events, 0};
  while (true) {
    int r = ::poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    return r;
  }
}

}  // namespace sserpc::server_internal
