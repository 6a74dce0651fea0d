// The audit trail's line format and its streaming verification, shared by
// AuditLog (which writes and reopens trails) and the tools that check them.
// docs/audit-trail.md describes the format for readers.
//
// A line is nine tab-separated fields:
//
//   <seq> <time> <caller> <operation> <label> <allow|deny|note> <reason>
//       <prev> <hash>
//
// Text fields are C-escaped (no tabs or newlines) and bounded, measured
// escaped: caller and label at most kAuditMaxFieldBytes (a longer one is
// written as `sha256:<hex>` of its full text, after a `name` record that
// holds the text), operation at most kAuditMaxOperationBytes, reason at most
// kAuditMaxReasonBytes (cut, ending in "...[cut N bytes]"). `note` marks a
// record that is not a decision: `name`, `Rotate`, `NewChain`, `Reload`,
// `RateLimited`, `Unrecorded`.
#ifndef TAO_TAO_DOMAIN_AUDIT_FORMAT_H_
#define TAO_TAO_DOMAIN_AUDIT_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tao {

inline constexpr size_t kAuditMaxFieldBytes = 512;
inline constexpr size_t kAuditMaxOperationBytes = 64;
inline constexpr size_t kAuditMaxReasonBytes = 1024;
// A `name` record's text (escaped); a longer name is cut (its digest is
// still of the whole name).
inline constexpr size_t kAuditMaxNameBytes = 1 << 20;
// No other record line is longer than this.
inline constexpr size_t kAuditMaxRecordLine = 4096;
// No line at all is longer than this (a `name` record with its text).
inline constexpr size_t kAuditMaxLine =
    kAuditMaxNameBytes + kAuditMaxRecordLine;

namespace internal {

// C-escapes `text`; if the result would exceed `max` bytes, escapes only a
// prefix (never cutting an escape in two) and appends "...[cut N bytes]"
// so the result is at most `max` bytes. `max` must be at least 64.
std::string EscapeBounded(absl::string_view text, size_t max);

// `sha256:<hex>` of `text`: how a long caller or label is recorded.
std::string AuditNameDigest(absl::string_view text);

// `time` as a record's time field: absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ",
// time, UTC), byte for byte, without its general formatter for the years
// 1970 to 9999 (it runs once per record); other times go through it.
std::string FormatAuditTime(absl::Time time);

// One whole line, newline included, chained to `prev` (32 raw bytes); sets
// `*hash` to its hash. The text fields must already be escaped.
std::string FormatAuditLine(uint64_t seq, absl::Time time,
                            absl::string_view caller,
                            absl::string_view operation,
                            absl::string_view label, absl::string_view verdict,
                            absl::string_view reason, const std::string& prev,
                            std::string* hash);

}  // namespace internal

// Where a scan of one file starts and what it expects there.
struct AuditScanStart {
  uint64_t offset = 0;  // byte offset of the first line to read
  // The first line's sequence number and previous hash (32 raw bytes).
  // Unset at the start of a file: its first record must then be record 1
  // (linking to zeros) or a `Rotate` record (continuing an older file).
  // With `seq` set and `prev` unset, the first line's own prev is taken.
  std::optional<uint64_t> seq;
  std::optional<std::string> prev;
  // If set, the first line's hash must be this (a checkpointed record):
  // kDataLoss saying it is not otherwise.
  std::optional<std::string> first_hash;
};

// What a scan found: whole records only.
struct AuditFileScan {
  uint64_t records = 0;      // whole records read
  uint64_t first_seq = 0;    // of the first record read (0: none)
  uint64_t last_seq = 0;     // of the last (0: none)
  std::string first_hash;    // raw; of the first record read
  std::string last_hash;     // raw; the prev of the next record
  uint64_t end = 0;          // byte offset just past the last whole record
  uint64_t last_offset = 0;  // byte offset of the last whole record
  uint64_t torn_bytes = 0;   // bytes after the last newline
};

// Reads `fd` from `start.offset` to its end in bounded memory (at most
// about 2 x kAuditMaxLine), checking each line's fields, sequence number,
// link and hash. A final line with no newline is reported in torn_bytes if
// `allow_torn` (an interrupted append), else refused. kDataLoss naming the
// line ("audit log line N" counts lines from `start.offset`) and why.
absl::StatusOr<AuditFileScan> ScanAuditFile(int fd, const AuditScanStart& start,
                                            bool allow_torn);

// The sequence number of the first record of the file `path` (reads at most
// its first line). kNotFound if missing, kDataLoss if it does not parse.
absl::StatusOr<uint64_t> FirstSeqOfAuditFile(const std::string& path);

// `path` for index 0, else `path.<index>`: the files of a rotated trail.
std::string AuditFilePath(const std::string& path, int index);

}  // namespace tao

#endif  // TAO_TAO_DOMAIN_AUDIT_FORMAT_H_
