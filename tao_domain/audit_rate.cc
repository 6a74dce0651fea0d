#include "tao_domain/audit_rate.h"

#include <algorithm>

namespace tao {
namespace {
constexpr size_t kMaxCallers = 4096;
constexpr absl::Duration kSummaryEvery = absl::Seconds(1);
}  // namespace

bool AuditRateLimiter::Admit(absl::string_view key, absl::Time now) {
  if (options_.per_second <= 0) return true;
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxCallers) {
      // Forget callers whose buckets are full again and owe no summary.
      for (auto b = buckets_.begin(); b != buckets_.end();) {
        double refilled =
            b->second.tokens +
            absl::ToDoubleSeconds(now - b->second.last) * options_.per_second;
        if (b->second.suppressed == 0 && refilled >= options_.burst) {
          b = buckets_.erase(b);
        } else {
          ++b;
        }
      }
      if (buckets_.size() >= kMaxCallers) buckets_.erase(buckets_.begin());
    }
    it = buckets_.emplace(std::string(key), Bucket{options_.burst, now, 0, now})
             .first;
  }
  Bucket& b = it->second;
  if (now > b.last) {
    b.tokens = std::min(
        options_.burst,
        b.tokens + absl::ToDoubleSeconds(now - b.last) * options_.per_second);
    b.last = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return true;
  }
  if (b.suppressed++ == 0) {
    b.since = now;
    next_due_ = std::min(next_due_, now + kSummaryEvery);
  }
  return false;
}

std::vector<AuditRateLimiter::Suppressed> AuditRateLimiter::TakeDue(
    absl::Time now, bool all) {
  std::vector<Suppressed> out;
  absl::MutexLock lock(&mu_);
  if (!all && now < next_due_) return out;
  next_due_ = absl::InfiniteFuture();
  for (auto& [key, b] : buckets_) {
    if (b.suppressed == 0) continue;
    if (all || now - b.since >= kSummaryEvery) {
      out.push_back(Suppressed{key, b.suppressed, b.since});
      b.suppressed = 0;
    } else {
      next_due_ = std::min(next_due_, b.since + kSummaryEvery);
    }
  }
  return out;
}

}  // namespace tao
