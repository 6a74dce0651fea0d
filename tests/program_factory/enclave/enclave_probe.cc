// enclave-probe: a hosted program for the enclave factory's tests, linked
// with the client library. It runs inside an enclave and either uses the
// Tao or tries one way out:
//
//   enclave-probe keep FILE      seal if FILE is missing, else unseal
//   enclave-probe name           print the Tao name
//   enclave-probe hold           print "holding", then sleep until killed
//   enclave-probe forks          fork until refused, print the count
//   enclave-probe abort          crash (SIGABRT)
//   enclave-probe sleep          two children, then all wait until killed
//   enclave-probe alloc MIB      touch MIB MiB of memory
//   enclave-probe signals        print how many signals are ignored or
//                                blocked (both must be 0: the host's
//                                dispositions and mask do not reach it;
//                                handlers end at exec anyway)
//   enclave-probe escape MODE [ARG]  one escape attempt (modes below)
//
// An escape that is refused prints "<mode>: refused <ERRNO>" and exits 0;
// one that works prints "<mode>: ALLOWED" and exits 1. The modes that
// seccomp kills never return (the host sees SIGSYS). Exit 3: a Tao error.
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "absl/base/config.h"
#include "channels/rpc_tao.h"
#include "tao/file_util.h"

// ABSL_HAVE_ADDRESS_SANITIZER: GCC's __SANITIZE_ADDRESS__ or clang's
// __has_feature(address_sanitizer).
#if defined(ABSL_HAVE_ADDRESS_SANITIZER)
// In a sanitizer build: LeakSanitizer cannot run in an enclave (it reads
// /proc and ptraces the process at exit, and an enclave has no /proc and
// seccomp refuses both), and without /proc ASan cannot read ASAN_OPTIONS
// from the environment (it reads /proc/self/environ): so the default here.
// ASan also turns core dumps off by default; the DEBUG test wants them.
extern "C" const char* __asan_default_options() {
  return "detect_leaks=0:disable_coredump=0";
}
#endif

namespace {

constexpr char kData[] = "enclave-probe sealed data";

int Fail(const absl::Status& status) {
  std::cout << "error: " << status << std::endl;
  return 3;
}

// Prints the outcome of a call that must fail.
int Refused(const std::string& mode, long rc) {
  if (rc >= 0) {
    std::cout << mode << ": ALLOWED" << std::endl;
    return 1;
  }
  std::cout << mode << ": refused " << strerrorname_np(errno) << std::endl;
  return 0;
}

int Escape(const std::string& mode, const char* arg) {
  if (mode == "read-host") return Refused(mode, ::open(arg, O_RDONLY));
  if (mode == "write-root") {
    return Refused(mode, ::open("/planted", O_WRONLY | O_CREAT, 0644));
  }
  if (mode == "write-entry") return Refused(mode, ::open(arg, O_WRONLY));
  if (mode == "exec-written") {
    // Copy our own (measured) entry into the writable mount and run it.
    auto bytes = tao::ReadFileToString(arg);
    if (!bytes.ok()) return Fail(bytes.status());
    std::string copy = "/data/copy";
    int fd = ::open(copy.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (fd < 0) return Fail(absl::ErrnoToStatus(errno, "create the copy"));
    if (::write(fd, bytes->data(), bytes->size()) !=
        static_cast<ssize_t>(bytes->size())) {
      return Fail(absl::ErrnoToStatus(errno, "write the copy"));
    }
    ::close(fd);
    char* argv[] = {copy.data(), nullptr};
    return Refused(mode, ::execve(copy.c_str(), argv, environ));
  }
  if (mode == "socket") return Refused(mode, ::socket(AF_INET, SOCK_STREAM, 0));
  if (mode == "signal-host") {
    return Refused(mode, ::kill(static_cast<pid_t>(atoi(arg)), SIGKILL));
  }
  if (mode == "memfd-shrink") return Refused(mode, ::ftruncate(3, 0));
  if (mode == "memfd-grow") return Refused(mode, ::ftruncate(3, 1 << 30));
  if (mode == "memfd-seal") {
    return Refused(mode, ::fcntl(3, F_ADD_SEALS, F_SEAL_WRITE));
  }
  // Killed by seccomp: these do not return.
  if (mode == "ptrace") ::ptrace(PTRACE_ATTACH, 1, nullptr, nullptr);
  if (mode == "mount") ::mount("none", "/data", "tmpfs", 0, nullptr);
  if (mode == "unshare") ::unshare(CLONE_NEWNS);
  if (mode == "keyctl") ::syscall(SYS_keyctl, 0, 0, 0, 0, 0);
  if (mode == "bpf") {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    ::syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
  }
  if (mode == "tiocsti") {
    char c = 'x';
    ::ioctl(0, TIOCSTI, &c);
  }
  std::cout << mode << ": survived" << std::endl;
  return 1;
}

int Run(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string command = argv[1];
  if (command == "forks") {
    int n = 0;
    while (n < 1000) {
      pid_t pid = ::fork();
      if (pid == 0) {
        ::pause();
        _exit(0);
      }
      if (pid < 0) break;
      ++n;
    }
    std::cout << "forked " << n << " (" << strerrorname_np(errno) << ")"
              << std::endl;
    return 0;
  }
  if (command == "abort") ::abort();
  if (command == "signals") {
    int ignored = 0, blocked = 0;
    sigset_t mask;
    ::sigprocmask(SIG_BLOCK, nullptr, &mask);
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction sa;
      if (::sigaction(sig, nullptr, &sa) != 0) continue;  // glibc's own
      if (sa.sa_handler == SIG_IGN) ++ignored;
      if (::sigismember(&mask, sig) == 1) ++blocked;
    }
    std::cout << "signals: " << ignored << " ignored, " << blocked << " blocked"
              << std::endl;
    return 0;
  }
  if (command == "sleep") {
    // Two children and itself, all waiting until killed.
    for (int i = 0; i < 2; ++i) {
      if (::fork() == 0) {
        while (true) ::pause();
      }
    }
    std::cout << "sleeping" << std::endl;
    while (true) ::pause();
  }
  if (command == "alloc" && argc >= 3) {
    size_t bytes = static_cast<size_t>(atoi(argv[2])) << 20;
    char* p = static_cast<char*>(::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (p == MAP_FAILED) return Refused("alloc", -1);
    for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
    std::cout << "touched " << argv[2] << " MiB" << std::endl;
    return 0;
  }
  if (command == "escape" && argc >= 3) {
    return Escape(argv[2], argc >= 4 ? argv[3] : "");
  }
  auto tao = tao::TaoFromEnvironment();
  if (!tao.ok()) return Fail(tao.status());
  if (command == "name") {
    auto name = (*tao)->GetTaoName();
    if (!name.ok()) return Fail(name.status());
    std::cout << "name: " << name->text() << std::endl;
    return 0;
  }
  if (command == "hold") {
    std::cout << "holding" << std::endl;
    while (true) ::sleep(1);
  }
  if (command == "keep" && argc >= 3) {
    const std::string path = argv[2];
    if (tao::PathExists(path)) {
      auto bundle = tao::ReadFileToString(path);
      if (!bundle.ok()) return Fail(bundle.status());
      auto unsealed = (*tao)->Unseal(*bundle);
      if (!unsealed.ok()) return Fail(unsealed.status());
      std::cout << "data: " << std::string(unsealed->data.view()) << std::endl;
      return 0;
    }
    auto bundle = (*tao)->Seal(kData, "");
    if (!bundle.ok()) return Fail(bundle.status());
    absl::Status written = tao::WriteFileAtomically(path, *bundle, 0600);
    if (!written.ok()) return Fail(written);
    std::cout << "sealed " << bundle->size() << " bytes" << std::endl;
    return 0;
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
