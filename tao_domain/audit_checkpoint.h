// The audit trail's signed checkpoint: how far the trail had got (records,
// last hash, where that record is) when the host last made it durable,
// signed with the host's key. A trail that is missing, shorter, or does not
// hold the checkpointed record (a different chain) no longer matches it,
// and a rewritten checkpoint does not verify without the host's key.
#ifndef TAO_TAO_DOMAIN_AUDIT_CHECKPOINT_H_
#define TAO_TAO_DOMAIN_AUDIT_CHECKPOINT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tao/keys.h"

namespace tao {

struct AuditCheckpoint {
  uint64_t records = 0;   // the sequence number of the last durable record
  std::string last_hash;  // its hash (32 raw bytes; zeros for none)
  std::string chain;      // the hash of record 1 of this chain (zeros: none)
  // The file holding record `records`, named by its first record's
  // sequence number (rotation renames files), and the record's offset.
  uint64_t file_first_seq = 0;
  uint64_t offset = 0;
  absl::Time time;
};

// `<trail>.checkpoint`: where AuditLog keeps the checkpoint by default.
std::string DefaultAuditCheckpointPath(const std::string& trail);

// The checkpoint as signed text (docs/audit-trail.md). kInternal if
// signing fails.
absl::StatusOr<std::string> SignAuditCheckpoint(const AuditCheckpoint& cp,
                                                const SigningKey& key);

// Parses and verifies `text` under `key`. kDataLoss if it does not parse or
// its signature does not verify (naming which).
absl::StatusOr<AuditCheckpoint> VerifyAuditCheckpoint(absl::string_view text,
                                                      const VerifyingKey& key);

}  // namespace tao

#endif  // TAO_TAO_DOMAIN_AUDIT_CHECKPOINT_H_
