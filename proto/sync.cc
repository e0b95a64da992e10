#include "proto/sync.h"

#ifndef SSERPC_ABSL_SYNC

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace sserpc::sync_internal {
namespace {

static_assert(sizeof(std::atomic<int>) == sizeof(int),
              "a futex word is a plain int");

int* Word(std::atomic<int>* word) { return reinterpret_cast<int*>(word); }

}  // namespace

bool FutexWait(std::atomic<int>* word, int expected, const Deadline& deadline) {
  timespec ts{};
  timespec* timeout = nullptr;
  if (!deadline.never) {
    const auto left = deadline.at - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return false;
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    ts.tv_sec = static_cast<time_t>(ns / 1000000000);
    ts.tv_nsec = static_cast<long>(ns % 1000000000);
    timeout = &ts;
  }
  // FUTEX_WAIT's timeout is relative, on the monotonic clock (as
  // steady_clock is).
  const long r = ::syscall(SYS_futex, Word(word), FUTEX_WAIT_PRIVATE, expected,
                           timeout, nullptr, 0);
  return !(r == -1 && errno == ETIMEDOUT);
}

void FutexWakeAll(std::atomic<int>* word) {
  ::syscall(SYS_futex, Word(word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
            nullptr, 0);
}

}  // namespace sserpc::sync_internal

#endif  // SSERPC_ABSL_SYNC
