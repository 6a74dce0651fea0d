#include "program_factory/enclave/enclave_launch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "tao/file_util.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

constexpr int kNamespaces = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS |
                            CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;

// Everything the child reads, laid out before clone().
struct ChildArgs {
  const EnclaveLaunchOptions* o;
  int go_fd;      // read end: 'g' once the maps are set, 'c' once the
                  // cgroups are joined
  int report_fd;  // write end
  char* const* argv;
  char* const* envp;
  const std::pair<int, int>* remap;
  size_t remap_count;
  int max_target;
};

// The init's program, for its signal handler (the child's own copy of this
// variable: clone() without CLONE_VM).
volatile sig_atomic_t g_program = 0;

#define TAO_ENCLAVE_CHILD \
  __attribute__((noinline, no_sanitize("address", "undefined")))

TAO_ENCLAVE_CHILD int64_t Now() {
  struct timespec ts;
  ::syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// The init's step times, for the "started" report.
int64_t g_times[6] = {};

TAO_ENCLAVE_CHILD void Report(int fd, int32_t kind, int32_t step, int32_t error,
                              int32_t value) {
  EnclaveReport r;
  for (int i = 0; i < 6; ++i) r.times[i] = g_times[i];
  r.kind = kind;
  r.step = step;
  r.error = error;
  r.value = value;
  ::syscall(SYS_write, fd, &r, sizeof(r));
}

[[noreturn]] TAO_ENCLAVE_CHILD void Fail(int fd, int32_t step, int32_t value) {
  Report(fd, EnclaveReport::kFailed, step, errno, value);
  ::syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

TAO_ENCLAVE_CHILD void PassOn(int sig) {
  if (g_program > 0) ::syscall(SYS_kill, g_program, sig);
}

TAO_ENCLAVE_CHILD void Wake(int) {}

// The program, from the init's vfork to execveat: `fd` is the exec pipe,
// `listener_number` where the seccomp listener goes (in the descriptor
// table it shares with the init until it execs).
[[noreturn]] TAO_ENCLAVE_CHILD void ProgramMain(const ChildArgs& a, int fd,
                                                int exec_fd,
                                                int listener_number) {
  const unsigned long dfl[8] = {};
  ::syscall(SYS_rt_sigaction, SIGTERM, dfl, nullptr, NSIG / 8);
  ::syscall(SYS_rt_sigaction, SIGINT, dfl, nullptr, NSIG / 8);
  ::syscall(SYS_rt_sigaction, SIGHUP, dfl, nullptr, NSIG / 8);
  ::syscall(SYS_rt_sigaction, SIGCHLD, dfl, nullptr, NSIG / 8);
  struct rlimit core = {0, 0};
  if (a.o->allow_core_dump) {
    if (::syscall(SYS_prlimit64, 0, RLIMIT_CORE, nullptr, &core) != 0) {
      Fail(fd, kStepLimits, 0);
    }
    core.rlim_cur = core.rlim_max;
  }
  if (::syscall(SYS_prlimit64, 0, RLIMIT_CORE, &core, nullptr) != 0 ||
      ::syscall(SYS_chdir, a.o->working_dir.c_str()) != 0) {
    Fail(fd, kStepLimits, 0);
  }
  LandlockFailure landlock = a.o->landlock->Apply();
  if (landlock.error != 0) {
    errno = landlock.error;
    Fail(fd, kStepLandlock, landlock.rule);
  }
  g_times[3] = Now();
  int listener = -1;
  int err = a.o->seccomp->InstallWithListener(&listener);
  if (err != 0) {
    errno = err;
    Fail(fd, kStepSeccomp, 0);
  }
  if (::syscall(SYS_dup3, listener, listener_number, O_CLOEXEC) < 0) {
    Fail(fd, kStepSeccomp, 0);
  }
  ::syscall(SYS_close, listener);
  g_times[4] = Now();
  Report(fd, EnclaveReport::kTimes, 0, 0, 0);
  ::syscall(SYS_execveat, exec_fd, "", a.argv, a.envp, AT_EMPTY_PATH);
  Fail(fd, kStepExec, 0);
}

TAO_ENCLAVE_CHILD bool BringUpLoopback() {
  int s = static_cast<int>(
      ::syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (s < 0) return false;
  struct ifreq ifr;
  __builtin_memset(&ifr, 0, sizeof(ifr));
  __builtin_memcpy(ifr.ifr_name, "lo", 3);
  bool ok = ::syscall(SYS_ioctl, s, SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  ok = ok && ::syscall(SYS_ioctl, s, SIOCSIFFLAGS, &ifr) == 0;
  ::syscall(SYS_close, s);
  return ok;
}

// The init: pid 1 of the enclave's pid namespace.
[[noreturn]] TAO_ENCLAVE_CHILD void InitMain(const ChildArgs& a) {
  const unsigned long dfl[8] = {};
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) {
      ::syscall(SYS_rt_sigaction, sig, dfl, nullptr, NSIG / 8);
    }
  }
  // The host blocked every signal around clone(): unblock, now that no
  // handler of the host's is left.
  const unsigned long empty[2] = {};
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, empty, nullptr, NSIG / 8);
  int report = a.report_fd;
  char go = 0;
  if (::syscall(SYS_read, a.go_fd, &go, 1) != 1) Fail(report, kStepGo, 0);
  // Become the namespace's root: the host's unprivileged outside uid.
  if (::syscall(SYS_setresgid, 0, 0, 0) != 0 ||
      ::syscall(SYS_setresuid, 0, 0, 0) != 0) {
    Fail(report, kStepIdentity, 0);
  }
  if (::syscall(SYS_setsid) < 0) Fail(report, kStepSession, 0);
  // The root and the pivot are built while the host joins this process to
  // the enclave's cgroups (one migration costs a grace period of the
  // kernel's, ~10 ms): nothing here forks or runs the program's code.
  if (::syscall(SYS_mount, nullptr, "/", nullptr, MS_REC | MS_PRIVATE,
                nullptr) != 0) {
    Fail(report, kStepPrivate, 0);
  }
  RootFailure root = a.o->root->Apply();
  if (root.step >= 0) {
    errno = root.error;
    Fail(report, kStepRoot, root.step);
  }
  g_times[0] = Now();
  const char* dir = a.o->root_dir.c_str();
  if (::syscall(SYS_chdir, dir) != 0 ||
      ::syscall(SYS_pivot_root, ".", ".") != 0 ||
      ::syscall(SYS_umount2, ".", MNT_DETACH) != 0 ||
      ::syscall(SYS_chdir, "/") != 0) {
    Fail(report, kStepPivot, 0);
  }
  if (!BringUpLoopback()) Fail(report, kStepLoopback, 0);
  ::syscall(SYS_sethostname, "enclave", 7);
  g_times[1] = Now();
  // The cgroups are joined ('c'), before anything forks: the namespace's
  // root is the enclave's own cgroup, and the program starts in it.
  if (::syscall(SYS_read, a.go_fd, &go, 1) != 1 || go != 'c') {
    Fail(report, kStepGo, 0);
  }
  ::syscall(SYS_close, a.go_fd);
  if (::syscall(SYS_unshare, CLONE_NEWCGROUP) != 0) {
    Fail(report, kStepCgroupNs, 0);
  }

  // Descriptors: the targets, then the memfd and the report pipe just
  // above them, and nothing else.
  const int top = a.max_target + 1;
  int exec_fd = static_cast<int>(
      ::syscall(SYS_fcntl, a.o->exec_fd, F_DUPFD_CLOEXEC, top));
  int moved =
      static_cast<int>(::syscall(SYS_fcntl, report, F_DUPFD_CLOEXEC, top));
  if (exec_fd < 0 || moved < 0) Fail(report, kStepDescriptors, 0);
  report = moved;
  int temps[64];
  if (a.remap_count > 64) Fail(report, kStepDescriptors, 0);
  for (size_t i = 0; i < a.remap_count; ++i) {
    temps[i] = static_cast<int>(
        ::syscall(SYS_fcntl, a.remap[i].first, F_DUPFD_CLOEXEC, top));
    if (temps[i] < 0) Fail(report, kStepDescriptors, 0);
  }
  for (size_t i = 0; i < a.remap_count; ++i) {
    if (::syscall(SYS_dup3, temps[i], a.remap[i].second, 0) < 0) {
      Fail(report, kStepDescriptors, 0);
    }
  }
  if (::syscall(SYS_dup3, exec_fd, top, O_CLOEXEC) < 0 ||
      ::syscall(SYS_dup3, report, top + 1, O_CLOEXEC) < 0) {
    Fail(report, kStepDescriptors, 0);
  }
  exec_fd = top;
  report = top + 1;
  for (int fd = 0; fd < top; ++fd) {
    bool target = false;
    for (size_t i = 0; i < a.remap_count; ++i) {
      if (a.remap[i].second == fd) target = true;
    }
    if (!target) ::syscall(SYS_close, fd);
  }
  ::syscall(SYS_close_range, top + 2, ~0U, 0);
  g_times[2] = Now();

  int exec_pipe[2];
  if (::syscall(SYS_pipe2, exec_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    Fail(report, kStepFork, 0);
  }
  // SIGTERM and friends reach the program (pid 1 takes only signals it
  // handles); SIGCHLD wakes the loop below.
  struct sigaction pass;
  __builtin_memset(&pass, 0, sizeof(pass));
  pass.sa_handler = PassOn;
  ::sigaction(SIGTERM, &pass, nullptr);
  ::sigaction(SIGINT, &pass, nullptr);
  ::sigaction(SIGHUP, &pass, nullptr);
  struct sigaction wake;
  __builtin_memset(&wake, 0, sizeof(wake));
  wake.sa_handler = Wake;
  ::sigaction(SIGCHLD, &wake, nullptr);
  // The program shares this descriptor table until it execs (CLONE_VFORK
  // holds the init until then), so the seccomp listener it makes stays
  // here when its exec drops its own copy.
  long child = ::syscall(SYS_clone, CLONE_VFORK | CLONE_FILES | SIGCHLD,
                         nullptr, nullptr, nullptr, 0);
  if (child < 0) Fail(report, kStepFork, 0);
  // Above the exec pipe (the lowest free numbers) and the listener's own
  // first number: nothing else is open up there.
  const int listener_number =
      (exec_pipe[0] > exec_pipe[1] ? exec_pipe[0] : exec_pipe[1]) + 8;
  if (child == 0) ProgramMain(a, exec_pipe[1], exec_fd, listener_number);
  g_program = static_cast<sig_atomic_t>(child);
  g_times[5] = Now();
  EnclaveReport got;
  while (::syscall(SYS_read, exec_pipe[0], &got, sizeof(got)) == sizeof(got)) {
    if (got.kind == EnclaveReport::kTimes) {
      g_times[3] = got.times[3];
      g_times[4] = got.times[4];
      continue;
    }
    ::syscall(SYS_write, report, &got, sizeof(got));  // a failure
    ::syscall(SYS_exit_group, 127);
  }
  ::syscall(SYS_close, exec_pipe[0]);
  ::syscall(SYS_close, exec_pipe[1]);
  ::syscall(SYS_close, exec_fd);
  for (int fd = 0; fd < top; ++fd) ::syscall(SYS_close, fd);
  int listener = listener_number;
  if (::syscall(SYS_fcntl, listener, F_GETFD) < 0)
    Fail(report, kStepSeccomp, 0);
  Report(report, EnclaveReport::kStarted, 0, 0, static_cast<int32_t>(child));

  // Reap everything and watch the filter; when the program ends or makes
  // a call outside the list, end the whole enclave, then go.
  unsigned long chld[2] = {1UL << (SIGCHLD - 1), 0};
  ::syscall(SYS_rt_sigprocmask, SIG_BLOCK, chld, nullptr, NSIG / 8);
  const unsigned long none[2] = {};
  int program_status = 0;
  bool program_done = false;
  int32_t refused = 0;  // the refused call's number + 1
  while (true) {
    int status = 0;
    long pid = ::syscall(SYS_wait4, -1, &status, __WALL | WNOHANG, nullptr);
    if (pid < 0 && errno == ECHILD) break;  // nothing is left
    if (pid > 0) {
      if (pid == child && !program_done) {
        program_done = true;
        program_status = status;
        g_program = 0;
        ::syscall(SYS_kill, -1, SIGKILL);
      }
      continue;
    }
    struct pollfd pfd = {listener, POLLIN, 0};
    long ready = ::syscall(SYS_ppoll, &pfd, listener >= 0 ? 1 : 0, nullptr,
                           none, NSIG / 8);
    if (ready <= 0 || listener < 0) continue;  // EINTR: a child, a signal
    if (pfd.revents & POLLIN) {
      struct seccomp_notif req;
      __builtin_memset(&req, 0, sizeof(req));
      if (::syscall(SYS_ioctl, listener, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0) {
        if (refused == 0) refused = req.data.nr + 1;
        ::syscall(SYS_kill, -1, SIGKILL);  // the call never runs
      }
    } else if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
      ::syscall(SYS_close, listener);  // no task has the filter any more
      listener = -1;
    }
  }
  Report(report, EnclaveReport::kExited, refused, 0, program_status);
  ::syscall(SYS_exit_group, 0);
  __builtin_unreachable();
}

// clone3's arguments (linux/sched.h's struct clone_args, version 2: with
// the cgroup), spelled out so that no kernel header's CLONE_* clash with
// glibc's.
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};
constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;  // CLONE_INTO_CGROUP

// The init, in its namespaces. With `cgroup_fd` (a cgroup v2 directory)
// it is born in that cgroup (clone3, CLONE_INTO_CGROUP) and *born_in is
// set; where the kernel has no clone3 or refuses it, plain clone.
TAO_ENCLAVE_CHILD int CloneInit(const ChildArgs& a, int cgroup_fd, int* pidfd,
                                bool* born_in) {
  *born_in = false;
  if (cgroup_fd >= 0) {
    CloneArgs args;
    __builtin_memset(&args, 0, sizeof(args));
    args.flags = kNamespaces | CLONE_PIDFD | kCloneIntoCgroup;
    args.pidfd = reinterpret_cast<uint64_t>(pidfd);
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
    long pid = ::syscall(SYS_clone3, &args, sizeof(args));
    if (pid == 0) InitMain(a);
    if (pid > 0) {
      *born_in = true;
      return static_cast<int>(pid);
    }
    if (errno != ENOSYS && errno != E2BIG && errno != EINVAL) return -1;
  }
  long pid = ::syscall(SYS_clone, kNamespaces | CLONE_PIDFD | SIGCHLD, nullptr,
                       pidfd, nullptr, 0);
  if (pid == 0) InitMain(a);
  return static_cast<int>(pid);
}

absl::Status WriteProcFile(pid_t pid, const char* file,
                           const std::string& text) {
  std::string path = absl::StrCat("/proc/", pid, "/", file);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, "open " + path);
  if (::write(fd.get(), text.data(), text.size()) !=
      static_cast<ssize_t>(text.size())) {
    return absl::ErrnoToStatus(errno, "write " + path);
  }
  return absl::OkStatus();
}

std::vector<char*> Pointers(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

absl::StatusOr<EnclaveProcess> LaunchEnclave(
    const EnclaveLaunchOptions& options, EnclaveLaunchTimes* times) {
  if (options.root == nullptr || options.landlock == nullptr ||
      options.seccomp == nullptr || options.exec_fd < 0 ||
      options.argv.empty()) {
    return absl::InvalidArgumentError("an enclave launch misses a layer");
  }
  int go[2], report[2];
  if (::pipe2(go, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
  UniqueFd go_read(go[0]), go_write(go[1]);
  if (::pipe2(report, O_CLOEXEC) != 0) {
    return absl::ErrnoToStatus(errno, "pipe2");
  }
  UniqueFd report_read(report[0]), report_write(report[1]);
  std::vector<char*> argv = Pointers(options.argv);
  std::vector<char*> envp = Pointers(options.envp);
  ChildArgs a;
  a.o = &options;
  a.go_fd = go_read.get();
  a.report_fd = report_write.get();
  a.argv = argv.data();
  a.envp = envp.data();
  a.remap = options.fds_to_remap.data();
  a.remap_count = options.fds_to_remap.size();
  a.max_target = 2;
  for (const auto& [from, to] : options.fds_to_remap) {
    a.max_target = std::max(a.max_target, to);
  }
  const int64_t start = Now();
  // No host signal handler may run in the child before it resets them.
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  int pidfd = -1;
  bool born_in_cgroup = false;
  int pid = CloneInit(
      a, options.cgroups != nullptr ? options.cgroups->clone_into_fd() : -1,
      &pidfd, &born_in_cgroup);
  int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    return absl::ErrnoToStatus(clone_errno,
                               "clone the enclave's namespaces (user, pid, "
                               "mount, network, ipc, uts)");
  }
  EnclaveProcess out;
  out.pid_ = pid;
  out.pidfd_.Reset(pidfd);
  report_write.Reset();
  go_read.Reset();
  TAO_RETURN_IF_ERROR(WriteProcFile(pid, "setgroups", "deny"));
  TAO_RETURN_IF_ERROR(WriteProcFile(
      pid, "uid_map", absl::StrCat("0 ", options.outside_uid, " 1\n")));
  TAO_RETURN_IF_ERROR(WriteProcFile(
      pid, "gid_map", absl::StrCat("0 ", options.outside_gid, " 1\n")));
  const int64_t mapped = Now();
  // 'g': the init builds its root while this thread joins it to the
  // cgroups; 'c': joined, it may go on to start the program. A failed join
  // sends no 'c' (the init ends at the end of the pipe, and `out` is
  // killed and reaped on return).
  if (::write(go_write.get(), "g", 1) != 1) {
    return absl::ErrnoToStatus(errno, "release the enclave's init");
  }
  if (options.cgroups != nullptr && !born_in_cgroup) {
    TAO_RETURN_IF_ERROR(options.cgroups->AddProcess(pid));
  }
  const int64_t joined = Now();
  if (::write(go_write.get(), "c", 1) != 1) {
    return absl::ErrnoToStatus(errno, "release the enclave's init");
  }
  go_write.Reset();
  EnclaveReport r;
  ssize_t n;
  do {
    n = ::read(report_read.get(), &r, sizeof(r));
  } while (n < 0 && errno == EINTR);
  if (n != sizeof(r) || r.kind != EnclaveReport::kStarted) {
    std::string why = n != sizeof(r)
                          ? std::string("the init ended without a report")
                          : absl::StrCat(EnclaveStepName(r.step), ": ",
                                         std::strerror(r.error));
    if (n == sizeof(r) && r.step == kStepRoot) {
      why = absl::StrCat(EnclaveStepName(r.step), ": ",
                         options.root->Describe(RootFailure{r.value, r.error}));
    }
    if (n == sizeof(r) && r.step == kStepLandlock) {
      why = absl::StrCat(
          EnclaveStepName(r.step), ": ",
          options.landlock->Describe(LandlockFailure{r.value, r.error}));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("the enclave did not start: ", why));
  }
  out.inner_pid_ = r.value;
  if (::fcntl(report_read.get(), F_SETFL, O_NONBLOCK) != 0) {
    return absl::ErrnoToStatus(errno, "make the report pipe non-blocking");
  }
  out.report_ = std::move(report_read);
  if (times != nullptr) {
    const int64_t started = Now();
    auto span = [](int64_t from, int64_t to) {
      return absl::Nanoseconds(to > from ? to - from : 0);
    };
    times->clone = span(start, mapped);
    // The cgroup join runs beside the root and the pivot.
    times->cgroup = span(mapped, joined);
    times->root = span(mapped, r.times[0]);
    times->pivot = span(r.times[0], r.times[1]);
    times->descriptors = span(std::max(r.times[1], joined), r.times[2]);
    times->landlock = span(r.times[2], r.times[3]);
    times->seccomp = span(r.times[3], r.times[4]);
    times->exec = span(r.times[4], r.times[5]);
    times->setup = span(mapped, started);
  }
  return out;
}

}  // namespace tao
