// Program factories measure, start and stop hosted programs. They decide
// nothing: the listen loop (channels/hosted_program_channel.h) asks the
// domain before it starts anything a factory measured. Factories never
// include channels/: the loop creates the channel pair and hands the child's
// end over as plain data (a ChildEndpoint).
#ifndef TAO_PROGRAM_FACTORY_PROGRAM_FACTORY_H_
#define TAO_PROGRAM_FACTORY_PROGRAM_FACTORY_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "tao/principal.h"
#include "tao/unique_fd.h"

namespace tao {

// The transports a factory can hand to its programs.
enum class ChannelKind { kPipe, kSocketpair };

// "pipe" or "socketpair".
absl::string_view ChannelKindName(ChannelKind kind);

// The child's end of a channel: descriptors to install in the child at fixed
// numbers, and the TAO_CHANNEL value that tells the child where they are.
struct ChildEndpoint {
  struct Fd {
    UniqueFd fd;       // owned until the child starts
    int child_number;  // where the child finds it
  };
  std::vector<Fd> fds;
  std::string channel_env;  // e.g. "pipe:3,4"
};

// What to run.
struct ProgramSpec {
  std::string path;               // the executable
  std::vector<std::string> args;  // argv[1..]
  // Environment the host sets for the program (measured); nothing else of
  // the host's environment reaches it except TAO_CHANNEL.
  std::vector<std::pair<std::string, std::string>> env;
  std::string working_dir = "/";
  std::optional<uid_t> uid;  // drop to this user (needs privilege)
  std::optional<gid_t> gid;  // and group
};

// What a factory measured: the subprincipals that extend the host's name, in
// order Program(...), then Publisher(...) if the program carries a valid
// signature, then Args(...).
struct ProgramIdentity {
  std::string measurement;  // SHA-256 of the exact bytes executed
  std::optional<PublisherClaim> publisher;
  std::string args_digest;  // SHA-256 of argv and the set env
  std::vector<Subprincipal> subprincipals;
};

// How a program ended.
struct ExitStatus {
  bool signaled = false;
  int code = 0;  // exit code, or the signal number if signaled
  bool success() const { return !signaled && code == 0; }
  // "exit 0", "exit 3", "signal 9 (Killed)".
  std::string ToString() const;
};

// A measured program; started at most once. Not thread-safe: the loop owns it.
class HostedProgram {
 public:
  virtual ~HostedProgram() = default;
  virtual const ProgramIdentity& identity() const = 0;
  // Starts the program with `endpoint`. kFailedPrecondition if already
  // started; an errno status if it could not be executed.
  virtual absl::Status Start(ChildEndpoint endpoint) = 0;
  virtual pid_t pid() const = 0;
  // A pidfd that becomes readable when the program exits; -1 before Start.
  virtual int exit_fd() const = 0;
  // The read end of the program's stdout and stderr (non-blocking), for the
  // loop to copy into its log; -1 before Start or once taken.
  virtual UniqueFd TakeOutput() = 0;
  // Sends `signal` to the program's process group.
  virtual absl::Status Signal(int signal) = 0;
  // Reaps the exited program. kUnavailable if it has not exited yet.
  virtual absl::StatusOr<ExitStatus> Reap() = 0;
};

class ProgramFactory {
 public:
  virtual ~ProgramFactory() = default;
  // The channel kinds this factory can hand to its programs.
  virtual absl::Span<const ChannelKind> channel_kinds() const = 0;
  // Measures `spec` and assigns its identity. Starts nothing, decides
  // nothing. kNotFound / kInvalidArgument / kUnauthenticated (a program
  // signature that does not verify) with the reason.
  virtual absl::StatusOr<std::unique_ptr<HostedProgram>> NewHostedProgram(
      const ProgramSpec& spec) = 0;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_PROGRAM_FACTORY_H_
