// ElfDependencyCache: what ReadElfDependencies found in a trusted file, kept
// by the SHA-256 of the file's bytes (TrustedFile::digest). What a file
// declares (interpreter, DT_NEEDED, DT_RUNPATH, DT_RPATH, DT_SONAME) is a
// function of its bytes alone, so a hit is exactly what parsing them again
// would give, whatever happened to the file on disk since. Where the needed
// objects are found is not cached: the library search looks again each time.
//
// Without it, mapping each file's sealed memfd, parsing its headers and
// unmapping it was about 40% of an enclave's plan for a program with the
// usual libraries (perf profile of tao_enclave_bench).
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_ELF_DEPENDENCY_CACHE_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_ELF_DEPENDENCY_CACHE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "program_factory/enclave/elf_reader.h"

namespace tao {

// Thread-safe. Bounded by bytes, since whoever may start a program can make
// the host read a file it crafted (up to kMaxElfNeeded names of
// kMaxElfString bytes: 4 MiB): an entry costs its strings plus a fixed
// overhead (EntryBytes); one of more than kMaxEntryBytes is not kept, and an
// insert that would pass `max_bytes` empties the cache first (a host runs
// few distinct libraries, and a miss costs one parse).
class ElfDependencyCache {
 public:
  // A real library's entry is a few hundred bytes.
  static constexpr size_t kMaxEntryBytes = 64 * 1024;

  explicit ElfDependencyCache(size_t max_bytes);

  // What keeping `deps` under a digest costs, as the bound counts it.
  static size_t EntryBytes(const ElfDependencies& deps);

  // A copy of what was inserted for `digest`, or nullopt.
  std::optional<ElfDependencies> Lookup(absl::string_view digest) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // Keeps `deps` for `digest` (replacing an entry for the same digest).
  void Insert(absl::string_view digest, const ElfDependencies& deps)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Entries held now, and their cost (EntryBytes) in all.
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t bytes() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const size_t max_bytes_;
  mutable absl::Mutex mu_;
  std::unordered_map<std::string, ElfDependencies> entries_
      ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_ELF_DEPENDENCY_CACHE_H_
