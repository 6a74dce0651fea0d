// ProcessProgram: one measured process of a ProcessFactory, and what the
// factory's programs share (ProgramResources: dynamic uids, cgroups, state
// directories in use). Internal to program_factory/.
#ifndef TAO_PROGRAM_FACTORY_INTERNAL_PROCESS_PROGRAM_H_
#define TAO_PROGRAM_FACTORY_INTERNAL_PROCESS_PROGRAM_H_

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "program_factory/internal/cgroup.h"
#include "program_factory/internal/identity.h"
#include "program_factory/internal/subprocess.h"
#include "program_factory/measurement_cache.h"
#include "program_factory/program_factory.h"

namespace tao {
namespace internal {

// Shared by a factory and its programs (which may outlive it). Thread-safe.
class ProgramResources {
 public:
  ProgramResources(UidRange range, std::string uid_salt, std::string state_root,
                   std::unique_ptr<CgroupTree> cgroups)
      : uids_(range, std::string(kDefaultUidLockDir), std::move(uid_salt)),
        state_root_(std::move(state_root)),
        cgroups_(std::move(cgroups)) {}

  UidAllocator& uids() { return uids_; }
  // nullptr: no cgroup tree (process-group kill only).
  const CgroupTree* cgroups() const { return cgroups_.get(); }
  const std::string& state_root() const { return state_root_; }

  // kFailedPrecondition if a running program has the directory already.
  absl::Status ClaimStateDirectory(const std::string& name);
  void ReleaseStateDirectory(const std::string& name);

  // A program whose tree did not empty when it ended: its cgroup, uid and
  // state directory stay taken until it has (retried at every start).
  void Linger(std::unique_ptr<ProgramCgroup> cgroup,
              std::optional<uint32_t> uid, std::string state_directory);
  void RetryLingering();

 private:
  struct Lingering {
    std::unique_ptr<ProgramCgroup> cgroup;
    std::optional<uint32_t> uid;
    std::string state_directory;
  };
  UidAllocator uids_;
  const std::string state_root_;
  const std::unique_ptr<CgroupTree> cgroups_;
  absl::Mutex mu_;
  std::set<std::string> state_directories_ ABSL_GUARDED_BY(mu_);
  std::vector<Lingering> lingering_ ABSL_GUARDED_BY(mu_);
};

// Not thread-safe: the loop owns it.
class ProcessProgram final : public HostedProgram {
 public:
  ProcessProgram(ProcessSpec spec, MeasuredExecutable executable,
                 ProgramIdentity identity,
                 std::shared_ptr<ProgramResources> resources);
  // A running program is killed (its whole tree) and reaped.
  ~ProcessProgram() override;

  const ProgramIdentity& identity() const override { return identity_; }
  absl::Status Start(ChildEndpoint endpoint) override;
  // SIGTERM to its process group (thawed first if frozen).
  absl::Status Stop(absl::Duration grace) override;
  absl::Status Kill() override;
  // cgroup.freeze of its cgroup; kFailedPrecondition without one.
  absl::Status Freeze() override;
  absl::Status Thaw() override;
  bool frozen() const override { return frozen_; }
  pid_t pid() const override { return child_.pid(); }
  int exit_fd() const override { return child_.pidfd(); }
  UniqueFd TakeOutput() override { return std::move(output_); }
  absl::Status Signal(int signal) override;
  absl::StatusOr<ExitStatus> Reap() override;
  std::optional<ExitRecord> exit_record() const override {
    return exit_record_;
  }
  Confinement confinement() const override { return confinement_; }
  bool Owns(const ProcessFacts& facts) const override;

 private:
  // Kills what is left of the tree and gives back the uid, cgroup and
  // state directory (or leaves them lingering). Idempotent.
  void Release();

  // Freeze (`frozen`) or thaw through the cgroup.
  absl::Status SetFrozen(bool frozen);

  ProcessSpec spec_;
  MeasuredExecutable executable_;
  ProgramIdentity identity_;
  std::shared_ptr<ProgramResources> resources_;
  bool started_ = false;
  bool released_ = true;  // nothing held before Start
  Subprocess child_;
  UniqueFd output_;
  std::unique_ptr<ProgramCgroup> cgroup_;
  std::optional<uint32_t> dynamic_uid_;
  bool state_directory_claimed_ = false;
  Confinement confinement_;
  bool frozen_ = false;
  std::optional<ExitRecord> exit_record_;
};

}  // namespace internal
}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_INTERNAL_PROCESS_PROGRAM_H_
