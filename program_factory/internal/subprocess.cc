#include "program_factory/internal/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/close_range.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace tao {
namespace internal {
namespace {

// Steps the child may fail at, reported with errno through a pipe.
enum ChildStep : int {
  kStepDup = 1,
  kStepSetsid,
  kStepSetgroups,
  kStepSetgid,
  kStepSetuid,
  kStepChdir,
  kStepExec,
};

const char* StepName(int step) {
  switch (step) {
    case kStepDup:
      return "install descriptors";
    case kStepSetsid:
      return "start a session";
    case kStepSetgroups:
      return "drop supplementary groups";
    case kStepSetgid:
      return "set group id";
    case kStepSetuid:
      return "set user id";
    case kStepChdir:
      return "change to the working directory";
    case kStepExec:
      return "execute the program";
  }
  return "start";
}

[[noreturn]] void ChildFail(int report_fd, int step) {
  int report[2] = {step, errno};
  ssize_t ignored = ::write(report_fd, report, sizeof(report));
  (void)ignored;
  ::_exit(127);
}

}  // namespace

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(other.pid_), pidfd_(std::move(other.pidfd_)) {
  other.pid_ = -1;
}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    this->~Subprocess();
    pid_ = other.pid_;
    pidfd_ = std::move(other.pidfd_);
    other.pid_ = -1;
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

absl::Status Subprocess::Signal(int signal) const {
  if (pid_ <= 0) return absl::FailedPreconditionError("the program is not running");
  // The child leads its own process group; signal the group so that its
  // own children hear it too, and the leader directly if the group is gone.
  if (::kill(-pid_, signal) != 0 && ::kill(pid_, signal) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("kill ", pid_));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<bool, int>> Subprocess::TryReap() {
  if (pid_ <= 0) return absl::FailedPreconditionError("nothing to reap");
  int status = 0;
  pid_t got;
  do {
    got = ::waitpid(pid_, &status, WNOHANG);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return absl::ErrnoToStatus(errno, absl::StrCat("waitpid ", pid_));
  if (got == 0) return absl::UnavailableError("the program is still running");
  pid_ = -1;
  if (WIFSIGNALED(status)) return std::make_pair(true, WTERMSIG(status));
  return std::make_pair(false, WEXITSTATUS(status));
}

absl::StatusOr<Subprocess> Launch(const LaunchOptions& options) {
  // Everything the child touches is prepared here, before fork().
  std::vector<char*> argv;
  for (const std::string& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : options.envp) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int max_child_fd = 2;
  for (const auto& remap : options.fds_to_remap) {
    max_child_fd = std::max(max_child_fd, remap.second);
  }
  std::vector<int> temps(options.fds_to_remap.size(), -1);
  std::vector<char> is_target(max_child_fd + 1, 0);
  is_target[0] = is_target[1] = is_target[2] = 1;
  for (const auto& remap : options.fds_to_remap) is_target[remap.second] = 1;
  const char* working_dir = options.working_dir.c_str();
  const bool set_gid = options.gid.has_value();
  const gid_t gid = options.gid.value_or(0);
  const bool set_uid = options.uid.has_value();
  const uid_t uid = options.uid.value_or(0);

  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
  UniqueFd report_read(report[0]);
  UniqueFd report_write(report[1]);

  pid_t pid = ::fork();
  if (pid < 0) return absl::ErrnoToStatus(errno, "fork");
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
    }
    if (::setsid() < 0) ChildFail(report[1], kStepSetsid);
    // Keep the program and the report pipe out of the way of the targets.
    int exec_fd = ::fcntl(options.exec_fd, F_DUPFD_CLOEXEC, max_child_fd + 1);
    if (exec_fd < 0) ChildFail(report[1], kStepDup);
    int report_fd = ::fcntl(report[1], F_DUPFD_CLOEXEC, max_child_fd + 1);
    if (report_fd < 0) ChildFail(report[1], kStepDup);
    // Two passes, so a source numbered like another's target is not lost.
    for (size_t i = 0; i < options.fds_to_remap.size(); ++i) {
      temps[i] = ::fcntl(options.fds_to_remap[i].first, F_DUPFD_CLOEXEC,
                         max_child_fd + 1);
      if (temps[i] < 0) ChildFail(report[1], kStepDup);
    }
    for (size_t i = 0; i < options.fds_to_remap.size(); ++i) {
      if (::dup2(temps[i], options.fds_to_remap[i].second) < 0) {
        ChildFail(report_fd, kStepDup);
      }
    }
    // Nothing else of the host's reaches the program, CLOEXEC or not.
    for (int fd = 3; fd <= max_child_fd; ++fd) {
      if (!is_target[fd]) ::close(fd);
    }
    if (::close_range(max_child_fd + 1, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      ChildFail(report_fd, kStepDup);
    }
    if (set_gid) {
      if (::setgroups(0, nullptr) != 0) ChildFail(report_fd, kStepSetgroups);
      if (::setgid(gid) != 0) ChildFail(report_fd, kStepSetgid);
    }
    if (set_uid && ::setuid(uid) != 0) ChildFail(report_fd, kStepSetuid);
    if (::chdir(working_dir) != 0) ChildFail(report_fd, kStepChdir);
    ::fexecve(exec_fd, argv.data(), envp.data());
    ChildFail(report_fd, kStepExec);
  }

  Subprocess child;
  child.pid_ = pid;
  report_write.Reset();
  int failure[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(report_read.get(), failure, sizeof(failure));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(failure))) {
    auto unused = child.TryReap();  // the destructor reaps if this raced
    (void)unused;
    return absl::ErrnoToStatus(
        failure[1], absl::StrCat("could not ", StepName(failure[0]), " for ",
                                 options.argv.empty() ? "" : options.argv[0]));
  }
  child.pidfd_.Reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!child.pidfd_.valid()) return absl::ErrnoToStatus(errno, "pidfd_open");
  ::fcntl(child.pidfd_.get(), F_SETFD, FD_CLOEXEC);
  return child;
}

}  // namespace internal
}  // namespace tao
