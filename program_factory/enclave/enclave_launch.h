// Starting an enclave: clone() into new user, pid, mount, network, ipc and
// uts namespaces; the first process there is a minimal init (pid 1) that
// joins a cgroup namespace, builds the private root, pivots into it, brings
// up the loopback interface, closes every descriptor but the program's, and
// forks the program, which applies Landlock and seccomp and executes the
// entry binary from its sealed memfd. The init reaps whatever the program
// leaves, ends with it, and reports to the host over a pipe how setup went
// and how the program ended. The filter's kills are user notifications the
// init holds the listener of: a call outside the list never runs, the init
// ends the whole enclave and reports which call it was. Everything the child
// needs is prepared before clone(); the child makes system calls only.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_ENCLAVE_LAUNCH_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_ENCLAVE_LAUNCH_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "program_factory/enclave/cgroup_limits.h"
#include "program_factory/enclave/landlock_policy.h"
#include "program_factory/enclave/private_root.h"
#include "program_factory/enclave/seccomp_filter.h"
#include "tao/unique_fd.h"

namespace tao {

// What one launch needs; the pointers are borrowed for the call only.
struct EnclaveLaunchOptions {
  const PrivateRootLayout* root = nullptr;   // applied by the init
  std::string root_dir;                      // where `root` is built
  const LandlockPolicy* landlock = nullptr;  // applied by the program
  // The last layer before exec: a SeccompFilter::WithNotify() filter.
  const SeccompFilter* seccomp = nullptr;
  EnclaveCgroups* cgroups = nullptr;  // the init joins before it runs
  int exec_fd = -1;                   // the entry's sealed memfd
  std::vector<std::string> argv;      // argv[0] included
  std::vector<std::string> envp;      // "NAME=value"
  // {descriptor in the host, number in the enclave}; nothing else of the
  // host's reaches the enclave.
  std::vector<std::pair<int, int>> fds_to_remap;
  // Who the enclave's root (uid 0 inside) is outside: one unprivileged
  // uid and gid, mapped alone.
  uid_t outside_uid = 65534;
  gid_t outside_gid = 65534;
  // DEBUG on: RLIMIT_CORE as high as the hard limit allows; off: 0, the
  // hard limit too (the program cannot raise it).
  bool allow_core_dump = false;
  std::string working_dir = "/";  // the program's, inside the root
};

// How long each step took, for the start-up breakdown (bench/enclave).
struct EnclaveLaunchTimes {
  absl::Duration clone;        // clone() with the namespaces, maps written
  absl::Duration cgroup;       // joined (beside the root and the pivot)
  absl::Duration root;         // the private root built
  absl::Duration pivot;        // pivot_root, loopback, host name
  absl::Duration descriptors;  // cgroups joined, handed over, rest closed
  absl::Duration landlock;     // the program's vfork and Landlock
  absl::Duration seccomp;      // the filter installed
  absl::Duration exec;         // execveat until the new image runs
  absl::Duration setup;        // from 'g' to the "started" report
};

// What the init reports: setup failed at a step, the program started, or
// it ended (its wait status). Plain data; the encoding is the pipe's.
struct EnclaveReport {
  enum Kind : int32_t {
    kNone = 0,
    kFailed = 1,
    kStarted = 2,
    kExited = 3,
    kTimes = 4  // the program's, before its exec (times[3], times[4])
  };
  int32_t kind = kNone;
  int32_t step = 0;   // kFailed: an EnclaveStep; kExited: the system call
                      // seccomp refused + 1, 0 if none
  int32_t error = 0;  // kFailed: errno
  int32_t value = 0;  // kFailed: the root step / Landlock rule; kExited:
                      // the wait status; kStarted: the program's pid there
  // kStarted: CLOCK_MONOTONIC ns after the root, the pivot, the
  // descriptors, Landlock, seccomp and the exec (for the breakdown).
  int64_t times[6] = {};
};

// The steps the init and the program take, in order.
enum EnclaveStep : int32_t {
  kStepGo = 1,       // waiting for the host's maps, then its cgroups
  kStepIdentity,     // uid and gid 0 inside (the outside uid)
  kStepSession,      // setsid
  kStepCgroupNs,     // unshare(CLONE_NEWCGROUP)
  kStepPrivate,      // make "/" private
  kStepRoot,         // the private root (value: its step)
  kStepPivot,        // pivot_root into it
  kStepLoopback,     // lo up
  kStepDescriptors,  // the program's descriptors
  kStepFork,         // the program
  kStepLimits,       // core dumps
  kStepLandlock,     // value: the rule, -1 the ruleset
  kStepSeccomp,      // no_new_privs and the filter
  kStepExec,         // execveat of the memfd
};

// "build the private root", ... for messages.
const char* EnclaveStepName(int32_t step);

// A started enclave: its init's pid and pidfd, and the report pipe.
// Move-only; destroying a running one kills (SIGKILL to the init ends the
// whole pid namespace) and reaps it.
class EnclaveProcess {
 public:
  EnclaveProcess() = default;
  EnclaveProcess(EnclaveProcess&& other) noexcept;
  EnclaveProcess& operator=(EnclaveProcess&& other) noexcept;
  ~EnclaveProcess();

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  bool running() const { return pid_ > 0; }
  // The program's pid inside the enclave (from the "started" report).
  pid_t inner_pid() const { return inner_pid_; }
  // Sends `signal` to the init (SIGTERM: it passes it to the program;
  // SIGKILL: the namespace ends).
  absl::Status Signal(int signal) const;
  // How an enclave ended: the program's wait status from the init's last
  // report (or, if the init was killed before it could report, the
  // init's own), and the system call seccomp refused, if that ended it.
  struct End {
    int wait_status = 0;
    int refused_syscall = -1;  // -1: none
  };
  // Reaps the init without blocking: kUnavailable while it runs.
  absl::StatusOr<End> TryReap();

 private:
  friend absl::StatusOr<EnclaveProcess> LaunchEnclave(
      const EnclaveLaunchOptions& options, EnclaveLaunchTimes* times);
  void Reset();
  pid_t pid_ = -1;
  pid_t inner_pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd report_;  // read end, non-blocking once started
};

// Launches the enclave and returns once the program has been executed, or
// the step that failed (kFailedPrecondition with the step and errno: the
// enclave is then gone, fail closed). `times` may be nullptr. Thread-safe:
// signals are blocked on the calling thread around clone() only.
absl::StatusOr<EnclaveProcess> LaunchEnclave(
    const EnclaveLaunchOptions& options, EnclaveLaunchTimes* times = nullptr);

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_ENCLAVE_LAUNCH_H_
