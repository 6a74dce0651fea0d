#include "program_factory/vm/vm_factory.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "program_factory/vm/vm_measurement.h"
#include "program_factory/vm/vm_program.h"
#include "tao/status_macros.h"

namespace tao {

bool KvmUsable() {
  UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!kvm.valid()) return false;
  if (::ioctl(kvm.get(), KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
    return false;
  }
  UniqueFd vm(::ioctl(kvm.get(), KVM_CREATE_VM, 0));
  return vm.valid();
}

absl::StatusOr<std::unique_ptr<VmFactory>> VmFactory::Create(
    VmFactoryOptions options) {
  if (options.accel == "auto") {
    options.accel = KvmUsable() ? "kvm" : "tcg";
  } else if (options.accel == "kvm") {
    if (!KvmUsable()) {
      return absl::FailedPreconditionError(
          "vm accel kvm: /dev/kvm cannot make a VM here (use tcg or auto)");
    }
  } else if (options.accel != "tcg") {
    return absl::InvalidArgumentError(
        absl::StrCat("vm accel '", options.accel, "': auto, kvm or tcg"));
  }
  struct stat st;
  if (::stat(options.qemu.c_str(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("QEMU ", options.qemu));
  }
  if (!S_ISREG(st.st_mode) || ::access(options.qemu.c_str(), X_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("QEMU ", options.qemu, " is not an executable file"));
  }
  return std::unique_ptr<VmFactory>(new VmFactory(std::move(options)));
}

std::vector<std::string> VmFactory::channel_kinds() const {
  return {"virtio-serial"};
}

std::string VmFactory::description() const {
  return absl::StrCat("accel ", options_.accel);
}

absl::StatusOr<std::unique_ptr<HostedProgram>> VmFactory::NewHostedProgram(
    const ProgramSpec& launch) {
  const VmSpec* vm = std::get_if<VmSpec>(&launch);
  if (vm == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("factory 'vm' runs VMs, not a spec of kind '",
                     LaunchKind(launch), "'"));
  }
  VmSpec spec = *vm;
  if (spec.memory_mib == 0) spec.memory_mib = 256;
  if (spec.vcpus == 0) spec.vcpus = 1;
  if (spec.memory_mib < 64 || spec.memory_mib > options_.max_memory_mib) {
    return absl::InvalidArgumentError(
        absl::StrCat("VM memory ", spec.memory_mib, " MiB: 64 to ",
                     options_.max_memory_mib));
  }
  if (spec.vcpus > options_.max_vcpus) {
    return absl::InvalidArgumentError(
        absl::StrCat("VM vCPUs ", spec.vcpus, ": 1 to ", options_.max_vcpus));
  }
  if (!spec.state_disk.empty() && spec.state_disk[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "the VM's state disk '", spec.state_disk, "' must be absolute"));
  }
  TAO_ASSIGN_OR_RETURN(MeasuredVm measured,
                       MeasureVm(spec, options_.max_image_size));
  ProgramIdentity identity;
  identity.measurement = measured.digest;
  TAO_ASSIGN_OR_RETURN(Subprincipal name, Subprincipal::Vm(measured.digest));
  identity.subprincipals.push_back(std::move(name));
  internal::VmLaunchSettings settings;
  settings.qemu = options_.qemu;
  settings.accel = options_.accel;
  settings.qmp_timeout = options_.qmp_timeout;
  return std::unique_ptr<HostedProgram>(
      new internal::VmProgram(std::move(spec), std::move(measured),
                              std::move(identity), std::move(settings)));
}

}  // namespace tao
