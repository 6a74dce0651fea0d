// CompiledDomainPolicy: a verified domain policy with every name its
// matchers mention parsed once, at load, so that a decision parses nothing.
// The decision procedure itself (first matching rule, near misses) lives
// here; TaoDomain adds the signature, reloads and the audit trail.
#ifndef TAO_TAO_DOMAIN_COMPILED_POLICY_H_
#define TAO_TAO_DOMAIN_COMPILED_POLICY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "seal_policy/decision.h"
#include "tao/principal.h"
#include "tao/run_as.h"
#include "tao_domain/domain_policy.pb.h"

namespace tao {

// Who asks: a hosted program (by name), an admin client (by OS uid and
// groups), or both.
struct Caller {
  std::optional<Principal> program;
  std::optional<uint32_t> uid;
  std::vector<uint32_t> gids;

  static Caller Program(Principal name);
  static Caller User(uint32_t uid, std::vector<uint32_t> gids = {});
  // "program key(...)..." or "uid 1000 (gids 1000, 27)".
  std::string Describe() const;
};

// Immutable after construction, so thread-safe. A matcher whose name does not
// parse (validation refuses such policies; a tool may still hand one in)
// matches nobody.
class CompiledDomainPolicy {
 public:
  explicit CompiledDomainPolicy(DomainPolicy policy);

  // The decision the policy makes, with the rule that matched or the near
  // misses as the reason. Pure: records nothing.
  Decision Decide(const Caller& caller, absl::string_view operation,
                  absl::string_view label) const;

  // Execute for program `name` running as `run_as`: a rule that grants
  // Execute to the name and, for an explicit uid, lists it in run_as_uids.
  Decision DecideExecute(const Principal& name, const RunAs& run_as) const;
  // Admin:Start by `admin` of program `name` as `run_as`: a rule that grants
  // Admin:Start to the caller, whose `programs` (if any) match the name and
  // whose run_as_uids (if any) list an explicit uid.
  Decision DecideStart(const Caller& admin, const Principal& name,
                       const RunAs& run_as) const;

  const DomainPolicy& policy() const { return policy_; }

 private:
  // Why rule `r`, which matched, still does not grant; nullopt: it does.
  using Refusal = std::function<std::optional<std::string>(int r)>;
  // `run_as_uid`: the explicit uid an Execute asks for, for the command in
  // the reason that would admit it.
  Decision DecideImpl(const Caller& caller, absl::string_view operation,
                      absl::string_view label, absl::string_view what,
                      const Refusal& refuse,
                      std::optional<uint32_t> run_as_uid = std::nullopt) const;
  // What a matcher needs pre-parsed; parallel to the rules' principals.
  struct ParsedMatcher {
    std::optional<Principal> name_prefix;    // kNamePrefix
    std::optional<std::string> signer_spki;  // kSigner
  };
  std::optional<std::string> Match(const Matcher& m,
                                   const ParsedMatcher& parsed,
                                   const Caller& caller) const;

  DomainPolicy policy_;
  std::vector<std::vector<ParsedMatcher>> parsed_;           // [rule][matcher]
  std::vector<std::vector<ParsedMatcher>> parsed_programs_;  // [rule][m]
};

// The decision `policy` makes; pure. Compiles `policy` on every call: for
// tests and tools, not for the loop.
Decision DecideWithPolicy(const DomainPolicy& policy, const Caller& caller,
                          absl::string_view operation, absl::string_view label);

// DecideExecute with `policy`; for tools (tao-domain check).
Decision DecideExecuteWithPolicy(const DomainPolicy& policy,
                                 const Principal& name, const RunAs& run_as);

}  // namespace tao

#endif  // TAO_TAO_DOMAIN_COMPILED_POLICY_H_
