#include "proto/futex_hash.h"

#include <sys/prctl.h>

#include <atomic>
#include <mutex>

#include "proto/log.h"

// From linux/prctl.h (6.16); older headers do not have them.
#ifndef PR_FUTEX_HASH
#define PR_FUTEX_HASH 78
#endif
#ifndef PR_FUTEX_HASH_SET_SLOTS
#define PR_FUTEX_HASH_SET_SLOTS 1
#endif
#ifndef PR_FUTEX_HASH_GET_SLOTS
#define PR_FUTEX_HASH_GET_SLOTS 2
#endif

namespace sserpc {
namespace {

constexpr size_t kMaxSlots = size_t{1} << 16;  // 64 Ki slots: 4 MB at most
std::atomic<size_t> covered_threads{16 / 4};   // what the hash is sized for
std::mutex resize_mu;  // one resize at a time

}  // namespace

void ReserveFutexSlots(size_t threads) {
  if (threads <= covered_threads.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(resize_mu);
  if (threads <= covered_threads.load(std::memory_order_relaxed)) return;
  size_t want = 16;
  while (want < 4 * threads && want < kMaxSlots) want *= 2;
  const int current = prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS, 0, 0, 0);
  // < 0: no private futex hash in this kernel; 0: the global hash is in use.
  if (current <= 0) {
    covered_threads.store(kMaxSlots, std::memory_order_relaxed);
    return;
  }
  if (static_cast<size_t>(current) < want &&
      prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS, want, 0, 0) != 0) {
    SSERPC_LOG(kWarn, "could not grow the futex hash to ", want, " slots");
    covered_threads.store(kMaxSlots, std::memory_order_relaxed);  // stop trying
    return;
  }
  covered_threads.store(want / 4, std::memory_order_relaxed);
}

}  // namespace sserpc
