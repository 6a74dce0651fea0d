#include "program_factory/enclave/trusted_file.h"

#include <sys/mman.h>

#include <cerrno>
#include <utility>

#include "absl/status/status.h"
#include "program_factory/process_factory.h"
#include "tao/status_macros.h"

namespace tao {

absl::string_view TrustedFileRoleName(TrustedFileRole role) {
  switch (role) {
    case TrustedFileRole::kEntry:
      return "entry";
    case TrustedFileRole::kInterpreter:
      return "interpreter";
    case TrustedFileRole::kModule:
      return "module";
    case TrustedFileRole::kLibrary:
      return "library";
  }
  return "unknown";
}

absl::StatusOr<TrustedFile> MeasureTrustedFile(const std::string& path,
                                               TrustedFileRole role,
                                               uint64_t max_size) {
  return MeasureTrustedFile(path, role, max_size, nullptr);
}

absl::StatusOr<TrustedFile> MeasureTrustedFile(const std::string& path,
                                               TrustedFileRole role,
                                               uint64_t max_size,
                                               MeasurementCache* cache) {
  // The process factory's one-pass copy: read, hash and write each chunk,
  // so the memfd holds exactly the bytes that were hashed (or its cached
  // memfd of the unchanged file).
  TAO_ASSIGN_OR_RETURN(MeasuredExecutable measured,
                       MeasureExecutable(path, max_size, cache));
  TrustedFile out;
  out.path = path;
  out.role = role;
  out.digest = std::move(measured.digest);
  out.size = measured.size;
  out.memfd = std::move(measured.memfd);
  out.source = measured.source;
  return out;
}

absl::StatusOr<SealedBytes> SealedBytes::Map(const TrustedFile& file) {
  if (file.size == 0) return SealedBytes(nullptr, 0);
  void* data =
      ::mmap(nullptr, file.size, PROT_READ, MAP_PRIVATE, file.memfd.get(), 0);
  if (data == MAP_FAILED) {
    return absl::ErrnoToStatus(errno, "map " + file.path);
  }
  return SealedBytes(data, file.size);
}

SealedBytes::SealedBytes(SealedBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

SealedBytes& SealedBytes::operator=(SealedBytes&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SealedBytes::~SealedBytes() { Reset(); }

void SealedBytes::Reset() {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace tao
