#include "program_factory/vm/vm_program.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tao/status_macros.h"

namespace tao {
namespace internal {
namespace {

constexpr int kKernelFd = 3;
constexpr int kInitrdFd = 4;
constexpr int kChannelFd = 5;
constexpr int kMonitorFd = 6;
constexpr int kDiskFd = 7;

bool ValidPortName(absl::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

}  // namespace

std::vector<std::string> QemuArgv(const VmLaunchSettings& settings,
                                  const VmSpec& spec, absl::string_view port,
                                  absl::string_view cmdline) {
  std::vector<std::string> argv = {
      settings.qemu,
      "-nodefaults",
      "-no-user-config",
      "-display",
      "none",
      "-machine",
      absl::StrCat("q35,accel=", settings.accel),
      "-cpu",
      settings.accel == "kvm" ? "host" : "max",
      "-m",
      absl::StrCat(spec.memory_mib),
      "-smp",
      absl::StrCat(spec.vcpus),
      "-kernel",
      absl::StrCat("/dev/fd/", kKernelFd),
      "-initrd",
      absl::StrCat("/dev/fd/", kInitrdFd),
      "-append",
      std::string(cmdline),
      // The console: the program's log.
      "-chardev",
      "stdio,id=console,signal=off",
      "-serial",
      "chardev:console",
      // The Tao channel: a virtio port on the loop's socket.
      "-chardev",
      absl::StrCat("socket,id=tao,fd=", kChannelFd),
      "-device",
      "virtio-serial-pci,id=vserial",
      "-device",
      absl::StrCat("virtserialport,bus=vserial.0,chardev=tao,name=", port),
      // The monitor, on a socketpair of the factory's.
      "-chardev",
      absl::StrCat("socket,id=qmp,fd=", kMonitorFd),
      "-mon",
      "chardev=qmp,mode=control",
      // A guest panic is reported (GUEST_PANICKED) and ends QEMU with 1.
      "-device",
      "pvpanic-pci",
      "-action",
      "panic=exit-failure",
      "-no-reboot",
      "-sandbox",
      "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
  };
  if (!spec.state_disk.empty()) {
    argv.insert(argv.end(),
                {"-drive",
                 absl::StrCat("file=/dev/fd/", kDiskFd,
                              ",format=raw,if=none,id=state,cache=writeback"),
                 "-device", "virtio-blk-pci,drive=state"});
  }
  if (spec.network) {
    argv.insert(argv.end(), {"-nic", "user,model=virtio-net-pci"});
  }
  return argv;
}

std::string ClassifyVmExit(const ExitStatus& status, const QmpClient* qmp,
                           bool killed_by_host) {
  std::string shutdown;
  bool panicked = false;
  if (qmp != nullptr) {
    panicked = qmp->Saw("GUEST_PANICKED");
    for (const QmpEvent& e : qmp->events()) {
      if (e.name == "SHUTDOWN") shutdown = e.detail;
    }
  }
  if (panicked || shutdown == "guest-panic") return "guest panic";
  if (killed_by_host && status.signaled && status.code == SIGKILL) {
    return "killed by the host";
  }
  if (status.signaled) {
    return absl::StrCat("QEMU crashed (", status.ToString(), ")");
  }
  if (status.code != 0) {
    return absl::StrCat("QEMU failed (", status.ToString(), ")");
  }
  if (shutdown == "guest-shutdown") return "clean power-off";
  if (shutdown == "guest-reset") return "guest reset (no reboot)";
  if (shutdown == "host-signal" || shutdown == "host-qmp-quit") {
    return "ended by the host";
  }
  return "QEMU exited (no shutdown reported)";
}

VmProgram::VmProgram(VmSpec spec, MeasuredVm measured, ProgramIdentity identity,
                     VmLaunchSettings settings)
    : spec_(std::move(spec)),
      measured_(std::move(measured)),
      identity_(std::move(identity)),
      settings_(std::move(settings)) {}

VmProgram::~VmProgram() {
  if (child_.running()) {
    auto killed = Kill();
    (void)killed;
    child_ = Subprocess();  // kills and reaps
  }
}

absl::Status VmProgram::Start(ChildEndpoint endpoint) {
  if (started_) return absl::FailedPreconditionError("the VM was started");
  absl::string_view port = endpoint.channel_env;
  if (endpoint.fds.size() != 1 || !absl::ConsumePrefix(&port, "virtio:") ||
      !ValidPortName(port)) {
    return absl::InvalidArgumentError(
        "a VM needs a virtio-serial channel (one socket, virtio:<port>)");
  }
  started_ = true;
  int qmp[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) != 0) {
    return absl::ErrnoToStatus(errno, "socketpair for QMP");
  }
  UniqueFd qmp_host(qmp[0]);
  UniqueFd qmp_child(qmp[1]);
  UniqueFd disk;
  if (!spec_.state_disk.empty()) {
    disk.Reset(::open(spec_.state_disk.c_str(),
                      O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY));
    if (!disk.valid()) {
      return absl::ErrnoToStatus(errno,
                                 absl::StrCat("open ", spec_.state_disk));
    }
    struct stat st;
    if (::fstat(disk.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec_.state_disk, " is not a regular file"));
    }
  }
  UniqueFd qemu(::open(settings_.qemu.c_str(), O_RDONLY | O_CLOEXEC));
  if (!qemu.valid()) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", settings_.qemu));
  }
  UniqueFd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!dev_null.valid()) return absl::ErrnoToStatus(errno, "open /dev/null");
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
  UniqueFd out_read(out[0]);
  UniqueFd out_write(out[1]);
  TAO_ASSIGN_OR_RETURN(std::string cmdline,
                       ReadSealed(measured_.cmdline, 4096));

  LaunchOptions launch;
  launch.exec_fd = qemu.get();
  launch.argv = QemuArgv(settings_, spec_, port, cmdline);
  launch.envp = {"PATH=/usr/bin:/bin"};
  launch.fds_to_remap = {{dev_null.get(), 0},
                         {out_write.get(), 1},
                         {out_write.get(), 2},
                         {measured_.kernel.memfd.get(), kKernelFd},
                         {measured_.initrd.memfd.get(), kInitrdFd},
                         {endpoint.fds[0].fd.get(), kChannelFd},
                         {qmp_child.get(), kMonitorFd}};
  if (disk.valid()) launch.fds_to_remap.push_back({disk.get(), kDiskFd});
  TAO_ASSIGN_OR_RETURN(child_, Launch(launch));
  if (::fcntl(out_read.get(), F_SETFL, O_NONBLOCK) != 0) {
    return absl::ErrnoToStatus(errno, "make the console pipe non-blocking");
  }
  output_ = std::move(out_read);
  qmp_ = std::make_unique<QmpClient>(std::move(qmp_host));
  absl::Status hello = qmp_->Handshake(settings_.qmp_timeout);
  if (!hello.ok()) {
    ::kill(child_.pid(), SIGKILL);
    killed_ = true;
    return absl::Status(hello.code(),
                        absl::StrCat("QEMU's monitor: ", hello.message()));
  }
  return absl::OkStatus();
}

absl::Status VmProgram::Monitor(absl::string_view command) {
  if (!started_ || !child_.running()) {
    return absl::FailedPreconditionError("the VM is not running");
  }
  absl::StatusOr<google::protobuf::Value> done =
      qmp_->Execute(command, settings_.qmp_timeout);
  return done.status();
}

absl::Status VmProgram::Stop(absl::Duration grace) {
  (void)grace;  // the loop keeps the deadline and calls Kill after it
  if (!started_ || !child_.running()) {
    return absl::FailedPreconditionError("the VM is not running");
  }
  if (frozen_) {
    absl::Status thawed = Thaw();
    (void)thawed;
  }
  absl::Status asked = Monitor("system_powerdown");
  if (!asked.ok()) {
    // The monitor is gone or broken: QEMU powers off on SIGTERM.
    return child_.Signal(SIGTERM);
  }
  return absl::OkStatus();
}

absl::Status VmProgram::Kill() {
  if (!started_) return absl::FailedPreconditionError("the VM is not running");
  if (!child_.running()) return absl::OkStatus();
  killed_ = true;
  return child_.Signal(SIGKILL);
}

absl::Status VmProgram::Freeze() {
  TAO_RETURN_IF_ERROR(Monitor("stop"));
  frozen_ = true;
  return absl::OkStatus();
}

absl::Status VmProgram::Thaw() {
  TAO_RETURN_IF_ERROR(Monitor("cont"));
  frozen_ = false;
  return absl::OkStatus();
}

absl::StatusOr<ExitStatus> VmProgram::Reap() {
  if (!started_) return absl::FailedPreconditionError("the VM never started");
  TAO_ASSIGN_OR_RETURN(auto status, child_.TryReap());
  ExitStatus out;
  out.signaled = status.first;
  out.code = status.second;
  if (qmp_ != nullptr) {
    absl::Status drained = qmp_->Drain();  // the last events, bounded
    (void)drained;
  }
  frozen_ = false;
  exit_record_ =
      ExitRecord{out, Confinement(), ClassifyVmExit(out, qmp_.get(), killed_)};
  return out;
}

}  // namespace internal
}  // namespace tao
