#include "tao_domain/compiled_policy.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seal_policy/evaluator.h"
#include "tao/name_presentation.h"
#include "tao_domain/denial_explanation.h"
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
        return absl::StrCat("measurement ", m.measurement());
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
  // Built in place: every audit record of a decision describes its caller.
  std::string out;
  if (program.has_value()) out = absl::StrCat("program ", program->text());
  if (uid.has_value()) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", "uid ", *uid);
    if (!gids.empty()) {
      absl::StrAppend(&out, " (gids ", absl::StrJoin(gids, ", "), ")");
    }
  }
  if (out.empty()) return "an anonymous caller";
  return out;
}

namespace {

template <typename ParsedMatcher, typename Matchers>
std::vector<ParsedMatcher> ParseMatchers(const Matchers& matchers) {
  std::vector<ParsedMatcher> out;
  out.reserve(matchers.size());
  for (const Matcher& m : matchers) {
    ParsedMatcher& parsed = out.emplace_back();
    if (m.kind_case() == Matcher::kNamePrefix) {
      auto prefix = Principal::Parse(m.name_prefix());
      if (prefix.ok()) parsed.name_prefix = *std::move(prefix);
    } else if (m.kind_case() == Matcher::kSigner) {
      auto signer = Principal::Parse(m.signer().signer());
      if (signer.ok()) parsed.signer_spki = signer->key_spki();
    }
  }
  return out;
}

}  // namespace

CompiledDomainPolicy::CompiledDomainPolicy(DomainPolicy policy)
    : policy_(std::move(policy)) {
  parsed_.reserve(policy_.rules_size());
  parsed_programs_.reserve(policy_.rules_size());
  for (const Rule& rule : policy_.rules()) {
    parsed_.push_back(ParseMatchers<ParsedMatcher>(rule.principals()));
    parsed_programs_.push_back(ParseMatchers<ParsedMatcher>(rule.programs()));
  }
}

Decision CompiledDomainPolicy::Decide(const Caller& caller,
                                      absl::string_view operation,
                                      absl::string_view label) const {
  std::string what = label.empty() ? std::string(operation)
                                   : absl::StrCat(operation, "(", label, ")");
  return DecideImpl(caller, operation, label, what, nullptr);
}

Decision CompiledDomainPolicy::DecideImpl(
    const Caller& caller, absl::string_view operation, absl::string_view label,
    absl::string_view what, const Refusal& refuse,
    std::optional<uint32_t> run_as_uid) const {
  const DomainPolicy& policy = policy_;
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
    bool refused = false;
    for (int k = 0; k < rule.principals_size() && !refused; ++k) {
      std::optional<std::string> how =
          Match(rule.principals(k), parsed_[r][k], caller);
      if (how.has_value() && refuse) {
        if (std::optional<std::string> why = refuse(r)) {
          near_misses.push_back(absl::StrCat("rule '", rule.id(), "' grants ",
                                             operation, " (matched by ", *how,
                                             ") but ", *why));
          refused = true;
          continue;
        }
      }
      if (how.has_value()) {
        return Decision::Allow(absl::StrCat("domain '", policy.domain_name(),
                                            "': rule '", rule.id(), "' grants ",
                                            what, " (matched by ", *how, ")"));
      }
    }
    if (!refused) {
      near_misses.push_back(
          absl::StrCat("rule '", rule.id(), "' grants ", what, " to others (",
                       DescribeMatchers(rule.principals()), ")"));
    }
  }
  // The caller learns what was refused to whom; only the operator learns
  // which rules there are (Decision::ForCaller).
  std::string for_caller =
      absl::StrCat("domain '", policy.domain_name(), "': no rule grants ", what,
                   " to ", ShortenNamesIn(caller.Describe()));
  std::string reason = for_caller;
  const std::string admit = AdmitCommand(caller, operation, label, run_as_uid);
  if (!admit.empty()) absl::StrAppend(&reason, "; to admit it: ", admit);
  if (near_misses.empty()) {
    absl::StrAppend(&reason, "; no rule grants ", operation, " at all");
  } else {
    absl::StrAppend(&reason, "; ", absl::StrJoin(near_misses, "; "));
  }
  return Decision::Deny(std::move(reason), std::move(for_caller));
}

namespace {

bool Lists(const Rule& rule, uint32_t uid) {
  return std::find(rule.run_as_uids().begin(), rule.run_as_uids().end(), uid) !=
         rule.run_as_uids().end();
}

std::string UidList(const Rule& rule) {
  return rule.run_as_uids().empty()
             ? std::string("lists no run_as_uids")
             : absl::StrCat("lists run_as_uids [",
                            absl::StrJoin(rule.run_as_uids(), ", "), "]");
}

}  // namespace

Decision CompiledDomainPolicy::DecideExecute(const Principal& name,
                                             const RunAs& run_as) const {
  // A dynamic identity is the default and needs no words.
  std::string what = run_as.dynamic()
                         ? std::string("Execute")
                         : absl::StrCat("Execute as ", run_as.ToString());
  return DecideImpl(
      Caller::Program(name), "Execute", "", what,
      [this, &run_as](int r) -> std::optional<std::string> {
        const Rule& rule = policy_.rules(r);
        if (run_as.dynamic() || Lists(rule, *run_as.uid)) return std::nullopt;
        return absl::StrCat("not as uid ", *run_as.uid, " (it ", UidList(rule),
                            ")");
      },
      run_as.dynamic() ? std::nullopt : std::optional<uint32_t>(*run_as.uid));
}

Decision CompiledDomainPolicy::DecideStart(const Caller& admin,
                                           const Principal& name,
                                           const RunAs& run_as) const {
  std::string what = absl::StrCat(
      "Admin:Start of ", ShortName(name.text()),
      run_as.dynamic() ? "" : absl::StrCat(" as ", run_as.ToString()));
  const Caller program = Caller::Program(name);
  return DecideImpl(
      admin, "Admin:Start", "", what,
      [this, &run_as, &program, &name](int r) -> std::optional<std::string> {
        const Rule& rule = policy_.rules(r);
        if (!rule.programs().empty()) {
          bool matched = false;
          for (int k = 0; k < rule.programs_size() && !matched; ++k) {
            matched = Match(rule.programs(k), parsed_programs_[r][k], program)
                          .has_value();
          }
          if (!matched) {
            return absl::StrCat("not for program ", ShortName(name.text()),
                                " (no matcher of its programs matches)");
          }
        }
        if (!run_as.dynamic() && !rule.run_as_uids().empty() &&
            !Lists(rule, *run_as.uid)) {
          return absl::StrCat("not as uid ", *run_as.uid, " (it ",
                              UidList(rule), ")");
        }
        return std::nullopt;
      });
}

Decision DecideExecuteWithPolicy(const DomainPolicy& policy,
                                 const Principal& name, const RunAs& run_as) {
  return CompiledDomainPolicy(policy).DecideExecute(name, run_as);
}

Decision DecideWithPolicy(const DomainPolicy& policy, const Caller& caller,
                          absl::string_view operation,
                          absl::string_view label) {
  return CompiledDomainPolicy(policy).Decide(caller, operation, label);
}

}  // namespace tao
