#ifndef SSERPC_TESTS_TESTING_FAKE_CLOCK_H_
#define SSERPC_TESTS_TESTING_FAKE_CLOCK_H_

#include "absl/time/time.h"
#include "proto/clock.h"
#include "proto/sync.h"

namespace sserpc::testing {

// A clock that moves only when the test says so.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000))
      : now_(start) {}
  absl::Time Now() const override {
    MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable Mutex mu_;
  absl::Time now_;
};

}  // namespace sserpc::testing

#endif  // SSERPC_TESTS_TESTING_FAKE_CLOCK_H_
