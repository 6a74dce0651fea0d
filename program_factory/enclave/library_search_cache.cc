#include "program_factory/enclave/library_search_cache.h"

#include <cerrno>
#include <utility>

namespace tao {
namespace {

// What the bound counts for a witness or a file besides its path.
constexpr size_t kWitnessOverhead = sizeof(SearchWitness) + 32;
constexpr size_t kFileOverhead = sizeof(FoundFile) + 32 + 32;

// stat(2) of `path` as a witness would record it.
SearchWitness StatWitness(const std::string& path) {
  SearchWitness w;
  w.path = path;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    w.error = errno;
  } else {
    w.identity = FileIdentity::FromStat(st);
  }
  return w;
}

bool StillHolds(const SearchWitness& recorded) {
  SearchWitness now = StatWitness(recorded.path);
  if (now.error != recorded.error) return false;
  return now.error != 0 || now.identity == recorded.identity;
}

}  // namespace

SearchRecorder::SearchRecorder() { ::clock_gettime(CLOCK_REALTIME, &start_); }

void SearchRecorder::Witness(const std::string& path) {
  if (seen_.insert(path).second) witnesses_.push_back(StatWitness(path));
}

LibrarySearchCache::LibrarySearchCache(size_t max_bytes)
    : max_bytes_(max_bytes) {}

std::optional<std::vector<TrustedFile>> LibrarySearchCache::Replay(
    const std::string& key, MeasurementCache& measurements) {
  std::shared_ptr<const Entry> entry;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      ++misses_;
      return std::nullopt;
    }
    entry = it->second;
  }
  std::optional<std::vector<TrustedFile>> out(std::in_place);
  for (const SearchWitness& w : entry->witnesses) {
    if (!StillHolds(w)) {
      out.reset();
      break;
    }
  }
  for (size_t i = 0; out.has_value() && i < entry->files.size(); ++i) {
    const FoundFile& found = entry->files[i];
    struct stat st;
    std::shared_ptr<const MeasuredExecutable> measured;
    if (::stat(found.path.c_str(), &st) == 0 &&
        FileIdentity::FromStat(st) == found.source) {
      measured = measurements.Lookup(found.source);
    }
    absl::StatusOr<MeasuredExecutable> shared =
        measured != nullptr && measured->digest == found.digest
            ? ShareMeasured(*measured)
            : absl::StatusOr<MeasuredExecutable>(absl::NotFoundError(""));
    if (!shared.ok()) {
      out.reset();
      break;
    }
    TrustedFile file;
    file.path = found.path;
    file.role = found.role;
    file.digest = found.digest;
    file.size = found.size;
    file.memfd = std::move(shared->memfd);
    file.source = found.source;
    out->push_back(std::move(file));
  }
  absl::MutexLock lock(&mu_);
  ++(out.has_value() ? hits_ : misses_);
  return out;
}

bool LibrarySearchCache::Insert(const std::string& key,
                                const SearchRecorder& recorder,
                                const std::vector<TrustedFile>& files,
                                const MeasurementCache& measurements) {
  if (!recorder.cacheable()) return false;
  auto entry = std::make_shared<Entry>();
  entry->bytes = key.size();
  for (const SearchWitness& w : recorder.witnesses()) {
    if (w.error == 0 && !measurements.Settled(w.identity, recorder.start())) {
      return false;
    }
    entry->bytes += w.path.size() + kWitnessOverhead;
    entry->witnesses.push_back(w);
  }
  for (const TrustedFile& file : files) {
    if (!measurements.Settled(file.source, recorder.start())) return false;
    entry->bytes += file.path.size() + kFileOverhead;
    entry->files.push_back(
        FoundFile{file.path, file.role, file.source, file.digest, file.size});
  }
  if (entry->bytes > kMaxEntryBytes || entry->bytes > max_bytes_) {
    return false;
  }
  absl::MutexLock lock(&mu_);
  if (auto it = entries_.find(key); it != entries_.end()) {
    bytes_ -= it->second->bytes;
    entries_.erase(it);
  }
  if (bytes_ + entry->bytes > max_bytes_) {
    entries_.clear();
    bytes_ = 0;
  }
  bytes_ += entry->bytes;
  entries_.emplace(key, std::move(entry));
  return true;
}

LibrarySearchCache::Stats LibrarySearchCache::stats() const {
  absl::MutexLock lock(&mu_);
  Stats out;
  out.entries = entries_.size();
  out.bytes = bytes_;
  out.hits = hits_;
  out.misses = misses_;
  return out;
}

}  // namespace tao
