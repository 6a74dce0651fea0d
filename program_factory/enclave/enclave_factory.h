// EnclaveFactory: hosted programs of the "enclave" kind. A manifest
// (docs/enclave-manifest.md) compiles into a launch plan whose hash names
// the enclave (`Enclave(sha256:<plan hash>)`, then `Args(...)`); starting
// it runs the plan's measured bytes inside every layer of
// docs/enclave-sandbox.md: new user, pid, mount, network, ipc, uts and
// cgroup namespaces under a minimal init, a private read-only root filled
// from the hashed bytes, memory/pids/freezer cgroups, no_new_privs,
// Landlock and a seccomp allow-list. Its only door is the "shm" channel.
// Every layer fails closed: one that cannot be set up is an error, never a
// weaker enclave.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_ENCLAVE_FACTORY_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_ENCLAVE_FACTORY_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "program_factory/enclave/cgroup_limits.h"
#include "program_factory/enclave/elf_dependency_cache.h"
#include "program_factory/enclave/launch_plan.h"
#include "program_factory/enclave/manifest.h"
#include "program_factory/enclave/prepared_root.h"
#include "program_factory/enclave/seccomp_filter.h"
#include "program_factory/measurement_cache.h"
#include "program_factory/program_factory.h"

namespace tao {

// Where a DEBUG enclave sees its crash directory.
inline constexpr char kEnclaveCrashPath[] = "/crash";

struct EnclaveFactoryOptions {
  // Where each enclave's root mount point is made (<run_dir>/<n>, an empty
  // directory the host removes after the enclave); created 0755.
  std::string run_dir = "/run/tao-enclave";
  // Where a DEBUG enclave's core dumps go: <crash_root>/<enclave>, made
  // for each run (0700, the outside uid's), mounted rw at /crash and its
  // working directory. Only DEBUG enclaves get one; the others have core
  // dumps off (RLIMIT_CORE 0, hard limit too).
  std::string crash_root = "/var/lib/tao/enclave-crash";
  // Who the enclave's root (uid 0 inside its user namespace) is outside.
  // Never 0: Create refuses it.
  uid_t outside_uid = 65534;
  gid_t outside_gid = 65534;
  // Most bytes of sealed, measured trusted files kept for later plans of
  // unchanged files (the process factory's MeasurementCache); 0 (the
  // default) turns it off. taohost gives it measurement_cache_mib. On, it
  // also turns on a 4 MiB ElfDependencyCache (each trusted file's ELF
  // declarations, by its digest).
  size_t measurement_cache_bytes = 0;
  // Prepared roots (prepared_root.h) kept for later starts of the same
  // plan: at most this many, and at most this many bytes of their trusted
  // files (a root larger than that is built for its one start). 0 roots:
  // each start builds its own. The factory's destructor removes them all.
  size_t prepared_roots = 4;
  uint64_t prepared_root_bytes = uint64_t{256} << 20;
  // Where the memory, pids and freezer cgroups are.
  CgroupLimitOptions cgroups;
  LaunchPlanOptions plan;
  ManifestLimits manifest;
};

// Thread-safe: NewHostedProgram may run on several threads at once; each
// program is owned by the loop (not thread-safe).
class EnclaveFactory final : public ProgramFactory {
 public:
  // Checks that this machine can run enclaves at all: Landlock (ABI >= 1),
  // a seccomp filter libseccomp compiles, user namespaces, and the run
  // directory. kFailedPrecondition with what is missing; kInvalidArgument
  // for an outside uid or gid of 0.
  static absl::StatusOr<std::unique_ptr<EnclaveFactory>> Create(
      EnclaveFactoryOptions options = {});

  // Removes the prepared roots (an enclave still running keeps its own
  // mount of its root; a program that outlives the factory builds a root
  // for each start).
  ~EnclaveFactory() override;

  // "enclave".
  std::string kind() const override { return "enclave"; }
  // "shm" only: the enclave's one door.
  std::vector<std::string> channel_kinds() const override { return {"shm"}; }
  // Refuses (kInvalidArgument) a spec of another kind. Reads the manifest
  // (EnclaveSpec::manifest_path, at most options.manifest.max_bytes),
  // parses it (kInvalidArgument "line L, column C: ..."), compiles its plan
  // (every trusted file read once and hashed) and prepares the layers.
  // Starts nothing.
  absl::StatusOr<std::unique_ptr<HostedProgram>> NewHostedProgram(
      const ProgramSpec& spec) override;

  // The plan and name a manifest file compiles to, for tools and tests.
  absl::StatusOr<LaunchPlan> Plan(const std::string& manifest_path) const;

  const EnclaveFactoryOptions& options() const { return options_; }
  // The measurement cache, or nullptr when it is off (tests, diagnostics).
  const MeasurementCache* measurement_cache() const { return cache_.get(); }
  // The prepared roots kept now (tests, diagnostics).
  const PreparedRootCache& prepared_roots() const { return *roots_; }

 private:
  EnclaveFactory(EnclaveFactoryOptions options, SeccompFilter seccomp);
  EnclaveFactoryOptions options_;
  // Compiled once in Create: the allow-list has no parameters, and building
  // it with libseccomp took about 1 ms of every start. Each program gets a
  // copy (plain data).
  const SeccompFilter seccomp_;
  std::unique_ptr<MeasurementCache> cache_;
  std::unique_ptr<ElfDependencyCache> elf_cache_;  // on with cache_
  // Whole library searches: replaying one cut the plan from about 1.0 to
  // 0.4 ms (bench/enclave).
  std::unique_ptr<LibrarySearchCache> search_cache_;  // on with cache_
  std::shared_ptr<PreparedRootCache> roots_;  // shared with its programs
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_ENCLAVE_FACTORY_H_
