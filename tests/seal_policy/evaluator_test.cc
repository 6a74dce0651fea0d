#include "seal_policy/evaluator.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "seal_policy/codec.h"
#include "seal_policy/seal_policy.pb.h"
#include "tao/encoding.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tests/testing/names.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tao_printers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using ::tao::test::Args;
using ::tao::test::Digest;
using ::tao::test::Ext;
using ::tao::test::Program;
using ::tao::test::Sub;

SealPolicy AllOfPolicy(const std::vector<SealPolicy>& children) {
  SealPolicy p;
  for (const SealPolicy& c : children) *p.mutable_all_of()->add_policies() = c;
  return p;
}

SealPolicy AnyOfPolicy(const std::vector<SealPolicy>& children) {
  SealPolicy p;
  for (const SealPolicy& c : children) *p.mutable_any_of()->add_policies() = c;
  return p;
}

// A DomainRuleChecker that answers from a table and records what it was asked.
class FakeDomain : public DomainRuleChecker {
 public:
  void Set(std::string label, DomainRuleAnswer answer) {
    absl::MutexLock lock(&mu_);
    answers_.emplace_back(std::move(label), std::move(answer));
  }

  DomainRuleAnswer CheckUnsealLabel(const Principal& caller,
                                    absl::string_view label) const override {
    absl::MutexLock lock(&mu_);
    asked_.emplace_back(caller.text(), std::string(label));
    for (const auto& [l, d] : answers_) {
      if (l == label) return d;
    }
    return DomainRuleAnswer{false, "fake: no answer for this label", ""};
  }

  std::vector<std::pair<std::string, std::string>> asked() const {
    absl::MutexLock lock(&mu_);
    return asked_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::pair<std::string, DomainRuleAnswer>> answers_;
  mutable std::vector<std::pair<std::string, std::string>> asked_;
};

class SealPolicyEvaluatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* slot :
         {&host_key_, &other_host_key_, &publisher_, &other_publisher_}) {
      auto key = SigningKey::Generate();
      ASSERT_THAT(key, IsOk());
      slot->emplace(std::move(key).value());
    }
    host_ = Principal::ForKey(host_key_->verifying_key());
    other_host_ = Principal::ForKey(other_host_key_->verifying_key());
    publisher_name_ = Principal::ForKey(publisher_->verifying_key());
  }

  Decision Eval(const SealPolicy& policy, const Principal& caller,
                const Principal& sealer,
                const DomainRuleChecker* domain = nullptr) {
    Decision d = EvaluateSealPolicy(
        policy, SealPolicyContext{caller, sealer, *host_, domain});
    EXPECT_FALSE(d.reason.empty()) << "every decision carries a reason";
    return d;
  }

  // host.Program(c).Publisher(publisher, product, version).
  Principal Published(char c, const SigningKey& publisher,
                      absl::string_view product, uint64_t version) {
    return Sub(
        Program(*host_, c),
        Subprincipal::Publisher(publisher.verifying_key(), product, version));
  }

  SealPolicy Signer(absl::string_view product, uint64_t min_version) {
    return SameSignerPolicy(publisher_name_->text(), product, min_version);
  }

  std::optional<SigningKey> host_key_, other_host_key_, publisher_,
      other_publisher_;
  std::optional<Principal> host_, other_host_, publisher_name_;
};

TEST_F(SealPolicyEvaluatorTest, SameProgramAllowsTheExactName) {
  Principal caller = Args(Program(*host_, 'a'), '1');
  Decision d = Eval(SameProgramPolicy(), caller, caller);
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.reason, StartsWith("SameProgram"));
}

TEST_F(SealPolicyEvaluatorTest, SameProgramDeniesAnyOtherName) {
  Principal prog = Program(*host_, 'a');
  Principal sealer = Args(prog, '1');
  for (const Principal& caller :
       {Args(prog, '2'), prog, Ext(sealer, "role", "x"), Program(*host_, 'b'),
        Args(Program(*other_host_, 'a'), '1'), *host_}) {
    Decision d = Eval(SameProgramPolicy(), caller, sealer);
    EXPECT_FALSE(d.allowed) << caller.text();
    EXPECT_THAT(d.reason, StartsWith("SameProgram"));
    EXPECT_THAT(d.reason, HasSubstr("is not the sealer"));
  }
}

// The example: same Program digest, two different Args digests.
TEST_F(SealPolicyEvaluatorTest,
       SameMeasurementIgnoresArgsWhileSameProgramDoesNot) {
  Principal sealer = Args(Program(*host_, 'a'), '1');
  Principal caller = Args(Program(*host_, 'a'), '2');
  Decision by_measurement = Eval(SameMeasurementPolicy(), caller, sealer);
  EXPECT_TRUE(by_measurement.allowed) << by_measurement.reason;
  EXPECT_THAT(by_measurement.reason, StartsWith("SameMeasurement"));
  Decision by_name = Eval(SameProgramPolicy(), caller, sealer);
  EXPECT_FALSE(by_name.allowed) << by_name.reason;
  EXPECT_THAT(by_name.reason, StartsWith("SameProgram"));
}

TEST_F(SealPolicyEvaluatorTest, SameMeasurementAllowsOtherArgsAndExtensions) {
  Principal prog = Program(*host_, 'a');
  Principal sealer = Args(prog, '1');
  for (const Principal& caller :
       {sealer, prog, Args(prog, '2'), Ext(prog, "role", "web"),
        Ext(Args(prog, '3'), "cfg", "sha256:abc"),
        Sub(prog,
            Subprincipal::Publisher(publisher_->verifying_key(), "p", 1))}) {
    Decision d = Eval(SameMeasurementPolicy(), caller, sealer);
    EXPECT_TRUE(d.allowed) << caller.text() << ": " << d.reason;
    EXPECT_THAT(d.reason, StartsWith("SameMeasurement"));
  }
}

TEST_F(SealPolicyEvaluatorTest, SameMeasurementDeniesAnotherProgram) {
  Principal sealer = Args(Program(*host_, 'a'), '1');
  Decision d =
      Eval(SameMeasurementPolicy(), Args(Program(*host_, 'b'), '1'), sealer);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.reason, StartsWith("SameMeasurement"));
  EXPECT_THAT(d.reason, HasSubstr(HexEncode(Digest('a'))));
  EXPECT_THAT(d.reason, HasSubstr(HexEncode(Digest('b'))));
  EXPECT_THAT(d.reason, Not(HasSubstr("another host")));
}

TEST_F(SealPolicyEvaluatorTest,
       SameMeasurementDeniesTheSameProgramOnAnotherHost) {
  Principal sealer = Program(*host_, 'a');
  Decision d =
      Eval(SameMeasurementPolicy(), Program(*other_host_, 'a'), sealer);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.reason, StartsWith("SameMeasurement"));
  EXPECT_THAT(d.reason, HasSubstr("as the sealer did, but under another host"));
  // The same program under another path on the same host key is another host.
  Principal nested = Program(Ext(*host_, "vm", "one"), 'a');
  EXPECT_FALSE(Eval(SameMeasurementPolicy(), nested, sealer).allowed);
  EXPECT_FALSE(Eval(SameMeasurementPolicy(), sealer, nested).allowed);
}

TEST_F(SealPolicyEvaluatorTest, SameMeasurementDeniesNamesWithoutMeasurement) {
  Principal sealer = Program(*host_, 'a');
  for (const Principal& caller :
       {*host_, Ext(*host_, "role", "x"), Args(*host_, '1')}) {
    Decision d = Eval(SameMeasurementPolicy(), caller, sealer);
    EXPECT_FALSE(d.allowed) << caller.text();
    EXPECT_THAT(d.reason, HasSubstr("caller's name has no measurement"));
  }
  Decision d = Eval(SameMeasurementPolicy(), sealer, Args(*host_, '1'));
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.reason, HasSubstr("sealer's name has no measurement"));
  // Two names without a measurement are not "the same measurement".
  EXPECT_FALSE(Eval(SameMeasurementPolicy(), *host_, *host_).allowed);
}

TEST_F(SealPolicyEvaluatorTest, SameMeasurementUsesTheLastMeasurement) {
  // A program hosted by a hosted program: the inner Program decides.
  Principal outer = Program(*host_, 'o');
  Principal sealer = Args(Program(outer, 'i'), '1');
  EXPECT_TRUE(
      Eval(SameMeasurementPolicy(), Args(Program(outer, 'i'), '2'), sealer)
          .allowed);
  EXPECT_FALSE(
      Eval(SameMeasurementPolicy(), Program(outer, 'j'), sealer).allowed);
  EXPECT_FALSE(
      Eval(SameMeasurementPolicy(), Program(*host_, 'i'), sealer).allowed);
  EXPECT_FALSE(
      Eval(SameMeasurementPolicy(), Program(Program(*host_, 'x'), 'i'), sealer)
          .allowed);
  // VM and Enclave measurements count too.
  Principal vm = Sub(*host_, Subprincipal::Vm(Digest('v')));
  EXPECT_TRUE(
      Eval(SameMeasurementPolicy(), Args(vm, '2'), Args(vm, '1')).allowed);
}

TEST_F(SealPolicyEvaluatorTest, SameSignerAllowsTheMinimumVersionAndLater) {
  SealPolicy policy = Signer("demo", 5);
  Principal sealer = Published('a', *publisher_, "demo", 5);
  for (uint64_t v : {uint64_t{5}, uint64_t{6}, uint64_t{1000}, ~uint64_t{0}}) {
    // Each version is another binary (another measurement).
    Decision d =
        Eval(policy,
             Published(static_cast<char>('a' + v % 20), *publisher_, "demo", v),
             sealer);
    EXPECT_TRUE(d.allowed) << v << ": " << d.reason;
    EXPECT_THAT(d.reason, StartsWith("SameSigner"));
    EXPECT_THAT(d.reason, HasSubstr(absl::StrCat("version ", v)));
  }
  // Args and extensions after the Publisher do not matter.
  Principal with_args =
      Ext(Args(Published('b', *publisher_, "demo", 7), '1'), "r", "x");
  EXPECT_TRUE(Eval(policy, with_args, sealer).allowed);
  // Minimum 0 admits version 0.
  EXPECT_TRUE(
      Eval(Signer("demo", 0), Published('c', *publisher_, "demo", 0), sealer)
          .allowed);
}

TEST_F(SealPolicyEvaluatorTest, SameSignerDeniesOlderVersions) {
  SealPolicy policy = Signer("demo", 5);
  Principal sealer = Published('a', *publisher_, "demo", 5);
  for (uint64_t v : {uint64_t{0}, uint64_t{4}}) {
    Decision d = Eval(policy, Published('z', *publisher_, "demo", v), sealer);
    EXPECT_FALSE(d.allowed) << v;
    EXPECT_THAT(d.reason, StartsWith("SameSigner"));
    EXPECT_THAT(d.reason, HasSubstr("older than the minimum 5"));
  }
}

TEST_F(SealPolicyEvaluatorTest, SameSignerDeniesAnotherProduct) {
  Principal sealer = Published('a', *publisher_, "demo", 5);
  for (absl::string_view product : {"other", "Demo", "demo2", "dem"}) {
    Decision d = Eval(Signer("demo", 1),
                      Published('b', *publisher_, product, 9), sealer);
    EXPECT_FALSE(d.allowed) << product;
    EXPECT_THAT(d.reason, StartsWith("SameSigner"));
    EXPECT_THAT(d.reason, HasSubstr("product"));
  }
}

TEST_F(SealPolicyEvaluatorTest, SameSignerDeniesAnotherPublisher) {
  Principal sealer = Published('a', *publisher_, "demo", 5);
  Decision d = Eval(Signer("demo", 1),
                    Published('b', *other_publisher_, "demo", 9), sealer);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.reason, StartsWith("SameSigner"));
  EXPECT_THAT(d.reason, HasSubstr("another key"));
  // A program that runs on a host whose root key is the publisher's is not
  // published by it.
  Principal on_publisher_key = Program(*publisher_name_, 'b');
  EXPECT_FALSE(Eval(Signer("demo", 1), on_publisher_key, sealer).allowed);
}

TEST_F(SealPolicyEvaluatorTest,
       SameSignerNeedsThePublisherRightAfterTheLastProgram) {
  Principal sealer = Published('a', *publisher_, "demo", 5);
  auto publisher_sub =
      Subprincipal::Publisher(publisher_->verifying_key(), "demo", 9);
  ASSERT_THAT(publisher_sub, IsOk());
  const std::vector<Principal> callers = {
      // No Publisher at all.
      Program(*host_, 'b'),
      Args(Program(*host_, 'b'), '1'),
      // No measurement.
      *host_,
      Sub(*host_, publisher_sub),
      // A Publisher after an Ext or Args: not put there by the factory.
      Sub(Ext(Program(*host_, 'b'), "role", "x"), publisher_sub),
      Sub(Args(Program(*host_, 'b'), '1'), publisher_sub),
      // A Publisher before the last Program speaks of another program.
      Program(Sub(Program(*host_, 'b'), publisher_sub), 'c'),
      Program(Sub(*host_, publisher_sub), 'c'),
  };
  for (const Principal& caller : callers) {
    Decision d = Eval(Signer("demo", 1), caller, sealer);
    EXPECT_FALSE(d.allowed) << caller.text();
    EXPECT_THAT(
        d.reason,
        HasSubstr("SameSigner: the caller's program carries no verified "
                  "publisher signature"))
        << caller.text();
  }
}

TEST_F(SealPolicyEvaluatorTest, SameSignerWithABadPolicySignerDenies) {
  Principal caller = Published('a', *publisher_, "demo", 5);
  for (const std::string& signer : {std::string(""), std::string("demo"),
                                    Program(*publisher_name_, 'x').text()}) {
    Decision d = Eval(SameSignerPolicy(signer, "demo", 1), caller, caller);
    EXPECT_FALSE(d.allowed) << signer;
    EXPECT_THAT(d.reason, HasSubstr("not a key principal"));
  }
}

TEST_F(SealPolicyEvaluatorTest, SameHostAllowsProgramsOfThisHost) {
  Principal sealer = Program(*host_, 'a');
  for (const Principal& caller :
       {Program(*host_, 'b'), Args(Program(*host_, 'a'), '1'),
        Ext(*host_, "role", "x"), Program(Program(*host_, 'a'), 'c')}) {
    Decision d = Eval(SameHostPolicy(), caller, sealer);
    EXPECT_TRUE(d.allowed) << caller.text();
    EXPECT_THAT(d.reason, StartsWith("SameHost"));
  }
}

TEST_F(SealPolicyEvaluatorTest, SameHostDeniesTheHostItselfAndOtherHosts) {
  Principal sealer = Program(*host_, 'a');
  for (const Principal& caller :
       {*host_, *other_host_, Program(*other_host_, 'a'),
        Program(*publisher_name_, 'a')}) {
    Decision d = Eval(SameHostPolicy(), caller, sealer);
    EXPECT_FALSE(d.allowed) << caller.text();
    EXPECT_THAT(d.reason, StartsWith("SameHost"));
    EXPECT_THAT(d.reason, HasSubstr("is not a program of this host"));
  }
}

TEST_F(SealPolicyEvaluatorTest, SameHostOfAStackedHost) {
  // The evaluating host is itself a hosted program: its parent and siblings
  // are not its programs.
  Principal stacked = Program(*host_, 's');
  Principal child = Program(stacked, 'c');
  SealPolicyContext ok{child, child, stacked, nullptr};
  EXPECT_TRUE(EvaluateSealPolicy(SameHostPolicy(), ok).allowed);
  Principal parent = *host_;
  SealPolicyContext up{parent, child, stacked, nullptr};
  EXPECT_FALSE(EvaluateSealPolicy(SameHostPolicy(), up).allowed);
  Principal sibling = Program(*host_, 't');
  SealPolicyContext side{sibling, child, stacked, nullptr};
  EXPECT_FALSE(EvaluateSealPolicy(SameHostPolicy(), side).allowed);
}

TEST_F(SealPolicyEvaluatorTest, DomainRuleAsksTheDomainAndPrefixesItsReason) {
  FakeDomain domain;
  domain.Set("db", DomainRuleAnswer{true, "rule 'x' grants Unseal(db)", ""});
  domain.Set("web", DomainRuleAnswer{false, "no rule grants Unseal(web)", ""});
  Principal caller = Program(*host_, 'a');
  Principal sealer = Program(*host_, 'b');

  Decision allow = Eval(DomainRulePolicy("db"), caller, sealer, &domain);
  EXPECT_TRUE(allow.allowed);
  EXPECT_EQ(allow.reason, "DomainRule(db): rule 'x' grants Unseal(db)");

  Decision deny = Eval(DomainRulePolicy("web"), caller, sealer, &domain);
  EXPECT_FALSE(deny.allowed);
  EXPECT_EQ(deny.reason, "DomainRule(web): no rule grants Unseal(web)");

  // The domain is asked about the caller (not the sealer) and the label.
  EXPECT_THAT(
      domain.asked(),
      testing::ElementsAre(std::make_pair(caller.text(), std::string("db")),
                           std::make_pair(caller.text(), std::string("web"))));
}

// What the domain held back from the caller (its other rules) stays out of
// the caller's reason through every composition, and in the whole one.
TEST_F(SealPolicyEvaluatorTest, WhatTheDomainHoldsBackStaysOutOfForCaller) {
  FakeDomain domain;
  domain.Set("db", DomainRuleAnswer{false,
                                    "no rule grants Unseal(db); rule 'r' "
                                    "grants Unseal(db) to others",
                                    "no rule grants Unseal(db)"});
  Principal caller = Program(*host_, 'a');
  Principal sealer = Program(*host_, 'b');
  for (const SealPolicy& policy :
       {DomainRulePolicy("db"),
        AllOfPolicy({SameHostPolicy(), DomainRulePolicy("db")}),
        AnyOfPolicy({SameProgramPolicy(), DomainRulePolicy("db")}),
        AnyOfPolicy(
            {AllOfPolicy({DomainRulePolicy("db")}), SameProgramPolicy()})}) {
    Decision d = Eval(policy, caller, sealer, &domain);
    EXPECT_FALSE(d.allowed);
    EXPECT_THAT(d.reason, HasSubstr("rule 'r' grants Unseal(db) to others"));
    EXPECT_THAT(d.ForCaller(), HasSubstr("DomainRule(db): no rule grants"));
    EXPECT_THAT(d.ForCaller(), Not(HasSubstr("rule 'r'")));
  }
  // Nothing held back: the caller's reason is the whole one.
  Decision plain = Eval(SameProgramPolicy(), caller, sealer, &domain);
  EXPECT_EQ(plain.ForCaller(), plain.reason);
}

TEST_F(SealPolicyEvaluatorTest, DomainRuleWithoutADomainDenies) {
  Principal caller = Program(*host_, 'a');
  Decision d = Eval(DomainRulePolicy("db"), caller, caller, nullptr);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.reason, StartsWith("DomainRule(db)"));
  EXPECT_THAT(d.reason, HasSubstr("no domain policy"));
}

TEST_F(SealPolicyEvaluatorTest, AllOfAllowsOnlyWhenEveryPolicyAllows) {
  Principal sealer = Args(Program(*host_, 'a'), '1');
  Principal caller = Args(Program(*host_, 'a'), '2');
  Decision all = Eval(AllOfPolicy({SameMeasurementPolicy(), SameHostPolicy()}),
                      caller, sealer);
  EXPECT_TRUE(all.allowed) << all.reason;
  EXPECT_THAT(all.reason, StartsWith("AllOf"));
  EXPECT_THAT(all.reason, HasSubstr("SameMeasurement"));
  EXPECT_THAT(all.reason, HasSubstr("SameHost"));

  Decision one_denies =
      Eval(AllOfPolicy({SameMeasurementPolicy(), SameProgramPolicy(),
                        SameHostPolicy()}),
           caller, sealer);
  EXPECT_FALSE(one_denies.allowed);
  EXPECT_THAT(one_denies.reason, StartsWith("AllOf: SameProgram"));
  EXPECT_THAT(one_denies.reason, HasSubstr("is not the sealer"));

  // The first denial is the one named.
  Decision other_host =
      Eval(AllOfPolicy({SameHostPolicy(), SameProgramPolicy()}),
           Program(*other_host_, 'a'), sealer);
  EXPECT_FALSE(other_host.allowed);
  EXPECT_THAT(other_host.reason, StartsWith("AllOf: SameHost"));
}

TEST_F(SealPolicyEvaluatorTest, AnyOfAllowsWhenOnePolicyAllows) {
  FakeDomain domain;
  domain.Set("db", DomainRuleAnswer{true, "granted", ""});
  Principal sealer = Program(*host_, 'a');
  Principal caller = Program(*host_, 'b');
  Decision one =
      Eval(AnyOfPolicy({SameProgramPolicy(), DomainRulePolicy("db")}), caller,
           sealer, &domain);
  EXPECT_TRUE(one.allowed);
  EXPECT_EQ(one.reason, "AnyOf: DomainRule(db): granted");

  Decision none =
      Eval(AnyOfPolicy({SameProgramPolicy(), SameMeasurementPolicy(),
                        DomainRulePolicy("web")}),
           caller, sealer, &domain);
  EXPECT_FALSE(none.allowed);
  EXPECT_THAT(none.reason, StartsWith("AnyOf: none holds"));
  EXPECT_THAT(none.reason, HasSubstr("SameProgram:"));
  EXPECT_THAT(none.reason, HasSubstr("SameMeasurement:"));
  EXPECT_THAT(none.reason, HasSubstr("DomainRule(web):"));
}

TEST_F(SealPolicyEvaluatorTest, NestedCombinations) {
  // "The same program, or any version >= 2 of demo that also runs here."
  SealPolicy policy =
      AnyOfPolicy({SameProgramPolicy(),
                   AllOfPolicy({Signer("demo", 2), SameHostPolicy()})});
  Principal sealer = Published('a', *publisher_, "demo", 2);
  EXPECT_TRUE(Eval(policy, sealer, sealer).allowed);
  EXPECT_TRUE(
      Eval(policy, Published('b', *publisher_, "demo", 3), sealer).allowed);
  EXPECT_FALSE(
      Eval(policy, Published('c', *publisher_, "demo", 1), sealer).allowed);
  Principal elsewhere =
      Sub(Program(*other_host_, 'b'),
          Subprincipal::Publisher(publisher_->verifying_key(), "demo", 3));
  Decision d = Eval(policy, elsewhere, sealer);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.reason, HasSubstr("AllOf: SameHost"));
}

TEST_F(SealPolicyEvaluatorTest, PoliciesWithoutEncodingDeny) {
  Principal caller = Program(*host_, 'a');
  Decision unset = Eval(SealPolicy(), caller, caller);
  EXPECT_FALSE(unset.allowed);
  EXPECT_THAT(unset.reason, HasSubstr("no kind"));
  SealPolicy empty_all;
  empty_all.mutable_all_of();
  Decision all = Eval(empty_all, caller, caller);
  EXPECT_FALSE(all.allowed);
  EXPECT_THAT(all.reason, StartsWith("AllOf"));
  SealPolicy empty_any;
  empty_any.mutable_any_of();
  Decision any = Eval(empty_any, caller, caller);
  EXPECT_FALSE(any.allowed);
  EXPECT_THAT(any.reason, StartsWith("AnyOf"));
  // An unset kind inside AllOf denies the whole.
  EXPECT_FALSE(
      Eval(AllOfPolicy({SameProgramPolicy(), SealPolicy()}), caller, caller)
          .allowed);
}

TEST_F(SealPolicyEvaluatorTest, TooDeepPoliciesDeny) {
  Principal caller = Program(*host_, 'a');
  SealPolicy ok = SameProgramPolicy();
  for (int i = 0; i < kMaxSealPolicyDepth; ++i) ok = AllOfPolicy({ok});
  EXPECT_TRUE(Eval(ok, caller, caller).allowed);
  SealPolicy deep = AllOfPolicy({ok});
  Decision d = Eval(deep, caller, caller);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.reason, HasSubstr("nests too deeply"));
}

TEST_F(SealPolicyEvaluatorTest, EvaluateBytesDecodesThenEvaluates) {
  Principal sealer = Args(Program(*host_, 'a'), '1');
  Principal caller = Args(Program(*host_, 'a'), '2');
  SealPolicyContext context{caller, sealer, *host_, nullptr};
  auto allowed =
      EvaluateSealPolicyBytes("AllOf(SameMeasurement,SameHost)", context);
  ASSERT_THAT(allowed, IsOk());
  EXPECT_TRUE(allowed->allowed);
  auto denied = EvaluateSealPolicyBytes("SameProgram", context);
  ASSERT_THAT(denied, IsOk());
  EXPECT_FALSE(denied->allowed);
  auto signer = EvaluateSealPolicyBytes(
      absl::StrCat("SameSigner(", publisher_name_->text(), ",demo,1)"),
      context);
  ASSERT_THAT(signer, IsOk());
  EXPECT_FALSE(signer->allowed);
}

TEST_F(SealPolicyEvaluatorTest, EvaluateBytesRefusesGarbage) {
  Principal caller = Program(*host_, 'a');
  SealPolicyContext context{caller, caller, *host_, nullptr};
  for (const std::string& garbage :
       {std::string(""), std::string("garbage"), std::string("SameProgram "),
        std::string("sameprogram"), std::string("AllOf()"),
        std::string("\xff\x00\x01", 3), std::string(100000, 'A')}) {
    EXPECT_THAT(EvaluateSealPolicyBytes(garbage, context),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << garbage.substr(0, 20);
  }
}

TEST_F(SealPolicyEvaluatorTest, LastMeasurementIndex) {
  EXPECT_EQ(LastMeasurementIndex(*host_), -1);
  EXPECT_EQ(LastMeasurementIndex(Args(Ext(*host_, "a", "b"), '1')), -1);
  EXPECT_EQ(LastMeasurementIndex(Program(*host_, 'a')), 0);
  EXPECT_EQ(LastMeasurementIndex(Args(Program(*host_, 'a'), '1')), 0);
  EXPECT_EQ(LastMeasurementIndex(Args(Program(Program(*host_, 'a'), 'b'), '1')),
            1);
  EXPECT_EQ(LastMeasurementIndex(
                Sub(Ext(*host_, "x", "y"), Subprincipal::Enclave(Digest('e')))),
            1);
}

}  // namespace
}  // namespace tao
