// A token bucket per caller for the decisions TaoDomain records, so one
// hosted program cannot flood the audit trail (or the disk under it): over
// its rate a caller's requests are denied, and what was denied is counted
// into one RateLimited record per caller per second instead of one record
// each.
#ifndef TAO_TAO_DOMAIN_AUDIT_RATE_H_
#define TAO_TAO_DOMAIN_AUDIT_RATE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tao {

struct AuditRateOptions {
  double per_second = 1000;  // 0: no limit
  double burst = 2000;
};

// Thread-safe. Remembers at most 4096 callers (idle, full buckets are
// forgotten first).
class AuditRateLimiter {
 public:
  explicit AuditRateLimiter(AuditRateOptions options) : options_(options) {}

  // True if `key` may have one more decision at `now`; otherwise counts
  // it as suppressed and returns false.
  bool Admit(absl::string_view key, absl::Time now);

  struct Suppressed {
    std::string key;
    uint64_t count = 0;
    absl::Time since;
  };
  // The callers whose suppressed decisions are due for their summary (a
  // second has passed since the first, or all if `all`); resets them.
  std::vector<Suppressed> TakeDue(absl::Time now, bool all = false);

  const AuditRateOptions& options() const { return options_; }

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time last;
    uint64_t suppressed = 0;
    absl::Time since;
  };
  const AuditRateOptions options_;
  absl::Mutex mu_;
  std::map<std::string, Bucket, std::less<>> buckets_ ABSL_GUARDED_BY(mu_);
  absl::Time next_due_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

}  // namespace tao

#endif  // TAO_TAO_DOMAIN_AUDIT_RATE_H_
