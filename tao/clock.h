// An injectable source of the current time, for validity checks.
#ifndef TAO_TAO_CLOCK_H_
#define TAO_TAO_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tao {

// Implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The system's real-time clock.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// A clock that reads a fixed time that tests set. Not thread-safe to Set
// while others read.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(absl::Time now) : now_(now) {}
  absl::Time Now() const override { return now_; }
  void Set(absl::Time now) { now_ = now; }

 private:
  absl::Time now_;
};

}  // namespace tao

#endif  // TAO_TAO_CLOCK_H_
