// VmProgram: one measured VM of a VmFactory, a QEMU process booted from the
// sealed memfds that were measured, with its virtio-serial port on the
// loop's socket and its QMP monitor on a socketpair of its own. Internal to
// program_factory/vm/.
#ifndef TAO_PROGRAM_FACTORY_VM_VM_PROGRAM_H_
#define TAO_PROGRAM_FACTORY_VM_VM_PROGRAM_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "program_factory/internal/subprocess.h"
#include "program_factory/program_factory.h"
#include "program_factory/vm/qmp_client.h"
#include "program_factory/vm/vm_measurement.h"

namespace tao {
namespace internal {

// How a VmFactory boots its VMs (from VmFactoryOptions, resolved).
struct VmLaunchSettings {
  std::string qemu;   // the QEMU binary
  std::string accel;  // "kvm" or "tcg"
  absl::Duration qmp_timeout = absl::Seconds(5);
};

// The QEMU command line for `spec` (argv[0] included), with the kernel,
// initrd, channel, monitor and state disk at the descriptor numbers
// VmProgram installs (3, 4, 5, 6, 7) and the virtio port named `port`.
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
            VmLaunchSettings settings);
  // A running VM is killed and reaped.
  ~VmProgram() override;

  const ProgramIdentity& identity() const override { return identity_; }
  // Needs a virtio-serial endpoint: one descriptor and a channel env of
  // "virtio:<port>" (kInvalidArgument otherwise). Boots QEMU and enters
  // QMP command mode; a QEMU that does not is killed (the QMP error).
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
  absl::StatusOr<ExitStatus> Reap() override;
  std::optional<ExitRecord> exit_record() const override {
    return exit_record_;
  }
  pid_t pid() const override { return child_.pid(); }

 private:
  absl::Status Monitor(absl::string_view command);

  VmSpec spec_;
  MeasuredVm measured_;
  ProgramIdentity identity_;
  VmLaunchSettings settings_;
  bool started_ = false;
  bool killed_ = false;
  bool frozen_ = false;
  Subprocess child_;
  UniqueFd output_;
  std::unique_ptr<QmpClient> qmp_;
  std::optional<ExitRecord> exit_record_;
};

}  // namespace internal
}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_VM_VM_PROGRAM_H_
