#include "admin/admin_authorizer.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace tao {
namespace {

// Every rpc of AdminService and what it needs. A test walks admin.proto's
// service descriptor and fails on any rpc missing here.
constexpr AdminMethodOperation kAdminOperations[] = {
    {"StartHostedProgram", "Admin:Start"},
    {"StopHostedProgram", "Admin:Stop"},
    {"KillHostedProgram", "Admin:Kill"},
    {"PauseHostedProgram", "Admin:Pause"},
    {"ResumeHostedProgram", "Admin:Resume"},
    {"ListHostedPrograms", "Admin:List"},
    {"WaitHostedProgram", "Admin:Wait"},
    {"GetLogs", "Admin:Logs"},
    {"WatchEvents", "Admin:Events"},
    {"GetTaoName", "Admin:GetTaoName"},
    {"GetHostInfo", "Admin:Info"},
    {"ReloadPolicy", "Admin:Reload"},
    {"Shutdown", "Admin:Shutdown"},
};

// What a denied admin caller is told: that it was denied, and nothing of
// the policy (no near misses, no rule ids, no other rule's matchers); the
// host's log keeps the whole reason. Admin:Info, which describes the host,
// says only "permission denied".
std::string DenialForCaller(absl::string_view operation,
                            const Decision& decision) {
  if (operation == "Admin:Info") return "permission denied";
  return absl::StrCat(decision.ForCaller(),
                      " (the host's log has the details)");
}

}  // namespace

absl::Span<const AdminMethodOperation> AdminMethodOperations() {
  return kAdminOperations;
}

absl::StatusOr<absl::string_view> AdminOperationOf(absl::string_view method) {
  for (const AdminMethodOperation& entry : kAdminOperations) {
    if (entry.method == method) return entry.operation;
  }
  return absl::PermissionDeniedError(
      absl::StrCat("admin method '", method,
                   "' has no operation in the host's table; refused"));
}

absl::StatusOr<Caller> AdminAuthorizer::Authorize(
    const std::string& peer, absl::string_view method) const {
  absl::StatusOr<absl::string_view> found = AdminOperationOf(method);
  if (!found.ok()) {
    LOG(ERROR) << found.status();
    return found.status();
  }
  const absl::string_view operation = *found;
  std::optional<PeerCredentials> credentials = peers_.Lookup(peer);
  if (!credentials.has_value()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "cannot identify the caller of ", operation, " (peer ", peer, ")"));
  }
  Caller caller = Caller::User(credentials->uid, credentials->groups);
  // A hosted program on the admin socket is that program, not its uid: a
  // program granted uid 0 does not inherit root's admin rules.
  std::optional<HostedProcess> hosted;
  if (credentials->pid > 0) hosted = programs_.ProgramOfPid(credentials->pid);
  if (hosted.has_value()) {
    auto name = hosted->id.has_value()
                    ? Principal::Parse(hosted->name)
                    : absl::StatusOr<Principal>(absl::NotFoundError("none"));
    if (!name.ok()) {
      return absl::UnauthenticatedError(absl::StrCat(
          "cannot identify the caller of ", operation, ": pid ",
          credentials->pid,
          " belongs to the host's programs but to none that runs"));
    }
    caller = Caller::Program(*std::move(name));
  }
  Decision decision = domain_.Authorize(caller, operation);
  VLOG(1) << operation << " by uid " << credentials->uid << ": "
          << (decision.allowed ? "allowed" : "denied");
  if (!decision.allowed) {
    LOG(INFO) << "denied " << operation << " to uid " << credentials->uid
              << ": " << decision.reason;
    return absl::PermissionDeniedError(DenialForCaller(operation, decision));
  }
  return caller;
}

}  // namespace tao
