#include "apps/tao_domain/allow.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "tao_domain/policy_io.h"

namespace tao {
namespace {

// "allow-execute-8339ddb6b4d1", "allow-admin-list-uid1000".
std::string DefaultId(const AllowRequest& request) {
  std::string op = absl::AsciiStrToLower(request.operations[0]);
  op = absl::StrReplaceAll(op, {{":", "-"}, {"*", "all"}});
  const std::string who =
      request.uid.has_value()
          ? absl::StrCat("uid", *request.uid)
          : std::string(absl::StripPrefix(request.measurement, "sha256:")
                            .substr(0, 12));
  std::string id = absl::StrCat("allow-", op, "-", who);
  if (!request.label.empty()) absl::StrAppend(&id, "-", request.label);
  return id;
}

}  // namespace

absl::StatusOr<std::string> AllowRuleText(const AllowRequest& request) {
  if (request.operations.empty()) {
    return absl::InvalidArgumentError(
        "allow needs an operation (Execute, Seal, Unseal, Attest, "
        "GetSharedSecret, Admin:...)");
  }
  bool execute = false;
  for (const std::string& op : request.operations) {
    if (!IsKnownOperation(op)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", op, "' is not an operation"));
    }
    execute = execute || op == "Execute";
  }
  if (request.measurement.empty() == !request.uid.has_value()) {
    return absl::InvalidArgumentError(
        "allow needs exactly one of --measurement (a program) and --uid (an "
        "OS client)");
  }
  if (request.run_as_uid.has_value() && !execute) {
    return absl::InvalidArgumentError("--run_as_uid goes with Execute");
  }
  const std::string id = request.id.empty() ? DefaultId(request) : request.id;
  std::string text =
      absl::StrCat("rules {\n  id: \"", absl::CEscape(id), "\"\n");
  for (const std::string& op : request.operations) {
    absl::StrAppend(&text, "  operations: \"", absl::CEscape(op), "\"\n");
  }
  if (!request.label.empty()) {
    absl::StrAppend(&text, "  labels: \"", absl::CEscape(request.label),
                    "\"\n");
  }
  if (request.uid.has_value()) {
    absl::StrAppend(&text, "  principals { uid: ", *request.uid, " }\n");
  } else {
    absl::StrAppend(&text, "  principals { measurement: \"",
                    absl::CEscape(request.measurement), "\" }\n");
  }
  if (request.run_as_uid.has_value()) {
    absl::StrAppend(&text, "  run_as_uids: ", *request.run_as_uid, "\n");
  }
  absl::StrAppend(&text, "}\n");
  return text;
}

absl::StatusOr<std::string> AppendRule(absl::string_view policy_text,
                                       absl::string_view rule_text) {
  std::string text(policy_text);
  if (!text.empty() && !absl::EndsWith(text, "\n")) text += "\n";
  absl::StrAppend(&text, "\n# Added by `tao-domain allow`.\n", rule_text);
  auto checked = ParseDomainPolicyText(text);
  if (!checked.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the policy with the new rule does not check: ",
                     checked.status().message()));
  }
  return text;
}

}  // namespace tao
