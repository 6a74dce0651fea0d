// Finds an enclave's trusted files the way the dynamic loader would find
// them, by reading ELF files (never by running anything): the entry binary,
// its interpreter (PT_INTERP), and every shared object named by DT_NEEDED,
// recursively, searched through DT_RPATH, DT_RUNPATH ($ORIGIN expanded) and
// the system's directories (ld.so.conf, then the default directories).
// docs/enclave-manifest.md describes the order.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_LIBRARY_SEARCH_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_LIBRARY_SEARCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "program_factory/enclave/elf_dependency_cache.h"
#include "program_factory/enclave/library_search_cache.h"
#include "program_factory/enclave/trusted_file.h"
#include "program_factory/measurement_cache.h"

namespace tao {

// The loader's built-in directories for this machine, searched last:
// /lib/<triple>, /usr/lib/<triple>, /lib, /usr/lib.
std::vector<std::string> DefaultLibraryDirs();

// The directories `ld_so_conf` lists (following `include` globs, relative
// to the including file's directory, at most 8 deep), then
// DefaultLibraryDirs(), without duplicates, in order. Lines that are not
// absolute normal paths (hwcap lines, comments) are skipped. A missing
// ld_so_conf gives the defaults only. An errno status if a file exists but
// cannot be read; kInvalidArgument past 8 levels, 256 files read in all or
// 1024 directories.
absl::StatusOr<std::vector<std::string>> SystemLibraryDirs(
    const std::string& ld_so_conf = "/etc/ld.so.conf");

// How to search, and how much may be trusted.
struct LibrarySearchOptions {
  // Searched after DT_RPATH and DT_RUNPATH. Empty: SystemLibraryDirs() of
  // `ld_so_conf`.
  std::vector<std::string> system_dirs;
  std::string ld_so_conf = "/etc/ld.so.conf";
  size_t max_files = 1024;
  uint64_t max_file_bytes = uint64_t{1} << 30;   // 1 GiB
  uint64_t max_total_bytes = uint64_t{4} << 30;  // 4 GiB
  // Sealed, measured copies of unchanged files, shared with later plans
  // (the process factory's cache: same identity rule, same sealed memfd;
  // measurement_cache.h). Not owned; thread-safe. nullptr: every file is
  // read and hashed each time.
  MeasurementCache* cache = nullptr;
  // What each file declares, by its digest (elf_dependency_cache.h). Not
  // owned; thread-safe. nullptr: every file is parsed each time.
  ElfDependencyCache* elf_cache = nullptr;
  // Whole searches with what they depended on (library_search_cache.h),
  // used only together with `cache`, which holds their files' bytes. Not
  // owned; thread-safe. nullptr: every plan searches again.
  LibrarySearchCache* search_cache = nullptr;
};

// Reads `exec` (must be a 64-bit little-endian ELF for this machine) and
// every `module`, then their interpreters and DT_NEEDED objects,
// recursively. Returns every trusted file once, in the order found (entry
// first). kNotFound names a needed object and where it was looked for;
// kInvalidArgument a malformed ELF, an unsupported dynamic string token
// ($LIB, $PLATFORM), a relative path, or a bound exceeded; errno statuses
// for I/O. Thread-safe (reads files; writes only options.cache and
// options.elf_cache, which are thread-safe).
absl::StatusOr<std::vector<TrustedFile>> CollectTrustedFiles(
    const std::string& exec, const std::vector<std::string>& modules,
    const LibrarySearchOptions& options = LibrarySearchOptions());

// `dir` + "/" + `name` with "." and ".." resolved lexically (".." at "/"
// stays at "/"). Both must make an absolute path. Exposed for tests.
std::string JoinNormalPath(absl::string_view dir, absl::string_view name);

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_LIBRARY_SEARCH_H_
