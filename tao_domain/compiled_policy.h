// CompiledDomainPolicy: a verified domain policy with every name its
// matchers mention parsed once, at load, so that a decision parses nothing.
// The decision procedure itself (first matching rule, near misses) lives
// here; TaoDomain adds the signature, reloads and the audit trail.
#ifndef TAO_TAO_DOMAIN_COMPILED_POLICY_H_
#define TAO_TAO_DOMAIN_COMPILED_POLICY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "seal_policy/decision.h"
#include "tao/principal.h"
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

  const DomainPolicy& policy() const { return policy_; }

 private:
  // What a matcher needs pre-parsed; parallel to the rules' principals.
  struct ParsedMatcher {
    std::optional<Principal> name_prefix;    // kNamePrefix
    std::optional<std::string> signer_spki;  // kSigner
  };
  std::optional<std::string> Match(const Matcher& m,
                                   const ParsedMatcher& parsed,
                                   const Caller& caller) const;

  DomainPolicy policy_;
  std::vector<std::vector<ParsedMatcher>> parsed_;  // [rule][matcher]
};

// The decision `policy` makes; pure. Compiles `policy` on every call: for
// tests and tools, not for the loop.
Decision DecideWithPolicy(const DomainPolicy& policy, const Caller& caller,
                          absl::string_view operation, absl::string_view label);

}  // namespace tao

#endif  // TAO_TAO_DOMAIN_COMPILED_POLICY_H_
