// LibrarySearchCache: the outcome of a whole library search (which files an
// enclave's plan trusts), kept with everything that outcome depends on, so
// that planning the same unchanged program again costs a stat(2) per file
// and per directory instead of the loader's whole search.
//
// A search's result is a function of (1) the bytes of every file it found
// (what each declares: interpreter, DT_NEEDED, DT_RUNPATH, DT_RPATH), (2)
// which candidate paths exist, in each directory it tried, up to the one
// that held each library, and (3) the ld.so.conf files and the directories
// their `include` globs list. An entry records each of these as a witness:
//   - a trusted file by its FileIdentity and digest: a replay finds it in
//     the MeasurementCache under that identity with that digest, so the
//     bytes (hence what they declare) are the ones searched;
//   - a directory the search looked into (or failed to find) by what
//     stat(2) said of it: adding, removing or renaming an entry changes a
//     directory's mtime and ctime, so an unchanged directory still lacks
//     every candidate it lacked. A candidate that exists but does not
//     resolve (a dangling symlink) could appear without its directory
//     changing, so a search that met one is not kept;
//   - an ld.so.conf file by what stat(2) said of it.
// Every identity must be settled (MeasurementCache::Settled, the
// racy-timestamp rule) before an entry is kept. A replay that finds any
// witness changed returns nothing, and the caller searches again. As with
// the MeasurementCache, what a stale replay could ever run is measured bytes
// the plan names, never unmeasured ones.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_LIBRARY_SEARCH_CACHE_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_LIBRARY_SEARCH_CACHE_H_

#include <sys/stat.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "program_factory/enclave/trusted_file.h"
#include "program_factory/measurement_cache.h"

namespace tao {

// What stat(2) said of one path a search depended on. Plain data.
struct SearchWitness {
  std::string path;
  int error = 0;          // stat's errno, or 0
  FileIdentity identity;  // when error == 0
};

// A trusted file as a search found it, without its memfd. Plain data.
struct FoundFile {
  std::string path;
  TrustedFileRole role = TrustedFileRole::kLibrary;
  FileIdentity source;
  std::string digest;
  uint64_t size = 0;
};

// Everything one search looked at and found, gathered while it runs.
// Thread-compatible (one search, one thread).
class SearchRecorder {
 public:
  SearchRecorder();

  // Records what stat(2) of `path` (following links) says now, the first
  // time it is called for `path`. Call it before the search looks into or
  // reads `path`: a change after that shows in the witness.
  void Witness(const std::string& path);
  // The search met something a witness cannot vouch for.
  void NotCacheable() { cacheable_ = false; }
  bool cacheable() const { return cacheable_; }
  // When the search started (CLOCK_REALTIME), for the racy-timestamp rule.
  const struct timespec& start() const { return start_; }
  const std::vector<SearchWitness>& witnesses() const { return witnesses_; }

 private:
  struct timespec start_;
  bool cacheable_ = true;
  std::vector<SearchWitness> witnesses_;
  std::set<std::string> seen_;
};

// A bounded map from a search's key (its inputs: LibrarySearchKey in
// library_search.cc) to its recorded outcome. Thread-safe. Bounded by bytes,
// like ElfDependencyCache: an entry costs its paths plus a fixed overhead
// per witness and file; one of more than kMaxEntryBytes is not kept, and an
// insert that would pass `max_bytes` empties the cache first (a host plans
// few distinct programs, and a miss costs one search).
class LibrarySearchCache {
 public:
  static constexpr size_t kMaxEntryBytes = 256 * 1024;

  explicit LibrarySearchCache(size_t max_bytes);
  LibrarySearchCache(const LibrarySearchCache&) = delete;
  LibrarySearchCache& operator=(const LibrarySearchCache&) = delete;

  // The files recorded for `key`, each with a new descriptor of the sealed
  // memfd `measurements` holds for it, in the order found, if every witness
  // still says what it said and every file's path still has its identity
  // and its measurement; nullopt otherwise (search again). Costs one stat(2)
  // per witness and per file.
  std::optional<std::vector<TrustedFile>> Replay(
      const std::string& key, MeasurementCache& measurements);

  // Keeps what `recorder` saw and `files` (the search's result) under `key`
  // if the recorder is cacheable, every witness and file identity is
  // settled by `measurements`' rule against the recorder's start, and the
  // entry fits. Returns whether it was kept.
  bool Insert(const std::string& key, const SearchRecorder& recorder,
              const std::vector<TrustedFile>& files,
              const MeasurementCache& measurements);

  // Counters for tests and diagnostics.
  struct Stats {
    size_t entries = 0;
    size_t bytes = 0;
    uint64_t hits = 0;
    uint64_t misses = 0;  // no entry, or a witness or file changed
  };
  Stats stats() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    std::vector<SearchWitness> witnesses;
    std::vector<FoundFile> files;
    size_t bytes = 0;
  };

  const size_t max_bytes_;
  mutable absl::Mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const Entry>> entries_
      ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_LIBRARY_SEARCH_CACHE_H_
