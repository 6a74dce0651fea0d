// A TaoDomain for unit tests with its policy built in code (no text, no
// files): rules are added with AddRule and the domain signs them with its
// own fresh policy key. A real TaoDomain, with a real AuditLog if one is
// given, so tests see the decisions and records the host would make.
#ifndef TAO_TESTS_TESTING_TEST_DOMAIN_H_
#define TAO_TESTS_TESTING_TEST_DOMAIN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tao/clock.h"
#include "tao/keys.h"
#include "tao_domain/audit_log.h"
#include "tao_domain/domain_policy.pb.h"
#include "tao_domain/tao_domain.h"

namespace tao {
namespace test {

// Adds to `policy` a rule `id` granting `operations` (with `labels`, for
// Seal and Unseal) to principals matching `matcher`; returns it for more
// matchers.
Rule* AddRule(DomainPolicy* policy, const std::string& id,
              const std::vector<std::string>& operations,
              const Matcher& matcher,
              const std::vector<std::string>& labels = {});
// Matchers.
Matcher NamePrefix(const Principal& prefix);
Matcher ExactName(const Principal& name);
Matcher Measurement(char c);  // sha256:Digest(c)
Matcher Uid(uint32_t uid);    // an admin caller's OS user id
Matcher Gid(uint32_t gid);    // and group id

// Not thread-safe to build; the domain it makes is TaoDomain (thread-safe).
class TestDomain {
 public:
  // A policy named `domain_name` with no rules yet.
  explicit TestDomain(const std::string& domain_name = "test");

  DomainPolicy& policy() { return policy_; }
  const SigningKey& policy_key() const { return key_; }
  // The policy, signed with policy_key().
  std::string Signed() const;

  // A TaoDomain holding the policy. `audit` (may be null) and `clock` must
  // outlive it. Fails the test and returns null if the policy is refused.
  std::unique_ptr<TaoDomain> Make(AuditLog* audit, const Clock& clock) const;

 private:
  DomainPolicy policy_;
  SigningKey key_;
};

}  // namespace test
}  // namespace tao

#endif  // TAO_TESTS_TESTING_TEST_DOMAIN_H_
