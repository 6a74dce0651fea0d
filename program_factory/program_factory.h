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
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tao/principal.h"
#include "tao/run_as.h"
#include "tao/unique_fd.h"

namespace tao {

// Channel kinds are plain names here ("pipe", "socketpair", ...): the
// registry that makes them lives in channels/ (channel_kinds.h), which a
// factory never includes. A factory only says which names it accepts.

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

// What to run as a process (the "process" kind).
struct ProcessSpec {
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

// What to run as an enclave (the "enclave" kind): declared so that requests
// can carry it; no factory of this tree accepts it yet.
struct EnclaveSpec {
  std::string manifest_path;  // the enclave's manifest
};

// What to run as a virtual machine (the "vm" kind; VmFactory, docs/vm.md).
// Kernel, initrd and command line are measured; the rest is not.
struct VmSpec {
  std::string kernel;   // absolute path of a bzImage
  std::string initrd;   // absolute path of an initramfs
  std::string cmdline;  // the kernel command line
  // A raw disk image the guest keeps its (sealed) state on; empty: none.
  std::string state_disk;
  uint32_t memory_mib = 0;  // 0: 256
  uint32_t vcpus = 0;       // 0: 1
  bool network = false;     // a user-mode NIC; none by default
};

// A launch spec of a kind this tree does not define (a factory built
// elsewhere, or a test's made-up kind): its kind name and parameters the
// factory of that kind parses.
struct OtherSpec {
  std::string kind;
  std::string parameters;
};

// A launch spec: what to run, for the factory of one kind. A factory refuses
// (kInvalidArgument) a spec of any kind but its own.
using ProgramSpec = std::variant<ProcessSpec, EnclaveSpec, VmSpec, OtherSpec>;

// The kind a spec is for: "process", "enclave", "vm", or OtherSpec::kind.
std::string LaunchKind(const ProgramSpec& spec);

// What a spec runs, for logs and listings: a process's path, an enclave's
// manifest, a VM's kernel, an other kind's "<kind>:<parameters>".
std::string LaunchTarget(const ProgramSpec& spec);

// The process spec in `spec`, or kInvalidArgument naming the kind that was
// given instead and `factory` (the factory that refuses it).
absl::StatusOr<const ProcessSpec*> ProcessSpecOf(const ProgramSpec& spec,
                                                 absl::string_view factory);

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
  // Where this host reaches the program's own admin API (a VM's guest
  // host, through its admin port): a unix socket only the host's uid may
  // connect to; empty: none.
  std::string admin_socket;
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

// A program's exit record: how it ended and how it had been confined, kept
// once it was reaped.
struct ExitRecord {
  ExitStatus status;
  Confinement confinement;
  // What else the kind knows of the end (a crash record, a VM's last
  // console line); empty for a process.
  std::string detail;
};

// A measured program; started at most once. Not thread-safe: the loop owns
// it. Its life: Start, then Stop (the kind's polite request to end) or Kill,
// optionally Freeze/Thaw in between; the exit notification (exit_fd) tells
// the loop it ended, and Reap gives back what it held and its exit record.
class HostedProgram {
 public:
  virtual ~HostedProgram() = default;
  virtual const ProgramIdentity& identity() const = 0;
  // Starts the program with `endpoint`. kFailedPrecondition if already
  // started; an errno status if it could not be executed.
  virtual absl::Status Start(ChildEndpoint endpoint) = 0;
  // Asks the program to end within `grace`, the kind's own way (SIGTERM to
  // a process's group; a frozen program is thawed first so that it can).
  // Returns at once: the loop kills it if it has not ended by then.
  // kFailedPrecondition before Start or once it was reaped.
  virtual absl::Status Stop(absl::Duration grace) = 0;
  // Ends the program and its whole tree now: every process of its cgroup
  // where it has one (no descendant escapes by setsid()), else its process
  // group. kFailedPrecondition before Start.
  virtual absl::Status Kill() = 0;
  // Suspends every process of the program / resumes them (for a process:
  // the cgroup2 freezer, cgroup.freeze). kUnimplemented where the kind
  // cannot; kFailedPrecondition where this program cannot (no cgroup, not
  // running).
  virtual absl::Status Freeze() {
    return absl::UnimplementedError("this kind of program cannot be frozen");
  }
  virtual absl::Status Thaw() {
    return absl::UnimplementedError("this kind of program cannot be thawed");
  }
  // Whether it is frozen now (Freeze succeeded and no Thaw since).
  virtual bool frozen() const { return false; }
  // A descriptor that becomes readable when the program has ended (a
  // pidfd for a process); -1 before Start. Owned by the program.
  virtual int exit_fd() const = 0;
  // The read end of the program's output (stdout and stderr of a process;
  // non-blocking), for the loop to copy into its log; -1 before Start or
  // once taken.
  virtual UniqueFd TakeOutput() = 0;
  // Reaps the ended program, kills what is left of its tree and releases
  // what it held (dynamic uid, cgroup, state directory). kUnavailable if it
  // has not ended yet; kFailedPrecondition before Start.
  virtual absl::StatusOr<ExitStatus> Reap() = 0;
  // How it ended, once Reap succeeded; nullopt before.
  virtual std::optional<ExitRecord> exit_record() const = 0;
  // For diagnostics only (listings, logs): the leader's pid where the kind
  // has one; -1 otherwise or before Start.
  virtual pid_t pid() const { return -1; }
  // Sends `signal` to a process's group: the process kind only (tests and
  // diagnostics; the loop uses Stop and Kill). kUnimplemented elsewhere.
  virtual absl::Status Signal(int signal) {
    (void)signal;
    return absl::UnimplementedError("this kind of program takes no signals");
  }
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
  // The kind of program it makes ("process", ...): the kind of spec it
  // accepts.
  virtual std::string kind() const = 0;
  // The names of the channel kinds this factory can hand to its programs
  // (the loop refuses any other pairing, at configuration and at start).
  virtual std::vector<std::string> channel_kinds() const = 0;
  // What else an operator should know of the factory (taoctl info), e.g.
  // "accel tcg" for VMs; empty by default.
  virtual std::string description() const { return ""; }
  // Measures `spec` and assigns its identity. Starts nothing, decides
  // nothing. kInvalidArgument for a spec of another kind; kNotFound /
  // kInvalidArgument / kUnauthenticated (a program signature that does not
  // verify) with the reason.
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
