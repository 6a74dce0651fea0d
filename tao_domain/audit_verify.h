// Verifying a whole rotated audit trail (audit.log.N ... audit.log.1,
// audit.log), and checking it against its signed checkpoint: what
// `tao-domain audit-verify` runs. Bounded memory, whatever the trail's size.
#ifndef TAO_TAO_DOMAIN_AUDIT_VERIFY_H_
#define TAO_TAO_DOMAIN_AUDIT_VERIFY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "tao/keys.h"

namespace tao {

struct AuditTrailSummary {
  int files = 0;
  uint64_t first_seq = 0;  // of the oldest record kept (1: the whole chain)
  uint64_t last_seq = 0;   // records in the chain so far
  std::string last_hash_hex;
  bool checkpoint_checked = false;
};

// Verifies every file of the trail at `path`, oldest first, each linking to
// the one before. If `checkpoint_path` is not empty, also verifies the
// checkpoint's signature under `key` and that the trail holds its record
// (so is not shorter, nor another chain). kDataLoss naming the file and the
// line, or what differs from the checkpoint; kNotFound if `path` is missing.
absl::StatusOr<AuditTrailSummary> VerifyAuditTrail(
    const std::string& path, const std::string& checkpoint_path = "",
    const VerifyingKey* key = nullptr);

}  // namespace tao

#endif  // TAO_TAO_DOMAIN_AUDIT_VERIFY_H_
