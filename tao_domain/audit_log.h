// The audit trail: every decision appended as one line, each line's hash
// chained to the previous one, so that a removed, reordered or changed record
// is detected by VerifyAuditLog. A line is
//
//   <seq>\t<time>\t<caller>\t<operation>\t<label>\t<allow|deny>\t<reason>
//       \t<prev>\t<hash>                        (one line)
//
// with text fields C-escaped (no tabs or newlines), time in RFC 3339 UTC,
// prev and hash 64 hex digits, hash = SHA-256(prev bytes || the line up to
// and including the tab before <hash>). The first record's prev is all zeros.
#ifndef TAO_TAO_DOMAIN_AUDIT_LOG_H_
#define TAO_TAO_DOMAIN_AUDIT_LOG_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tao/unique_fd.h"

namespace tao {

struct AuditRecord {
  absl::Time time;
  std::string caller;
  std::string operation;
  std::string label;
  bool allowed = false;
  std::string reason;
};

// Appends records to one file. Thread-safe.
class AuditLog {
 public:
  // Opens (creating with mode 0600) the log at `path` and continues its
  // chain. An incomplete final record (no newline: an append interrupted by
  // a crash, never acknowledged) is cut off if every whole record verifies.
  // The existing records are verified first: kDataLoss if the chain is
  // broken, so a tampered log is never silently extended. The log stays
  // locked (flock) while the AuditLog lives: kFailedPrecondition if another
  // AuditLog, in this process or another, has it open.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(
      const std::string& path);

  // Appends one record with write(2) and fdatasync(2). If the write fails
  // part way, the file is cut back to its last whole record. If only the
  // fdatasync fails, the record stays (and the chain continues from it) but
  // the error is returned.
  absl::Status Append(const AuditRecord& record);

  uint64_t records() const;

 private:
  AuditLog(UniqueFd fd, uint64_t size, uint64_t next_seq, std::string last_hash)
      : fd_(std::move(fd)),
        size_(size),
        next_seq_(next_seq),
        last_hash_(std::move(last_hash)) {}

  mutable absl::Mutex mu_;
  UniqueFd fd_ ABSL_GUARDED_BY(mu_);
  uint64_t size_ ABSL_GUARDED_BY(mu_);  // bytes of whole records
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_);
  std::string last_hash_ ABSL_GUARDED_BY(mu_);  // 32 raw bytes
};

// What VerifyAuditLog found in an intact log.
struct AuditLogSummary {
  uint64_t records = 0;
  std::string last_hash_hex;  // record it elsewhere to detect truncation
};

// Checks every record's sequence number, chain link and hash. Returns
// kDataLoss naming the first bad line and why.
absl::StatusOr<AuditLogSummary> VerifyAuditLogContents(
    absl::string_view contents);
absl::StatusOr<AuditLogSummary> VerifyAuditLog(const std::string& path);

}  // namespace tao

#endif  // TAO_TAO_DOMAIN_AUDIT_LOG_H_
