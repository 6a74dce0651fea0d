#include "program_factory/vm/vm_program.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "tao/encoding.h"
#include "tao/status_macros.h"

namespace tao {
namespace internal {
namespace {

constexpr int kKernelFd = 3;
constexpr int kInitrdFd = 4;
constexpr int kChannelFd = 5;
constexpr int kMonitorFd = 6;
constexpr int kDiskFd = 7;      // the state disk, read-write
constexpr int kDiskReadFd = 8;  // and read-only: QEMU opens it both ways
constexpr int kAdminFd = 9;     // QEMU's end of the admin link

// The virtio port a guest's tao-guest-relay looks for.
constexpr char kAdminPortName[] = "org.tao.admin";

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
    // An fd set, not /dev/fd/N: QEMU's uid may not open the disk's inode
    // (the host's alone), so it must use the host's descriptors as they are.
    argv.insert(
        argv.end(),
        {"-add-fd", absl::StrCat("fd=", kDiskFd, ",set=1"), "-add-fd",
         absl::StrCat("fd=", kDiskReadFd, ",set=1"), "-drive",
         "file=/dev/fdset/1,format=raw,if=none,id=state,cache=writeback",
         "-device", "virtio-blk-pci,drive=state"});
  }
  if (!settings.admin_socket.empty()) {
    // The admin port: QEMU joins the guest's port to the host's end of the
    // admin link (a connected socket), where the host's VmAdminBridge
    // carries each admin client's session in frames.
    argv.insert(
        argv.end(),
        {"-chardev", absl::StrCat("socket,id=admin,fd=", kAdminFd), "-device",
         absl::StrCat("virtserialport,bus=vserial.0,chardev=admin,"
                      "name=",
                      kAdminPortName)});
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
                     VmLaunchSettings settings,
                     std::shared_ptr<ProgramResources> resources)
    : spec_(std::move(spec)),
      measured_(std::move(measured)),
      identity_(std::move(identity)),
      settings_(std::move(settings)),
      resources_(std::move(resources)) {}

VmProgram::~VmProgram() {
  if (child_.running()) {
    auto killed = Kill();
    (void)killed;
    child_ = Subprocess();  // kills and reaps
  }
  Release();
}

void VmProgram::Release() {
  admin_bridge_.reset();  // stops serving the socket before it goes
  if (admin_socket_made_) {
    ::unlink(settings_.admin_socket.c_str());
    admin_socket_made_ = false;
    confinement_.admin_socket.clear();
  }
  if (!dynamic_uid_.has_value()) return;
  const uint32_t uid = *dynamic_uid_;
  dynamic_uid_.reset();
  // QEMU is reaped (or never ran); the uid was its alone, so any process
  // still running as it came from QEMU. None may keep it to the next VM.
  if (child_.running() || !KillEveryProcessOf(uid).ok()) {
    resources_->Linger(nullptr, uid, "");
    return;
  }
  resources_->uids().Release(uid);
}

bool VmProgram::Owns(const ProcessFacts& facts) const {
  if (!started_) return false;
  if (child_.running() && facts.pid == child_.pid()) return true;
  if (dynamic_uid_.has_value()) {
    for (uint32_t uid : facts.uids) {
      if (uid == *dynamic_uid_) return true;
    }
  }
  return false;
}

namespace {

// Opens the VM's state disk for QEMU, read-write and read-only, refusing
// anything but a regular file that is the host's alone.
absl::Status OpenStateDisk(const std::string& path, UniqueFd* rw,
                           UniqueFd* ro) {
  rw->Reset(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY));
  if (!rw->valid()) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  }
  struct stat st;
  if (::fstat(rw->get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a regular file"));
  }
  if (st.st_uid != ::geteuid() || (st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the VM's state disk %s is owned by uid %u with mode %04o: it must be "
        "the host's alone (owner uid %u, mode 0600) so that no other user "
        "or program reads it",
        path, st.st_uid, st.st_mode & 07777, ::geteuid()));
  }
  // The same open file's read-only twin: /proc/self/fd/N reopens the inode,
  // and QEMU's uid may not.
  ro->Reset(::open(absl::StrCat("/proc/self/fd/", rw->get()).c_str(),
                   O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!ro->valid()) {
    return absl::ErrnoToStatus(errno, absl::StrCat("reopen ", path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UniqueFd> VmProgram::ListenOnAdminSocket() {
  const std::string& path = settings_.admin_socket;
  struct sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the VM admin socket path ", path, " is too long"));
  }
  path.copy(address.sun_path, path.size());
  UniqueFd listening(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listening.valid()) return absl::ErrnoToStatus(errno, "socket");
  // The directory is the host's alone, so what is there is a socket of an
  // earlier run of this host.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return absl::ErrnoToStatus(errno, absl::StrCat("remove ", path));
  }
  // No umask games (the host has other threads): the 0700 directory keeps
  // everyone else out from the start, and the socket is then made 0600.
  if (::bind(listening.get(), reinterpret_cast<struct sockaddr*>(&address),
             sizeof(address)) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("bind ", path));
  }
  admin_socket_made_ = true;
  if (::chmod(path.c_str(), 0600) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("chmod 0600 ", path));
  }
  if (::listen(listening.get(), 4) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("listen on ", path));
  }
  return listening;
}

absl::Status VmProgram::Start(ChildEndpoint endpoint) {
  if (started_) return absl::FailedPreconditionError("the VM was started");
  absl::string_view port = endpoint.channel_env;
  if (endpoint.fds.size() != 1 || !absl::ConsumePrefix(&port, "virtio:") ||
      !ValidPortName(port)) {
    return absl::InvalidArgumentError(
        "a VM needs a virtio-serial channel (one socket, virtio:<port>)");
  }
  if (::geteuid() != 0) {
    return absl::FailedPreconditionError(
        "a VM's QEMU runs under a dynamic identity, which needs a host "
        "running as root; run the host as root");
  }
  started_ = true;
  resources_->RetryLingering();
  int qmp[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) != 0) {
    return absl::ErrnoToStatus(errno, "socketpair for QMP");
  }
  UniqueFd qmp_host(qmp[0]);
  UniqueFd qmp_child(qmp[1]);
  UniqueFd disk, disk_read;
  if (!spec_.state_disk.empty()) {
    TAO_RETURN_IF_ERROR(OpenStateDisk(spec_.state_disk, &disk, &disk_read));
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
  // The admin port: the host's socket, and the link whose other end is
  // QEMU's.
  UniqueFd admin_listening, admin_link, admin_link_qemu;
  if (!settings_.admin_socket.empty()) {
    absl::StatusOr<UniqueFd> listening = ListenOnAdminSocket();
    if (!listening.ok()) {
      Release();
      return listening.status();
    }
    admin_listening = *std::move(listening);
    int link[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, link) != 0) {
      Release();
      return absl::ErrnoToStatus(errno, "socketpair for the admin link");
    }
    admin_link.Reset(link[0]);
    admin_link_qemu.Reset(link[1]);
  }

  // QEMU's own identity: a dynamic uid and the gid of the same number,
  // /dev/kvm's group only under kvm, no new privileges.
  TAO_ASSIGN_OR_RETURN(uint32_t uid, resources_->uids().Allocate(
                                         HexEncode(identity_.measurement)));
  dynamic_uid_ = uid;
  confinement_.uid = uid;
  confinement_.gid = uid;
  confinement_.dynamic_uid = true;
  LaunchOptions launch;
  launch.uid = uid;
  launch.gid = uid;
  if (settings_.accel == "kvm" && settings_.kvm_group.has_value()) {
    launch.supplementary_groups = {*settings_.kvm_group};
  }
  launch.no_new_privs = true;
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
  if (admin_link_qemu.valid()) {
    launch.fds_to_remap.push_back({admin_link_qemu.get(), kAdminFd});
  }
  if (disk.valid()) {
    launch.fds_to_remap.push_back({disk.get(), kDiskFd});
    launch.fds_to_remap.push_back({disk_read.get(), kDiskReadFd});
  }
  absl::StatusOr<Subprocess> launched = Launch(launch);
  if (!launched.ok()) {
    Release();
    return launched.status();
  }
  child_ = *std::move(launched);
  if (admin_listening.valid()) {
    absl::StatusOr<std::unique_ptr<VmAdminBridge>> bridge =
        VmAdminBridge::Start(std::move(admin_listening), std::move(admin_link),
                             out_write.get(), VmAdminBridge::Limits());
    if (!bridge.ok()) {
      ::kill(child_.pid(), SIGKILL);
      killed_ = true;
      return bridge.status();
    }
    admin_bridge_ = *std::move(bridge);
    confinement_.admin_socket = settings_.admin_socket;
  }
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
  Release();
  exit_record_ =
      ExitRecord{out, confinement_, ClassifyVmExit(out, qmp_.get(), killed_)};
  return out;
}

}  // namespace internal
}  // namespace tao
