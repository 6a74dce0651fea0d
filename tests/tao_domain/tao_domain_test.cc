#include "tao_domain/tao_domain.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "seal_policy/codec.h"
#include "seal_policy/evaluator.h"
#include "tao/clock.h"
#include "tao/crypto.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao_domain/domain_policy.pb.h"
#include "tao_domain/policy_io.h"
#include "tests/testing/bytes.h"
#include "tests/testing/names.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tao_printers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::Serialize;
using ::tao::test::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using ::tao::test::Args;
using ::tao::test::Digest;
using ::tao::test::DigestArg;
using ::tao::test::Ext;
using ::tao::test::Program;
using ::tao::test::Sub;

class TaoDomainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* slot : {&policy_key_, &other_key_, &host_key_, &other_host_key_,
                       &publisher_, &other_publisher_}) {
      auto key = SigningKey::Generate();
      ASSERT_THAT(key, IsOk());
      slot->emplace(std::move(key).value());
    }
    host_ = Principal::ForKey(host_key_->verifying_key());
    other_host_ = Principal::ForKey(other_host_key_->verifying_key());
  }

  // `rules` (protobuf text, with $HOST, $PUB and $A..$C substituted) under
  // domain_name "corp", parsed and signed by `key` (the policy key if null).
  std::string Signed(absl::string_view rules, const SigningKey* key = nullptr,
                     absl::string_view name = "corp") {
    std::string text = absl::StrCat(
        "domain_name: \"", name, "\"\n",
        absl::StrReplaceAll(
            rules,
            {{"$HOST", host_->text()},
             {"$PUB", Principal::ForKey(publisher_->verifying_key()).text()},
             {"$A", DigestArg('a')},
             {"$B", DigestArg('b')},
             {"$C", DigestArg('c')}}));
    auto policy = ParseDomainPolicyText(text);
    EXPECT_THAT(policy, IsOk()) << text;
    if (!policy.ok()) return "";
    auto signed_policy = SignDomainPolicy(*policy, key ? *key : *policy_key_);
    EXPECT_THAT(signed_policy, IsOk());
    return signed_policy.ok() ? *signed_policy : "";
  }

  std::unique_ptr<TaoDomain> Domain(absl::string_view rules,
                                    AuditLog* audit = nullptr) {
    auto domain = TaoDomain::Create(policy_key_->verifying_key(), Signed(rules),
                                    audit, clock_);
    EXPECT_THAT(domain, IsOk());
    return domain.ok() ? std::move(domain).value() : nullptr;
  }

  // host.Program(c).Publisher(publisher, product, version).
  Principal Published(char c, const SigningKey& publisher,
                      absl::string_view product, uint64_t version) {
    return Sub(
        Program(*host_, c),
        Subprincipal::Publisher(publisher.verifying_key(), product, version));
  }

  // Authorizes and checks what every decision must carry: a reason, and for
  // a denial the domain and the operation it was about.
  static Decision Check(const TaoDomain& domain, const Caller& caller,
                        absl::string_view operation,
                        absl::string_view label = "") {
    Decision d = domain.Authorize(caller, operation, label);
    EXPECT_FALSE(d.reason.empty());
    std::string what = label.empty() ? std::string(operation)
                                     : absl::StrCat(operation, "(", label, ")");
    EXPECT_THAT(d.reason, StartsWith(absl::StrCat("domain '",
                                                  domain.domain_name(), "'")));
    EXPECT_THAT(d.reason, HasSubstr(what));
    // Explain gives the same answer.
    Decision again = domain.Explain(caller, operation, label);
    EXPECT_EQ(again.allowed, d.allowed);
    EXPECT_EQ(again.reason, d.reason);
    return d;
  }
  static bool Allowed(const TaoDomain& domain, const Principal& caller,
                      absl::string_view operation,
                      absl::string_view label = "") {
    return Check(domain, Caller::Program(caller), operation, label).allowed;
  }

  FixedClock clock_{absl::FromUnixSeconds(1700000000)};
  std::optional<SigningKey> policy_key_, other_key_, host_key_, other_host_key_,
      publisher_, other_publisher_;
  std::optional<Principal> host_, other_host_;
};

TEST_F(TaoDomainTest, CreateVerifiesThePolicy) {
  const std::string rules = R"pb(rules {
                                   id: "r"
                                   operations: "Execute"
                                   principals { uid: 0 }
                                 })pb";
  auto domain = TaoDomain::Create(policy_key_->verifying_key(), Signed(rules),
                                  nullptr, clock_);
  ASSERT_THAT(domain, IsOk());
  EXPECT_EQ((*domain)->domain_name(), "corp");
  EXPECT_EQ((*domain)->policy_key(), policy_key_->verifying_key());
  EXPECT_EQ((*domain)->policy().rules(0).id(), "r");

  EXPECT_THAT(TaoDomain::Create(policy_key_->verifying_key(),
                                Signed(rules, &*other_key_), nullptr, clock_),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(TaoDomain::Create(policy_key_->verifying_key(), "garbage",
                                nullptr, clock_),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      TaoDomain::Create(policy_key_->verifying_key(), "", nullptr, clock_),
      StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(TaoDomainTest, NothingIsGrantedWithoutARule) {
  auto domain = Domain("");
  ASSERT_NE(domain, nullptr);
  Decision d = Check(*domain, Caller::Program(Program(*host_, 'a')), "Execute");
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.reason, HasSubstr("no rule grants Execute at all"));
  EXPECT_FALSE(Check(*domain, Caller::User(0), "Admin:Stop").allowed);
  EXPECT_FALSE(Check(*domain, Caller(), "Admin:Stop").allowed);
}

TEST_F(TaoDomainTest, ExactNameMatcher) {
  Principal name = Args(Program(*host_, 'a'), '1');
  auto domain =
      Domain(absl::StrCat("rules { id: \"exact\" operations: \"Execute\" "
                          "principals { exact_name: \"",
                          name.text(), "\" } }"));
  ASSERT_NE(domain, nullptr);
  Decision allow = Check(*domain, Caller::Program(name), "Execute");
  EXPECT_TRUE(allow.allowed);
  EXPECT_EQ(
      allow.reason,
      "domain 'corp': rule 'exact' grants Execute (matched by its exact name)");
  for (const Principal& other :
       {Args(Program(*host_, 'a'), '2'), Program(*host_, 'a'),
        Ext(name, "role", "x"), Args(Program(*other_host_, 'a'), '1'),
        *host_}) {
    Decision d = Check(*domain, Caller::Program(other), "Execute");
    EXPECT_FALSE(d.allowed) << other.text();
    EXPECT_THAT(d.reason, HasSubstr("rule 'exact' grants Execute to others"));
  }
  EXPECT_FALSE(Check(*domain, Caller::User(0), "Execute").allowed);
  // The rule grants only Execute.
  EXPECT_FALSE(Allowed(*domain, name, "Attest"));
}

TEST_F(TaoDomainTest, MeasurementMatcher) {
  auto domain = Domain(R"pb(rules {
                              id: "m"
                              operations: "Attest"
                              principals { measurement: "$A" }
                            })pb");
  ASSERT_NE(domain, nullptr);
  Decision allow = Check(
      *domain, Caller::Program(Args(Program(*host_, 'a'), '1')), "Attest");
  EXPECT_TRUE(allow.allowed);
  EXPECT_THAT(
      allow.reason,
      HasSubstr("rule 'm' grants Attest (matched by measurement sha256:"));
  // Any args, any host: the measurement is what counts.
  EXPECT_TRUE(Allowed(*domain, Program(*host_, 'a'), "Attest"));
  EXPECT_TRUE(
      Allowed(*domain, Ext(Program(*other_host_, 'a'), "role", "x"), "Attest"));
  // The last measurement decides.
  EXPECT_TRUE(Allowed(*domain, Program(Program(*host_, 'b'), 'a'), "Attest"));
  EXPECT_FALSE(Allowed(*domain, Program(Program(*host_, 'a'), 'b'), "Attest"));
  EXPECT_FALSE(Allowed(*domain, Program(*host_, 'b'), "Attest"));
  EXPECT_FALSE(Allowed(*domain, *host_, "Attest"));
  EXPECT_FALSE(Allowed(*domain, Args(*host_, 'a'), "Attest"));
  EXPECT_FALSE(Check(*domain, Caller::User(0), "Attest").allowed);
}

TEST_F(TaoDomainTest, SignerMatcher) {
  auto domain =
      Domain(R"pb(rules {
                    id: "signed"
                    operations: "GetSharedSecret"
                    principals {
                      signer { signer: "$PUB" product: "app" min_version: 2 }
                    }
                  })pb");
  ASSERT_NE(domain, nullptr);
  Decision v2 =
      Check(*domain, Caller::Program(Published('a', *publisher_, "app", 2)),
            "GetSharedSecret");
  EXPECT_TRUE(v2.allowed);
  EXPECT_THAT(v2.reason, HasSubstr("signer of 'app' version 2 >= 2"));
  EXPECT_TRUE(Allowed(*domain, Published('b', *publisher_, "app", 3),
                      "GetSharedSecret"));
  EXPECT_TRUE(Allowed(*domain, Args(Published('b', *publisher_, "app", 3), '1'),
                      "GetSharedSecret"));
  // Older, another product, another publisher.
  EXPECT_FALSE(Allowed(*domain, Published('c', *publisher_, "app", 1),
                       "GetSharedSecret"));
  EXPECT_FALSE(Allowed(*domain, Published('c', *publisher_, "app2", 9),
                       "GetSharedSecret"));
  EXPECT_FALSE(Allowed(*domain, Published('c', *other_publisher_, "app", 9),
                       "GetSharedSecret"));
  // A Publisher that is not right after the last measurement does not count.
  auto pub = Subprincipal::Publisher(publisher_->verifying_key(), "app", 9);
  EXPECT_FALSE(Allowed(*domain, Sub(Args(Program(*host_, 'a'), '1'), pub),
                       "GetSharedSecret"));
  EXPECT_FALSE(Allowed(*domain,
                       Program(Published('a', *publisher_, "app", 9), 'b'),
                       "GetSharedSecret"));
  EXPECT_FALSE(Allowed(*domain, Sub(*host_, pub), "GetSharedSecret"));
  EXPECT_FALSE(Allowed(*domain, Program(*host_, 'a'), "GetSharedSecret"));
}

TEST_F(TaoDomainTest, NamePrefixMatcher) {
  Principal web = Ext(*host_, "role", "web");
  auto domain =
      Domain(absl::StrCat("rules { id: \"prefix\" operations: \"Seal\" "
                          "principals { name_prefix: \"",
                          web.text(), "\" } }"));
  ASSERT_NE(domain, nullptr);
  Decision allow = Check(*domain, Caller::Program(Program(web, 'a')), "Seal");
  EXPECT_TRUE(allow.allowed);
  EXPECT_THAT(allow.reason, HasSubstr("matched by name prefix"));
  EXPECT_TRUE(Allowed(*domain, web, "Seal"));
  EXPECT_TRUE(
      Allowed(*domain, Args(Program(Program(web, 'a'), 'b'), '1'), "Seal"));
  // Names are compared structurally, not as strings.
  EXPECT_FALSE(Allowed(*domain, Ext(*host_, "role", "webadmin"), "Seal"));
  EXPECT_FALSE(
      Allowed(*domain, Program(Ext(*host_, "role", "webadmin"), 'a'), "Seal"));
  EXPECT_FALSE(Allowed(*domain, *host_, "Seal"));
  EXPECT_FALSE(Allowed(*domain, Program(*host_, 'a'), "Seal"));
  EXPECT_FALSE(
      Allowed(*domain, Program(Ext(*other_host_, "role", "web"), 'a'), "Seal"));
}

TEST_F(TaoDomainTest, UidAndGidMatchers) {
  auto domain = Domain(R"pb(
    rules {
      id: "root"
      operations: "Admin:*"
      principals { uid: 0 }
    }
    rules {
      id: "ops"
      operations: [ "Admin:List", "Admin:Logs" ]
      principals { gid: 27 }
    }
  )pb");
  ASSERT_NE(domain, nullptr);
  Decision root = Check(*domain, Caller::User(0), "Admin:Stop");
  EXPECT_TRUE(root.allowed);
  EXPECT_EQ(root.reason,
            "domain 'corp': rule 'root' grants Admin:Stop (matched by uid 0)");
  Decision user = Check(*domain, Caller::User(1000), "Admin:Stop");
  EXPECT_FALSE(user.allowed);
  EXPECT_THAT(user.reason, HasSubstr("to uid 1000"));
  Decision ops = Check(*domain, Caller::User(1000, {100, 27}), "Admin:List");
  EXPECT_TRUE(ops.allowed);
  EXPECT_THAT(ops.reason,
              HasSubstr("rule 'ops' grants Admin:List (matched by gid 27)"));
  EXPECT_TRUE(Check(*domain, Caller::User(1000, {27}), "Admin:Logs").allowed);
  EXPECT_FALSE(Check(*domain, Caller::User(1000, {27}), "Admin:Stop").allowed);
  EXPECT_FALSE(Check(*domain, Caller::User(1000, {28}), "Admin:List").allowed);
  // The uid is not a gid, nor the other way round.
  EXPECT_FALSE(Check(*domain, Caller::User(27), "Admin:List").allowed);
  EXPECT_FALSE(Check(*domain, Caller::User(1000, {0}), "Admin:Stop").allowed);
  // A program caller has no uid.
  EXPECT_FALSE(Allowed(*domain, Program(*host_, 'a'), "Admin:Stop"));
  Caller both = Caller::Program(Program(*host_, 'a'));
  both.uid = 0;
  EXPECT_TRUE(Check(*domain, both, "Admin:Stop").allowed);
}

TEST_F(TaoDomainTest, AdminStarGrantsAdminCallsOnly) {
  auto domain = Domain(R"pb(rules {
                              id: "root"
                              operations: "Admin:*"
                              principals { uid: 0 }
                            })pb");
  ASSERT_NE(domain, nullptr);
  for (absl::string_view op :
       {"Admin:Start", "Admin:Stop", "Admin:Kill", "Admin:List", "Admin:Reload",
        "Admin:Shutdown", "Admin:GetTaoName"}) {
    EXPECT_TRUE(Check(*domain, Caller::User(0), op).allowed) << op;
  }
  for (absl::string_view op :
       {"Execute", "Seal", "Unseal", "Attest", "GetSharedSecret"}) {
    Decision d = Check(*domain, Caller::User(0), op);
    EXPECT_FALSE(d.allowed) << op;
    EXPECT_THAT(d.reason,
                HasSubstr(absl::StrCat("no rule grants ", op, " at all")));
  }
}

TEST_F(TaoDomainTest, LabelsLimitSealAndUnseal) {
  auto domain = Domain(R"pb(
    rules {
      id: "db"
      operations: "Unseal"
      labels: "db"
      principals { name_prefix: "$HOST" }
    }
    rules {
      id: "plain"
      operations: "Seal"
      principals { name_prefix: "$HOST" }
    }
    rules {
      id: "any"
      operations: [ "Seal", "Unseal" ]
      labels: "*"
      principals { measurement: "$C" }
    }
  )pb");
  ASSERT_NE(domain, nullptr);
  Principal a = Program(*host_, 'a');
  Decision db = Check(*domain, Caller::Program(a), "Unseal", "db");
  EXPECT_TRUE(db.allowed);
  EXPECT_EQ(
      db.reason,
      absl::StrCat(
          "domain 'corp': rule 'db' grants Unseal(db) (matched by name prefix ",
          host_->text().substr(0, 40), "...",
          host_->text().substr(host_->text().size() - 70), ")"));
  Decision other = Check(*domain, Caller::Program(a), "Unseal", "other");
  EXPECT_FALSE(other.allowed);
  EXPECT_THAT(other.reason, HasSubstr("no rule grants Unseal(other)"));
  EXPECT_THAT(other.reason,
              HasSubstr("rule 'db' grants Unseal for labels [db]"));
  Decision none = Check(*domain, Caller::Program(a), "Unseal");
  EXPECT_FALSE(none.allowed);
  EXPECT_THAT(none.reason,
              HasSubstr("rule 'db' grants Unseal for labels [db]"));
  // A rule without labels grants only requests without one.
  EXPECT_TRUE(Allowed(*domain, a, "Seal"));
  Decision labelled = Check(*domain, Caller::Program(a), "Seal", "db");
  EXPECT_FALSE(labelled.allowed);
  EXPECT_THAT(labelled.reason,
              HasSubstr("rule 'plain' grants Seal without a label"));
  // "*" grants every label, but not the label-less request.
  Principal c = Program(*other_host_, 'c');
  EXPECT_TRUE(Allowed(*domain, c, "Unseal", "db"));
  EXPECT_TRUE(Allowed(*domain, c, "Unseal", "anything:else"));
  EXPECT_TRUE(Allowed(*domain, c, "Seal", "x"));
  EXPECT_FALSE(Allowed(*domain, c, "Unseal"));
  EXPECT_FALSE(Allowed(*domain, c, "Seal"));
}

// Labels apply to Seal and Unseal only (ValidateDomainPolicy refuses them on
// rules that grant neither). A rule that grants Execute as well as a labelled
// Unseal must still grant Execute.
TEST_F(TaoDomainTest, LabelsDoNotLimitOtherOperationsOfTheSameRule) {
  auto domain = Domain(R"pb(
    rules {
      id: "app"
      operations: [ "Execute", "Attest", "Unseal" ]
      labels: "db"
      principals { measurement: "$A" }
    }
  )pb");
  ASSERT_NE(domain, nullptr);
  Principal a = Program(*host_, 'a');
  EXPECT_TRUE(Allowed(*domain, a, "Unseal", "db"));
  Decision exec = domain->Explain(Caller::Program(a), "Execute");
  EXPECT_TRUE(exec.allowed) << exec.reason;
  Decision attest = domain->Explain(Caller::Program(a), "Attest");
  EXPECT_TRUE(attest.allowed) << attest.reason;
  // Requests for the other operations carry no label; one that does is not
  // granted.
  EXPECT_FALSE(domain->Explain(Caller::Program(a), "Execute", "db").allowed);
  EXPECT_FALSE(Allowed(*domain, a, "Unseal"));
}

TEST_F(TaoDomainTest, FirstMatchingRuleGrants) {
  Principal a = Program(*host_, 'a');
  auto domain = Domain(absl::StrCat(
      R"pb(rules {
             id: "first"
             operations: "Execute"
             principals { measurement: "$B" }
           }
           rules {
             id: "second"
             operations: "Execute"
             principals { name_prefix: "$HOST" }
           }
           rules { id: "third" operations: "Execute"
                   principals { exact_name: ")pb",
      a.text(), "\" } }"));
  ASSERT_NE(domain, nullptr);
  // 'first' grants Execute but not to a; 'second' matches before 'third'.
  Decision d = Check(*domain, Caller::Program(a), "Execute");
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.reason, HasSubstr("rule 'second'"));
  Decision b = Check(*domain, Caller::Program(Program(*host_, 'b')), "Execute");
  EXPECT_THAT(b.reason, HasSubstr("rule 'first'"));
  // Within a rule, the first matching matcher is named.
  auto two = Domain(absl::StrCat(R"pb(rules { id: "r" operations: "Execute"
                                              principals { measurement: "$A" }
                                              principals { exact_name: ")pb",
                                 a.text(), "\" } }"));
  ASSERT_NE(two, nullptr);
  EXPECT_THAT(Check(*two, Caller::Program(a), "Execute").reason,
              HasSubstr("matched by measurement"));
}

TEST_F(TaoDomainTest, EveryDenialExplainsItself) {
  auto domain = Domain(R"pb(
    rules {
      id: "exec"
      operations: "Execute"
      principals { measurement: "$A" }
    }
    rules {
      id: "db"
      operations: "Unseal"
      labels: "db"
      principals { measurement: "$A" }
    }
  )pb");
  ASSERT_NE(domain, nullptr);
  Principal b = Program(*host_, 'b');
  Decision exec = Check(*domain, Caller::Program(b), "Execute");
  EXPECT_FALSE(exec.allowed);
  EXPECT_THAT(
      exec.reason,
      AllOf(HasSubstr("domain 'corp': no rule grants Execute to program "),
            HasSubstr("rule 'exec' grants Execute to others")));
  // The caller's part names the refusal, not the other rules.
  EXPECT_THAT(exec.ForCaller(),
              HasSubstr("domain 'corp': no rule grants Execute to program "));
  EXPECT_THAT(exec.ForCaller(), Not(HasSubstr("rule 'exec'")));
  Decision unseal = Check(*domain, Caller::Program(b), "Unseal", "web");
  EXPECT_THAT(unseal.reason,
              AllOf(HasSubstr("no rule grants Unseal(web)"),
                    HasSubstr("rule 'db' grants Unseal for labels [db]")));
  Decision attest = Check(*domain, Caller::User(1000, {10, 20}), "Attest");
  EXPECT_THAT(attest.reason, AllOf(HasSubstr("to uid 1000 (gids 10, 20)"),
                                   HasSubstr("no rule grants Attest at all")));
  Decision anonymous = Check(*domain, Caller(), "Execute");
  EXPECT_FALSE(anonymous.allowed);
  EXPECT_THAT(anonymous.reason, HasSubstr("an anonymous caller"));
  // A long name is shortened in the reason.
  Principal long_name = b;
  for (int i = 0; i < 20; ++i)
    long_name = Ext(long_name, "k", std::string(100, 'v'));
  Decision long_deny = Check(*domain, Caller::Program(long_name), "Execute");
  // (The name alone is over 2,000 characters. The whole reason adds the
  // command that admits it, with the full measurement, and the near miss.)
  EXPECT_LT(long_deny.ForCaller().size(), 400u) << long_deny.ForCaller();
  EXPECT_LT(long_deny.reason.size(), 700u) << long_deny.reason;
}

// The operator's reason says what each nearly matching rule wants and the
// command that would admit the caller; the caller's part says neither.
TEST_F(TaoDomainTest, ADenialSaysWhichMatcherFailedAndWhatWouldAdmit) {
  auto domain = Domain(R"pb(
    rules {
      id: "exec"
      operations: "Execute"
      principals { measurement: "$A" }
      principals { uid: 7 }
    }
    rules {
      id: "db"
      operations: "Unseal"
      labels: "db"
      principals { measurement: "$A" }
    }
  )pb");
  ASSERT_NE(domain, nullptr);
  Principal b = Program(*host_, 'b');
  const std::string b_measurement = b.subprincipals()[0].argument();
  Decision exec = Check(*domain, Caller::Program(b), "Execute");
  EXPECT_FALSE(exec.allowed);
  EXPECT_THAT(exec.reason,
              HasSubstr("rule 'exec' grants Execute to others (measurement "
                        "sha256:616161616161..., or uid 7)"));
  EXPECT_THAT(exec.reason,
              HasSubstr(absl::StrCat("to admit it: tao-domain "
                                     "--domain_dir=DIR allow Execute "
                                     "--measurement=",
                                     b_measurement)));
  EXPECT_THAT(exec.ForCaller(), Not(HasSubstr("to admit it")));
  Decision unseal = Check(*domain, Caller::Program(b), "Unseal", "db");
  EXPECT_THAT(unseal.reason, HasSubstr(absl::StrCat(
                                 "allow Unseal --measurement=", b_measurement,
                                 " --label=db")));
  Decision admin = Check(*domain, Caller::User(1000, {10}), "Admin:List");
  EXPECT_THAT(admin.reason, HasSubstr("allow Admin:List --uid=1000"));
  // Nothing to say for a caller no single matcher could name.
  Decision anonymous = Check(*domain, Caller(), "Execute");
  EXPECT_THAT(anonymous.reason, Not(HasSubstr("to admit it")));
}

TEST_F(TaoDomainTest, DecideWithPolicyIsPure) {
  auto policy = ParseDomainPolicyText(
      "domain_name: \"pure\" rules { id: \"r\" operations: \"Admin:Info\" "
      "principals { gid: 5 } }");
  ASSERT_THAT(policy, IsOk());
  EXPECT_TRUE(DecideWithPolicy(*policy, Caller::User(1, {5}), "Admin:Info", "")
                  .allowed);
  EXPECT_FALSE(DecideWithPolicy(*policy, Caller::User(1, {6}), "Admin:Info", "")
                   .allowed);
}

TEST_F(TaoDomainTest, CheckUnsealLabelDecidesDomainRuleSealPolicies) {
  auto domain = Domain(R"pb(
    rules {
      id: "db"
      operations: "Unseal"
      labels: "db"
      principals { name_prefix: "$HOST" }
    }
  )pb");
  ASSERT_NE(domain, nullptr);
  Principal sealer = Program(*host_, 'a');
  Principal reader = Args(Program(*host_, 'b'), '1');
  Principal stranger = Program(*other_host_, 'b');

  DomainRuleAnswer direct = domain->CheckUnsealLabel(reader, "db");
  EXPECT_TRUE(direct.allowed);

  SealPolicyContext ok{reader, sealer, *host_, domain.get()};
  Decision allowed = EvaluateSealPolicy(DomainRulePolicy("db"), ok);
  EXPECT_TRUE(allowed.allowed);
  EXPECT_THAT(allowed.reason,
              StartsWith("DomainRule(db): domain 'corp': rule 'db' grants "
                         "Unseal(db)"));

  SealPolicyContext bad{stranger, sealer, *host_, domain.get()};
  Decision denied = EvaluateSealPolicy(DomainRulePolicy("db"), bad);
  EXPECT_FALSE(denied.allowed);
  EXPECT_THAT(
      denied.reason,
      StartsWith("DomainRule(db): domain 'corp': no rule grants Unseal(db)"));

  auto other_label = EvaluateSealPolicyBytes("DomainRule(web)", ok);
  ASSERT_THAT(other_label, IsOk());
  EXPECT_FALSE(other_label->allowed);
  auto combined = EvaluateSealPolicyBytes("AllOf(SameHost,DomainRule(db))", ok);
  ASSERT_THAT(combined, IsOk());
  EXPECT_TRUE(combined->allowed) << combined->reason;
}

class TaoDomainReloadTest : public TaoDomainTest {
 protected:
  void SetUp() override {
    TaoDomainTest::SetUp();
    old_rules_ = R"pb(
      rules {
        id: "old-exec"
        operations: "Execute"
        principals { measurement: "$A" }
      }
      rules {
        id: "root"
        operations: "Admin:*"
        principals { uid: 0 }
      }
    )pb";
    new_rules_ = R"pb(
      rules {
        id: "new-exec"
        operations: "Execute"
        principals { measurement: "$B" }
      }
    )pb";
    domain_ = Domain(old_rules_);
    ASSERT_NE(domain_, nullptr);
  }

  // Decisions on a fixed set of questions, as text.
  std::vector<std::string> Decisions() const {
    std::vector<std::string> out;
    for (char c : {'a', 'b', 'c'}) {
      Decision d =
          domain_->Explain(Caller::Program(Program(*host_, c)), "Execute");
      out.push_back(absl::StrCat(d.allowed, " ", d.reason));
    }
    Decision admin = domain_->Explain(Caller::User(0), "Admin:Reload");
    out.push_back(absl::StrCat(admin.allowed, " ", admin.reason));
    return out;
  }

  void ExpectRefusedAndUnchanged(absl::string_view what,
                                 absl::string_view signed_policy,
                                 absl::StatusCode code) {
    SCOPED_TRACE(what);
    std::vector<std::string> before = Decisions();
    std::string policy_before = Serialize(domain_->policy());
    EXPECT_THAT(domain_->Reload(signed_policy),
                StatusIs(code, HasSubstr("the old one stays in force")));
    EXPECT_EQ(Decisions(), before);
    EXPECT_EQ(Serialize(domain_->policy()), policy_before);
    EXPECT_EQ(domain_->domain_name(), "corp");
  }

  std::string old_rules_, new_rules_;
  std::unique_ptr<TaoDomain> domain_;
};

TEST_F(TaoDomainReloadTest, FailedReloadKeepsTheOldPolicy) {
  ASSERT_TRUE(Allowed(*domain_, Program(*host_, 'a'), "Execute"));
  const std::string good = Signed(new_rules_);

  std::string tampered = good;
  tampered[tampered.size() / 3] ^= 0x01;
  ExpectRefusedAndUnchanged("tampered", tampered,
                            absl::StatusCode::kUnauthenticated);
  ExpectRefusedAndUnchanged("signed by another key",
                            Signed(new_rules_, &*other_key_),
                            absl::StatusCode::kUnauthenticated);

  // Signed with the right key, but invalid: a duplicate rule id.
  auto invalid = ParseDomainPolicyText(
      absl::StrCat("domain_name: \"corp\"\n",
                   "rules { id: \"x\" operations: \"Execute\" "
                   "principals { uid: 1 } }"));
  ASSERT_THAT(invalid, IsOk());
  *invalid->add_rules() = invalid->rules(0);
  SignedDomainPolicy env;
  env.set_serialized_policy(Serialize(*invalid));
  env.set_policy_key(policy_key_->verifying_key().spki());
  auto signature =
      policy_key_->Sign(kDomainPolicyContext, env.serialized_policy());
  ASSERT_THAT(signature, IsOk());
  env.set_signature(*signature);
  ExpectRefusedAndUnchanged("invalid", Serialize(env),
                            absl::StatusCode::kInvalidArgument);

  ExpectRefusedAndUnchanged("unknown field", absl::StrCat(good, "\x20\x01"),
                            absl::StatusCode::kInvalidArgument);
  ExpectRefusedAndUnchanged("garbage", "garbage",
                            absl::StatusCode::kInvalidArgument);
  ExpectRefusedAndUnchanged("unsigned", "", absl::StatusCode::kUnauthenticated);

  // The domain still decides with the old policy.
  EXPECT_TRUE(Allowed(*domain_, Program(*host_, 'a'), "Execute"));
  EXPECT_FALSE(Allowed(*domain_, Program(*host_, 'b'), "Execute"));
}

TEST_F(TaoDomainReloadTest, GoodReloadChangesDecisions) {
  std::vector<std::string> before = Decisions();
  ASSERT_THAT(domain_->Reload(Signed(new_rules_, nullptr, "corp-2")), IsOk());
  EXPECT_NE(Decisions(), before);
  EXPECT_EQ(domain_->domain_name(), "corp-2");
  EXPECT_EQ(domain_->policy().rules(0).id(), "new-exec");
  EXPECT_FALSE(Allowed(*domain_, Program(*host_, 'a'), "Execute"));
  Decision b =
      Check(*domain_, Caller::Program(Program(*host_, 'b')), "Execute");
  EXPECT_TRUE(b.allowed);
  EXPECT_THAT(b.reason, StartsWith("domain 'corp-2': rule 'new-exec'"));
  EXPECT_FALSE(Check(*domain_, Caller::User(0), "Admin:Reload").allowed);
  // And back.
  ASSERT_THAT(domain_->Reload(Signed(old_rules_)), IsOk());
  EXPECT_EQ(Decisions(), before);
}

TEST_F(TaoDomainReloadTest, ConcurrentAuthorizeDuringReloadSeesOldOrNew) {
  const std::string signed_old = Signed(old_rules_);
  const std::string signed_new = Signed(new_rules_, nullptr, "corp-2");
  auto old_policy =
      VerifySignedDomainPolicy(signed_old, policy_key_->verifying_key());
  auto new_policy =
      VerifySignedDomainPolicy(signed_new, policy_key_->verifying_key());
  ASSERT_THAT(old_policy, IsOk());
  ASSERT_THAT(new_policy, IsOk());

  struct Question {
    Caller caller;
    std::string operation;
    std::string from_old, from_new;  // "<allowed> <reason>"
  };
  std::vector<Question> questions;
  for (char c : {'a', 'b', 'c'}) {
    questions.push_back(
        {Caller::Program(Program(*host_, c)), "Execute", "", ""});
  }
  questions.push_back({Caller::User(0), "Admin:Stop", "", ""});
  for (Question& q : questions) {
    Decision o = DecideWithPolicy(*old_policy, q.caller, q.operation, "");
    Decision n = DecideWithPolicy(*new_policy, q.caller, q.operation, "");
    q.from_old = absl::StrCat(o.allowed, " ", o.reason);
    q.from_new = absl::StrCat(n.allowed, " ", n.reason);
    ASSERT_NE(q.from_old, q.from_new);
  }

  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0}, saw_old{0}, saw_new{0}, total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      size_t i = static_cast<size_t>(t);
      while (!stop.load() || total.load() < 300) {
        const Question& q = questions[i++ % questions.size()];
        Decision d = domain_->Authorize(q.caller, q.operation);
        std::string got = absl::StrCat(d.allowed, " ", d.reason);
        if (got == q.from_old) {
          ++saw_old;
        } else if (got == q.from_new) {
          ++saw_new;
        } else {
          ++wrong;
        }
        ++total;
      }
    });
  }
  int failed_reloads = 0;
  for (int i = 0; i < 200; ++i) {
    if (!domain_->Reload(i % 2 == 0 ? signed_new : signed_old).ok())
      ++failed_reloads;
    // A bad reload in between changes nothing.
    if (domain_->Reload("garbage").ok()) ++failed_reloads;
  }
  stop = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failed_reloads, 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GE(total.load(), 300);
  EXPECT_EQ(saw_old.load() + saw_new.load(), total.load());
  // 200 reloads end on the old policy.
  EXPECT_EQ(domain_->domain_name(), "corp");
}

// The caller's description is the caller field of every audit record and
// part of denial reasons: its exact text for each kind of caller.
TEST(CallerDescribeTest, SpellsEachKindOfCaller) {
  auto key = SigningKey::Generate();
  ASSERT_THAT(key.status(), IsOk());
  const std::optional<Principal> name = test::Program(test::KeyName(*key), 'a');
  EXPECT_EQ(Caller::Program(*name).Describe(), "program " + name->text());
  EXPECT_EQ(Caller::User(1000).Describe(), "uid 1000");
  EXPECT_EQ(Caller::User(1000, {1000, 27}).Describe(),
            "uid 1000 (gids 1000, 27)");
  Caller both = Caller::User(0, {0});
  both.program = *name;
  EXPECT_EQ(both.Describe(), "program " + name->text() + ", uid 0 (gids 0)");
  EXPECT_EQ(Caller().Describe(), "an anonymous caller");
}

}  // namespace
}  // namespace tao
