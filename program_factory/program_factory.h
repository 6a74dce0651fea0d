// Program factories measure, start and stop hosted programs. They decide
// nothing: the listen loop (channels/hosted_program_channel.h) asks the
// domain before it starts anything a factory measured. Factories never
// include channels/: the loop creates the channel pair and hands the child's
// end over as plain data (a ChildEndpoint).
#ifndef TAO_PROGRAM_FACTORY_PROGRAM_FACTORY_H_
#define TAO_PROGRAM_FACTORY_PROGRAM_FACTORY_H_

#include <signal.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "tao/principal.h"
#include "tao/run_as.h"
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
  // Who it runs as. No uid (the default): a dynamic identity of its own,
  // allocated when it starts and released when it has exited. A uid: that
  // user, with `gid` or else the user's primary group, and never any
  // supplementary group. The domain decides who may have which
  // (Execute's run_as_uids; docs/domain-policy.md).
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;  // only with uid
  // A state directory of the program's own, <state root>/<name>: made,
  // given to the program's identity (mode 0700) and named in
  // TAO_STATE_DIRECTORY before it starts. Empty: none.
  std::string state_directory;

  // The run-as request of uid and gid.
  RunAs run_as() const {
    if (!uid.has_value()) return RunAs::Dynamic();
    return RunAs::User(*uid, gid);
  }
};

// What the host can read about a local process: enough to tell whether it
// is one of its hosted programs (admin calls from hosted programs).
struct ProcessFacts {
  pid_t pid = 0;
  std::vector<uint32_t> uids;  // real, effective, saved, filesystem
  std::string cgroup;          // the cgroup2 path; empty if unknown
};

// Reads /proc/<pid>/status and /proc/<pid>/cgroup. kNotFound if the process
// is gone.
absl::StatusOr<ProcessFacts> ReadProcessFacts(pid_t pid);

// How a started program is confined, for listings and its exit record.
struct Confinement {
  std::optional<uint32_t> uid;  // nullopt: the host's own identity
  std::optional<uint32_t> gid;
  bool dynamic_uid = false;  // allocated for this run
  // The cgroup holding the program's whole tree (a setsid() does not leave
  // it); empty: none, only the process group is killed.
  std::string cgroup;
  std::string state_directory;  // absolute path; empty: none
};

// What a factory measured: the subprincipals that extend the host's name, in
// order Program(...), then Publisher(...) if the program carries a valid
// signature, then Args(...).
struct ProgramIdentity {
  std::string measurement;  // SHA-256 of the exact bytes executed
  std::optional<PublisherClaim> publisher;
  std::string args_digest;  // SHA-256 of argv, env, cwd, run-as, state dir
  // The run-as request as measured: dynamic, or the uid with its gid
  // resolved (the user's primary group when none was asked for).
  RunAs run_as;
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
  // SIGKILL to the program's whole tree: every process of its cgroup where
  // it has one (no descendant escapes by setsid()), else its process group.
  // kFailedPrecondition before Start.
  virtual absl::Status KillTree() { return Signal(SIGKILL); }
  // Reaps the exited program, kills what is left of its tree and releases
  // what it held (dynamic uid, cgroup, state directory). kUnavailable if it
  // has not exited yet.
  virtual absl::StatusOr<ExitStatus> Reap() = 0;
  // How the program runs; meaningful once started.
  virtual Confinement confinement() const { return Confinement(); }
  // Whether the process `facts` describes is this running program or one
  // of its descendants (same cgroup, or its dynamic uid).
  virtual bool Owns(const ProcessFacts& facts) const {
    (void)facts;
    return false;
  }
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
  // Whether `facts` describes a process of one of this factory's programs
  // (in its cgroup tree, or with one of its dynamic uids), running or not.
  virtual bool Hosts(const ProcessFacts& facts) const {
    (void)facts;
    return false;
  }
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_PROGRAM_FACTORY_H_
