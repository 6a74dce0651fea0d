// VmFactory: hosted programs of the "vm" kind, QEMU guests over the
// virtio-serial channel kind only. It reads a spec's kernel, initrd and
// command line once into sealed memfds and names the VM by their combined
// digest, `VM(sha256:..)` (vm_measurement.h); QEMU boots those memfds,
// never the paths. No network unless the spec asks; KVM where it works,
// TCG otherwise. Every QEMU runs under a dynamic uid and gid of its own,
// claimed machine-wide like a process program's (docs/vm.md).
#ifndef TAO_PROGRAM_FACTORY_VM_VM_FACTORY_H_
#define TAO_PROGRAM_FACTORY_VM_VM_FACTORY_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "program_factory/internal/identity.h"
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
  // QEMU's identity: one uid, and the gid of the same number, per running
  // VM from this range, claimed machine-wide (/run/tao-dynamic-uids, the
  // process factory's claims too), released once QEMU and every process of
  // that uid are gone. Create() refuses a range that holds a user of
  // passwd_file or a group of group_file.
  UidRange dynamic_uids = kDefaultDynamicUidRange;
  // Mixed into each VM's preferred uid; empty: "vm factory of <pid>".
  std::string dynamic_uid_salt;
  std::string passwd_file = "/etc/passwd";
  std::string group_file = "/etc/group";
  // Where each VM's admin port listens: <dir>/vm-<n>.sock, a unix socket
  // in a directory of the host's alone (made 0700 if missing, refused if
  // group or others may enter it), so only the host's uid can connect.
  // Each VM's VmAdminBridge serves it, one client at a time, framed over a
  // link QEMU joins to the guest's virtio port "org.tao.admin", where the
  // guest image's tao-guest-relay joins each session to the guest host's
  // admin socket (docs/vm.md). Empty: VMs get no admin port.
  std::string admin_socket_dir;
};

// Whether this machine's /dev/kvm answers KVM_GET_API_VERSION (12) and
// KVM_CREATE_VM. Thread-safe.
bool KvmUsable();

namespace internal {
class ProgramResources;
}

// Thread-safe: NewHostedProgram may run on several threads at once.
class VmFactory final : public ProgramFactory {
 public:
  // kInvalidArgument for an unknown accel, a bad uid range or a QEMU that
  // is not an executable file (kNotFound if it is missing);
  // kFailedPrecondition for accel "kvm" where KvmUsable() is false or
  // where /dev/kvm is open to root's group only, for a uid range that
  // holds a user or group of the machine, and for an admin_socket_dir that
  // others may enter (kInvalidArgument if its sockets' paths would be too
  // long). "auto" picks tcg in both KVM
  // cases.
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

  // Whether `facts` has a uid of this factory's range (a QEMU, running or
  // lingering).
  bool Hosts(const ProcessFacts& facts) const override;

  // "kvm" or "tcg": what every VM of this factory runs on.
  const std::string& accel() const { return options_.accel; }
  // Dynamic uids held by running (or lingering) VMs.
  size_t dynamic_uids_in_use() const;

  ~VmFactory() override;

 private:
  VmFactory(VmFactoryOptions options, std::optional<gid_t> kvm_group);
  VmFactoryOptions options_;
  std::optional<gid_t> kvm_group_;  // a supplementary group for QEMU
  std::shared_ptr<internal::ProgramResources> resources_;
  std::atomic<uint64_t> next_admin_socket_{1};  // vm-<n>.sock
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_VM_VM_FACTORY_H_
