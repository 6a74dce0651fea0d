// ProcessFactory: hosted programs as plain Linux processes, over a pipe pair
// or a socketpair. Measure-then-exec: the program's bytes are copied once
// into a sealed memfd, hashed there, and that very memfd is executed, so the
// name always describes the bytes that run. A MeasurementCache keeps sealed
// memfds of unchanged files, so a program started again is neither copied
// nor hashed again (see measurement_cache.h).
#ifndef TAO_PROGRAM_FACTORY_PROCESS_FACTORY_H_
#define TAO_PROGRAM_FACTORY_PROCESS_FACTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "program_factory/measurement_cache.h"
#include "program_factory/program_factory.h"
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
};

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

// The digest of what the host sets for a program: argv (with argv[0]) and
// the environment, sorted by name, length-prefixed so that no two different
// settings share an encoding.
std::string DigestArgsAndEnv(
    const std::vector<std::string>& argv,
    std::vector<std::pair<std::string, std::string>> env);

// Thread-safe: NewHostedProgram may run on several threads at once (they
// share the measurement cache, which has its own lock).
class ProcessFactory final : public ProgramFactory {
 public:
  explicit ProcessFactory(ProcessFactoryOptions options = {});

  absl::Span<const ChannelKind> channel_kinds() const override;
  // Measures the executable, through the cache when it has an entry for the
  // file (and verifies `<path>.taosig` if present: a signature that does not
  // verify is kUnauthenticated, never ignored) and checks the environment
  // against the allow-list.
  absl::StatusOr<std::unique_ptr<HostedProgram>> NewHostedProgram(
      const ProgramSpec& spec) override;

  // The measurement cache, or nullptr if options.measurement_cache_bytes is
  // 0. Owned by the factory; for tests and diagnostics.
  const MeasurementCache* measurement_cache() const { return cache_.get(); }

 private:
  ProcessFactoryOptions options_;
  std::unique_ptr<MeasurementCache> cache_;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_PROCESS_FACTORY_H_
