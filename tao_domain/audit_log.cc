#include "tao_domain/audit_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "glog/logging.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/file_util.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

constexpr size_t kFields = 9;
// The host forgets which long names this file has named past this many
// (and names them again): bounded memory, however many names a flood uses.
constexpr size_t kMaxRemembered = 4096;
// After a failed sync, the writer tries again this much later.
constexpr absl::Duration kRetrySync = absl::Milliseconds(100);

thread_local bool this_thread_holds_answers = false;

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
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid())
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  TAO_ASSIGN_OR_RETURN(AuditFileScan scan,
                       ScanAuditFile(fd.get(), AuditScanStart{}, false));
  AuditLogSummary summary;
  summary.records = scan.last_seq;
  summary.last_hash_hex = HexEncode(scan.last_hash);
  return summary;
}

void AuditLog::HoldAnswersOnThisThread() { this_thread_holds_answers = true; }
bool AuditLog::ThisThreadHoldsAnswers() { return this_thread_holds_answers; }

AuditLog::~AuditLog() {
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
    writer_cv_.Signal();
  }
  if (writer_.joinable()) writer_.join();
}

int AuditLog::Sync(int fd) const {
  return options_.syncer ? options_.syncer(fd) : ::fdatasync(fd);
}

std::string AuditLog::BoundedName(
    absl::string_view text, std::vector<std::vector<std::string>>* names) {
  std::string escaped = absl::CEscape(text);
  if (escaped.size() <= kAuditMaxFieldBytes) return escaped;
  std::string digest = internal::AuditNameDigest(text);
  if (named_.count(digest) == 0) {
    if (named_.size() >= kMaxRemembered) named_.clear();
    named_.insert(digest);
    names->push_back({digest, "name", "", "note",
                      internal::EscapeBounded(text, kAuditMaxNameBytes)});
  }
  return digest;
}

absl::Status AuditLog::WriteAll(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n =
        ::write(file_->fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status failed =
          absl::ErrnoToStatus(errno, "append to the audit log");
      if (done > 0 &&
          ::ftruncate(file_->fd.get(), static_cast<off_t>(size_)) != 0) {
        return absl::DataLossError(absl::StrCat(
            failed.message(), "; and cutting back the partial record failed"));
      }
      return failed;
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> AuditLog::AppendLines(
    const std::vector<std::vector<std::string>>& records, absl::Time time) {
  std::string bytes;
  std::string hash = last_hash_;
  uint64_t seq = next_seq_;
  uint64_t offset = size_;
  uint64_t last_offset = last_offset_;
  std::string first_hash;
  for (const std::vector<std::string>& f : records) {
    last_offset = offset + bytes.size();
    std::string prev = hash;
    absl::StrAppend(&bytes,
                    internal::FormatAuditLine(seq, time, f[0], f[1], f[2], f[3],
                                              f[4], prev, &hash));
    if (seq++ == 1) first_hash = hash;
  }
  TAO_RETURN_IF_ERROR(WriteAll(bytes));
  // The records are in the file now: the chain moves on even if they
  // cannot be made durable, so the next record links to them.
  if (file_->first_seq == 0) file_->first_seq = next_seq_;
  if (!first_hash.empty()) chain_ = first_hash;
  const bool first_unsynced = durable_seq_ == next_seq_ - 1;
  if (first_unsynced) first_unsynced_ = absl::Now();
  size_ += bytes.size();
  last_offset_ = last_offset;
  last_hash_ = std::move(hash);
  stats_.appended += records.size();
  next_seq_ = seq;
  // The writer needs waking only when its plan changes: in sync mode at
  // every record, in batch mode when this record opens a window (until
  // then it sleeps without a deadline; after, its deadline covers every
  // record of the window). A wake-up per record would cost the deciding
  // thread a context switch per decision, twice over on one CPU.
  if (options_.durability == AuditDurability::kSync || first_unsynced) {
    writer_cv_.Signal();
  }
  return seq - 1;
}

absl::Status AuditLog::Rotate(absl::Time time) {
  // audit.log.N -> audit.log.N+1, ..., audit.log -> audit.log.1. Files past
  // keep_files are deleted by the writer once a checkpoint no longer
  // points into them.
  for (int i = static_cast<int>(rotated_first_.size()); i >= 0; --i) {
    const std::string from = AuditFilePath(path_, i);
    const std::string to = AuditFilePath(path_, i + 1);
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("rotate ", from));
    }
  }
  rotated_first_.push_front(file_->first_seq);
  UniqueFd fd(::open(path_.c_str(),
                     O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path_));
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("lock ", path_));
  }
  unsynced_.push_back(std::move(file_));
  file_ = std::make_shared<File>();
  file_->fd = std::move(fd);
  dir_dirty_ = true;
  checkpoint_now_ = true;
  ++stats_.rotations;
  const uint64_t old_first = rotated_first_.front();
  const uint64_t old_last = next_seq_ - 1;
  size_ = last_offset_ = 0;
  named_.clear();
  auto rotated = AppendLines(
      {{"host", "Rotate", "", "note",
        absl::StrCat("continues from ", AuditFilePath(path_, 1), " (records ",
                     old_first, " to ", old_last, ")")}},
      time);
  return rotated.status();
}

absl::StatusOr<uint64_t> AuditLog::AppendNoWait(const AuditRecord& record) {
  absl::MutexLock lock(&mu_);
  if (size_ + kAuditMaxRecordLine * 3 +
          std::min(record.caller.size(), kAuditMaxNameBytes) * 4 +
          std::min(record.label.size(), kAuditMaxNameBytes) * 4 >
      options_.max_bytes) {
    TAO_RETURN_IF_ERROR(Rotate(record.time));
  }
  std::vector<std::vector<std::string>> lines;
  std::string caller = BoundedName(record.caller, &lines);
  std::string label = BoundedName(record.label, &lines);
  lines.push_back(
      {std::move(caller),
       internal::EscapeBounded(record.operation, kAuditMaxOperationBytes),
       std::move(label), record.allowed ? "allow" : "deny",
       internal::EscapeBounded(record.reason, kAuditMaxReasonBytes)});
  auto appended = AppendLines(lines, record.time);
  if (!appended.ok()) {
    // Nothing was written: forget the names queued with it.
    for (size_t i = 0; i + 1 < lines.size(); ++i) named_.erase(lines[i][0]);
  }
  return appended;
}

absl::StatusOr<uint64_t> AuditLog::AppendNote(absl::string_view caller,
                                              absl::string_view operation,
                                              absl::string_view label,
                                              absl::string_view reason,
                                              absl::Time time) {
  absl::MutexLock lock(&mu_);
  if (size_ + kAuditMaxRecordLine * 3 > options_.max_bytes) {
    TAO_RETURN_IF_ERROR(Rotate(time));
  }
  std::vector<std::vector<std::string>> lines;
  std::string c = BoundedName(caller, &lines);
  std::string l = BoundedName(label, &lines);
  lines.push_back({std::move(c),
                   internal::EscapeBounded(operation, kAuditMaxOperationBytes),
                   std::move(l), "note",
                   internal::EscapeBounded(reason, kAuditMaxReasonBytes)});
  return AppendLines(lines, time);
}

absl::Status AuditLog::Append(const AuditRecord& record) {
  TAO_ASSIGN_OR_RETURN(uint64_t ticket, AppendNoWait(record));
  return WaitDurable(ticket);
}

absl::Status AuditLog::WaitDurable(uint64_t ticket) {
  absl::MutexLock lock(&mu_);
  const uint64_t failures = stats_.sync_failures;
  sync_requested_ = true;
  writer_cv_.Signal();
  while (durable_seq_ < ticket) {
    if (stats_.sync_failures > failures && failed_through_ >= ticket) {
      return sync_error_;
    }
    cv_.Wait(&mu_);
  }
  return absl::OkStatus();
}

uint64_t AuditLog::appended_seq() const {
  absl::MutexLock lock(&mu_);
  return next_seq_ - 1;
}

uint64_t AuditLog::durable_seq() const {
  absl::MutexLock lock(&mu_);
  return durable_seq_;
}

uint64_t AuditLog::records() const { return appended_seq(); }

AuditLogStats AuditLog::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void AuditLog::PruneFiles() {
  // Never delete the file the last checkpoint points into (Open starts
  // there) or anything newer. Without a checkpoint, only what is synced
  // has been rotated away, and the oldest files go.
  while (static_cast<int>(rotated_first_.size()) > options_.keep_files &&
         (options_.checkpoint_key == nullptr ||
          rotated_first_.back() < checkpoint_file_)) {
    const std::string old =
        AuditFilePath(path_, static_cast<int>(rotated_first_.size()));
    if (::unlink(old.c_str()) != 0 && errno != ENOENT) {
      PLOG(WARNING) << "unlink " << old;
      return;
    }
    rotated_first_.pop_back();
    dir_dirty_ = true;
  }
}

void AuditLog::WriteCheckpoint(const AuditCheckpoint& cp) {
  auto text = SignAuditCheckpoint(cp, *options_.checkpoint_key);
  absl::Status written =
      text.ok() ? WriteFileAtomically(checkpoint_path_, *text, 0600)
                : text.status();
  absl::MutexLock lock(&mu_);
  if (!written.ok()) {
    // Tried again at the next interval, not at once (a full disk).
    last_checkpoint_ = absl::Now();
    LOG(WARNING) << "audit checkpoint not written: " << written;
    return;
  }
  checkpoint_seq_ = cp.records;
  checkpoint_file_ = cp.file_first_seq;
  last_checkpoint_ = absl::Now();
  ++stats_.checkpoints;
  PruneFiles();
}

void AuditLog::WriterLoop() {
  const std::string dir = [this] {
    size_t slash = path_.rfind('/');
    return slash == std::string::npos ? std::string(".")
                                      : path_.substr(0, slash + 1);
  }();
  absl::Time retry_at = absl::InfinitePast();
  int close_rounds = 0;
  mu_.Lock();
  while (true) {
    const bool has_key = options_.checkpoint_key != nullptr;
    auto checkpoint_due = [&] {
      mu_.AssertHeld();
      return has_key && durable_seq_ > checkpoint_seq_ &&
             (checkpoint_now_ || closing_ ||
              absl::Now() - last_checkpoint_ >= options_.checkpoint_interval);
    };
    // Wait for records to sync (after the window in batch mode, unless a
    // caller waits), a checkpoint to write, or the end.
    while (true) {
      const bool pending = next_seq_ - 1 > durable_seq_ || dir_dirty_;
      if (closing_ || checkpoint_due()) break;
      absl::Time now = absl::Now();
      if (pending && now >= retry_at &&
          (options_.durability == AuditDurability::kSync || sync_requested_ ||
           now - first_unsynced_ >= options_.batch_window)) {
        break;
      }
      absl::Time wake = absl::InfiniteFuture();
      if (pending) {
        wake =
            std::max(retry_at, options_.durability == AuditDurability::kSync ||
                                       sync_requested_
                                   ? now
                                   : first_unsynced_ + options_.batch_window);
      }
      if (has_key && durable_seq_ > checkpoint_seq_) {
        wake = std::min(wake, last_checkpoint_ + options_.checkpoint_interval);
      }
      writer_cv_.WaitWithDeadline(&mu_, wake);
    }
    const uint64_t target = next_seq_ - 1;
    AuditCheckpoint point;
    point.records = target;
    point.last_hash = last_hash_;
    point.chain = chain_;
    point.file_first_seq = file_->first_seq;
    point.offset = last_offset_;
    // After a failed sync, the next try waits for retry_at (a checkpoint
    // or a close may have woken us earlier).
    if ((target > durable_seq_ || dir_dirty_) &&
        (closing_ || absl::Now() >= retry_at)) {
      std::vector<std::shared_ptr<File>> files = std::move(unsynced_);
      unsynced_.clear();
      files.push_back(file_);
      const bool sync_dir = dir_dirty_;
      dir_dirty_ = false;
      sync_requested_ = false;
      mu_.Unlock();
      int failed = 0;
      for (const std::shared_ptr<File>& f : files) {
        if (Sync(f->fd.get()) != 0) failed = errno != 0 ? errno : EIO;
      }
      if (sync_dir) {
        UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (d.valid() && ::fsync(d.get()) != 0) failed = errno;
      }
      mu_.Lock();
      ++stats_.syncs;
      if (failed == 0) {
        if (target >= durable_seq_) durable_point_ = point;
        durable_seq_ = std::max(durable_seq_, target);
        retry_at = absl::InfinitePast();
        if (!has_key) PruneFiles();
      } else {
        ++stats_.sync_failures;
        failed_through_ = target;
        sync_error_ = absl::ErrnoToStatus(failed, "fdatasync the audit log");
        LOG(WARNING) << sync_error_;
        for (std::shared_ptr<File>& f : files) {
          if (f != file_) unsynced_.push_back(std::move(f));
        }
        dir_dirty_ = dir_dirty_ || sync_dir;
        retry_at = absl::Now() + kRetrySync;
      }
      cv_.SignalAll();
      uint64_t one = 1;
      ssize_t n = ::write(wake_fd_.get(), &one, sizeof(one));
      (void)n;  // EAGAIN: a wake-up is pending already
    }
    if (checkpoint_due() && durable_point_.records == durable_seq_) {
      // Only what is durable is checkpointed (a checkpoint past the disk's
      // trail would refuse the next start after a power loss).
      AuditCheckpoint cp = durable_point_;
      cp.time = absl::Now();
      checkpoint_now_ = false;
      mu_.Unlock();
      WriteCheckpoint(cp);
      mu_.Lock();
    }
    // At close: sync and checkpoint what is left, but a disk that keeps
    // failing does not hold the host's exit for long.
    if (closing_ &&
        ((durable_seq_ == next_seq_ - 1 && !dir_dirty_ && !checkpoint_due()) ||
         ++close_rounds > 3)) {
      break;
    }
  }
  mu_.Unlock();
}

}  // namespace tao
