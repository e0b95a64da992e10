// ReserveFutexSlots grows the kernel's private futex hash (Linux 6.16+) with
// the thread count, and leaves other kernels and the global hash alone.
#include "proto/futex_hash.h"

#include <sys/prctl.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

#ifndef PR_FUTEX_HASH
#define PR_FUTEX_HASH 78
#endif
#ifndef PR_FUTEX_HASH_GET_SLOTS
#define PR_FUTEX_HASH_GET_SLOTS 2
#endif

namespace sserpc {
namespace {

int Slots() { return prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS, 0, 0, 0); }

TEST(FutexHashTest, GrowsThePrivateHashToFourSlotsPerThread) {
  // Some threads, blocked, so that the kernel has set up its private hash.
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::vector<std::thread> threads;
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back([&] {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return release; });
    });
  }
  const int before = Slots();
  ReserveFutexSlots(1000);
  const int after = Slots();
  if (before > 0) {
    // A private hash (16 slots when a process gets its second thread).
    EXPECT_GE(after, 4096) << "before: " << before;
    // Smaller reservations never shrink it.
    ReserveFutexSlots(10);
    EXPECT_EQ(Slots(), after);
  } else {
    // No private hash (older kernel: -1) or the global one (0): unchanged.
    EXPECT_EQ(after, before);
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  for (std::thread& t : threads) t.join();
}

}  // namespace
}  // namespace sserpc
