// The child side of LaunchEnclave: the enclave's init (pid 1 of its pid
// namespace) and the program it forks, from clone() to execveat. This code
// runs in a process cloned from a threaded host without CLONE_VM: it makes
// raw system calls only, allocates nothing, and this file's functions are
// built without sanitizers (TAO_CLONE_CHILD). The Landlock, seccomp and
// root steps it calls are other files' (see their Apply/Install comments).
#include "program_factory/enclave/enclave_init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "program_factory/internal/clone_child.h"

namespace tao {

TAO_CLONE_CHILD int64_t EnclaveClockNanos() {
  struct timespec ts;
  ::syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

namespace {

// The init's program, for its signal handler (the init's own copy of this
// variable: it is cloned from the host without CLONE_VM; the program shares
// it until its exec, while it is still 0).
volatile sig_atomic_t g_program = 0;

// The init's step times, for the "started" report.
int64_t g_times[6] = {};

TAO_CLONE_CHILD void Report(int fd, int32_t kind, int32_t step, int32_t error,
                            int32_t value) {
  EnclaveReport r;
  for (int i = 0; i < 6; ++i) r.times[i] = g_times[i];
  r.kind = kind;
  r.step = step;
  r.error = error;
  r.value = value;
  ::syscall(SYS_write, fd, &r, sizeof(r));
}

[[noreturn]] TAO_CLONE_CHILD void Fail(int fd, int32_t step, int32_t value) {
  Report(fd, EnclaveReport::kFailed, step, errno, value);
  ::syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

TAO_CLONE_CHILD void PassOn(int sig) {
  if (g_program > 0) ::syscall(SYS_kill, g_program, sig);
}

TAO_CLONE_CHILD void Wake(int) {}

// The program, from the init's vfork to execveat: `fd` is the exec pipe,
// `listener_number` where the seccomp listener goes (in the descriptor
// table it shares with the init until it execs).
[[noreturn]] TAO_CLONE_CHILD void ProgramMain(const EnclaveInitArgs& a, int fd,
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
  g_times[3] = EnclaveClockNanos();
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
  g_times[4] = EnclaveClockNanos();
  Report(fd, EnclaveReport::kTimes, 0, 0, 0);
  ::syscall(SYS_execveat, exec_fd, "", a.argv, a.envp, AT_EMPTY_PATH);
  Fail(fd, kStepExec, 0);
}

// ProgramMain's arguments, through clone()'s one pointer.
struct ProgramStart {
  const EnclaveInitArgs* a;
  int exec_pipe;
  int exec_fd;
  int listener_number;
};

TAO_CLONE_CHILD int ProgramEntry(void* arg) {
  const ProgramStart* s = static_cast<const ProgramStart*>(arg);
  ProgramMain(*s->a, s->exec_pipe, s->exec_fd, s->listener_number);
}

// The program's stack until it execs, with a guard page below it: enough
// for ProgramMain, Landlock's and seccomp's calls and a signal frame.
constexpr size_t kProgramStackSize = size_t{64} << 10;
constexpr size_t kGuardSize = 4096;

TAO_CLONE_CHILD bool BringUpLoopback() {
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
[[noreturn]] TAO_CLONE_CHILD void InitMain(const EnclaveInitArgs& a) {
  // The host blocked every signal around clone(): reset every handler of
  // the host's, then unblock.
  ResetSignalsInCloneChild();
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
  g_times[0] = EnclaveClockNanos();
  const char* dir = a.o->root_dir.c_str();
  if (::syscall(SYS_chdir, dir) != 0 ||
      ::syscall(SYS_pivot_root, ".", ".") != 0 ||
      ::syscall(SYS_umount2, ".", MNT_DETACH) != 0 ||
      ::syscall(SYS_chdir, "/") != 0) {
    Fail(report, kStepPivot, 0);
  }
  if (!BringUpLoopback()) Fail(report, kStepLoopback, 0);
  ::syscall(SYS_sethostname, "enclave", 7);
  g_times[1] = EnclaveClockNanos();
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
  g_times[2] = EnclaveClockNanos();

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
  // here when its exec drops its own copy. It shares the init's memory too
  // (CLONE_VM, on a stack of its own), as posix_spawn's child does: the
  // init is a copy of the host's whole address space, and copying it again
  // only to drop it at exec cost about 0.4 ms a start (bench/enclave). The
  // handlers it has until it resets them (PassOn, Wake) touch nothing of
  // the init's but g_program, which is 0 until the program has exec'd.
  const size_t map_size = kProgramStackSize + kGuardSize;
  void* stack = reinterpret_cast<void*>(::syscall(
      SYS_mmap, nullptr, map_size, PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0));
  if (stack == MAP_FAILED ||
      ::syscall(SYS_mprotect, stack, kGuardSize, PROT_NONE) != 0) {
    Fail(report, kStepFork, 0);
  }
  ProgramStart start;
  start.a = &a;
  start.exec_pipe = exec_pipe[1];
  start.exec_fd = exec_fd;
  // Above the exec pipe (the lowest free numbers) and the listener's own
  // first number: nothing else is open up there.
  start.listener_number =
      (exec_pipe[0] > exec_pipe[1] ? exec_pipe[0] : exec_pipe[1]) + 8;
  const int listener_number = start.listener_number;
  long child = ::clone(ProgramEntry, static_cast<char*>(stack) + map_size,
                       CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &start);
  if (child < 0) Fail(report, kStepFork, 0);
  // The program has exec'd or ended: nothing runs on its stack any more.
  ::syscall(SYS_munmap, stack, map_size);
  g_program = static_cast<sig_atomic_t>(child);
  g_times[5] = EnclaveClockNanos();
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

}  // namespace

TAO_CLONE_CHILD int CloneEnclaveInit(const EnclaveInitArgs& a, int cgroup_fd,
                                     int* pidfd, bool* born_in) {
  *born_in = false;
  if (cgroup_fd >= 0) {
    CloneArgs args;
    __builtin_memset(&args, 0, sizeof(args));
    args.flags = kEnclaveNamespaces | CLONE_PIDFD | kCloneIntoCgroup;
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
  long pid = ::syscall(SYS_clone, kEnclaveNamespaces | CLONE_PIDFD | SIGCHLD,
                       nullptr, pidfd, nullptr, 0);
  if (pid == 0) InitMain(a);
  return static_cast<int>(pid);
}

}  // namespace tao
