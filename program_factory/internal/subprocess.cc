#include "program_factory/internal/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "program_factory/internal/clone_child.h"
#include "tao/status_macros.h"

namespace tao {
namespace internal {
namespace {

// Steps the child may fail at, reported with errno through a pipe.
enum ChildStep : int {
  kStepDup = 1,
  kStepCgroup,
  kStepSetsid,
  kStepSetgroups,
  kStepSetgid,
  kStepSetuid,
  kStepNoNewPrivs,
  kStepChdir,
  kStepExec,
};

const char* StepName(int step) {
  switch (step) {
    case kStepDup:
      return "install descriptors";
    case kStepCgroup:
      return "join the program's cgroup";
    case kStepSetsid:
      return "start a session";
    case kStepSetgroups:
      return "drop supplementary groups";
    case kStepSetgid:
      return "set group id";
    case kStepSetuid:
      return "set user id";
    case kStepNoNewPrivs:
      return "set no_new_privs";
    case kStepChdir:
      return "change to the working directory";
    case kStepExec:
      return "execute the program";
  }
  return "start";
}

// Everything the child reads, prepared by the parent before clone(). With
// CLONE_VM the child runs in the parent's memory, so it must not allocate,
// take locks, or write anything the parent uses afterwards: it only reads
// these and writes into `temps`, storage made for it alone.
struct ChildArgs {
  const std::pair<int, int>* remap;  // {source, target}
  size_t remap_count;
  int* temps;             // remap_count slots, written by the child
  const char* is_target;  // max_child_fd + 1 flags
  int max_child_fd;
  int exec_fd;
  int report_fd;
  char* const* argv;
  char* const* envp;
  const char* working_dir;
  int cgroup_procs_fd;
  bool drop_groups;
  const gid_t* groups;  // kept by setgroups (may be none)
  size_t group_count;
  bool no_new_privs;
  bool set_gid;
  gid_t gid;
  bool set_uid;
  uid_t uid;
};

// The child's system calls are made directly (syscall(2)), not through the
// libc wrappers: glibc's setuid/setgid/setgroups signal every thread of the
// (parent's, shared) thread list to change their credentials too, and under
// the sanitizers most wrappers are interceptors that keep state. syscall(2)
// itself only sets errno, in the parent thread's TLS, which the parent does
// not read until after its own next call.

[[noreturn]] TAO_CLONE_CHILD void ChildFail(int report_fd, int step) {
  int report[2] = {step, errno};
  ::syscall(SYS_write, report_fd, report, sizeof(report));
  ::syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

// The child, from clone() to fexecve. Async-signal-safe system calls only.
TAO_CLONE_CHILD int ChildMain(void* arg) {
  const ChildArgs& a = *static_cast<const ChildArgs*>(arg);
  // Every signal is still blocked (the parent blocked them around clone), so
  // no handler of the host can run here on the shared memory.
  ResetSignalsInCloneChild();
  // Into the program's cgroup before anything else, so that nothing the
  // program will ever fork is born outside it.
  if (a.cgroup_procs_fd >= 0 &&
      ::syscall(SYS_write, a.cgroup_procs_fd, "0", 1) != 1) {
    ChildFail(a.report_fd, kStepCgroup);
  }
  if (::syscall(SYS_setsid) < 0) ChildFail(a.report_fd, kStepSetsid);
  // Keep the program and the report pipe out of the way of the targets.
  int exec_fd = static_cast<int>(
      ::syscall(SYS_fcntl, a.exec_fd, F_DUPFD_CLOEXEC, a.max_child_fd + 1));
  if (exec_fd < 0) ChildFail(a.report_fd, kStepDup);
  int report_fd = static_cast<int>(
      ::syscall(SYS_fcntl, a.report_fd, F_DUPFD_CLOEXEC, a.max_child_fd + 1));
  if (report_fd < 0) ChildFail(a.report_fd, kStepDup);
  // Two passes, so a source numbered like another's target is not lost.
  for (size_t i = 0; i < a.remap_count; ++i) {
    a.temps[i] = static_cast<int>(::syscall(
        SYS_fcntl, a.remap[i].first, F_DUPFD_CLOEXEC, a.max_child_fd + 1));
    if (a.temps[i] < 0) ChildFail(report_fd, kStepDup);
  }
  for (size_t i = 0; i < a.remap_count; ++i) {
    // dup3 (there is no dup2 on every architecture); temps are above every
    // target, so never equal to it. Flags 0: the target is not CLOEXEC.
    if (::syscall(SYS_dup3, a.temps[i], a.remap[i].second, 0) < 0) {
      ChildFail(report_fd, kStepDup);
    }
  }
  // Nothing else of the host's reaches the program, CLOEXEC or not.
  for (int fd = 3; fd <= a.max_child_fd; ++fd) {
    if (!a.is_target[fd]) ::syscall(SYS_close, fd);
  }
  if (::syscall(SYS_close_range, a.max_child_fd + 1, ~0U,
                CLOSE_RANGE_CLOEXEC) != 0) {
    ChildFail(report_fd, kStepDup);
  }
  // A new identity keeps none of the host's groups: setgroups whenever the
  // uid or the gid changes (to none, or to the few the caller named), then
  // the gid, then the uid.
  if (a.drop_groups && ::syscall(SYS_setgroups, a.group_count, a.groups) != 0)
    ChildFail(report_fd, kStepSetgroups);
  if (a.set_gid && ::syscall(SYS_setgid, a.gid) != 0)
    ChildFail(report_fd, kStepSetgid);
  if (a.set_uid && ::syscall(SYS_setuid, a.uid) != 0)
    ChildFail(report_fd, kStepSetuid);
  if (a.no_new_privs &&
      ::syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    ChildFail(report_fd, kStepNoNewPrivs);
  if (::syscall(SYS_chdir, a.working_dir) != 0)
    ChildFail(report_fd, kStepChdir);
  // fexecve(3) as glibc does it: execveat of the descriptor itself.
  ::syscall(SYS_execveat, exec_fd, "", a.argv, a.envp, AT_EMPTY_PATH);
  ChildFail(report_fd, kStepExec);
}

struct KillerArgs {
  uid_t uid;
  int report_fd;
};

// The helper of KillEveryProcessOf: becomes `uid` (all three uids, no
// groups) and kills every process that uid may signal. Never execs.
TAO_CLONE_CHILD int KillerMain(void* arg) {
  const KillerArgs& a = *static_cast<const KillerArgs*>(arg);
  const unsigned long empty[2] = {};
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, empty, nullptr, NSIG / 8);
  if (::syscall(SYS_setgroups, 0, nullptr) != 0 ||
      ::syscall(SYS_setresgid, a.uid, a.uid, a.uid) != 0 ||
      ::syscall(SYS_setresuid, a.uid, a.uid, a.uid) != 0) {
    ChildFail(a.report_fd, kStepSetuid);
  }
  if (::syscall(SYS_kill, -1, SIGKILL) != 0 && errno != ESRCH) {
    ChildFail(a.report_fd, kStepExec);
  }
  ::syscall(SYS_exit_group, 0);
  __builtin_unreachable();
}

#undef TAO_CLONE_CHILD

// The child's stack: large enough for ChildMain and the kernel's signal
// frame (none is delivered: all are blocked until the dispositions are
// reset), with a guard page below it.
constexpr size_t kChildStackSize = size_t{64} << 10;

// Runs `fn(arg)` in a child made with clone(CLONE_VM | CLONE_VFORK |
// `extra_flags`) on a stack of its own (with a guard page below it), and
// returns once the child has exec'd or exited: posix_spawn's way, not
// fork(), so nothing is copied and the cost does not grow with the host's
// RSS. Every signal, glibc's internal ones too, is blocked around clone() so
// that no handler runs in the child on our memory; the child resets them
// before it unblocks. `who` names the child in errors.
absl::StatusOr<pid_t> CloneOnOwnStack(int (*fn)(void*), void* arg,
                                      int extra_flags, const char* who) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t map_size = kChildStackSize + page;
  void* stack =
      ::mmap(nullptr, map_size, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (stack == MAP_FAILED) {
    return absl::ErrnoToStatus(errno, absl::StrCat("map ", who, "'s stack"));
  }
  if (::mprotect(stack, page, PROT_NONE) != 0) {
    int error = errno;
    ::munmap(stack, map_size);
    return absl::ErrnoToStatus(error, absl::StrCat("guard ", who, "'s stack"));
  }
  unsigned long all[2], old[2];
  std::memset(all, 0xff, sizeof(all));
  ::syscall(SYS_rt_sigprocmask, SIG_BLOCK, all, old, NSIG / 8);
  pid_t pid = ::clone(fn, static_cast<char*>(stack) + map_size,
                      CLONE_VM | CLONE_VFORK | extra_flags, arg);
  int clone_errno = errno;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, nullptr, NSIG / 8);
  // The child has exec'd or exited: nothing runs on the stack any more.
  ::munmap(stack, map_size);
  if (pid < 0) return absl::ErrnoToStatus(clone_errno, "clone");
  return pid;
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
  if (pid_ <= 0)
    return absl::FailedPreconditionError("the program is not running");
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
  if (got < 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("waitpid ", pid_));
  if (got == 0) return absl::UnavailableError("the program is still running");
  pid_ = -1;
  if (WIFSIGNALED(status)) return std::make_pair(true, WTERMSIG(status));
  return std::make_pair(false, WEXITSTATUS(status));
}

absl::Status KillEveryProcessOf(uid_t uid) {
  if (uid == 0) {
    return absl::InvalidArgumentError("will not kill every process of root");
  }
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0)
    return absl::ErrnoToStatus(errno, "pipe2");
  UniqueFd report_read(report[0]);
  UniqueFd report_write(report[1]);
  KillerArgs args{uid, report[1]};
  // CLONE_VFORK: we resume once the helper has exited. No SIGCHLD, and
  // __WCLONE below: the loop's orphan reaper never sees it.
  TAO_ASSIGN_OR_RETURN(pid_t pid,
                       CloneOnOwnStack(KillerMain, &args, 0, "the helper"));
  int status = 0;
  while (::waitpid(pid, &status, __WCLONE) < 0 && errno == EINTR) {
  }
  report_write.Reset();
  int failure[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(report_read.get(), failure, sizeof(failure));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(failure))) {
    return absl::ErrnoToStatus(failure[1],
                               absl::StrCat("kill the processes of uid ", uid));
  }
  return absl::OkStatus();
}

absl::StatusOr<Subprocess> Launch(const LaunchOptions& options) {
  // Everything the child touches is prepared here, before clone().
  std::vector<char*> argv;
  for (const std::string& a : options.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : options.envp)
    envp.push_back(const_cast<char*>(e.c_str()));
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
  if (::pipe2(report, O_CLOEXEC) != 0)
    return absl::ErrnoToStatus(errno, "pipe2");
  UniqueFd report_read(report[0]);
  UniqueFd report_write(report[1]);

  ChildArgs args;
  args.remap = options.fds_to_remap.data();
  args.remap_count = options.fds_to_remap.size();
  args.temps = temps.data();
  args.is_target = is_target.data();
  args.max_child_fd = max_child_fd;
  args.exec_fd = options.exec_fd;
  args.report_fd = report[1];
  args.argv = argv.data();
  args.envp = envp.data();
  args.working_dir = working_dir;
  args.cgroup_procs_fd = options.cgroup_procs_fd;
  args.drop_groups = set_gid || set_uid;
  args.groups = options.supplementary_groups.data();
  args.group_count = options.supplementary_groups.size();
  args.no_new_privs = options.no_new_privs;
  args.set_gid = set_gid;
  args.gid = gid;
  args.set_uid = set_uid;
  args.uid = uid;

  // posix_spawn's way, not fork(): see CloneOnOwnStack.
  TAO_ASSIGN_OR_RETURN(pid_t pid,
                       CloneOnOwnStack(ChildMain, &args, SIGCHLD, "the child"));

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
