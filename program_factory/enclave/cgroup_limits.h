// Hard limits for one enclave through cgroups: ENCLAVE_SIZE as a memory
// limit (swap included) and THREADS as a task limit. cgroup v2 where the
// host's own cgroup offers the memory and pids controllers, v1 otherwise
// (one cgroup per controller hierarchy). A limit that neither can enforce
// is refused, never silently dropped. The cgroups live below the host's own
// cgroup in each hierarchy: <own>/tao-enclave/<name>.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_CGROUP_LIMITS_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_CGROUP_LIMITS_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tao/unique_fd.h"

namespace tao {

// What to enforce; 0 means no limit of that kind.
struct EnclaveLimits {
  uint64_t memory_bytes = 0;
  uint32_t max_tasks = 0;
  // A cgroup to freeze and thaw the enclave with: v2's cgroup.freeze, or
  // v1's freezer controller (kFailedPrecondition where neither exists).
  bool freezer = false;
};

// Where the hierarchies are. The defaults are the machine's.
struct CgroupLimitOptions {
  std::string v1_root = "/sys/fs/cgroup";  // v1 controllers: <v1_root>/<ctl>
  // The cgroup2 mount: "" finds one (/sys/fs/cgroup if it has
  // cgroup.controllers, else /sys/fs/cgroup/unified); "none": never v2.
  std::string v2_root;
  std::string proc_self_cgroup = "/proc/self/cgroup";
};

// The cgroups of one enclave. Not thread-safe (its enclave owns it).
class EnclaveCgroups {
 public:
  enum class Version { kNone, kV1, kV2 };

  // Creates the cgroups for `limits` and writes the limits. `name` is one
  // path component ([A-Za-z0-9._-], not "." or ".."). kFailedPrecondition
  // if a limit is asked for that no hierarchy here can enforce (the message
  // says what was looked for); kInvalidArgument for a bad name; errno
  // statuses (kAlreadyExists if the cgroup exists). No limit: no cgroup.
  static absl::StatusOr<std::unique_ptr<EnclaveCgroups>> Create(
      const std::string& name, const EnclaveLimits& limits,
      const CgroupLimitOptions& options = CgroupLimitOptions());

  // Kills what is left in the cgroups and removes them (best effort).
  ~EnclaveCgroups();
  EnclaveCgroups(const EnclaveCgroups&) = delete;
  EnclaveCgroups& operator=(const EnclaveCgroups&) = delete;

  Version version() const { return version_; }
  // The cgroup directories, one per hierarchy used.
  const std::vector<std::string>& paths() const { return paths_; }
  // cgroup.procs of each, open for writing: the child writes "0" to every
  // one before it execs, so nothing it starts is born outside the limits.
  const std::vector<UniqueFd>& procs_fds() const { return procs_; }

  // The cgroup v2 directory, open, for clone3's CLONE_INTO_CGROUP: a
  // child born there needs no migration (which waits for a grace period of
  // the kernel's, ~10 ms). -1 for v1 (several hierarchies) or no cgroup.
  int clone_into_fd() const { return v2_dir_.get(); }

  // Moves `pid` into every cgroup. An errno status.
  absl::Status AddProcess(pid_t pid);
  // True if the memory controller killed a task for going past the limit
  // (v1 memory.oom_control / v2 memory.events: oom_kill). kNotFound
  // without a memory limit.
  absl::StatusOr<bool> OomKilled() const;
  // Freezes (`frozen`) or thaws every task and waits until the kernel says
  // it is done (at most ~5 s: kDeadlineExceeded). kFailedPrecondition
  // without a freezer; errno statuses.
  absl::Status SetFrozen(bool frozen);
  // SIGKILL to every task, repeated until the cgroups are empty (at most
  // ~1 s). kDeadlineExceeded if some remain.
  absl::Status Kill();
  // rmdir of every cgroup. kFailedPrecondition (EBUSY) while a task is
  // left.
  absl::Status Remove();

 private:
  EnclaveCgroups() = default;

  Version version_ = Version::kNone;
  std::vector<std::string> paths_;
  std::vector<UniqueFd> procs_;
  UniqueFd v2_dir_;           // the one cgroup's directory, under v2
  std::string memory_path_;   // the cgroup with the memory limit, or ""
  std::string freezer_path_;  // the cgroup to freeze, or ""
  bool removed_ = false;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_CGROUP_LIMITS_H_
