// ProcessFactory: hosted programs as plain Linux processes, over a pipe pair
// or a socketpair. Measure-then-exec: the program's bytes are copied once
// into a sealed memfd, hashed there, and that very memfd is executed, so the
// name always describes the bytes that run.
#ifndef TAO_PROGRAM_FACTORY_PROCESS_FACTORY_H_
#define TAO_PROGRAM_FACTORY_PROCESS_FACTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "program_factory/program_factory.h"
#include "tao/unique_fd.h"

namespace tao {

struct ProcessFactoryOptions {
  // Names a spec may set in the program's environment. Empty: any name but
  // LD_* and TAO_* (the loader's and ours).
  std::vector<std::string> env_allowlist;
  // Largest program accepted.
  size_t max_program_size = size_t{1} << 30;
};

// A program's bytes, copied into a sealed memfd and measured there.
struct MeasuredExecutable {
  UniqueFd memfd;      // sealed against writes, growth and shrinking
  std::string digest;  // SHA-256 of its contents
  size_t size = 0;
};

// Copies `path` into a sealed memfd and hashes the sealed copy.
// kNotFound, kInvalidArgument (not a regular file, too large) or an errno
// status.
absl::StatusOr<MeasuredExecutable> MeasureExecutable(const std::string& path,
                                                     size_t max_size);

// The digest of what the host sets for a program: argv (with argv[0]) and
// the environment, sorted by name, length-prefixed so that no two different
// settings share an encoding.
std::string DigestArgsAndEnv(const std::vector<std::string>& argv,
                             std::vector<std::pair<std::string, std::string>> env);

// Thread-safe: NewHostedProgram may run on several threads at once.
class ProcessFactory final : public ProgramFactory {
 public:
  explicit ProcessFactory(ProcessFactoryOptions options = {})
      : options_(std::move(options)) {}

  absl::Span<const ChannelKind> channel_kinds() const override;
  // Measures the executable (and verifies `<path>.taosig` if present: a
  // signature that does not verify is kUnauthenticated, never ignored) and
  // checks the environment against the allow-list.
  absl::StatusOr<std::unique_ptr<HostedProgram>> NewHostedProgram(
      const ProgramSpec& spec) override;

 private:
  ProcessFactoryOptions options_;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_PROCESS_FACTORY_H_
