// The enclave's steps by name, and the started enclave's handle
// (enclave_launch.h): signals, reaping and the init's last report.
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>

#include "program_factory/enclave/enclave_launch.h"

namespace tao {

const char* EnclaveStepName(int32_t step) {
  switch (step) {
    case kStepGo:
      return "wait for the host's user maps and cgroups";
    case kStepIdentity:
      return "become the namespace's root";
    case kStepSession:
      return "start a new session";
    case kStepCgroupNs:
      return "enter a new cgroup namespace";
    case kStepPrivate:
      return "make the mounts private";
    case kStepRoot:
      return "build the private root";
    case kStepPivot:
      return "pivot into the private root";
    case kStepLoopback:
      return "bring up the loopback interface";
    case kStepDescriptors:
      return "hand over the program's descriptors";
    case kStepFork:
      return "fork the program";
    case kStepLimits:
      return "set the core limit and the working directory";
    case kStepLandlock:
      return "apply Landlock";
    case kStepSeccomp:
      return "install the seccomp filter";
    case kStepExec:
      return "execute the entry binary";
  }
  return "an unknown step";
}

EnclaveProcess::EnclaveProcess(EnclaveProcess&& other) noexcept
    : pid_(other.pid_),
      inner_pid_(other.inner_pid_),
      pidfd_(std::move(other.pidfd_)),
      report_(std::move(other.report_)) {
  other.pid_ = -1;
}

EnclaveProcess& EnclaveProcess::operator=(EnclaveProcess&& other) noexcept {
  if (this != &other) {
    Reset();
    pid_ = other.pid_;
    inner_pid_ = other.inner_pid_;
    pidfd_ = std::move(other.pidfd_);
    report_ = std::move(other.report_);
    other.pid_ = -1;
  }
  return *this;
}

EnclaveProcess::~EnclaveProcess() { Reset(); }

void EnclaveProcess::Reset() {
  if (pid_ > 0) {
    ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  pidfd_.Reset();
  report_.Reset();
}

absl::Status EnclaveProcess::Signal(int signal) const {
  if (pid_ <= 0) return absl::FailedPreconditionError("the enclave has ended");
  if (::syscall(SYS_pidfd_send_signal, pidfd_.get(), signal, nullptr, 0) != 0) {
    return absl::ErrnoToStatus(errno, "signal the enclave's init");
  }
  return absl::OkStatus();
}

absl::StatusOr<EnclaveProcess::End> EnclaveProcess::TryReap() {
  if (pid_ <= 0) return absl::FailedPreconditionError("nothing to reap");
  int status = 0;
  pid_t got;
  do {
    got = ::waitpid(pid_, &status, WNOHANG);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return absl::ErrnoToStatus(errno, "waitpid");
  if (got == 0) return absl::UnavailableError("the enclave is still running");
  pid_ = -1;
  End end;
  end.wait_status = status;  // the init itself, unless it reported
  EnclaveReport r;
  while (::read(report_.get(), &r, sizeof(r)) == sizeof(r)) {
    if (r.kind == EnclaveReport::kExited) {
      end.wait_status = r.value;
      end.refused_syscall = r.step - 1;
    }
  }
  return end;
}

}  // namespace tao
