#include "program_factory/measurement_cache.h"

#include <fcntl.h>

#include <cerrno>
#include <iterator>

#include "absl/status/status.h"

namespace tao {
namespace {

bool operator<(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec < b.tv_sec : a.tv_nsec < b.tv_nsec;
}

bool Equal(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

}  // namespace

FileIdentity FileIdentity::FromStat(const struct stat& st) {
  FileIdentity id;
  id.dev = st.st_dev;
  id.ino = st.st_ino;
  id.size = st.st_size;
  id.mtime = st.st_mtim;
  id.ctime = st.st_ctim;
  return id;
}

bool FileIdentity::operator==(const FileIdentity& other) const {
  return dev == other.dev && ino == other.ino && size == other.size &&
         Equal(mtime, other.mtime) && Equal(ctime, other.ctime);
}

size_t FileIdentity::Hash::operator()(const FileIdentity& id) const {
  // Inode and ctime nanoseconds vary the most between files and versions.
  uint64_t h = static_cast<uint64_t>(id.ino) * 0x9e3779b97f4a7c15ULL;
  for (uint64_t v :
       {static_cast<uint64_t>(id.dev), static_cast<uint64_t>(id.size),
        static_cast<uint64_t>(id.mtime.tv_sec),
        static_cast<uint64_t>(id.mtime.tv_nsec),
        static_cast<uint64_t>(id.ctime.tv_sec),
        static_cast<uint64_t>(id.ctime.tv_nsec)}) {
    h = (h ^ v) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  return static_cast<size_t>(h);
}

absl::StatusOr<MeasuredExecutable> ShareMeasured(
    const MeasuredExecutable& measured) {
  MeasuredExecutable out;
  out.memfd.Reset(::fcntl(measured.memfd.get(), F_DUPFD_CLOEXEC, 0));
  if (!out.memfd.valid()) {
    return absl::ErrnoToStatus(errno, "duplicate the program's memfd");
  }
  out.digest = measured.digest;
  out.size = measured.size;
  out.source = measured.source;
  return out;
}

MeasurementCache::MeasurementCache(size_t byte_budget, absl::Duration min_age)
    : byte_budget_(byte_budget), min_age_(min_age) {}

std::shared_ptr<const MeasuredExecutable> MeasurementCache::Lookup(
    const FileIdentity& id) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(id);
  if (it == index_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

bool MeasurementCache::Settled(const FileIdentity& id,
                               const struct timespec& measure_start) const {
  // Compared as timespecs (no absl::Time rounding): a file whose ctime or
  // mtime is at or after the limit may still change within the same tick.
  struct timespec limit =
      absl::ToTimespec(absl::TimeFromTimespec(measure_start) - min_age_);
  return id.ctime < limit && id.mtime < limit;
}

bool MeasurementCache::Insert(const FileIdentity& id,
                              const struct timespec& measure_start,
                              std::shared_ptr<const MeasuredExecutable> entry) {
  if (entry == nullptr || !entry->memfd.valid()) return false;
  if (entry->size > byte_budget_ || !Settled(id, measure_start)) return false;
  // Evicted entries are released after the lock: closing the last
  // descriptor of a large memfd frees its pages, which takes a while.
  Lru evicted;
  {
    absl::MutexLock lock(&mu_);
    if (index_.count(id) != 0) return false;
    while (bytes_ + entry->size > byte_budget_ && !lru_.empty()) {
      bytes_ -= lru_.back().second->size;
      index_.erase(lru_.back().first);
      // Users that still hold the entry keep it alive.
      evicted.splice(evicted.end(), lru_, std::prev(lru_.end()));
      ++evictions_;
    }
    bytes_ += entry->size;
    lru_.emplace_front(id, std::move(entry));
    index_.emplace(id, lru_.begin());
  }
  return true;
}

MeasurementCache::Stats MeasurementCache::stats() const {
  absl::MutexLock lock(&mu_);
  Stats out;
  out.entries = lru_.size();
  out.bytes = bytes_;
  out.hits = hits_;
  out.misses = misses_;
  out.evictions = evictions_;
  return out;
}

}  // namespace tao
