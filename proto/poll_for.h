#ifndef SSERPC_PROTO_POLL_FOR_H_
#define SSERPC_PROTO_POLL_FOR_H_

#include "absl/time/time.h"

namespace sserpc {

// poll() for `events` on one descriptor, retrying on EINTR. The timeout is
// rounded up to whole milliseconds; <= 0: no wait; InfiniteDuration():
// forever. >0 ready (the returned events in *revents when given), 0 timed
// out, <0 error (errno set).
int PollFor(int fd, short events, absl::Duration timeout,
            short* revents = nullptr);

}  // namespace sserpc

#endif  // SSERPC_PROTO_POLL_FOR_H_
