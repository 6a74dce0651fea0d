// VmProgram: one measured VM of a VmFactory, a QEMU process booted from the
// sealed memfds that were measured, with its virtio-serial port on the
// loop's socket and its QMP monitor on a socketpair of its own, under a
// dynamic uid and gid of its own. Internal to program_factory/vm/.
#ifndef TAO_PROGRAM_FACTORY_VM_VM_PROGRAM_H_
#define TAO_PROGRAM_FACTORY_VM_VM_PROGRAM_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "program_factory/internal/process_program.h"
#include "program_factory/internal/subprocess.h"
#include "program_factory/program_factory.h"
#include "program_factory/vm/admin_port/admin_bridge.h"
#include "program_factory/vm/qmp_client.h"
#include "program_factory/vm/vm_measurement.h"

namespace tao {
namespace internal {

// How a VmFactory boots its VMs (from VmFactoryOptions, resolved).
struct VmLaunchSettings {
  std::string qemu;   // the QEMU binary
  std::string accel;  // "kvm" or "tcg"
  absl::Duration qmp_timeout = absl::Seconds(5);
  // QEMU's one supplementary group: /dev/kvm's, under kvm where the node
  // is not open to everyone; none under tcg.
  std::optional<gid_t> kvm_group;
  // Where this VM's admin port listens (a unix socket path the program
  // makes, serves with a VmAdminBridge, and removes); empty: no admin port.
  std::string admin_socket;
};

// The QEMU command line for `spec` (argv[0] included), with the kernel,
// initrd, channel, monitor and state disk at the descriptor numbers
// VmProgram installs (3, 4, 5, 6; the state disk as fd set 1 of 7 and 8;
// QEMU's end of the admin link 9, when settings.admin_socket is set)
// and the virtio port named `port`.
// Pure; exposed for tests.
std::vector<std::string> QemuArgv(const VmLaunchSettings& settings,
                                  const VmSpec& spec, absl::string_view port,
                                  absl::string_view cmdline);

// What a VM's end says: "clean power-off", "guest panic", "QEMU crashed
// (signal 11)", ... from its exit status and the monitor's last events.
std::string ClassifyVmExit(const ExitStatus& status, const QmpClient* qmp,
                           bool killed_by_host);

// Not thread-safe: the loop owns it.
class VmProgram final : public HostedProgram {
 public:
  VmProgram(VmSpec spec, MeasuredVm measured, ProgramIdentity identity,
            VmLaunchSettings settings,
            std::shared_ptr<ProgramResources> resources);
  // A running VM is killed and reaped, and its uid given back.
  ~VmProgram() override;

  const ProgramIdentity& identity() const override { return identity_; }
  // Needs a virtio-serial endpoint: one descriptor and a channel env of
  // "virtio:<port>" (kInvalidArgument otherwise). kFailedPrecondition on
  // a host that is not root (no dynamic uid for QEMU, as for a process)
  // and for a state disk that is not the host's alone (owned by the host's
  // uid, no access for group or others). Boots QEMU under a dynamic uid
  // and enters QMP command mode; a QEMU that does not is killed (the QMP
  // error).
  absl::Status Start(ChildEndpoint endpoint) override;
  // ACPI power-down over QMP (a frozen VM is continued first). A monitor
  // that does not answer gets QEMU a SIGTERM instead.
  absl::Status Stop(absl::Duration grace) override;
  // SIGKILL to QEMU.
  absl::Status Kill() override;
  // QMP stop / cont. kFailedPrecondition when not running or QMP fails.
  absl::Status Freeze() override;
  absl::Status Thaw() override;
  bool frozen() const override { return frozen_; }
  int exit_fd() const override { return child_.pidfd(); }
  UniqueFd TakeOutput() override { return std::move(output_); }
  // Also kills whatever still runs as the VM's uid and gives the uid back
  // (or leaves it lingering until nothing does).
  absl::StatusOr<ExitStatus> Reap() override;
  std::optional<ExitRecord> exit_record() const override {
    return exit_record_;
  }
  pid_t pid() const override { return child_.pid(); }
  Confinement confinement() const override { return confinement_; }
  // QEMU itself, or any process of the VM's dynamic uid while it holds it.
  bool Owns(const ProcessFacts& facts) const override;

 private:
  absl::Status Monitor(absl::string_view command);
  // Kills every process left with the VM's uid and releases the uid, or
  // leaves it lingering; removes the admin socket. Idempotent.
  void Release();
  // Binds and listens on settings_.admin_socket (mode 0600; a stale
  // socket of an earlier run is replaced).
  absl::StatusOr<UniqueFd> ListenOnAdminSocket();

  VmSpec spec_;
  MeasuredVm measured_;
  ProgramIdentity identity_;
  VmLaunchSettings settings_;
  std::shared_ptr<ProgramResources> resources_;
  std::optional<uint32_t> dynamic_uid_;
  Confinement confinement_;
  bool started_ = false;
  bool killed_ = false;
  bool frozen_ = false;
  bool admin_socket_made_ = false;  // settings_.admin_socket is ours to remove
  Subprocess child_;
  UniqueFd output_;
  std::unique_ptr<QmpClient> qmp_;
  std::unique_ptr<VmAdminBridge> admin_bridge_;  // while the VM runs
  std::optional<ExitRecord> exit_record_;
};

}  // namespace internal
}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_VM_VM_PROGRAM_H_
