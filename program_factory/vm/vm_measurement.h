// What names a VM: its kernel, initrd and kernel command line, each read
// once into a sealed memfd and hashed there, combined in a fixed, tagged
// order into the digest of `VM(sha256:..)`. QEMU boots those very memfds
// (docs/vm.md, "Measurement").
#ifndef TAO_PROGRAM_FACTORY_VM_VM_MEASUREMENT_H_
#define TAO_PROGRAM_FACTORY_VM_VM_MEASUREMENT_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "program_factory/measurement_cache.h"
#include "program_factory/program_factory.h"

namespace tao {

// The encoding's first bytes: "tao-vm-v1" and a NUL.
inline constexpr absl::string_view kVmMeasurementMagic{"tao-vm-v1\0", 10};

// The parts, in the order (and with the tags) they are encoded.
enum class VmPart : uint8_t { kKernel = 1, kInitrd = 2, kCmdline = 3 };

// A measured VM: the three sealed memfds and their combined digest. Move-only.
struct MeasuredVm {
  MeasuredExecutable kernel;
  MeasuredExecutable initrd;
  MeasuredExecutable cmdline;  // the command line's bytes, no NUL
  std::string digest;          // 32 raw bytes: VmDigest of the three
};

// SHA-256 over kVmMeasurementMagic, then for kernel, initrd and cmdline in
// that order: the tag (1 byte), the part's length (8 bytes, big-endian) and
// its SHA-256 (32 bytes). Pure.
std::string VmDigest(size_t kernel_size, absl::string_view kernel_sha256,
                     size_t initrd_size, absl::string_view initrd_sha256,
                     size_t cmdline_size, absl::string_view cmdline_sha256);

// Copies `bytes` into a new sealed memfd and hashes them. An errno status
// if the memfd cannot be made or sealed.
absl::StatusOr<MeasuredExecutable> SealBytes(absl::string_view bytes,
                                             const char* memfd_name);

// Reads a sealed memfd's bytes back (at most `max` bytes). An errno status.
absl::StatusOr<std::string> ReadSealed(const MeasuredExecutable& part,
                                       size_t max);

// Reads the kernel and initrd of `spec` (each at most `max_file_size`
// bytes) and its command line (at most 4096 bytes, no NUL or newline) into
// sealed memfds. kInvalidArgument for a relative path, a bad command line
// or a file too large; kNotFound for a missing file; errno statuses.
absl::StatusOr<MeasuredVm> MeasureVm(const VmSpec& spec, size_t max_file_size);

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_VM_VM_MEASUREMENT_H_
