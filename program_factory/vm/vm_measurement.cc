#include "program_factory/vm/vm_measurement.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "program_factory/process_factory.h"
#include "tao/byte_reader.h"
#include "tao/crypto.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

constexpr size_t kMaxCmdline = 4096;

void AppendPart(VmPart tag, size_t size, absl::string_view sha256,
                std::string* out) {
  out->push_back(static_cast<char>(tag));
  AppendU64(static_cast<uint64_t>(size), out);
  out->append(sha256.data(), sha256.size());
}

absl::Status CheckPath(const std::string& path, absl::string_view what) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("the VM's ", what, " '", path, "' must be absolute"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string VmDigest(size_t kernel_size, absl::string_view kernel_sha256,
                     size_t initrd_size, absl::string_view initrd_sha256,
                     size_t cmdline_size, absl::string_view cmdline_sha256) {
  std::string encoded(kVmMeasurementMagic);
  AppendPart(VmPart::kKernel, kernel_size, kernel_sha256, &encoded);
  AppendPart(VmPart::kInitrd, initrd_size, initrd_sha256, &encoded);
  AppendPart(VmPart::kCmdline, cmdline_size, cmdline_sha256, &encoded);
  return Sha256(encoded);
}

absl::StatusOr<MeasuredExecutable> SealBytes(absl::string_view bytes,
                                             const char* memfd_name) {
  MeasuredExecutable out;
  out.memfd.Reset(::memfd_create(memfd_name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!out.memfd.valid()) return absl::ErrnoToStatus(errno, "memfd_create");
  absl::string_view rest = bytes;
  while (!rest.empty()) {
    ssize_t n = ::write(out.memfd.get(), rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, "write a VM memfd");
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (::fcntl(out.memfd.get(), F_ADD_SEALS,
              F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    return absl::ErrnoToStatus(errno, "seal a VM memfd");
  }
  out.size = bytes.size();
  out.digest = Sha256(bytes);
  return out;
}

absl::StatusOr<std::string> ReadSealed(const MeasuredExecutable& part,
                                       size_t max) {
  if (part.size > max) {
    return absl::InvalidArgumentError("a sealed VM part is too large");
  }
  std::string out(part.size, '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(part.memfd.get(), out.data() + done, out.size() - done,
                        static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, "read a VM memfd");
    }
    if (n == 0) return absl::DataLossError("a sealed VM memfd shrank");
    done += static_cast<size_t>(n);
  }
  return out;
}

absl::StatusOr<MeasuredVm> MeasureVm(const VmSpec& spec, size_t max_file_size) {
  TAO_RETURN_IF_ERROR(CheckPath(spec.kernel, "kernel"));
  TAO_RETURN_IF_ERROR(CheckPath(spec.initrd, "initrd"));
  if (spec.cmdline.size() > kMaxCmdline) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the VM's command line is longer than ", kMaxCmdline, " bytes"));
  }
  for (char c : spec.cmdline) {
    if (c == '\0' || c == '\n') {
      return absl::InvalidArgumentError(
          "the VM's command line holds a NUL or a newline");
    }
  }
  MeasuredVm out;
  TAO_ASSIGN_OR_RETURN(out.kernel,
                       MeasureExecutable(spec.kernel, max_file_size));
  TAO_ASSIGN_OR_RETURN(out.initrd,
                       MeasureExecutable(spec.initrd, max_file_size));
  TAO_ASSIGN_OR_RETURN(out.cmdline, SealBytes(spec.cmdline, "tao-vm-cmdline"));
  out.digest =
      VmDigest(out.kernel.size, out.kernel.digest, out.initrd.size,
               out.initrd.digest, out.cmdline.size, out.cmdline.digest);
  return out;
}

}  // namespace tao
