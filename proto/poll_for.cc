#include "proto/poll_for.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>

namespace sserpc {

int PollFor(int fd, short events, absl::Duration timeout, short* revents) {
  int ms = 0;
  if (timeout == absl::InfiniteDuration()) {
    ms = -1;
  } else if (timeout > absl::ZeroDuration()) {
    ms = static_cast<int>(std::min<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1))),
        INT_MAX));
  }
  pollfd p{fd, events, 0};
  while (true) {
    const int r = ::poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r > 0 && revents != nullptr) *revents = p.revents;
    return r;
  }
}

}  // namespace sserpc
