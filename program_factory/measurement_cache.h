// MeasurementCache: sealed, measured copies of programs, kept so that starting
// the same unchanged file again neither copies nor hashes it again.
//
// An entry is keyed by the identity of the file as fstat(2) of the opened file
// reports it (device, inode, size, mtime, ctime) and holds the sealed memfd
// that was hashed. A hit executes that very memfd: it can no longer change
// (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL), so the digest
// always describes exactly the bytes that run, even if the file was changed
// on disk in a way its stat does not show. What a stale hit can do is run the
// older (measured and named) bytes, never unmeasured ones.
//
// The racy-timestamp rule (git's "racily clean" index entries): the kernel
// stamps ctime and mtime from a coarse clock, so a rewrite in the same tick
// as the measurement can leave (size, mtime, ctime) unchanged. An entry is
// therefore only inserted when the file's ctime and mtime are both at least
// `min_age` older than the moment its measurement started; a younger file is
// measured every time until it settles.
#ifndef TAO_PROGRAM_FACTORY_MEASUREMENT_CACHE_H_
#define TAO_PROGRAM_FACTORY_MEASUREMENT_CACHE_H_

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tao/unique_fd.h"

namespace tao {

// What the cache knows a file by: fields of fstat(2) on the opened file.
// Plain data; two stats of an unchanged file compare equal.
struct FileIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  struct timespec mtime = {0, 0};
  struct timespec ctime = {0, 0};

  static FileIdentity FromStat(const struct stat& st);
  bool operator==(const FileIdentity& other) const;
  bool operator!=(const FileIdentity& other) const { return !(*this == other); }

  // For unordered containers.
  struct Hash {
    size_t operator()(const FileIdentity& id) const;
  };
};

// A program's bytes, copied into a sealed memfd and measured there. The cache
// shares its entries (std::shared_ptr to const) with the programs started
// from them; the memfd lives as long as the last owner.
struct MeasuredExecutable {
  UniqueFd memfd;      // sealed against writes, growth, shrinking and new seals
  std::string digest;  // SHA-256 of the memfd's contents
  size_t size = 0;     // bytes in the memfd
  // fstat(2) of the file the bytes were copied from, when they were (not
  // measured: what a later lookup may find them by).
  FileIdentity source;
};

// The same measurement with a new descriptor (O_CLOEXEC) of the same sealed
// memfd: the bytes that were hashed, for a cache entry or a program started
// from one. An errno status if the descriptor cannot be duplicated.
absl::StatusOr<MeasuredExecutable> ShareMeasured(
    const MeasuredExecutable& measured);

// A bounded map FileIdentity -> MeasuredExecutable with least-recently-used
// eviction. Thread-safe: every method may be called from several threads at
// once. It never measures anything itself; MeasureExecutable (in
// process_factory.h) looks up, measures on a miss and offers the result.
class MeasurementCache {
 public:
  // How much older than the start of its measurement a file's ctime and
  // mtime must be before the measurement is cached.
  static constexpr absl::Duration kDefaultMinAge = absl::Seconds(2);

  // `byte_budget`: the most memfd bytes kept at once (0 keeps nothing).
  // `min_age`: see kDefaultMinAge; tests may shorten it.
  explicit MeasurementCache(size_t byte_budget,
                            absl::Duration min_age = kDefaultMinAge);
  MeasurementCache(const MeasurementCache&) = delete;
  MeasurementCache& operator=(const MeasurementCache&) = delete;

  // The entry for `id`, marked most recently used, or nullptr.
  std::shared_ptr<const MeasuredExecutable> Lookup(const FileIdentity& id);

  // True if a file last changed as `id` says may be cached by a measurement
  // that started at `measure_start` (CLOCK_REALTIME): its ctime and mtime are
  // both at least min_age before it.
  bool Settled(const FileIdentity& id,
               const struct timespec& measure_start) const;

  // Keeps `entry` under `id` if Settled(id, measure_start) and it fits in the
  // budget, evicting the least recently used entries to make room. An entry
  // already under `id` (a concurrent measurement of the same file) stays.
  // Returns whether `entry` was inserted.
  bool Insert(const FileIdentity& id, const struct timespec& measure_start,
              std::shared_ptr<const MeasuredExecutable> entry);

  // Counters for tests and diagnostics.
  struct Stats {
    size_t entries = 0;
    size_t bytes = 0;
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t evictions = 0;
  };
  Stats stats() const;
  size_t byte_budget() const { return byte_budget_; }

 private:
  using Lru = std::list<
      std::pair<FileIdentity, std::shared_ptr<const MeasuredExecutable>>>;

  const size_t byte_budget_;
  const absl::Duration min_age_;
  mutable absl::Mutex mu_;
  Lru lru_ ABSL_GUARDED_BY(mu_);  // most recently used first
  std::unordered_map<FileIdentity, Lru::iterator, FileIdentity::Hash> index_
      ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t evictions_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_MEASUREMENT_CACHE_H_
