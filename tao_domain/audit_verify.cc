#include "tao_domain/audit_verify.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "tao/encoding.h"
#include "tao/file_util.h"
#include "tao/status_macros.h"
#include "tao/unique_fd.h"
#include "tao_domain/audit_checkpoint.h"
#include "tao_domain/audit_format.h"

namespace tao {
namespace {
constexpr int kMaxFiles = 1024;
}  // namespace

absl::StatusOr<AuditTrailSummary> VerifyAuditTrail(
    const std::string& path, const std::string& checkpoint_path,
    const VerifyingKey* key) {
  std::optional<AuditCheckpoint> cp;
  if (!checkpoint_path.empty()) {
    if (key == nullptr) {
      return absl::InvalidArgumentError("a checkpoint needs the host's key");
    }
    TAO_ASSIGN_OR_RETURN(std::string text,
                         ReadFileToString(checkpoint_path, 1 << 16));
    auto verified = VerifyAuditCheckpoint(text, *key);
    if (!verified.ok()) {
      return absl::DataLossError(
          absl::StrCat(checkpoint_path, ": ", verified.status().message()));
    }
    cp = *verified;
  }
  if (!PathExists(path)) {
    return absl::NotFoundError(absl::StrCat(
        "the audit trail ", path, " is missing",
        cp.has_value() ? absl::StrCat(" but its checkpoint remembers ",
                                      cp->records, " records")
                       : ""));
  }
  int oldest = 0;
  while (oldest < kMaxFiles && PathExists(AuditFilePath(path, oldest + 1)))
    ++oldest;
  AuditTrailSummary summary;
  AuditScanStart start;
  bool found_checkpoint = cp.has_value() && cp->records == 0;
  for (int i = oldest; i >= 0; --i) {
    const std::string file = AuditFilePath(path, i);
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
      return absl::ErrnoToStatus(errno, absl::StrCat("open ", file));
    auto scan = ScanAuditFile(fd.get(), start, /*allow_torn=*/false);
    if (!scan.ok()) {
      return absl::DataLossError(
          absl::StrCat(file, ": ", scan.status().message()));
    }
    if (cp.has_value() && !found_checkpoint && scan->records > 0 &&
        scan->first_seq == cp->file_first_seq) {
      AuditScanStart at;
      at.offset = cp->offset;
      at.seq = cp->records;
      at.first_hash = cp->last_hash;
      auto there = ScanAuditFile(fd.get(), at, false);
      if (!there.ok() || there->records == 0) {
        return absl::DataLossError(absl::StrCat(
            file, " does not hold the checkpointed record ", cp->records,
            there.ok() ? " (it ends before it)"
                       : absl::StrCat(": ", there.status().message())));
      }
      found_checkpoint = true;
    }
    ++summary.files;
    if (scan->records > 0) {
      if (summary.first_seq == 0) summary.first_seq = scan->first_seq;
      summary.last_seq = scan->last_seq;
      start = AuditScanStart{};
      start.seq = scan->last_seq + 1;
      start.prev = scan->last_hash;
    }
    summary.last_hash_hex = HexEncode(scan->last_hash);
  }
  if (cp.has_value() && !found_checkpoint) {
    return absl::DataLossError(absl::StrCat(
        "the audit trail ", path, " does not match its checkpoint ",
        checkpoint_path, ": no file starts at record ", cp->file_first_seq,
        " (it has records ", summary.first_seq, " to ", summary.last_seq,
        ", the checkpoint remembers ", cp->records, ")"));
  }
  summary.checkpoint_checked = cp.has_value();
  return summary;
}

}  // namespace tao
