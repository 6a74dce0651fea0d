#include "tao_domain/tao_domain.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tao/status_macros.h"
#include "tao_domain/policy_io.h"

namespace tao {
namespace {

std::string ShortName(const std::string& text) {
  if (text.size() <= 120) return text;
  return absl::StrCat(text.substr(0, 40), "...", text.substr(text.size() - 70));
}

// Returns a description of why `m` matches `caller`, or nullopt.
std::optional<std::string> MatchOne(const Matcher& m, const Caller& caller) {
  switch (m.kind_case()) {
    case Matcher::kUid:
      if (caller.uid.has_value() && *caller.uid == m.uid()) {
        return absl::StrCat("uid ", m.uid());
      }
      return std::nullopt;
    case Matcher::kGid:
      if (std::find(caller.gids.begin(), caller.gids.end(), m.gid()) !=
          caller.gids.end()) {
        return absl::StrCat("gid ", m.gid());
      }
      return std::nullopt;
    default:
      break;
  }
  if (!caller.program.has_value()) return std::nullopt;
  const Principal& name = *caller.program;
  const auto& subs = name.subprincipals();
  int mi = LastMeasurementIndex(name);
  switch (m.kind_case()) {
    case Matcher::kExactName:
      if (name.text() == m.exact_name()) return std::string("its exact name");
      return std::nullopt;
    case Matcher::kNamePrefix: {
      auto prefix = Principal::Parse(m.name_prefix());
      if (prefix.ok() && name.IsSelfOrSubprincipalOf(*prefix)) {
        return absl::StrCat("name prefix ", ShortName(prefix->text()));
      }
      return std::nullopt;
    }
    case Matcher::kMeasurement:
      if (mi >= 0 && subs[mi].argument() == m.measurement()) {
        return absl::StrCat("measurement ", m.measurement().substr(0, 19), "...");
      }
      return std::nullopt;
    case Matcher::kSigner: {
      if (mi < 0 || mi + 1 >= static_cast<int>(subs.size())) return std::nullopt;
      auto claim = ParsePublisher(subs[mi + 1]);
      auto signer = Principal::Parse(m.signer().signer());
      if (!claim.ok() || !signer.ok() || claim->publisher_spki != signer->key_spki() ||
          claim->product != m.signer().product() ||
          claim->version < m.signer().min_version()) {
        return std::nullopt;
      }
      return absl::StrCat("signer of '", claim->product, "' version ",
                          claim->version, " >= ", m.signer().min_version());
    }
    default:
      return std::nullopt;
  }
}

bool GrantsOperation(const Rule& rule, absl::string_view operation) {
  for (const std::string& op : rule.operations()) {
    if (op == operation) return true;
    if (op == "Admin:*" && absl::StartsWith(operation, "Admin:")) return true;
  }
  return false;
}

// Labels scope a rule's Seal and Unseal grants; its other operations ignore
// them (a request for them carries no label).
bool GrantsLabel(const Rule& rule, absl::string_view operation,
                 absl::string_view label) {
  if (operation != "Seal" && operation != "Unseal") return label.empty();
  if (label.empty()) return rule.labels().empty();
  for (const std::string& l : rule.labels()) {
    if (l == label || l == "*") return true;
  }
  return false;
}

}  // namespace

Caller Caller::Program(Principal name) {
  Caller c;
  c.program = std::move(name);
  return c;
}

Caller Caller::User(uint32_t uid, std::vector<uint32_t> gids) {
  Caller c;
  c.uid = uid;
  c.gids = std::move(gids);
  return c;
}

std::string Caller::Describe() const {
  std::vector<std::string> parts;
  if (program.has_value()) parts.push_back(absl::StrCat("program ", program->text()));
  if (uid.has_value()) {
    parts.push_back(absl::StrCat("uid ", *uid,
                                 gids.empty() ? ""
                                              : absl::StrCat(" (gids ",
                                                             absl::StrJoin(gids, ", "),
                                                             ")")));
  }
  if (parts.empty()) return "an anonymous caller";
  return absl::StrJoin(parts, ", ");
}

Decision DecideWithPolicy(const DomainPolicy& policy, const Caller& caller,
                          absl::string_view operation, absl::string_view label) {
  std::string what =
      label.empty() ? std::string(operation) : absl::StrCat(operation, "(", label, ")");
  if (!IsKnownOperation(operation) || operation == "Admin:*") {
    return Decision::Deny(absl::StrCat("domain '", policy.domain_name(),
                                       "': unknown operation '", operation, "'"));
  }
  std::vector<std::string> near_misses;
  for (const Rule& rule : policy.rules()) {
    if (!GrantsOperation(rule, operation)) continue;
    if (!GrantsLabel(rule, operation, label)) {
      near_misses.push_back(absl::StrCat(
          "rule '", rule.id(), "' grants ", operation,
          rule.labels().empty() ? " without a label"
                                : absl::StrCat(" for labels [",
                                               absl::StrJoin(rule.labels(), ", "), "]")));
      continue;
    }
    for (const Matcher& m : rule.principals()) {
      std::optional<std::string> how = MatchOne(m, caller);
      if (how.has_value()) {
        return Decision::Allow(absl::StrCat("domain '", policy.domain_name(),
                                            "': rule '", rule.id(), "' grants ", what,
                                            " (matched by ", *how, ")"));
      }
    }
    near_misses.push_back(
        absl::StrCat("rule '", rule.id(), "' grants ", what, " to others"));
  }
  std::string reason = absl::StrCat("domain '", policy.domain_name(),
                                    "': no rule grants ", what, " to ",
                                    ShortName(caller.Describe()));
  if (near_misses.empty()) {
    absl::StrAppend(&reason, "; no rule grants ", operation, " at all");
  } else {
    absl::StrAppend(&reason, "; ", absl::StrJoin(near_misses, "; "));
  }
  return Decision::Deny(std::move(reason));
}

absl::StatusOr<std::unique_ptr<TaoDomain>> TaoDomain::Create(
    VerifyingKey policy_key, absl::string_view signed_policy, AuditLog* audit,
    const Clock& clock) {
  TAO_ASSIGN_OR_RETURN(DomainPolicy policy,
                       VerifySignedDomainPolicy(signed_policy, policy_key));
  return std::unique_ptr<TaoDomain>(
      new TaoDomain(std::move(policy_key),
                    std::make_shared<const DomainPolicy>(std::move(policy)), audit,
                    clock));
}

absl::Status TaoDomain::Reload(absl::string_view signed_policy) {
  auto policy = VerifySignedDomainPolicy(signed_policy, policy_key_);
  if (!policy.ok()) {
    return absl::Status(policy.status().code(),
                        absl::StrCat("policy not reloaded, the old one stays in force: ",
                                     policy.status().message()));
  }
  auto fresh = std::make_shared<const DomainPolicy>(*std::move(policy));
  absl::MutexLock lock(&mu_);
  policy_ = std::move(fresh);
  return absl::OkStatus();
}

std::shared_ptr<const DomainPolicy> TaoDomain::Current() const {
  absl::MutexLock lock(&mu_);
  return policy_;
}

Decision TaoDomain::Explain(const Caller& caller, absl::string_view operation,
                            absl::string_view label) const {
  return DecideWithPolicy(*Current(), caller, operation, label);
}

Decision TaoDomain::Authorize(const Caller& caller, absl::string_view operation,
                              absl::string_view label) const {
  return Record(caller, operation, label, Explain(caller, operation, label));
}

Decision TaoDomain::Record(const Caller& caller, absl::string_view operation,
                           absl::string_view label, Decision decision) const {
  if (audit_ != nullptr) {
    absl::Status logged = audit_->Append(AuditRecord{
        clock_.Now(), caller.Describe(), std::string(operation), std::string(label),
        decision.allowed, decision.reason});
    if (!logged.ok()) {
      return Decision::Deny(absl::StrCat(
          "domain '", Current()->domain_name(), "': ", operation,
          " denied because the decision could not be recorded in the audit "
          "trail: ",
          logged.message()));
    }
  }
  return decision;
}

Decision TaoDomain::CheckUnsealLabel(const Principal& caller,
                                     absl::string_view label) const {
  return Authorize(Caller::Program(caller), "Unseal", label);
}

std::string TaoDomain::domain_name() const { return Current()->domain_name(); }

DomainPolicy TaoDomain::policy() const { return *Current(); }

}  // namespace tao
