// The enclave's seccomp allow-list, installed for real in children: real
// programs (glibc start-up, threads, files) still run under it; each escape
// a hostile enclave would try is killed with SIGSYS (or, for socket(),
// refused with EACCES), and the filter cannot be undone.
#include "program_factory/enclave/seccomp_filter.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;

// Runs `body` in a child under the filter; returns its wait status.
int UnderFilter(const SeccompFilter& filter, const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    if (filter.Install() != 0) _exit(120);
    _exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

bool KilledBySigsys(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

bool Exited(int status, int code) {
  return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

class SeccompFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto filter = SeccompFilter::BuildEnclaveAllowList();
    ASSERT_THAT(filter, IsOk());
    filter_ = std::make_unique<SeccompFilter>(*std::move(filter));
    ASSERT_GT(filter_->size(), 10u);
  }
  std::unique_ptr<SeccompFilter> filter_;
};

TEST_F(SeccompFilterTest, RealProgramsStillRun) {
  EXPECT_TRUE(Exited(UnderFilter(*filter_,
                                 [] {
                                   ::execl("/bin/true", "true", nullptr);
                                   return 90;
                                 }),
                     0));
  EXPECT_TRUE(Exited(UnderFilter(*filter_,
                                 [] {
                                   ::execl("/bin/ls", "ls", "-la", "/",
                                           nullptr);
                                   return 90;
                                 }),
                     0));
  // Threads (clone3 falls back to clone without namespace flags).
  EXPECT_TRUE(Exited(UnderFilter(*filter_,
                                 [] {
                                   int value = 0;
                                   std::thread t([&] { value = 7; });
                                   t.join();
                                   return value;
                                 }),
                     7));
  // fork, a pipe, and files.
  EXPECT_TRUE(Exited(UnderFilter(*filter_,
                                 [] {
                                   int fds[2];
                                   if (::pipe2(fds, O_CLOEXEC) != 0) return 1;
                                   pid_t p = ::fork();
                                   if (p == 0) {
                                     (void)!::write(fds[1], "x", 1);
                                     _exit(0);
                                   }
                                   char c = 0;
                                   if (::read(fds[0], &c, 1) != 1) return 2;
                                   int st = 0;
                                   ::waitpid(p, &st, 0);
                                   int fd = ::open("/etc/hostname", O_RDONLY);
                                   return c == 'x' && fd >= 0 ? 0 : 3;
                                 }),
                     0));
}

TEST_F(SeccompFilterTest, NetworkSocketsAreRefused) {
  EXPECT_TRUE(Exited(UnderFilter(*filter_,
                                 [] {
                                   int s = ::socket(AF_INET, SOCK_STREAM, 0);
                                   return s < 0 && errno == EACCES ? 0 : 1;
                                 }),
                     0));
  EXPECT_TRUE(Exited(UnderFilter(*filter_,
                                 [] {
                                   int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
                                   return s < 0 && errno == EACCES ? 0 : 1;
                                 }),
                     0));
}

TEST_F(SeccompFilterTest, EscapesAreKilled) {
  struct Case {
    const char* what;
    std::function<int()> attempt;
  };
  const Case cases[] = {
      {"mount", [] { return ::mount("none", "/tmp", "tmpfs", 0, nullptr); }},
      {"umount", [] { return ::umount2("/tmp", 0); }},
      {"unshare", [] { return ::unshare(CLONE_NEWNS); }},
      {"setns", [] { return ::setns(0, 0); }},
      {"clone into a user namespace",
       [] {
         return static_cast<int>(::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD,
                                           nullptr, nullptr, nullptr, nullptr));
       }},
      {"ptrace", [] { return static_cast<int>(::ptrace(PTRACE_TRACEME)); }},
      {"process_vm_readv",
       [] {
         return static_cast<int>(
             ::syscall(SYS_process_vm_readv, 1, nullptr, 0, nullptr, 0, 0));
       }},
      {"keyctl",
       [] { return static_cast<int>(::syscall(SYS_keyctl, 0, 0, 0, 0, 0)); }},
      {"add_key",
       [] {
         return static_cast<int>(
             ::syscall(SYS_add_key, "user", "k", "v", 1, -3));
       }},
      {"bpf",
       [] {
         union bpf_attr attr = {};
         return static_cast<int>(
             ::syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
       }},
      {"perf_event_open",
       [] {
         return static_cast<int>(
             ::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0));
       }},
      {"TIOCSTI",
       [] {
         char c = 'x';
         return ::ioctl(0, TIOCSTI, &c);
       }},
      {"memfd_create (unmeasured code)", [] { return ::memfd_create("x", 0); }},
      {"chroot", [] { return ::chroot("/"); }},
      {"pivot_root",
       [] { return static_cast<int>(::syscall(SYS_pivot_root, "/", "/")); }},
      {"init_module",
       [] {
         return static_cast<int>(::syscall(SYS_init_module, nullptr, 0, ""));
       }},
      {"reboot",
       [] {
         return static_cast<int>(::syscall(SYS_reboot, 0, 0, 0, nullptr));
       }},
      {"setuid", [] { return ::setuid(0); }},
      {"prctl to drop the filter's guard",
       [] { return ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); }},
      {"a second seccomp filter",
       [] { return static_cast<int>(::syscall(SYS_seccomp, 1, 0, nullptr)); }},
      {"io_uring_setup",
       [] {
         return static_cast<int>(::syscall(SYS_io_uring_setup, 1, nullptr));
       }},
      {"userfaultfd",
       [] { return static_cast<int>(::syscall(SYS_userfaultfd, 0)); }},
  };
  for (const Case& c : cases) {
    int status = UnderFilter(*filter_, c.attempt);
    EXPECT_TRUE(KilledBySigsys(status))
        << c.what << ": status " << status
        << (WIFEXITED(status) ? " (it returned)" : "");
  }
}

TEST_F(SeccompFilterTest, SetsNoNewPrivs) {
  EXPECT_TRUE(
      Exited(UnderFilter(*filter_,
                         [] {
                           char buf[8192];
                           int fd = ::open("/proc/self/status", O_RDONLY);
                           ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
                           if (n <= 0) return 2;
                           buf[n] = 0;
                           return std::strstr(buf, "NoNewPrivs:\t1") ? 0 : 1;
                         }),
             0));
}

TEST_F(SeccompFilterTest, TheAllowListNamesNothingDangerous) {
  for (const char* forbidden :
       {"mount", "umount2", "unshare", "setns", "ptrace", "keyctl", "bpf",
        "socket", "memfd_create", "chroot", "pivot_root", "init_module",
        "ioctl", "prctl", "clone3", "seccomp", "io_uring_setup"}) {
    EXPECT_THAT(SeccompFilter::AllowedNames(),
                ::testing::Not(::testing::Contains(forbidden)))
        << forbidden;
  }
}

}  // namespace
}  // namespace tao
