#include "channels/loop_types.h"

namespace tao {

absl::string_view RestartModeName(RestartPolicy::Mode mode) {
  switch (mode) {
    case RestartPolicy::kNever:
      return "never";
    case RestartPolicy::kOnFailure:
      return "on-failure";
    case RestartPolicy::kAlways:
      return "always";
  }
  return "unknown";
}

absl::string_view ProgramEventKindName(ProgramEvent::Kind kind) {
  switch (kind) {
    case ProgramEvent::kStarted:
      return "started";
    case ProgramEvent::kExited:
      return "exited";
    case ProgramEvent::kDenied:
      return "denied";
    case ProgramEvent::kRestarted:
      return "restarted";
    case ProgramEvent::kPolicyReloaded:
      return "policy-reloaded";
  }
  return "unknown";
}

absl::string_view ProgramStateName(ProgramState state) {
  switch (state) {
    case ProgramState::kRunning:
      return "running";
    case ProgramState::kStopping:
      return "stopping";
    case ProgramState::kExited:
      return "exited";
  }
  return "unknown";
}

}  // namespace tao
