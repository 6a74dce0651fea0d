// The vocabulary of the listen loop that its parts share: how a program is
// started (StartRequest, RestartPolicy), what is known of it (ChildInfo,
// ProgramState, HostedProcess) and what happens to it (ProgramEvent).
// Plain data; thread-compatible.
#ifndef TAO_CHANNELS_LOOP_TYPES_H_
#define TAO_CHANNELS_LOOP_TYPES_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "program_factory/program_factory.h"

namespace tao {

// What happens when a program exits.
struct RestartPolicy {
  enum Mode { kNever, kOnFailure, kAlways };
  Mode mode = kNever;
  // Delay before the first restart, doubled after each one up to
  // max_backoff; reset once a run lasts longer than max_backoff.
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(30);
  // Most restarts in a row (0: no limit).
  int max_restarts = 0;
};

absl::string_view RestartModeName(RestartPolicy::Mode mode);

struct StartRequest {
  std::string factory = "process";
  // A channel kind's name (channels/channel_kinds.h); empty: the
  // registry's default kind.
  std::string channel;
  ProgramSpec spec;  // a launch spec of the factory's kind
  RestartPolicy restart;

  // The spec as a process's (made one first if it was of another kind),
  // for callers that start processes.
  ProcessSpec& process() {
    if (!std::holds_alternative<ProcessSpec>(spec)) spec = ProcessSpec();
    return std::get<ProcessSpec>(spec);
  }
};

// Something that happened to a hosted program (or to the host's policy),
// for watchers.
struct ProgramEvent {
  enum Kind { kStarted, kExited, kDenied, kRestarted, kPolicyReloaded };
  Kind kind;
  uint64_t id = 0;           // the program (0 for a denied start)
  uint64_t previous_id = 0;  // for kRestarted: the run it replaces
  std::string name;    // the program's name, its path if denied, the domain's
  std::string detail;  // exit status, denial reason, ...
  absl::Time time;
};

// "started", "exited", "denied", "restarted", "policy-reloaded".
absl::string_view ProgramEventKindName(ProgramEvent::Kind kind);

enum class ProgramState { kRunning, kStopping, kExited };
absl::string_view ProgramStateName(ProgramState state);

// A snapshot of one hosted program.
struct ChildInfo {
  uint64_t id = 0;
  std::string name;  // current name text (with extensions)
  pid_t pid = -1;
  std::string factory;
  std::string channel;  // its channel kind's name
  ProgramState state = ProgramState::kRunning;
  bool frozen = false;  // HostedProgramChannel::FreezeHostedProgram
  absl::Time started;
  std::optional<ExitStatus> exit;
  // What the kind says of the end (ExitRecord::detail): a VM's "clean
  // power-off" or "guest panic", an enclave's layers and crash record;
  // empty for a process.
  std::string exit_detail;
  uint64_t calls = 0;    // Tao calls answered
  uint64_t denials = 0;  // of which denied by policy
  std::string log_path;
  std::string path;  // what runs (LaunchTarget: a process's executable)
  RestartPolicy::Mode restart = RestartPolicy::kNever;
  int restarts = 0;          // how many runs came before this one
  uint64_t previous_id = 0;  // the run this one restarted, if any
  // Its identity, cgroup and state directory (kept in the exit record).
  Confinement confinement;
};

// A process that belongs to the host's programs (ProgramOfPid).
struct HostedProcess {
  // The running program it belongs to; nullopt if it belongs to none that
  // runs now (a leftover of one that ended).
  std::optional<uint64_t> id;
  std::string name;  // that program's name text
};

}  // namespace tao

#endif  // TAO_CHANNELS_LOOP_TYPES_H_
