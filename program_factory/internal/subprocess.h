// Process creation in one place: clone(CLONE_VM | CLONE_VFORK) on a stack of
// its own, then fexecve, as glibc's posix_spawn does. Everything the child
// needs is built before clone(); the child shares the parent's memory until
// it execs, so it makes only raw system calls, allocates nothing and writes
// nothing the parent reuses.
#ifndef TAO_PROGRAM_FACTORY_INTERNAL_SUBPROCESS_H_
#define TAO_PROGRAM_FACTORY_INTERNAL_SUBPROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "tao/unique_fd.h"

namespace tao {
namespace internal {

struct LaunchOptions {
  int exec_fd = -1;               // executed with fexecve; not owned
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> envp;  // "NAME=value"
  // Descriptors installed in the child: {source in the parent, number in the
  // child}. Every other descriptor of the parent is O_CLOEXEC and vanishes.
  std::vector<std::pair<int, int>> fds_to_remap;
  std::string working_dir = "/";
  // Identity: with either set, the child also drops every supplementary
  // group (setgroups(0)) before it sets the gid, then the uid.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  // With uid or gid set: the only supplementary groups the child keeps
  // (setgroups with this list instead of none), e.g. the group of /dev/kvm.
  std::vector<gid_t> supplementary_groups;
  // Sets PR_SET_NO_NEW_PRIVS before the exec: nothing the child executes
  // can gain privileges (set-user-ID bits, file capabilities).
  bool no_new_privs = false;
  // cgroup.procs of the program's cgroup, open for writing (not owned; -1:
  // none). The child writes "0" to it first, before anything else it does,
  // so that it and every descendant live in that cgroup.
  int cgroup_procs_fd = -1;
};

// A started child. Move-only; owns the pid and a pidfd, and always reaps:
// destroying a running Subprocess kills (SIGKILL) and reaps it.
class Subprocess {
 public:
  Subprocess() = default;
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  bool running() const { return pid_ > 0; }
  // Sends `signal` to the child's process group (it leads a new session).
  absl::Status Signal(int signal) const;
  // Reaps without blocking: kUnavailable if still running.
  absl::StatusOr<std::pair<bool, int>> TryReap();  // {signaled, code}

 private:
  friend absl::StatusOr<Subprocess> Launch(const LaunchOptions& options);
  pid_t pid_ = -1;
  UniqueFd pidfd_;
};

// Sends SIGKILL to every process whose real or saved uid is `uid` (not 0),
// at once: a helper drops to `uid` and calls kill(-1, SIGKILL), which the
// kernel applies to every such process while no new one can be forked.
// Needs root. For identities that belong to one program alone.
absl::Status KillEveryProcessOf(uid_t uid);

// Starts a child: new session, cgroup, remapped descriptors, signal mask and
// dispositions reset, optional gid/uid drop, optional no_new_privs, chdir,
// fexecve. Returns once
// the child has exec'd (or failed); the time it takes does not grow with the
// caller's memory size. Returns the child's errno (with the step that
// failed) if it could not exec. Thread-safe: the calling thread's signals
// are blocked for the duration of clone() only.
absl::StatusOr<Subprocess> Launch(const LaunchOptions& options);

}  // namespace internal
}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_INTERNAL_SUBPROCESS_H_
