// EnclaveProgram: one measured enclave of an EnclaveFactory, from its
// launch plan to its exit record. Owns the plan (the sealed memfds of its
// trusted files), the prepared layers, and, while it runs, its cgroups,
// root mount point and init.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_ENCLAVE_PROGRAM_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_ENCLAVE_PROGRAM_H_

#include <memory>
#include <optional>
#include <string>

#include "program_factory/enclave/cgroup_limits.h"
#include "program_factory/enclave/enclave_factory.h"
#include "program_factory/enclave/enclave_launch.h"
#include "program_factory/enclave/landlock_policy.h"
#include "program_factory/enclave/launch_plan.h"
#include "program_factory/enclave/prepared_root.h"
#include "program_factory/enclave/seccomp_filter.h"
#include "program_factory/program_factory.h"

namespace tao {

// Not thread-safe: the loop owns it.
class EnclaveProgram final : public HostedProgram {
 public:
  EnclaveProgram(LaunchPlan plan, LandlockPolicy landlock,
                 SeccompFilter seccomp, ProgramIdentity identity,
                 const EnclaveFactoryOptions& options,
                 std::shared_ptr<PreparedRootCache> roots);
  // A running enclave is killed (its whole pid namespace) and reaped, and
  // its cgroups and mount point removed.
  ~EnclaveProgram() override;

  const ProgramIdentity& identity() const override { return identity_; }
  // Makes the cgroups (memory, pids, freezer: kFailedPrecondition if a
  // limit's controller is missing), gets the plan's prepared root (built on
  // a miss) and the root's mount point, and launches
  // (LaunchEnclave). Returns once the entry binary runs, or the step that
  // failed.
  absl::Status Start(ChildEndpoint endpoint) override;
  // SIGTERM to the init, which passes it to the program (thawed first).
  absl::Status Stop(absl::Duration grace) override;
  // SIGKILL to the init: the kernel ends the whole pid namespace.
  absl::Status Kill() override;
  // The freezer cgroup (v1 freezer.state or v2 cgroup.freeze).
  absl::Status Freeze() override;
  absl::Status Thaw() override;
  bool frozen() const override { return frozen_; }
  pid_t pid() const override { return child_.pid(); }
  int exit_fd() const override { return child_.pidfd(); }
  UniqueFd TakeOutput() override { return std::move(output_); }
  // The program's status as its init saw it; the exit record's detail
  // names the layers that were in force and, for a crash, why (the memory
  // limit, or the system call seccomp refused).
  absl::StatusOr<ExitStatus> Reap() override;
  std::optional<ExitRecord> exit_record() const override {
    return exit_record_;
  }
  Confinement confinement() const override { return confinement_; }
  bool Owns(const ProcessFacts& facts) const override;

  // The start-up breakdown of the last Start (bench/enclave).
  const EnclaveLaunchTimes& launch_times() const { return times_; }
  // The layers in force, as the exit record says them.
  std::string Layers() const;

 private:
  void Release();
  absl::Status SetFrozen(bool frozen);

  LaunchPlan plan_;
  LandlockPolicy landlock_;
  SeccompFilter seccomp_;
  ProgramIdentity identity_;
  EnclaveFactoryOptions options_;
  std::shared_ptr<PreparedRootCache> roots_;  // the factory's
  bool started_ = false;
  EnclaveProcess child_;
  std::unique_ptr<EnclaveCgroups> cgroups_;
  std::string root_dir_;
  std::string crash_dir_;  // a DEBUG run's core dumps; kept after it
  UniqueFd output_;
  Confinement confinement_;
  bool frozen_ = false;
  EnclaveLaunchTimes times_;
  UniqueFd kmsg_;  // /dev/kmsg from the start on; -1: none
  std::optional<ExitRecord> exit_record_;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_ENCLAVE_PROGRAM_H_
