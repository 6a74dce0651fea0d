#include "tests/testing/test_domain.h"

#include <utility>

#include "gtest/gtest.h"
#include "tao_domain/policy_io.h"
#include "tests/testing/names.h"

namespace tao {
namespace test {

Rule* AddRule(DomainPolicy* policy, const std::string& id,
              const std::vector<std::string>& operations,
              const Matcher& matcher, const std::vector<std::string>& labels) {
  Rule* rule = policy->add_rules();
  rule->set_id(id);
  for (const std::string& op : operations) rule->add_operations(op);
  for (const std::string& label : labels) rule->add_labels(label);
  *rule->add_principals() = matcher;
  return rule;
}

Matcher NamePrefix(const Principal& prefix) {
  Matcher m;
  m.set_name_prefix(prefix.text());
  return m;
}

Matcher ExactName(const Principal& name) {
  Matcher m;
  m.set_exact_name(name.text());
  return m;
}

Matcher Measurement(char c) {
  Matcher m;
  m.set_measurement(DigestArg(c));
  return m;
}

Matcher Uid(uint32_t uid) {
  Matcher m;
  m.set_uid(uid);
  return m;
}

Matcher Gid(uint32_t gid) {
  Matcher m;
  m.set_gid(gid);
  return m;
}

TestDomain::TestDomain(const std::string& domain_name) : key_(NewKey()) {
  policy_.set_domain_name(domain_name);
}

std::string TestDomain::Signed() const {
  auto signed_policy = SignDomainPolicy(policy_, key_);
  EXPECT_TRUE(signed_policy.ok()) << signed_policy.status();
  return signed_policy.value_or("");
}

std::unique_ptr<TaoDomain> TestDomain::Make(AuditLog* audit,
                                            const Clock& clock) const {
  auto domain = TaoDomain::Create(key_.verifying_key(), Signed(), audit, clock);
  EXPECT_TRUE(domain.ok()) << domain.status();
  return domain.ok() ? *std::move(domain) : nullptr;
}

}  // namespace test
}  // namespace tao
