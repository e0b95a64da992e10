#ifndef SSERPC_PROTO_FUTEX_HASH_H_
#define SSERPC_PROTO_FUTEX_HASH_H_

#include <cstddef>

namespace sserpc {

// Makes sure the kernel's futex hash for this process has room for about
// `threads` blocked threads. Linux 6.16 and later give a multi-threaded
// process a private futex hash sized when its second thread starts (16
// slots, measured) and not grown with the thread count: with thousands of
// threads blocked (one per stream), every wake-up walks hundreds of waiters
// of one slot. Measured with 10,000 streams: futex_wake took half of all
// CPU and calls ran 5x slower. This grows the private hash (prctl
// PR_FUTEX_HASH) to 4 slots per thread, rounded up to a power of two. Does
// nothing on kernels without a private hash, or if the process uses the
// global hash. Cheap when nothing needs to change; thread-safe.
void ReserveFutexSlots(size_t threads);

}  // namespace sserpc

#endif  // SSERPC_PROTO_FUTEX_HASH_H_
