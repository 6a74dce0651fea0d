// A trusted file of an enclave: one file it may run or load, read once,
// hashed, and kept as the bytes that were hashed (a sealed memfd), so that
// what later fills the enclave's root is exactly what was measured.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_TRUSTED_FILE_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_TRUSTED_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "program_factory/measurement_cache.h"
#include "tao/unique_fd.h"

namespace tao {

// Why a file is trusted. The numbers are part of the launch plan's encoding
// (docs/enclave-manifest.md).
enum class TrustedFileRole : uint8_t {
  kEntry = 1,        // EXEC: the program
  kInterpreter = 2,  // the entry's PT_INTERP: the dynamic loader
  kModule = 3,       // MODULE: listed by the manifest (for dlopen)
  kLibrary = 4,      // found through DT_NEEDED
};

// "entry", "interpreter", "module" or "library".
absl::string_view TrustedFileRoleName(TrustedFileRole role);

// One trusted file. Move-only (owns the memfd).
struct TrustedFile {
  std::string path;  // where it lives in the enclave: the host path read
  TrustedFileRole role = TrustedFileRole::kLibrary;
  std::string digest;  // SHA-256 of the bytes, 32 raw bytes
  uint64_t size = 0;
  UniqueFd memfd;  // sealed against writes, growth, shrinking, new seals
  // fstat(2) of the host file the bytes were read from (not measured; what
  // LibrarySearchCache checks the file by).
  FileIdentity source;
};

// Reads `path` once into a new sealed memfd, hashing on the way. kNotFound
// if it does not exist; kInvalidArgument if it is not a regular file, is
// empty or is larger than `max_size`; an errno status otherwise.
absl::StatusOr<TrustedFile> MeasureTrustedFile(const std::string& path,
                                               TrustedFileRole role,
                                               uint64_t max_size);

// As above, through `cache` (nullptr: none): an unchanged file the cache
// holds is not read again; the result shares its sealed memfd (the bytes
// that were hashed). Thread-safe if `cache` is.
absl::StatusOr<TrustedFile> MeasureTrustedFile(const std::string& path,
                                               TrustedFileRole role,
                                               uint64_t max_size,
                                               MeasurementCache* cache);

// A read-only mapping of a sealed memfd: the measured bytes themselves, not
// a copy. Move-only; unmaps on destruction. Thread-compatible.
class SealedBytes {
 public:
  // Maps `file.size` bytes of `file.memfd`. An errno status on failure.
  static absl::StatusOr<SealedBytes> Map(const TrustedFile& file);

  SealedBytes(SealedBytes&& other) noexcept;
  SealedBytes& operator=(SealedBytes&& other) noexcept;
  SealedBytes(const SealedBytes&) = delete;
  SealedBytes& operator=(const SealedBytes&) = delete;
  ~SealedBytes();

  absl::string_view view() const {
    return absl::string_view(static_cast<const char*>(data_), size_);
  }

 private:
  SealedBytes(void* data, size_t size) : data_(data), size_(size) {}
  void Reset();

  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_TRUSTED_FILE_H_
