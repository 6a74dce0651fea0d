// TaoDomain's typed questions of the Tao calls: Seal, Unseal,
// GetSharedSecret and Attest. Each answers one request and writes one audit
// record (TaoDomain::Record, in tao_domain.cc). The listen loop's request
// handler asks these and acts on the answer; it decides nothing itself.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seal_policy/codec.h"
#include "seal_policy/evaluator.h"
#include "tao/status_macros.h"
#include "tao_domain/tao_domain.h"

namespace tao {
namespace {

// How many per-label reasons an allow of a multi-label Seal spells out; the
// rest are counted. (The labels themselves are all in the record.)
constexpr size_t kMaxLabelReasons = 8;

void CollectDomainLabels(const SealPolicy& policy,
                         std::vector<std::string>* labels) {
  switch (policy.kind_case()) {
    case SealPolicy::kDomainRule:
      if (std::find(labels->begin(), labels->end(),
                    policy.domain_rule().label()) == labels->end()) {
        labels->push_back(policy.domain_rule().label());
      }
      break;
    case SealPolicy::kAllOf:
      for (const auto& p : policy.all_of().policies())
        CollectDomainLabels(p, labels);
      break;
    case SealPolicy::kAnyOf:
      for (const auto& p : policy.any_of().policies())
        CollectDomainLabels(p, labels);
      break;
    default:
      break;
  }
}

std::string Short(const std::string& text) {
  if (text.size() <= 160) return text;
  return absl::StrCat(text.substr(0, 60), "...", text.substr(text.size() - 90));
}

// True if `name` is `caller` or `caller` followed by Ext(...) subprincipals
// only: the names ExtendTaoName lets a program take.
bool IsSelfOrExtension(const Principal& name, const Principal& caller) {
  if (!name.IsSelfOrSubprincipalOf(caller)) return false;
  const auto& subs = name.subprincipals();
  for (size_t i = caller.subprincipals().size(); i < subs.size(); ++i) {
    if (subs[i].kind() != "Ext") return false;
  }
  return true;
}

// Why `name` (the statement's `role`) may not be signed for `caller`, or ""
// if it may. kInvalidArgument if it does not parse.
absl::StatusOr<std::string> SpeaksOnlyForItself(absl::string_view role,
                                                absl::string_view text,
                                                const Principal& caller) {
  auto name = Principal::Parse(text);
  if (!name.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the statement's ", role, " is not a name: ", name.status().message()));
  }
  if (IsSelfOrExtension(*name, caller)) return std::string();
  return absl::StrCat(
      "the statement's ", role, " ", Short(name->text()),
      " is not the caller or the caller extended by Ext(...) only: a "
      "program speaks for its own name (Program, Args and Publisher "
      "subprincipals are the host's to assign)");
}

}  // namespace

// Answers DomainRule leaves from one policy snapshot without recording: the
// question that evaluates them records its one answer.
class TaoDomain::UnrecordedLabels final : public DomainRuleChecker {
 public:
  explicit UnrecordedLabels(const CompiledDomainPolicy& policy)
      : policy_(policy) {}
  DomainRuleAnswer CheckUnsealLabel(const Principal& caller,
                                    absl::string_view label) const override {
    Decision d = policy_.Decide(Caller::Program(caller), "Unseal", label);
    return DomainRuleAnswer{d.allowed, d.reason, d.ForCaller()};
  }

 private:
  const CompiledDomainPolicy& policy_;
};

absl::StatusOr<Decision> TaoDomain::AuthorizeSeal(
    const Principal& caller, absl::string_view policy) const {
  TAO_ASSIGN_OR_RETURN(SealPolicy decoded, DecodeSealPolicy(policy));
  std::vector<std::string> labels;
  CollectDomainLabels(decoded, &labels);
  const Caller who = Caller::Program(caller);
  std::shared_ptr<const CompiledDomainPolicy> current = Current();
  if (labels.empty()) {
    return Record(who, "Seal", "", current->Decide(who, "Seal", ""));
  }
  std::vector<std::string> reasons;
  for (const std::string& label : labels) {
    Decision d = current->Decide(who, "Seal", label);
    if (!d.allowed) return Record(who, "Seal", label, std::move(d));
    reasons.push_back(d.reason);
  }
  std::string reason;
  if (reasons.size() <= kMaxLabelReasons) {
    reason = absl::StrJoin(reasons, "; ");
  } else {
    reason = absl::StrCat(
        absl::StrJoin(reasons.begin(), reasons.begin() + kMaxLabelReasons,
                      "; "),
        "; and ", reasons.size() - kMaxLabelReasons, " more labels granted");
  }
  return Record(who, "Seal", absl::StrJoin(labels, ","),
                Decision::Allow(std::move(reason)));
}

absl::StatusOr<Decision> TaoDomain::AuthorizeUnseal(
    const Principal& caller, absl::string_view policy, const Principal& sealer,
    const Principal& host) const {
  std::shared_ptr<const CompiledDomainPolicy> current = Current();
  UnrecordedLabels labels(*current);
  auto decision = EvaluateSealPolicyBytes(
      policy, SealPolicyContext{caller, sealer, host, &labels, host_state_});
  if (!decision.ok()) {
    return absl::DataLossError(absl::StrCat(
        "the sealed policy does not decode: ", decision.status().message()));
  }
  return Record(Caller::Program(caller), "Unseal", policy,
                *std::move(decision));
}

absl::StatusOr<SharedSecretDecision> TaoDomain::AuthorizeSharedSecret(
    const Principal& caller, absl::string_view policy,
    const Principal& host) const {
  TAO_ASSIGN_OR_RETURN(SealPolicy decoded, DecodeSealPolicy(policy));
  if (decoded.kind_case() == SealPolicy::kAllOf ||
      decoded.kind_case() == SealPolicy::kAnyOf) {
    return absl::InvalidArgumentError(
        "a shared secret takes a single-kind policy, not AllOf or AnyOf");
  }
  const Caller who = Caller::Program(caller);
  std::shared_ptr<const CompiledDomainPolicy> current = Current();
  auto denied = [&](Decision d) {
    return SharedSecretDecision(
        Record(who, "GetSharedSecret", policy, std::move(d)), "", "");
  };
  Decision granted = current->Decide(who, "GetSharedSecret", "");
  if (!granted.allowed) return denied(std::move(granted));
  // Every caller the policy admits must derive the same secret, so the
  // binding is what the policy compares.
  std::string binding;
  std::string how;
  if (decoded.has_same_program()) {
    binding = caller.text();
    how = "SameProgram: bound to the caller's exact name";
  } else if (decoded.has_same_measurement()) {
    int mi = LastMeasurementIndex(caller);
    if (mi < 0) {
      return denied(
          Decision::Deny("SameMeasurement: the caller has no measurement"));
    }
    binding = caller.RootKey().text();
    for (int i = 0; i <= mi; ++i) {
      absl::StrAppend(&binding, ".", caller.subprincipals()[i].ToString());
    }
    how = absl::StrCat("SameMeasurement: bound to the caller's measured name ",
                       caller.subprincipals()[mi].ToString());
  } else {
    // No binding beyond the policy: admission is checked here, with the
    // caller as its own sealer.
    UnrecordedLabels labels(*current);
    Decision admitted = EvaluateSealPolicy(
        decoded, SealPolicyContext{caller, caller, host, &labels, host_state_});
    if (!admitted.allowed) return denied(std::move(admitted));
    how = admitted.reason;
  }
  Decision recorded =
      Record(who, "GetSharedSecret", policy,
             Decision::Allow(absl::StrCat(granted.reason, "; ", how)));
  if (!recorded.allowed) return SharedSecretDecision(recorded, "", "");
  std::string context =
      absl::StrCat("shared-secret:", policy.size(), ":", policy, binding);
  return SharedSecretDecision(std::move(recorded), std::move(binding),
                              std::move(context));
}

absl::StatusOr<Decision> TaoDomain::AuthorizeAttest(
    const Principal& caller, const Statement& statement) const {
  std::string forged;
  if (!statement.speaker().empty()) {
    TAO_ASSIGN_OR_RETURN(
        forged, SpeaksOnlyForItself("speaker", statement.speaker(), caller));
  }
  if (forged.empty() && statement.has_delegation()) {
    TAO_ASSIGN_OR_RETURN(
        forged, SpeaksOnlyForItself(
                    "delegator", statement.delegation().delegator(), caller));
  }
  const Caller who = Caller::Program(caller);
  std::shared_ptr<const CompiledDomainPolicy> current = Current();
  Decision granted = current->Decide(who, "Attest", "");
  if (!granted.allowed || forged.empty()) {
    return Record(who, "Attest", "", std::move(granted));
  }
  return Record(
      who, "Attest", "",
      Decision::Deny(absl::StrCat("domain '", current->policy().domain_name(),
                                  "': Attest refused: ", forged)));
}

}  // namespace tao
