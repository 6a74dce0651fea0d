// The run-as questions: Execute as an explicit uid needs run_as_uids, and
// Admin:Start is limited by a rule's programs and run_as_uids; both are
// recorded. Validation of the new fields.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/clock.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao_domain/policy_io.h"
#include "tao_domain/tao_domain.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

class RunAsPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = SigningKey::Generate();
    ASSERT_THAT(key, IsOk());
    host_key_ = std::make_unique<SigningKey>(*std::move(key));
    auto m = Subprincipal::Program(std::string(32, 'a'));
    ASSERT_THAT(m, IsOk());
    auto other = Subprincipal::Program(std::string(32, 'b'));
    ASSERT_THAT(other, IsOk());
    Principal host = Principal::ForKey(host_key_->verifying_key());
    auto tool = host.Extend(*m);
    ASSERT_THAT(tool, IsOk());
    tool_ = std::make_unique<Principal>(*std::move(tool));
    auto web = host.Extend(*other);
    ASSERT_THAT(web, IsOk());
    web_ = std::make_unique<Principal>(*std::move(web));
    measurement_ = m->argument();
  }

  std::unique_ptr<TaoDomain> Domain(const std::string& rules) {
    auto policy =
        ParseDomainPolicyText(absl::StrCat("domain_name: \"corp\"\n", rules));
    EXPECT_THAT(policy, IsOk());
    auto key = SigningKey::Generate();
    EXPECT_THAT(key, IsOk());
    auto signed_policy = SignDomainPolicy(*policy, *key);
    EXPECT_THAT(signed_policy, IsOk());
    auto audit = AuditLog::Open(dir_.Join("audit.log"));
    EXPECT_THAT(audit, IsOk());
    audit_ = *std::move(audit);
    auto domain = TaoDomain::Create(key->verifying_key(), *signed_policy,
                                    audit_.get(), clock_);
    EXPECT_THAT(domain, IsOk());
    return domain.ok() ? *std::move(domain) : nullptr;
  }

  test::TempDir dir_;
  FixedClock clock_{absl::Now()};
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<SigningKey> host_key_;
  std::unique_ptr<Principal> tool_;
  std::unique_ptr<Principal> web_;
  std::string measurement_;
};

TEST_F(RunAsPolicyTest, AnExplicitUidNeedsRunAsUids) {
  auto domain = Domain(absl::StrCat(
      "rules { id: \"plain\" operations: \"Execute\" principals { "
      "measurement: \"",
      measurement_,
      "\" } }\n"
      "rules { id: \"nobody\" operations: \"Execute\" principals { "
      "measurement: \"",
      measurement_, "\" } run_as_uids: 65534 }\n"));
  ASSERT_NE(domain, nullptr);
  EXPECT_TRUE(domain->AuthorizeExecute(*tool_, RunAs::Dynamic()).allowed);
  Decision root = domain->AuthorizeExecute(*tool_, RunAs::User(0, 0));
  EXPECT_FALSE(root.allowed);
  EXPECT_THAT(root.reason,
              HasSubstr("no rule grants Execute as uid 0 gid 0 to program"));
  EXPECT_THAT(root.reason,
              HasSubstr("rule 'plain' grants Execute (matched by measurement "
                        "sha256:"));
  EXPECT_THAT(root.reason, HasSubstr("but not as uid 0 (it lists no "
                                     "run_as_uids)"));
  Decision nobody = domain->AuthorizeExecute(*tool_, RunAs::User(65534));
  EXPECT_TRUE(nobody.allowed) << nobody.reason;
  EXPECT_THAT(nobody.reason,
              HasSubstr("rule 'nobody' grants Execute as uid 65534"));
  // Another program has no rule at all.
  EXPECT_FALSE(domain->AuthorizeExecute(*web_, RunAs::Dynamic()).allowed);
  // Every question was recorded.
  EXPECT_EQ(audit_->records(), 4u);
}

TEST_F(RunAsPolicyTest, AdminStartIsLimitedByProgramsAndUids) {
  auto domain = Domain(absl::StrCat(
      "rules { id: \"root\" operations: \"Admin:*\" principals { uid: 0 } }\n"
      "rules { id: \"op\" operations: \"Admin:Start\" principals { uid: 1000 "
      "} programs { measurement: \"",
      measurement_, "\" } run_as_uids: 1000 }\n"));
  ASSERT_NE(domain, nullptr);
  const Caller op = Caller::User(1000);
  EXPECT_TRUE(domain->AuthorizeStart(op, *tool_, RunAs::Dynamic()).allowed);
  EXPECT_TRUE(domain->AuthorizeStart(op, *tool_, RunAs::User(1000)).allowed);
  Decision web = domain->AuthorizeStart(op, *web_, RunAs::Dynamic());
  EXPECT_FALSE(web.allowed);
  EXPECT_THAT(web.reason, HasSubstr("no matcher of its programs matches"));
  Decision root = domain->AuthorizeStart(op, *tool_, RunAs::User(0));
  EXPECT_FALSE(root.allowed);
  EXPECT_THAT(root.reason, HasSubstr("not as uid 0 (it lists run_as_uids "
                                     "[1000])"));
  // Root's rule has no limits.
  EXPECT_TRUE(
      domain->AuthorizeStart(Caller::User(0), *web_, RunAs::User(0)).allowed);
  // A program caller is not uid 0.
  EXPECT_FALSE(
      domain->AuthorizeStart(Caller::Program(*tool_), *web_, RunAs::Dynamic())
          .allowed);
}

TEST(RunAsValidationTest, TheNewFieldsBelongToTheirOperations) {
  EXPECT_THAT(ParseDomainPolicyText(
                  "domain_name: \"d\" rules { id: \"a\" operations: \"Seal\" "
                  "principals { uid: 1 } run_as_uids: 0 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("run_as_uids apply only to Execute")));
  EXPECT_THAT(ParseDomainPolicyText(
                  "domain_name: \"d\" rules { id: \"a\" operations: "
                  "\"Execute\" principals { uid: 1 } programs { uid: 1 } }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("programs apply only to Admin:Start")));
  EXPECT_THAT(
      ParseDomainPolicyText("domain_name: \"d\" rules { id: \"a\" operations: "
                            "\"Admin:Start\" principals { uid: 1 } programs { "
                            "measurement: \"nonsense\" } }"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("programs #1")));
}

}  // namespace
}  // namespace tao
