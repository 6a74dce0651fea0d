// AuditLog::Open: locking the trail, checking it against its checkpoint and
// verifying it in bounded memory, and starting a new chain when the
// operator says so. Appending and the writer thread are in audit_log.cc.
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/file_util.h"
#include "tao/status_macros.h"
#include "tao_domain/audit_log.h"

namespace tao {
namespace {

// Rotated files beyond keep_files that a lagging writer may not have
// pruned yet; Open looks this far.
constexpr int kSlack = 2;

absl::StatusOr<UniqueFd> OpenAndLock(const std::string& path) {
  UniqueFd fd(::open(path.c_str(),
                     O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                     0600));
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
  return fd;
}

}  // namespace

AuditLog::AuditLog(std::string path, AuditLogOptions options)
    : path_(std::move(path)),
      options_(std::move(options)),
      checkpoint_path_(options_.checkpoint_path.empty()
                           ? DefaultAuditCheckpointPath(path_)
                           : options_.checkpoint_path),
      last_hash_(kSha256Size, '\0'),
      chain_(kSha256Size, '\0') {}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(
    const std::string& path, AuditLogOptions options) {
  if (options.max_bytes < 2 * kAuditMaxLine || options.keep_files < 1 ||
      options.batch_window < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit log: max_bytes must be at least ",
                     2 * kAuditMaxLine, ", keep_files at least 1"));
  }
  std::unique_ptr<AuditLog> log(new AuditLog(path, std::move(options)));
  struct stat st;
  const bool existed = ::lstat(path.c_str(), &st) == 0;
  log->wake_fd_.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!log->wake_fd_.valid()) return absl::ErrnoToStatus(errno, "eventfd");
  {
    absl::MutexLock lock(&log->mu_);
    TAO_ASSIGN_OR_RETURN(UniqueFd fd, OpenAndLock(path));
    log->file_ = std::make_shared<File>();
    log->file_->fd = std::move(fd);
  }
  absl::Status opened = log->OpenExisting(existed);
  if (!opened.ok()) {
    // Leave no empty trail of ours behind where one was missing.
    absl::MutexLock lock(&log->mu_);
    struct stat now;
    if (!existed && log->file_ != nullptr &&
        ::fstat(log->file_->fd.get(), &now) == 0 && now.st_size == 0) {
      ::unlink(path.c_str());
    }
    return opened;
  }
  {
    absl::MutexLock lock(&log->mu_);
    // What was there before us is on the disk from here on.
    if (log->Sync(log->file_->fd.get()) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("fdatasync ", path));
    }
    log->durable_seq_ = log->next_seq_ - 1;
    log->durable_point_.records = log->durable_seq_;
    log->durable_point_.last_hash = log->last_hash_;
    log->durable_point_.chain = log->chain_;
    log->durable_point_.file_first_seq = log->file_->first_seq;
    log->durable_point_.offset = log->last_offset_;
    log->last_checkpoint_ = absl::Now();
    if (log->options_.checkpoint_key != nullptr &&
        log->checkpoint_seq_ < log->durable_seq_) {
      log->checkpoint_now_ = true;
    }
  }
  log->writer_ = std::thread([raw = log.get()] { raw->WriterLoop(); });
  return log;
}

absl::Status AuditLog::OpenExisting(bool existed) {
  absl::MutexLock lock(&mu_);
  // The rotated files, newest first, by the sequence number they start at.
  for (int i = 1; i <= options_.keep_files + kSlack; ++i) {
    auto first = FirstSeqOfAuditFile(AuditFilePath(path_, i));
    if (!first.ok()) break;
    rotated_first_.push_back(*first);
  }
  std::optional<AuditCheckpoint> cp;
  std::string cp_text;
  absl::Status mismatch;
  if (options_.checkpoint_key != nullptr && PathExists(checkpoint_path_)) {
    TAO_ASSIGN_OR_RETURN(cp_text, ReadFileToString(checkpoint_path_, 1 << 16));
    auto verified = VerifyAuditCheckpoint(
        cp_text, options_.checkpoint_key->verifying_key());
    if (!verified.ok()) {
      mismatch = absl::DataLossError(
          absl::StrCat(checkpoint_path_, ": ", verified.status().message()));
      if (!options_.accept_new_chain) return mismatch;
      cp = AuditCheckpoint{};
    } else {
      cp = *verified;
    }
  }
  // Where verification starts: the checkpointed record, or the start of the
  // current file.
  int index = 0;
  AuditScanStart start;
  if (cp.has_value() && cp->records > 0 && mismatch.ok()) {
    auto current_first = FirstSeqOfAuditFile(path_);
    index = -1;
    if (current_first.ok() && *current_first == cp->file_first_seq) {
      index = 0;
    }
    for (size_t i = 0; index < 0 && i < rotated_first_.size(); ++i) {
      if (rotated_first_[i] == cp->file_first_seq)
        index = static_cast<int>(i) + 1;
    }
    std::string remembered = absl::StrCat(
        "its checkpoint ", checkpoint_path_, " remembers ", cp->records,
        " records ending in ", HexEncode(cp->last_hash));
    // (audit.log alone may be missing after a crash in the middle of a
    // rotation, while the checkpointed record is in audit.log.1.)
    if (index < 0 &&
        (!existed || (!current_first.ok() && rotated_first_.empty()))) {
      mismatch = absl::DataLossError(absl::StrCat(
          "the audit trail ", path_, " is missing but ", remembered));
    } else if (index < 0) {
      mismatch = absl::DataLossError(absl::StrCat(
          "no file of the audit trail ", path_, " starts at record ",
          cp->file_first_seq, ", the file that holds record ", cp->records,
          "; ", remembered, " (a truncated, replaced or pruned trail)"));
    }
    start.offset = cp->offset;
    start.seq = cp->records;
    start.first_hash = cp->last_hash;
    chain_ = cp->chain;
    checkpoint_seq_ = cp->records;
    checkpoint_file_ = cp->file_first_seq;
  }
  // Verify forward, file by file, newest last; the current file may end in
  // a torn record.
  std::optional<uint64_t> carried_seq;
  std::optional<std::string> carried_prev;
  for (int i = index; mismatch.ok() && i >= 0; --i) {
    const std::string file = AuditFilePath(path_, i);
    UniqueFd rotated;
    int fd = file_->fd.get();
    if (i > 0) {
      rotated.Reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
      if (!rotated.valid())
        return absl::ErrnoToStatus(errno, absl::StrCat("open ", file));
      fd = rotated.get();
    }
    const bool from_checkpoint = start.first_hash.has_value();
    auto got = ScanAuditFile(fd, start, /*allow_torn=*/i == 0);
    if (got.ok() && from_checkpoint && got->records == 0) {
      got = absl::DataLossError(absl::StrCat(
          "it ends before record ", cp->records,
          ": shorter than the checkpoint, which remembers ", cp->records,
          " records ending in ", HexEncode(cp->last_hash)));
    }
    if (!got.ok()) {
      absl::Status broken = absl::DataLossError(
          absl::StrCat(file, ": ", got.status().message(),
                       "; refusing to extend it (move it aside to start a "
                       "new trail)"));
      if (!cp.has_value()) return broken;
      mismatch = broken;
      break;
    }
    if (i == 0 && got->torn_bytes > 0) {
      // A host killed in the middle of an append leaves part of one record
      // with no newline. That record was never acknowledged (it was never
      // synced), so it is cut off; every whole record verified.
      LOG(WARNING) << path_ << ": cutting off an incomplete final record ("
                   << got->torn_bytes
                   << " bytes) left by an interrupted append";
      if (::ftruncate(fd, static_cast<off_t>(got->end)) != 0 ||
          ::fsync(fd) != 0) {
        return absl::ErrnoToStatus(errno, absl::StrCat("truncate ", path_));
      }
    }
    if (got->records > 0) {
      carried_seq = got->last_seq + 1;
      carried_prev = got->last_hash;
    }
    if (i == 0) {
      size_ = got->end;
      last_offset_ = got->last_offset;
      next_seq_ = carried_seq.value_or(1);
      if (carried_prev.has_value()) last_hash_ = *carried_prev;
      if (from_checkpoint) {
        file_->first_seq = cp->file_first_seq;
      } else if (got->records > 0) {
        file_->first_seq = got->first_seq;
        if (got->first_seq == 1) chain_ = got->first_hash;
      }
    }
    start = AuditScanStart{};
    start.seq = carried_seq;
    start.prev = carried_prev;
  }
  if (!mismatch.ok()) {
    if (!options_.accept_new_chain) {
      return absl::DataLossError(absl::StrCat(
          "audit trail ", path_, " checked against its checkpoint ",
          checkpoint_path_, ": ", mismatch.message(),
          "; refusing to start over (taohost --audit_accept_new_chain starts "
          "a new chain and records that it did)"));
    }
    AuditCheckpoint old = cp.value_or(AuditCheckpoint{});
    old.chain = Sha256(cp_text);  // names the old checkpoint in the record
    return StartNewChain(old, mismatch.message());
  }
  if (size_ == 0 && next_seq_ > 1) {
    // A rotation was cut short before the new file's first record: it
    // still starts with one, so the file says what it continues.
    std::vector<std::vector<std::string>> rotate = {
        {"host", "Rotate", "", "note",
         absl::StrCat("continues from ", AuditFilePath(path_, 1),
                      " (records to ", next_seq_ - 1, ")")}};
    TAO_ASSIGN_OR_RETURN(uint64_t seq, AppendLines(rotate, absl::Now()));
    (void)seq;
  }
  return absl::OkStatus();
}

absl::Status AuditLog::StartNewChain(const AuditCheckpoint& old,
                                     absl::string_view why) {
  // Keep the old files for whoever investigates; the new chain starts in a
  // fresh file.
  const std::string aside =
      absl::StrCat(path_, ".rejected-", absl::ToUnixSeconds(absl::Now()));
  std::string moved;
  for (int i = options_.keep_files + kSlack; i >= 0; --i) {
    const std::string from = AuditFilePath(path_, i);
    if (!PathExists(from)) continue;
    const std::string to = AuditFilePath(aside, i);
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("rename ", from));
    }
    moved = to;
  }
  rotated_first_.clear();
  TAO_ASSIGN_OR_RETURN(UniqueFd fd, OpenAndLock(path_));
  file_ = std::make_shared<File>();
  file_->fd = std::move(fd);
  size_ = last_offset_ = 0;
  next_seq_ = 1;
  last_hash_ = std::string(kSha256Size, '\0');
  checkpoint_seq_ = checkpoint_file_ = 0;
  std::vector<std::vector<std::string>> record = {
      {"host", "NewChain", "", "note",
       internal::EscapeBounded(
           absl::StrCat("the operator accepted a new chain over checkpoint "
                        "sha256:",
                        HexEncode(old.chain), " (records ", old.records,
                        ", last hash ", HexEncode(old.last_hash), "): ", why,
                        moved.empty() ? "" : "; the old files are at ",
                        moved.empty() ? "" : aside),
           kAuditMaxReasonBytes)}};
  TAO_ASSIGN_OR_RETURN(uint64_t seq, AppendLines(record, absl::Now()));
  (void)seq;
  chain_ = last_hash_;
  LOG(WARNING) << path_ << ": started a new audit chain: " << why;
  return absl::OkStatus();
}

}  // namespace tao
