// VmFactory: hosted programs of the "vm" kind, QEMU guests over the
// virtio-serial channel kind only. It reads a spec's kernel, initrd and
// command line once into sealed memfds and names the VM by their combined
// digest, `VM(sha256:..)` (vm_measurement.h); QEMU boots those memfds,
// never the paths. No network unless the spec asks; KVM where it works,
// TCG otherwise (docs/vm.md).
#ifndef TAO_PROGRAM_FACTORY_VM_VM_FACTORY_H_
#define TAO_PROGRAM_FACTORY_VM_VM_FACTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "program_factory/program_factory.h"

namespace tao {

struct VmFactoryOptions {
  std::string qemu = "/usr/bin/qemu-system-x86_64";
  // "kvm", "tcg", or "auto": kvm if /dev/kvm can make a VM, else tcg.
  std::string accel = "auto";
  uint64_t max_image_size = uint64_t{1} << 30;  // kernel or initrd
  uint32_t max_memory_mib = 16384;
  uint32_t max_vcpus = 64;
  // How long QEMU's monitor may take to answer a command.
  absl::Duration qmp_timeout = absl::Seconds(5);
};

// Whether this machine's /dev/kvm answers KVM_GET_API_VERSION (12) and
// KVM_CREATE_VM. Thread-safe.
bool KvmUsable();

// Thread-safe: NewHostedProgram may run on several threads at once.
class VmFactory final : public ProgramFactory {
 public:
  // kInvalidArgument for an unknown accel or a QEMU that is not an
  // executable file (kNotFound if it is missing); kFailedPrecondition for
  // accel "kvm" where KvmUsable() is false.
  static absl::StatusOr<std::unique_ptr<VmFactory>> Create(
      VmFactoryOptions options);

  // "vm".
  std::string kind() const override { return "vm"; }
  // "virtio-serial".
  std::vector<std::string> channel_kinds() const override;
  // "accel kvm" or "accel tcg".
  std::string description() const override;
  // Refuses (kInvalidArgument) a spec of another kind, memory or vCPUs out
  // of range, a relative path; measures kernel, initrd and command line
  // (MeasureVm's errors). The name is `VM(sha256:..)` alone: memory, vCPUs,
  // the network and the state disk are not measured.
  absl::StatusOr<std::unique_ptr<HostedProgram>> NewHostedProgram(
      const ProgramSpec& spec) override;

  // "kvm" or "tcg": what every VM of this factory runs on.
  const std::string& accel() const { return options_.accel; }

 private:
  explicit VmFactory(VmFactoryOptions options) : options_(std::move(options)) {}
  VmFactoryOptions options_;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_VM_VM_FACTORY_H_
