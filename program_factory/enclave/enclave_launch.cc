#include "program_factory/enclave/enclave_launch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "program_factory/enclave/enclave_init.h"
#include "tao/file_util.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

// Writes `text` to /proc/<pid>/<file> (the user namespace's maps).
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

// The strings' C pointers, ending with nullptr, for execve.
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
  EnclaveInitArgs a;
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
  const int64_t start = EnclaveClockNanos();
  // No host signal handler may run in the child before it resets them.
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  int pidfd = -1;
  bool born_in_cgroup = false;
  int pid = CloneEnclaveInit(
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
  const int64_t mapped = EnclaveClockNanos();
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
  const int64_t joined = EnclaveClockNanos();
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
    const int64_t started = EnclaveClockNanos();
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
