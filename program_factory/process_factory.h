// ProcessFactory: hosted programs of the "process" kind, plain Linux
// processes, over a pipe pair or a socketpair. Measure-then-exec: the program's
// bytes are copied once into a sealed memfd, hashed there, and that very memfd
// is executed, so the name always describes the bytes that run. A
// MeasurementCache keeps sealed memfds of unchanged files, so a program started
// again is neither copied nor hashed again (see measurement_cache.h).
#ifndef TAO_PROGRAM_FACTORY_PROCESS_FACTORY_H_
#define TAO_PROGRAM_FACTORY_PROCESS_FACTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "program_factory/internal/identity.h"
#include "program_factory/measurement_cache.h"
#include "program_factory/program_factory.h"
#include "tao/run_as.h"
#include "tao/unique_fd.h"

namespace tao {

// A measurement-cache budget for hosts that enable it (256 MiB).
inline constexpr size_t kRecommendedMeasurementCacheBytes = size_t{256} << 20;

struct ProcessFactoryOptions {
  // Names a spec may set in the program's environment. Empty: any name but
  // LD_* and TAO_* (the loader's and ours).
  std::vector<std::string> env_allowlist;
  // Largest program accepted.
  size_t max_program_size = size_t{1} << 30;
  // Most bytes of sealed, measured programs kept for later starts of the
  // same unchanged files (MeasurementCache); 0 (the default) disables the
  // cache. Each cached program keeps one descriptor open in the host.
  // kRecommendedMeasurementCacheBytes suits a host that starts programs of
  // ~10 MB repeatedly.
  size_t measurement_cache_bytes = 0;

  // Dynamic identities (a program started without a uid): one uid, and the
  // gid of the same number, per running program from this range; released
  // once the program and every descendant are gone. Create() refuses a
  // range that holds a user of passwd_file or a group of group_file.
  UidRange dynamic_uids = kDefaultDynamicUidRange;
  // Mixed into the choice of a program's preferred uid, so that hosts on
  // one machine prefer different uids (taohost passes its name, stable
  // across its restarts). Empty: this process's pid.
  std::string dynamic_uid_salt;
  std::string passwd_file = "/etc/passwd";
  std::string group_file = "/etc/group";
  // Where state directories live: <state_root>/<name>.
  std::string state_root = "/var/lib/tao/programs";
  // The cgroup2 hierarchy for per-program cgroups: "" finds one
  // (/sys/fs/cgroup if it is cgroup2, else /sys/fs/cgroup/unified), "none"
  // turns them off. Programs live in <root>/tao/<cgroup_instance>/<n>.
  std::string cgroup_root;
  // Default "host-<pid>".
  std::string cgroup_instance;
};

// What Args(...) measures (docs/program-measurement.md).
struct ArgsMeasurement {
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::pair<std::string, std::string>> env;
  std::string working_dir = "/";
  RunAs run_as;  // as requested; a dynamic uid's number is not measured
  std::string state_directory;  // the name; empty: none
};

// The "tao-args-v2" digest: every field of `m`, the environment sorted by
// name, each length-prefixed so that no two settings share an encoding.
std::string DigestArgs(const ArgsMeasurement& m);

// Copies `path` into a sealed memfd, hashing the bytes as they are copied.
// kNotFound, kInvalidArgument (not a regular file, too large, empty) or an
// errno status.
absl::StatusOr<MeasuredExecutable> MeasureExecutable(const std::string& path,
                                                     size_t max_size);

// As above, through `cache` (not owned; nullptr: no cache). The file is
// always opened and fstat'ed; if the cache holds a measurement for that
// identity, the result holds a new descriptor of the cached sealed memfd
// (the same bytes that were hashed) and nothing is copied or hashed.
// Otherwise the file is measured and the result offered to the cache.
// Thread-safe if `cache` is.
absl::StatusOr<MeasuredExecutable> MeasureExecutable(const std::string& path,
                                                     size_t max_size,
                                                     MeasurementCache* cache);

// DigestArgs of argv and env with the defaults for the rest: working
// directory "/", a dynamic identity, no state directory.
std::string DigestArgsAndEnv(
    const std::vector<std::string>& argv,
    std::vector<std::pair<std::string, std::string>> env);

// Thread-safe: NewHostedProgram may run on several threads at once (they
// share the measurement cache, which has its own lock).
namespace internal {
class ProgramResources;
}

class ProcessFactory final : public ProgramFactory {
 public:
  // Checks the options too: kInvalidArgument for a bad range or a
  // configured cgroup_root that is not cgroup2, kFailedPrecondition if the
  // dynamic range holds a user or group of the machine or if programs could
  // not enter the state root (a parent others may not traverse).
  static absl::StatusOr<std::unique_ptr<ProcessFactory>> Create(
      ProcessFactoryOptions options);
  // As Create, without the checks (tests).
  explicit ProcessFactory(ProcessFactoryOptions options = {});
  ~ProcessFactory() override;

  // "process".
  std::string kind() const override { return "process"; }
  // "pipe", "shm" and "socketpair".
  std::vector<std::string> channel_kinds() const override;
  // Refuses (kInvalidArgument) a spec of another kind than ProcessSpec.
  // Measures the executable, through the cache when it has an entry for the
  // file (and verifies `<path>.taosig` if present: a signature that does not
  // verify is kUnauthenticated, never ignored) and checks the environment
  // against the allow-list.
  // Refuses (kInvalidArgument) an environment that sets a name twice, a
  // malformed state directory name, a relative working directory and a gid
  // without a uid.
  absl::StatusOr<std::unique_ptr<HostedProgram>> NewHostedProgram(
      const ProgramSpec& spec) override;
  bool Hosts(const ProcessFacts& facts) const override;

  // Whether programs get cgroups; if not, cgroup_status() says why.
  bool cgroups_in_force() const;
  const absl::Status& cgroup_status() const { return cgroup_status_; }
  // Dynamic uids held (by running programs, or by lingering descendants).
  size_t dynamic_uids_in_use() const;

  // The measurement cache, or nullptr if options.measurement_cache_bytes is
  // 0. Owned by the factory; for tests and diagnostics.
  const MeasurementCache* measurement_cache() const { return cache_.get(); }

 private:
  ProcessFactoryOptions options_;
  std::unique_ptr<MeasurementCache> cache_;
  absl::Status init_status_;
  absl::Status cgroup_status_;
  std::shared_ptr<internal::ProgramResources> resources_;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_PROCESS_FACTORY_H_
