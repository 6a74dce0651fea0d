#include "seal_policy/evaluator.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seal_policy/codec.h"

namespace tao {
namespace {

// An evaluation's answer before it becomes a Decision: only
// EvaluateSealPolicy, below, makes one.
// `for_caller` differs from `reason` only where a DomainRule leaf's answer
// held the domain's other rules back (Decision::ForCaller); empty: the same.
struct Verdict {
  bool allowed;
  std::string reason;
  std::string for_caller;
  static Verdict Allow(std::string reason) {
    return {true, std::move(reason), ""};
  }
  static Verdict Deny(std::string reason) {
    return {false, std::move(reason), ""};
  }
  const std::string& ForCaller() const {
    return for_caller.empty() ? reason : for_caller;
  }
};

std::string Short(const Principal& p) {
  const std::string& t = p.text();
  if (t.size() <= 160) return t;
  return absl::StrCat(t.substr(0, 60), "...", t.substr(t.size() - 90));
}

Verdict SameProgram(const SealPolicyContext& c) {
  if (c.caller == c.sealer) {
    return Verdict::Allow("SameProgram: the caller is the sealer");
  }
  return Verdict::Deny(absl::StrCat("SameProgram: the caller ", Short(c.caller),
                                    " is not the sealer ", Short(c.sealer)));
}

Verdict SameMeasurement(const SealPolicyContext& c) {
  int ci = LastMeasurementIndex(c.caller);
  int si = LastMeasurementIndex(c.sealer);
  if (si < 0) {
    return Verdict::Deny(
        "SameMeasurement: the sealer's name has no measurement");
  }
  if (ci < 0) {
    return Verdict::Deny(
        "SameMeasurement: the caller's name has no measurement");
  }
  const auto& cs = c.caller.subprincipals();
  const auto& ss = c.sealer.subprincipals();
  bool same = ci == si && c.caller.key_spki() == c.sealer.key_spki();
  for (int i = 0; same && i <= ci; ++i) same = cs[i] == ss[i];
  if (same) {
    return Verdict::Allow(absl::StrCat("SameMeasurement: the caller runs ",
                                       cs[ci].ToString(),
                                       " as the sealer did"));
  }
  if (cs[ci] == ss[si]) {
    return Verdict::Deny(
        absl::StrCat("SameMeasurement: the caller runs ", cs[ci].ToString(),
                     " as the sealer did, but under another host"));
  }
  return Verdict::Deny(absl::StrCat("SameMeasurement: the caller runs ",
                                    cs[ci].ToString(), ", but the sealer ran ",
                                    ss[si].ToString()));
}

Verdict SameSignerCheck(const SameSigner& policy, const SealPolicyContext& c) {
  auto signer = Principal::Parse(policy.signer());
  if (!signer.ok() || !signer->subprincipals().empty()) {
    return Verdict::Deny(
        "SameSigner: the policy's signer is not a key principal");
  }
  int mi = LastMeasurementIndex(c.caller);
  const auto& subs = c.caller.subprincipals();
  if (mi < 0 || mi + 1 >= static_cast<int>(subs.size()) ||
      subs[mi + 1].kind() != "Publisher") {
    return Verdict::Deny(
        "SameSigner: the caller's program carries no verified publisher "
        "signature");
  }
  auto claim = ParsePublisher(subs[mi + 1]);
  if (!claim.ok()) {
    return Verdict::Deny(
        absl::StrCat("SameSigner: ", claim.status().message()));
  }
  if (claim->publisher_spki != signer->key_spki()) {
    return Verdict::Deny(
        absl::StrCat("SameSigner: the caller is published by another key, not ",
                     Short(*signer)));
  }
  if (claim->product != policy.product()) {
    return Verdict::Deny(absl::StrCat("SameSigner: the caller is product '",
                                      claim->product, "', not '",
                                      policy.product(), "'"));
  }
  if (claim->version < policy.min_version()) {
    return Verdict::Deny(absl::StrCat(
        "SameSigner: the caller is version ", claim->version, " of '",
        claim->product, "', older than the minimum ", policy.min_version()));
  }
  return Verdict::Allow(absl::StrCat("SameSigner: the caller is version ",
                                     claim->version, " of '", claim->product,
                                     "' (minimum ", policy.min_version(),
                                     ") by the required publisher"));
}

Verdict SameHost(const SealPolicyContext& c) {
  if (c.caller != c.host && c.caller.IsSelfOrSubprincipalOf(c.host)) {
    return Verdict::Allow("SameHost: the caller is a program of this host");
  }
  return Verdict::Deny(absl::StrCat("SameHost: the caller ", Short(c.caller),
                                    " is not a program of this host ",
                                    Short(c.host)));
}

Verdict SameHostStateCheck(const SameHostState& policy,
                           const SealPolicyContext& c) {
  Verdict host = SameHost(c);
  if (!host.allowed) {
    return Verdict::Deny(absl::StrCat("SameHostState: ", host.reason));
  }
  if (c.host_state.empty()) {
    return Verdict::Deny(
        "SameHostState: this host has no platform state (its root is not "
        "tpm2)");
  }
  if (c.host_state != policy.state()) {
    return Verdict::Deny(absl::StrCat(
        "SameHostState: the host's platform state is ", c.host_state,
        ", the data was sealed for ", policy.state()));
  }
  return Verdict::Allow(absl::StrCat(
      "SameHostState: a program of this host in state ", c.host_state));
}

Verdict Evaluate(const SealPolicy& policy, const SealPolicyContext& c,
                 int depth) {
  if (depth > kMaxSealPolicyDepth) {
    return Verdict::Deny("the seal policy nests too deeply");
  }
  switch (policy.kind_case()) {
    case SealPolicy::kSameProgram:
      return SameProgram(c);
    case SealPolicy::kSameMeasurement:
      return SameMeasurement(c);
    case SealPolicy::kSameSigner:
      return SameSignerCheck(policy.same_signer(), c);
    case SealPolicy::kSameHost:
      return SameHost(c);
    case SealPolicy::kSameHostState:
      return SameHostStateCheck(policy.same_host_state(), c);
    case SealPolicy::kDomainRule: {
      if (c.domain == nullptr) {
        return Verdict::Deny(absl::StrCat("DomainRule(",
                                          policy.domain_rule().label(),
                                          "): no domain policy is loaded"));
      }
      DomainRuleAnswer d =
          c.domain->CheckUnsealLabel(c.caller, policy.domain_rule().label());
      const std::string head =
          absl::StrCat("DomainRule(", policy.domain_rule().label(), "): ");
      return Verdict{
          d.allowed, absl::StrCat(head, d.reason),
          d.for_caller.empty() ? "" : absl::StrCat(head, d.for_caller)};
    }
    case SealPolicy::kAllOf: {
      if (policy.all_of().policies().empty()) {
        return Verdict::Deny("AllOf: an empty AllOf grants nothing");
      }
      std::vector<std::string> reasons;
      for (const SealPolicy& child : policy.all_of().policies()) {
        Verdict d = Evaluate(child, c, depth + 1);
        if (!d.allowed) {
          return Verdict{false, absl::StrCat("AllOf: ", d.reason),
                         d.for_caller.empty()
                             ? ""
                             : absl::StrCat("AllOf: ", d.for_caller)};
        }
        reasons.push_back(std::move(d.reason));
      }
      return Verdict::Allow(
          absl::StrCat("AllOf: ", absl::StrJoin(reasons, "; ")));
    }
    case SealPolicy::kAnyOf: {
      std::vector<std::string> reasons;
      std::vector<std::string> for_caller;
      bool held_back = false;
      for (const SealPolicy& child : policy.any_of().policies()) {
        Verdict d = Evaluate(child, c, depth + 1);
        if (d.allowed) return Verdict::Allow(absl::StrCat("AnyOf: ", d.reason));
        held_back = held_back || !d.for_caller.empty();
        for_caller.push_back(d.ForCaller());
        reasons.push_back(std::move(d.reason));
      }
      return Verdict{
          false,
          absl::StrCat("AnyOf: none holds: ", absl::StrJoin(reasons, "; ")),
          held_back ? absl::StrCat("AnyOf: none holds: ",
                                   absl::StrJoin(for_caller, "; "))
                    : ""};
    }
    case SealPolicy::KIND_NOT_SET:
      break;
  }
  return Verdict::Deny("the seal policy has no kind");
}

}  // namespace

int LastMeasurementIndex(const Principal& name) {
  const auto& subs = name.subprincipals();
  for (int i = static_cast<int>(subs.size()) - 1; i >= 0; --i) {
    if (IsMeasurementKind(subs[i])) return i;
  }
  return -1;
}

Decision EvaluateSealPolicy(const SealPolicy& policy,
                            const SealPolicyContext& context) {
  Verdict verdict = Evaluate(policy, context, 0);
  return Decision(verdict.allowed, std::move(verdict.reason),
                  std::move(verdict.for_caller));
}

absl::StatusOr<Decision> EvaluateSealPolicyBytes(
    absl::string_view policy, const SealPolicyContext& context) {
  auto decoded = DecodeSealPolicy(policy);
  if (!decoded.ok()) return decoded.status();
  return EvaluateSealPolicy(*decoded, context);
}

}  // namespace tao
