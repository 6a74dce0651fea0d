// `tao-domain allow`: one rule, written from flags, appended to policy.txt,
// so that the command a denial names (tao_domain/denial_explanation.h)
// admits the caller without hand-editing protobuf text. The operator's
// comments and rules stay as they were: the rule is appended as text.
#ifndef TAO_APPS_TAO_DOMAIN_ALLOW_H_
#define TAO_APPS_TAO_DOMAIN_ALLOW_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tao {

// What the rule grants, and to whom: exactly one of measurement and uid.
struct AllowRequest {
  std::vector<std::string> operations;  // e.g. "Execute", "Admin:Start"
  std::string id;                       // empty: made from the rest
  std::string measurement;              // "sha256:<64 hex>"
  std::optional<uint32_t> uid;          // an OS client
  std::string label;                    // Seal/Unseal labels; empty: none
  std::optional<uint32_t> run_as_uid;   // Execute as this uid
};

// The rule's protobuf text, e.g. `rules { id: "..." operations: "Execute"
// principals { measurement: "..." } }`. kInvalidArgument when the request
// names no operation, an unknown one, both or neither of measurement and
// uid, or a run_as_uid without Execute.
absl::StatusOr<std::string> AllowRuleText(const AllowRequest& request);

// `policy_text` with `rule_text` appended under a comment, checked as a whole
// (ParseDomainPolicyText: a duplicate id, a bad measurement). kInvalidArgument
// with the parser's message when it does not check.
absl::StatusOr<std::string> AppendRule(absl::string_view policy_text,
                                       absl::string_view rule_text);

}  // namespace tao

#endif  // TAO_APPS_TAO_DOMAIN_ALLOW_H_
