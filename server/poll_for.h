#ifndef SSERPC_SERVER_POLL_FOR_H_
#define SSERPC_SERVER_POLL_FOR_H_

#include "absl/time/time.h"

namespace sserpc::server_internal {

// poll() for `events` on one descriptor, retrying on EINTR; the timeout is
// rounded up to whole milliseconds (<= 0: no wait). >0 ready, 0 timed out,
// <0 error.
int PollFor(int fd, short events, absl::Duration timeout);

}  // namespace sserpc::server_internal

#endif  // SSERPC_SERVER_POLL_FOR_H_
