#include "tao_domain/audit_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "glog/logging.h"
#include "tao/crypto.h"
#include "tao/file_util.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

constexpr size_t kFields = 9;
const std::string& ZeroHash() {
  static const std::string* zero = new std::string(kSha256Size, '\0');
  return *zero;
}

absl::Status Broken(uint64_t line, absl::string_view why) {
  return absl::DataLossError(absl::StrCat("audit log line ", line, ": ", why,
                                          "; the trail was altered"));
}

}  // namespace

absl::StatusOr<AuditLogSummary> VerifyAuditLogContents(
    absl::string_view contents) {
  AuditLogSummary summary;
  std::string prev = ZeroHash();
  uint64_t line_no = 0;
  while (!contents.empty()) {
    ++line_no;
    size_t nl = contents.find('\n');
    if (nl == absl::string_view::npos) {
      return Broken(line_no, "the last record is incomplete (no newline)");
    }
    absl::string_view line = contents.substr(0, nl);
    contents.remove_prefix(nl + 1);
    std::vector<absl::string_view> fields = absl::StrSplit(line, '\t');
    if (fields.size() != kFields) {
      return Broken(line_no, absl::StrCat("has ", fields.size(),
                                          " fields, not ", kFields));
    }
    uint64_t seq = 0;
    if (!absl::SimpleAtoi(fields[0], &seq) || seq != line_no) {
      return Broken(line_no, absl::StrCat("sequence number '", fields[0],
                                          "' is not ", line_no));
    }
    if (fields[7] != HexEncode(prev)) {
      return Broken(line_no, "does not link to the previous record");
    }
    absl::string_view hashed = line.substr(0, line.size() - fields[8].size());
    std::string hash = Sha256(absl::StrCat(prev, hashed));
    if (fields[8] != HexEncode(hash)) {
      return Broken(line_no, "its hash does not match its contents");
    }
    prev = hash;
    summary.records = line_no;
  }
  summary.last_hash_hex = HexEncode(prev);
  return summary;
}

absl::StatusOr<AuditLogSummary> VerifyAuditLog(const std::string& path) {
  TAO_ASSIGN_OR_RETURN(std::string contents,
                       ReadFileToString(path, size_t{1} << 32));
  return VerifyAuditLogContents(contents);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(
    const std::string& path) {
  UniqueFd fd(
      ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid())
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  // One writer per trail: a second would chain its records to a hash the
  // first has already moved past. The lock lives as long as `fd`.
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          path,
          " is already open for writing (by another taohost?); a second "
          "writer would break its hash chain"));
    }
    return absl::ErrnoToStatus(errno, absl::StrCat("lock ", path));
  }
  TAO_ASSIGN_OR_RETURN(std::string contents,
                       ReadFileToString(path, size_t{1} << 32));
  // A host killed in the middle of an append leaves part of one record with
  // no newline. That record was never acknowledged (its fdatasync had not
  // returned), so it is cut off; every whole record must still verify.
  size_t whole = contents.rfind('\n');
  whole = whole == std::string::npos ? 0 : whole + 1;
  if (whole < contents.size()) {
    auto before =
        VerifyAuditLogContents(absl::string_view(contents).substr(0, whole));
    if (before.ok()) {
      LOG(WARNING) << path << ": cutting off an incomplete final record ("
                   << contents.size() - whole
                   << " bytes) left by an interrupted append";
      if (::ftruncate(fd.get(), static_cast<off_t>(whole)) != 0 ||
          ::fsync(fd.get()) != 0) {
        return absl::ErrnoToStatus(errno, absl::StrCat("truncate ", path));
      }
      contents.resize(whole);
    }
  }
  auto summary = VerifyAuditLogContents(contents);
  if (!summary.ok()) {
    return absl::DataLossError(absl::StrCat(
        path, ": ", summary.status().message(),
        "; refusing to extend it (move it aside to start a new trail)"));
  }
  std::string last_hash = absl::HexStringToBytes(summary->last_hash_hex);
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(fd), contents.size(),
                                                summary->records + 1,
                                                std::move(last_hash)));
}

absl::Status AuditLog::Append(const AuditRecord& record) {
  absl::MutexLock lock(&mu_);
  std::string line = absl::StrCat(
      next_seq_, "\t",
      absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", record.time,
                       absl::UTCTimeZone()),
      "\t", absl::CEscape(record.caller), "\t", absl::CEscape(record.operation),
      "\t", absl::CEscape(record.label), "\t",
      record.allowed ? "allow" : "deny", "\t", absl::CEscape(record.reason),
      "\t", HexEncode(last_hash_), "\t");
  std::string hash = Sha256(absl::StrCat(last_hash_, line));
  absl::StrAppend(&line, HexEncode(hash), "\n");
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd_.get(), line.data() + done, line.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status failed =
          absl::ErrnoToStatus(errno, "append to the audit log");
      if (done > 0 && ::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) {
        return absl::DataLossError(absl::StrCat(
            failed.message(), "; and cutting back the partial record failed"));
      }
      return failed;
    }
    done += static_cast<size_t>(n);
  }
  // The whole record is in the file now: the chain moves on even if it
  // could not be made durable, so the next record links to this one.
  size_ += line.size();
  last_hash_ = std::move(hash);
  ++next_seq_;
  if (::fdatasync(fd_.get()) != 0) {
    return absl::ErrnoToStatus(errno, "fdatasync the audit log");
  }
  return absl::OkStatus();
}

uint64_t AuditLog::records() const {
  absl::MutexLock lock(&mu_);
  return next_seq_ - 1;
}

}  // namespace tao
