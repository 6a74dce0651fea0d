// The audit trail: every decision appended as one line, each line's hash
// chained to the previous one, so that a removed, reordered or changed record
// is detected by VerifyAuditLog. A line is
//
//   <seq>\t<time>\t<caller>\t<operation>\t<label>\t<allow|deny|note>
//       \t<reason>\t<prev>\t<hash>                        (one line)
//
// with text fields C-escaped (no tabs or newlines) and bounded (a caller or
// label longer than 512 bytes is written as `sha256:<hex>` after a `name`
// record holding its text; a reason is cut at 1024 bytes: audit_format.h),
// time in RFC 3339 UTC, prev and hash 64 hex digits, hash = SHA-256(prev
// bytes || the line up to and including the tab before <hash>). The first
// record's prev is all zeros. `note` marks records that are not decisions
// (name, Rotate, NewChain, Reload, RateLimited, Unrecorded).
//
// The trail rotates: at max_bytes, audit.log becomes audit.log.1 (and .1
// becomes .2, ...; keep_files are kept) and the new audit.log starts with a
// `Rotate` record that links to the old file's last hash, so the chain runs
// across files. With a checkpoint key, a signed checkpoint beside the trail
// (audit_checkpoint.h) says how far the trail had got, and Open refuses a
// trail that is missing, shorter, or another chain. docs/audit-trail.md.
#ifndef TAO_TAO_DOMAIN_AUDIT_LOG_H_
#define TAO_TAO_DOMAIN_AUDIT_LOG_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tao/keys.h"
#include "tao/unique_fd.h"
#include "tao_domain/audit_checkpoint.h"
#include "tao_domain/audit_format.h"

namespace tao {

struct AuditRecord {
  absl::Time time;
  std::string caller;
  std::string operation;
  std::string label;
  bool allowed = false;
  std::string reason;
};

// When an appended record reaches the disk.
enum class AuditDurability {
  // Every record is synced before the answer it records is given: waiting
  // callers (admin threads) block in WaitDurable, the listen loop holds the
  // answer until durable_seq() passes it. Concurrent records share one
  // fdatasync (group commit).
  kSync,
  // A record is written (to the kernel: it survives the host process
  // crashing) before its answer, and synced within batch_window after; a
  // power loss can lose the last batch_window of acknowledged decisions.
  kBatch,
};

struct AuditLogOptions {
  AuditDurability durability = AuditDurability::kBatch;
  absl::Duration batch_window = absl::Milliseconds(10);
  // The current file is rotated before a record would take it past this.
  uint64_t max_bytes = uint64_t{64} << 20;
  // Rotated files kept (audit.log.1 .. audit.log.<keep_files>); the trail
  // never holds more than keep_files + 2 files of at most max_bytes +
  // kAuditMaxLine each.
  int keep_files = 8;
  // Signs the checkpoint (not owned; must outlive the log). Null: no
  // checkpoint is read or written.
  const SigningKey* checkpoint_key = nullptr;
  // Default DefaultAuditCheckpointPath(path).
  std::string checkpoint_path;
  // The checkpoint is rewritten (atomically) at most this often while
  // records become durable, after every rotation, and at clean close.
  absl::Duration checkpoint_interval = absl::Seconds(1);
  // The operator's explicit "start a new chain": a trail that does not
  // match its checkpoint is moved aside (to <path>.rejected-<time>[.N]) and
  // a new chain begins with a `NewChain` record naming the old checkpoint.
  bool accept_new_chain = false;
  // Test hook: how the writer syncs a file (default fdatasync(2)). Returns
  // 0 or -1 with errno set.
  std::function<int(int fd)> syncer;
};

// Counters of the writer, for tests and benchmarks.
struct AuditLogStats {
  uint64_t appended = 0;  // records written
  uint64_t syncs = 0;     // sync rounds (each one fdatasync per dirty file)
  uint64_t sync_failures = 0;
  uint64_t rotations = 0;
  uint64_t checkpoints = 0;
};

// Appends records to one rotated trail. Thread-safe. Appends write(2) on
// the caller's thread (so a write that fails is reported to the caller and
// the decision it records is not made) and never fsync there: a writer
// thread owned by the log syncs and rewrites the checkpoint.
class AuditLog {
 public:
  // Opens (creating with mode 0600) the log at `path` and continues its
  // chain, verifying in bounded memory: from the checkpoint's record
  // forward if there is a checkpoint, else the whole current file. An
  // incomplete final record (no newline: an append interrupted by a crash,
  // never acknowledged) is cut off if every whole record verifies.
  // kDataLoss if the chain is broken (a tampered log is never silently
  // extended), if the checkpoint does not verify, or if the trail is
  // missing, shorter than the checkpoint or another chain (unless
  // options.accept_new_chain). The log stays locked (flock) while the
  // AuditLog lives: kFailedPrecondition if another AuditLog, in this
  // process or another, has it open.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(
      const std::string& path, AuditLogOptions options = {});

  // Syncs what is left, writes a last checkpoint, stops the writer.
  ~AuditLog();

  // Appends one record and waits until it is durable (in either mode). If
  // the write fails part way, the file is cut back to its last whole
  // record. If only the sync fails, the record stays (and the chain
  // continues from it) but the error is returned.
  absl::Status Append(const AuditRecord& record);

  // Appends one record (and the `name` records its long fields need)
  // without waiting for the disk; returns its ticket (its sequence number).
  // Fails like Append's write.
  absl::StatusOr<uint64_t> AppendNoWait(const AuditRecord& record);
  // A record that is not a decision (verdict `note`).
  absl::StatusOr<uint64_t> AppendNote(absl::string_view caller,
                                      absl::string_view operation,
                                      absl::string_view label,
                                      absl::string_view reason,
                                      absl::Time time);

  // Blocks until record `ticket` is durable (and asks the writer to sync
  // now). Returns the sync's error if the sync that covered it failed.
  absl::Status WaitDurable(uint64_t ticket);

  // The last record written, and the last known to be on the disk.
  uint64_t appended_seq() const;
  uint64_t durable_seq() const;
  // An eventfd (not owned, non-blocking) the writer signals after every
  // sync; the listen loop polls it to send the answers it held.
  int wake_fd() const { return wake_fd_.get(); }
  AuditDurability durability() const { return options_.durability; }

  uint64_t records() const;  // == appended_seq()
  AuditLogStats stats() const;

  // The listen loop's thread calls this once: callers on it never wait for
  // the disk (TaoDomain asks ThisThreadHoldsAnswers()), they hold their
  // answers until durable_seq() instead.
  static void HoldAnswersOnThisThread();
  static bool ThisThreadHoldsAnswers();

 private:
  struct File {
    UniqueFd fd;
    uint64_t first_seq = 0;  // 0 until its first record
  };
  AuditLog(std::string path, AuditLogOptions options);
  absl::Status OpenExisting(bool existed);
  absl::Status StartNewChain(const AuditCheckpoint& old, absl::string_view why);
  absl::StatusOr<uint64_t> AppendLines(
      const std::vector<std::vector<std::string>>& records, absl::Time time)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Rotate(absl::Time time) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteAll(const std::string& bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Escapes a caller or label; a long one becomes its digest, and a `name`
  // record is queued in `names` unless this file already has one.
  std::string BoundedName(absl::string_view text,
                          std::vector<std::vector<std::string>>* names)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriterLoop();
  void WriteCheckpoint(const AuditCheckpoint& cp);
  void PruneFiles() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int Sync(int fd) const;

  const std::string path_;
  const AuditLogOptions options_;
  const std::string checkpoint_path_;
  UniqueFd wake_fd_;
  std::thread writer_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;         // durable_seq_ moved: for WaitDurable
  absl::CondVar writer_cv_;  // work for the writer
  std::shared_ptr<File> file_ ABSL_GUARDED_BY(mu_);
  // Files rotated away whose last records are not synced yet.
  std::vector<std::shared_ptr<File>> unsynced_ ABSL_GUARDED_BY(mu_);
  bool dir_dirty_ ABSL_GUARDED_BY(mu_) = false;
  // First sequence numbers of audit.log.1, .2, ... (index 0: .1).
  std::deque<uint64_t> rotated_first_ ABSL_GUARDED_BY(mu_);
  uint64_t size_ ABSL_GUARDED_BY(mu_) = 0;  // bytes of whole records
  uint64_t last_offset_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  std::string last_hash_ ABSL_GUARDED_BY(mu_);        // 32 raw bytes
  std::string chain_ ABSL_GUARDED_BY(mu_);            // hash of record 1
  std::set<std::string> named_ ABSL_GUARDED_BY(mu_);  // in this file
  uint64_t durable_seq_ ABSL_GUARDED_BY(mu_) = 0;
  // Where the last durable record is: what the next checkpoint says.
  AuditCheckpoint durable_point_ ABSL_GUARDED_BY(mu_);
  absl::Time first_unsynced_ ABSL_GUARDED_BY(mu_);
  bool sync_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t failed_through_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status sync_error_ ABSL_GUARDED_BY(mu_);
  // The last checkpoint written: its record, and its file's first seq.
  uint64_t checkpoint_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t checkpoint_file_ ABSL_GUARDED_BY(mu_) = 0;
  bool checkpoint_now_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_checkpoint_ ABSL_GUARDED_BY(mu_);
  AuditLogStats stats_ ABSL_GUARDED_BY(mu_);
};

// What VerifyAuditLog found in an intact log.
struct AuditLogSummary {
  uint64_t records = 0;
  std::string last_hash_hex;  // record it elsewhere to detect truncation
};

// Checks every record's sequence number, chain link and hash. Returns
// kDataLoss naming the first bad line and why. VerifyAuditLog reads the
// file in bounded memory.
absl::StatusOr<AuditLogSummary> VerifyAuditLogContents(
    absl::string_view contents);
absl::StatusOr<AuditLogSummary> VerifyAuditLog(const std::string& path);

}  // namespace tao

#endif  // TAO_TAO_DOMAIN_AUDIT_LOG_H_
