#ifndef SSERPC_PROTO_CLOCK_H_
#define SSERPC_PROTO_CLOCK_H_

#include "absl/time/time.h"

namespace sserpc {

// Source of the current time. Runtime code reads time only through a Clock so
// tests can drive deadlines without sleeping. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // The process-wide real clock. Never destroyed.
  static Clock* Real();
};

}  // namespace sserpc

#endif  // SSERPC_PROTO_CLOCK_H_
