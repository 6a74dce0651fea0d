#include "program_factory/enclave/seccomp_filter.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "program_factory/internal/clone_child.h"
#include "tao/unique_fd.h"

namespace tao {
namespace {

// Allowed without conditions. Sorted by job; docs/enclave-sandbox.md lists
// them too.
const char* const kAllowed[] = {
    // Descriptors and files (in the root and the declared mounts).
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "lseek",
    "close",
    "close_range",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "pipe",
    "pipe2",
    "open",
    "openat",
    "stat",
    "fstat",
    "lstat",
    "newfstatat",
    "statx",
    "statfs",
    "fstatfs",
    "access",
    "faccessat",
    "faccessat2",
    "readlink",
    "readlinkat",
    "getdents64",
    "getcwd",
    "chdir",
    "fchdir",
    "mkdir",
    "mkdirat",
    "rmdir",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "ftruncate",
    "truncate",
    "fsync",
    "fdatasync",
    "fchmod",
    "umask",
    "flock",
    "fadvise64",
    "sendfile",
    "copy_file_range",
    "getxattr",
    "lgetxattr",
    "fgetxattr",
    "listxattr",
    "llistxattr",
    "flistxattr",
    // Memory.
    "brk",
    "mmap",
    "munmap",
    "mprotect",
    "mremap",
    "madvise",
    "mincore",
    "membarrier",
    // Signals (a pid namespace keeps them inside the enclave).
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigpending",
    "sigaltstack",
    "kill",
    "tgkill",
    "tkill",
    "pause",
    // A sleep interrupted by a stop or a freeze resumes through it.
    "restart_syscall",
    // Processes and threads (clone's flags are checked below).
    "exit",
    "exit_group",
    "wait4",
    "waitid",
    "execve",
    "execveat",
    "set_tid_address",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "arch_prctl",
    "futex",
    "sched_yield",
    "sched_getaffinity",
    "sched_getparam",
    "sched_getscheduler",
    "getpid",
    "gettid",
    "getppid",
    "getpgrp",
    "getpgid",
    "getsid",
    "setsid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getgroups",
    "getresuid",
    "getresgid",
    "getrlimit",
    "prlimit64",
    "getrusage",
    "uname",
    "sysinfo",
    "times",
    // Time and randomness.
    "clock_gettime",
    "clock_getres",
    "clock_nanosleep",
    "nanosleep",
    "gettimeofday",
    "time",
    "getrandom",
    // Waiting and the channel (descriptors it was given).
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "eventfd2",
    "recvmsg",
    "sendmsg",
    "recvfrom",
    "sendto",
    "shutdown",
    "getsockname",
    "getpeername",
    "getsockopt",
};

// ioctl requests a program may make: terminal queries and descriptor
// flags. Not TIOCSTI (faking terminal input) nor any device's.
const unsigned long kAllowedIoctls[] = {TCGETS,  TIOCGWINSZ, FIONREAD,
                                        FIONBIO, FIOCLEX,    FIONCLEX};

// prctl options a program may use: its thread names.
const int kAllowedPrctls[] = {PR_SET_NAME, PR_GET_NAME};

// clone flags that make namespaces, or share state outside the enclave's
// own threads; a clone with any of them is killed.
constexpr uint64_t kForbiddenCloneFlags =
    CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
    CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME;

// Argument `arg` equals `value` (every field set: clang checks them).
struct scmp_arg_cmp Equals(unsigned int arg, uint64_t value) {
  return scmp_arg_cmp{arg, SCMP_CMP_EQ, value, 0};
}

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};

absl::Status Rule(int rc, absl::string_view what) {
  if (rc == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("libseccomp refused the rule for ",
                                          what, ": ", std::strerror(-rc)));
}

}  // namespace

const std::vector<std::string>& SeccompFilter::AllowedNames() {
  static const auto* names =
      new std::vector<std::string>(std::begin(kAllowed), std::end(kAllowed));
  return *names;
}

absl::StatusOr<SeccompFilter> SeccompFilter::BuildEnclaveAllowList() {
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(SCMP_ACT_KILL_PROCESS));
  if (ctx == nullptr) return absl::InternalError("seccomp_init failed");
  for (const char* name : kAllowed) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    absl::Status s =
        Rule(seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0), name);
    if (!s.ok()) return s;
  }
  for (unsigned long request : kAllowedIoctls) {
    absl::Status s =
        Rule(seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                              Equals(1, request)),
             "ioctl");
    if (!s.ok()) return s;
  }
  for (int option : kAllowedPrctls) {
    absl::Status s =
        Rule(seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                              Equals(0, static_cast<uint64_t>(option))),
             "prctl");
    if (!s.ok()) return s;
  }
  // clone: allowed without namespace flags (threads and fork).
  absl::Status s = Rule(
      seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                       SCMP_A0(SCMP_CMP_MASKED_EQ, kForbiddenCloneFlags, 0)),
      "clone");
  if (!s.ok()) return s;
  // clone3 passes its flags in memory a filter cannot read: ENOSYS, so
  // glibc uses clone.
  s = Rule(
      seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0),
      "clone3");
  if (!s.ok()) return s;
  // No network: socket() fails (libraries that probe for it go on).
  s = Rule(
      seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 0),
      "socket");
  if (!s.ok()) return s;
  // The filter sets no_new_privs itself in Install.
  s = Rule(seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0), "no_new_privs");
  if (!s.ok()) return s;
  // A binary search over the call numbers instead of a list (libseccomp's
  // optimize level 2).
  s = Rule(seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2),
           "optimize");
  if (!s.ok()) return s;

  UniqueFd memfd(::memfd_create("tao-seccomp", MFD_CLOEXEC));
  if (!memfd.valid()) return absl::ErrnoToStatus(errno, "memfd_create");
  s = Rule(seccomp_export_bpf(ctx.get(), memfd.get()), "export");
  if (!s.ok()) return s;
  off_t size = ::lseek(memfd.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(struct sock_filter) != 0) {
    return absl::InternalError("libseccomp exported no BPF program");
  }
  SeccompFilter filter;
  filter.program_.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(memfd.get(), filter.program_.data(), static_cast<size_t>(size),
              0) != size) {
    return absl::ErrnoToStatus(errno, "read the BPF program");
  }
  return filter;
}

int SeccompFilter::Install() const {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  struct sock_fprog prog;
  prog.len = static_cast<unsigned short>(program_.size());
  prog.filter = const_cast<struct sock_filter*>(program_.data());
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                &prog) != 0) {
    return errno;
  }
  return 0;
}

SeccompFilter SeccompFilter::WithNotify() const {
  SeccompFilter out = *this;
  for (struct sock_filter& insn : out.program_) {
    if (insn.code == (BPF_RET | BPF_K) && (insn.k == SECCOMP_RET_KILL_PROCESS ||
                                           insn.k == SECCOMP_RET_KILL_THREAD)) {
      insn.k = SECCOMP_RET_USER_NOTIF;
    }
  }
  return out;
}

// Runs in the enclave's program before its exec (enclave_init.cc): raw
// system calls, no sanitizer instrumentation.
TAO_CLONE_CHILD int SeccompFilter::InstallWithListener(int* listener) const {
  if (::syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  struct sock_fprog prog;
  prog.len = static_cast<unsigned short>(program_.size());
  prog.filter = const_cast<struct sock_filter*>(program_.data());
  long fd = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                      SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (fd < 0) return errno;
  *listener = static_cast<int>(fd);
  return 0;
}

}  // namespace tao
