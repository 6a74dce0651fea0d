#include "program_factory/vm/vm_factory.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "program_factory/internal/process_program.h"
#include "program_factory/vm/vm_measurement.h"
#include "program_factory/vm/vm_program.h"
#include "tao/file_util.h"
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

namespace {

// The group QEMU needs besides its own to open /dev/kvm: none if the node
// is open to everyone, its group if that group may read and write it (and
// is not root's: QEMU never gets gid 0).
absl::StatusOr<std::optional<gid_t>> KvmGroup() {
  struct stat st;
  if (::stat("/dev/kvm", &st) != 0) {
    return absl::ErrnoToStatus(errno, "stat /dev/kvm");
  }
  if ((st.st_mode & (S_IROTH | S_IWOTH)) == (S_IROTH | S_IWOTH)) {
    return std::nullopt;
  }
  if ((st.st_mode & (S_IRGRP | S_IWGRP)) == (S_IRGRP | S_IWGRP) &&
      st.st_gid != 0) {
    return std::optional<gid_t>(st.st_gid);
  }
  return absl::FailedPreconditionError(
      "vm accel kvm: /dev/kvm is open to root's group only, and QEMU runs "
      "under a dynamic uid without it (give /dev/kvm a group such as kvm, "
      "or use tcg)");
}

}  // namespace

absl::StatusOr<std::unique_ptr<VmFactory>> VmFactory::Create(
    VmFactoryOptions options) {
  std::optional<gid_t> kvm_group;
  if (options.accel == "auto") {
    absl::StatusOr<std::optional<gid_t>> group = KvmGroup();
    const bool kvm = group.ok() && KvmUsable();
    options.accel = kvm ? "kvm" : "tcg";
    if (kvm) kvm_group = *group;
  } else if (options.accel == "kvm") {
    if (!KvmUsable()) {
      return absl::FailedPreconditionError(
          "vm accel kvm: /dev/kvm cannot make a VM here (use tcg or auto)");
    }
    TAO_ASSIGN_OR_RETURN(kvm_group, KvmGroup());
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
  if (options.dynamic_uids.first == 0 ||
      options.dynamic_uids.first > options.dynamic_uids.last) {
    return absl::InvalidArgumentError(
        absl::StrCat("dynamic uid range ", options.dynamic_uids.ToString(),
                     " is empty or contains root"));
  }
  TAO_RETURN_IF_ERROR(CheckRangeIsUnused(
      options.dynamic_uids, options.passwd_file, options.group_file));
  if (!options.admin_socket_dir.empty()) {
    // sun_path holds 107 bytes and a NUL: "/vm-<20 digits>.sock" must fit.
    if (options.admin_socket_dir.size() + 29 > sizeof(sockaddr_un::sun_path)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the VM admin socket directory ", options.admin_socket_dir,
          " is too long for a unix socket's path"));
    }
    TAO_RETURN_IF_ERROR(EnsureDirectory(options.admin_socket_dir, 0700));
    TAO_RETURN_IF_ERROR(
        CheckDirectoryAccess(options.admin_socket_dir, ::geteuid(), 0077));
  }
  return std::unique_ptr<VmFactory>(
      new VmFactory(std::move(options), kvm_group));
}

VmFactory::VmFactory(VmFactoryOptions options, std::optional<gid_t> kvm_group)
    : options_(std::move(options)), kvm_group_(kvm_group) {
  // The uids only: no state directories, no cgroups (yet) for QEMU.
  resources_ = std::make_shared<internal::ProgramResources>(
      options_.dynamic_uids,
      options_.dynamic_uid_salt.empty()
          ? absl::StrCat("vm factory of ", ::getpid())
          : options_.dynamic_uid_salt,
      "", nullptr);
}

VmFactory::~VmFactory() = default;

bool VmFactory::Hosts(const ProcessFacts& facts) const {
  for (uint32_t uid : facts.uids) {
    if (options_.dynamic_uids.Contains(uid)) return true;
  }
  return false;
}

size_t VmFactory::dynamic_uids_in_use() const {
  return resources_->uids().in_use();
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
  settings.kvm_group = kvm_group_;
  if (!options_.admin_socket_dir.empty()) {
    settings.admin_socket =
        absl::StrCat(options_.admin_socket_dir, "/vm-",
                     next_admin_socket_.fetch_add(1), ".sock");
  }
  return std::unique_ptr<HostedProgram>(new internal::VmProgram(
      std::move(spec), std::move(measured), std::move(identity),
      std::move(settings), resources_));
}

}  // namespace tao
