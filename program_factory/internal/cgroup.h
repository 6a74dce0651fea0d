// A cgroup (v2) per hosted program, so that the program's whole tree can be
// killed: a descendant that calls setsid() leaves the process group but
// never the cgroup. The factory keeps its programs under
// <cgroup root>/tao/<host instance>/<program>; each child joins its cgroup
// before it execs (it writes "0" to a cgroup.procs the parent opened), so no
// descendant is ever born outside it.
#ifndef TAO_PROGRAM_FACTORY_INTERNAL_CGROUP_H_
#define TAO_PROGRAM_FACTORY_INTERNAL_CGROUP_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tao/unique_fd.h"

namespace tao {
namespace internal {

// The cgroup2 mount to use for `configured`: "" auto-detects
// (/sys/fs/cgroup if it is cgroup2, else /sys/fs/cgroup/unified), "none"
// disables. kNotFound (with the reason) if none is usable;
// kInvalidArgument if a configured path is not a cgroup2 mount.
absl::StatusOr<std::string> FindCgroup2Root(const std::string& configured);

// One program's cgroup. Not thread-safe (its program owns it).
class ProgramCgroup {
 public:
  ProgramCgroup(std::string path, std::string relative, UniqueFd procs)
      : path_(std::move(path)),
        relative_(std::move(relative)),
        procs_(std::move(procs)) {}
  // Kills what is left and removes the directory (best effort).
  ~ProgramCgroup();

  // cgroup.procs, open for writing: the child writes "0" to it. Owned.
  int procs_fd() const { return procs_.get(); }
  void CloseProcsFd() { procs_.Reset(); }
  // The absolute directory, and the path /proc/<pid>/cgroup shows.
  const std::string& path() const { return path_; }
  const std::string& relative_path() const { return relative_; }

  // SIGKILL to every process in the cgroup: cgroup.kill where the kernel
  // has it (5.14), else freeze, kill every pid of cgroup.procs, thaw.
  absl::Status Kill();
  // Freezes (`frozen`) or thaws every process of the cgroup through
  // cgroup.freeze, and waits up to `timeout` until cgroup.events says it is
  // so (kDeadlineExceeded if not; the request stays in force). An errno
  // status if the kernel has no freezer here (cgroup.freeze is 5.2).
  absl::Status SetFrozen(bool frozen, absl::Duration timeout);
  // cgroup.events' "frozen" now.
  bool Frozen() const;
  // True once no process is left (cgroup.events: populated 0), waiting up
  // to `timeout`.
  bool WaitEmpty(absl::Duration timeout);
  // rmdir; kFailedPrecondition (EBUSY) while a process is left.
  absl::Status Remove();

 private:
  std::string path_;
  std::string relative_;
  UniqueFd procs_;
  bool removed_ = false;
};

// <root>/tao/<instance>: where one host's programs get their cgroups.
// Thread-safe (NewProgram may run on several threads).
class CgroupTree {
 public:
  // Creates <root>/tao/<instance> (0755) and removes the directories of
  // dead host instances ("host-<pid>" whose process is gone), killing what
  // they left. An errno status if it cannot be created.
  static absl::StatusOr<std::unique_ptr<CgroupTree>> Create(
      const std::string& root, const std::string& instance);
  // Removes the instance directory if it is empty (each program removes
  // its own cgroup; another factory of the process may share the instance).
  ~CgroupTree();

  // A new cgroup <instance>/<name>, its cgroup.procs open for the child.
  absl::StatusOr<std::unique_ptr<ProgramCgroup>> NewProgram(
      const std::string& name) const;

  const std::string& path() const { return path_; }
  // "/tao/<instance>", as /proc/<pid>/cgroup shows it.
  const std::string& relative_path() const { return relative_; }

 private:
  CgroupTree(std::string path, std::string relative)
      : path_(std::move(path)), relative_(std::move(relative)) {}
  std::string path_;
  std::string relative_;
};

// Reads a small file (procfs, cgroupfs) to EOF or `max_size`, without
// following a link or blocking.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path,
                                          size_t max_size);

// The cgroup2 path of `pid` (the "0::" line of /proc/<pid>/cgroup), or
// kNotFound.
absl::StatusOr<std::string> CgroupOfProcess(pid_t pid);

}  // namespace internal
}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_INTERNAL_CGROUP_H_
