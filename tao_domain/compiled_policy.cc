#include "tao_domain/compiled_policy.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seal_policy/evaluator.h"
#include "tao_domain/policy_io.h"

namespace tao {
namespace {

std::string ShortName(const std::string& text) {
  if (text.size() <= 120) return text;
  return absl::StrCat(text.substr(0, 40), "...", text.substr(text.size() - 70));
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

// Returns a description of why `m` matches `caller`, or nullopt.
std::optional<std::string> CompiledDomainPolicy::Match(
    const Matcher& m, const ParsedMatcher& parsed, const Caller& caller) const {
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
    case Matcher::kNamePrefix:
      if (parsed.name_prefix.has_value() &&
          name.IsSelfOrSubprincipalOf(*parsed.name_prefix)) {
        return absl::StrCat("name prefix ",
                            ShortName(parsed.name_prefix->text()));
      }
      return std::nullopt;
    case Matcher::kMeasurement:
      if (mi >= 0 && subs[mi].argument() == m.measurement()) {
        return absl::StrCat("measurement ", m.measurement().substr(0, 19),
                            "...");
      }
      return std::nullopt;
    case Matcher::kSigner: {
      if (mi < 0 || mi + 1 >= static_cast<int>(subs.size()))
        return std::nullopt;
      if (!parsed.signer_spki.has_value()) return std::nullopt;
      auto claim = ParsePublisher(subs[mi + 1]);
      if (!claim.ok() || claim->publisher_spki != *parsed.signer_spki ||
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
  if (program.has_value())
    parts.push_back(absl::StrCat("program ", program->text()));
  if (uid.has_value()) {
    parts.push_back(absl::StrCat(
        "uid ", *uid,
        gids.empty()
            ? ""
            : absl::StrCat(" (gids ", absl::StrJoin(gids, ", "), ")")));
  }
  if (parts.empty()) return "an anonymous caller";
  return absl::StrJoin(parts, ", ");
}

CompiledDomainPolicy::CompiledDomainPolicy(DomainPolicy policy)
    : policy_(std::move(policy)) {
  parsed_.reserve(policy_.rules_size());
  for (const Rule& rule : policy_.rules()) {
    std::vector<ParsedMatcher>& matchers = parsed_.emplace_back();
    matchers.reserve(rule.principals_size());
    for (const Matcher& m : rule.principals()) {
      ParsedMatcher& parsed = matchers.emplace_back();
      if (m.kind_case() == Matcher::kNamePrefix) {
        auto prefix = Principal::Parse(m.name_prefix());
        if (prefix.ok()) parsed.name_prefix = *std::move(prefix);
      } else if (m.kind_case() == Matcher::kSigner) {
        auto signer = Principal::Parse(m.signer().signer());
        if (signer.ok()) parsed.signer_spki = signer->key_spki();
      }
    }
  }
}

Decision CompiledDomainPolicy::Decide(const Caller& caller,
                                      absl::string_view operation,
                                      absl::string_view label) const {
  const DomainPolicy& policy = policy_;
  std::string what = label.empty() ? std::string(operation)
                                   : absl::StrCat(operation, "(", label, ")");
  if (!IsKnownOperation(operation) || operation == "Admin:*") {
    return Decision::Deny(absl::StrCat("domain '", policy.domain_name(),
                                       "': unknown operation '", operation,
                                       "'"));
  }
  std::vector<std::string> near_misses;
  for (int r = 0; r < policy.rules_size(); ++r) {
    const Rule& rule = policy.rules(r);
    if (!GrantsOperation(rule, operation)) continue;
    if (!GrantsLabel(rule, operation, label)) {
      near_misses.push_back(absl::StrCat(
          "rule '", rule.id(), "' grants ", operation,
          rule.labels().empty()
              ? " without a label"
              : absl::StrCat(" for labels [",
                             absl::StrJoin(rule.labels(), ", "), "]")));
      continue;
    }
    for (int k = 0; k < rule.principals_size(); ++k) {
      std::optional<std::string> how =
          Match(rule.principals(k), parsed_[r][k], caller);
      if (how.has_value()) {
        return Decision::Allow(absl::StrCat("domain '", policy.domain_name(),
                                            "': rule '", rule.id(), "' grants ",
                                            what, " (matched by ", *how, ")"));
      }
    }
    near_misses.push_back(
        absl::StrCat("rule '", rule.id(), "' grants ", what, " to others"));
  }
  std::string reason =
      absl::StrCat("domain '", policy.domain_name(), "': no rule grants ", what,
                   " to ", ShortName(caller.Describe()));
  if (near_misses.empty()) {
    absl::StrAppend(&reason, "; no rule grants ", operation, " at all");
  } else {
    absl::StrAppend(&reason, "; ", absl::StrJoin(near_misses, "; "));
  }
  return Decision::Deny(std::move(reason));
}

Decision DecideWithPolicy(const DomainPolicy& policy, const Caller& caller,
                          absl::string_view operation,
                          absl::string_view label) {
  return CompiledDomainPolicy(policy).Decide(caller, operation, label);
}

}  // namespace tao
