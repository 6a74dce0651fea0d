// The request handler's answers with no child process: a real host, a real
// TaoDomain with a policy built in code and, where records are counted, a
// real AuditLog in a temp dir. Frames go in as the listen loop hands them
// over (AnswerFrame), answers come out as the bytes it would send. For every
// seal-policy kind: Seal and Unseal allowed and denied, with the reasons;
// shared-secret bindings; Attest's speaker rule; one record per request.
#include "channels/tao_request_handler.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "channels/framing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "seal_policy/codec.h"
#include "tao/attestation.h"
#include "tao/clock.h"
#include "tao/file_util.h"
#include "tao_domain/audit_log.h"
#include "tao_domain/compiled_policy.h"
#include "tests/testing/names.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tao_printers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_domain.h"

namespace tao {
namespace {

using ::tao::test::AddRule;
using ::tao::test::Args;
using ::tao::test::ExactName;
using ::tao::test::Ext;
using ::tao::test::IsOk;
using ::tao::test::NamePrefix;
using ::tao::test::Program;
using ::tao::test::Published;
using ::tao::test::StatusIs;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int32_t kDenied =
    static_cast<int32_t>(absl::StatusCode::kPermissionDenied);
constexpr int32_t kInvalid =
    static_cast<int32_t>(absl::StatusCode::kInvalidArgument);

class TaoRequestHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_ = test::NewTestHost();
    other_host_ = test::NewTestHost();
    const Principal& h = host_->name();
    alice_ = Program(h, 'a');
    alice_args_ = Args(Program(h, 'a'), '2');  // same measurement as alice
    bob_ = Program(h, 'b');
    carol_ = Program(h, 'c');
    stranger_ = Program(other_host_->name(), 'a');
    v1_ = Published(Program(h, '1'), publisher_, "demo", 1);
    v2_ = Published(Program(h, '2'), publisher_, "demo", 2);
    v3_ = Published(Program(h, '3'), publisher_, "demo", 3);
    // Every program of this host may seal (any label), attest and have
    // shared secrets; only bob may unseal DomainRule(db); nobody web.
    DomainPolicy& policy = domain_.policy();
    AddRule(&policy, "programs",
            {"Seal", "Unseal", "Attest", "GetSharedSecret"}, NamePrefix(h));
    AddRule(&policy, "labels", {"Seal"}, NamePrefix(h), {"*"});
    AddRule(&policy, "db-readers", {"Unseal"}, ExactName(*bob_), {"db"});
    MakeHandler(nullptr);
  }

  void MakeHandler(AuditLog* audit) {
    handler_.reset();
    tao_domain_ = domain_.Make(audit, clock_);
    ASSERT_NE(tao_domain_, nullptr);
    handler_ = std::make_unique<TaoRequestHandler>(*host_, *tao_domain_);
  }

  // `request` from `*name` through AnswerFrame, as the loop calls it.
  TaoResponse Call(const TaoRequest& request, Principal* name,
                   TaoRequestHandler::Answered* answered = nullptr) {
    std::string frame;
    EXPECT_TRUE(request.SerializeToString(&frame));
    std::string out;
    auto got = handler_->AnswerFrame(frame, name, kDefaultMaxFrameSize, &out);
    EXPECT_THAT(got, IsOk());
    TaoResponse response;
    if (!got.ok()) return response;
    EXPECT_GE(out.size(), kFrameHeaderSize);
    EXPECT_TRUE(response.ParseFromArray(
        out.data() + kFrameHeaderSize,
        static_cast<int>(out.size() - kFrameHeaderSize)));
    EXPECT_EQ(response.id(), request.id());
    EXPECT_EQ(static_cast<int32_t>(got->code), response.code());
    if (response.code() != 0) {
      EXPECT_FALSE(response.message().empty()) << "a refusal has a reason";
    }
    if (answered != nullptr) *answered = *got;
    return response;
  }

  TaoResponse Seal(Principal name, absl::string_view policy,
                   absl::string_view data = "secret data") {
    TaoRequest request;
    request.set_id(11);
    request.mutable_seal()->set_data(std::string(data));
    request.mutable_seal()->set_policy(std::string(policy));
    return Call(request, &name);
  }

  // A bundle `sealer` sealed under `policy` (straight from the host: the
  // policy need not be one the domain lets it seal under).
  std::string Bundle(const Principal& sealer, absl::string_view policy) {
    auto bundle = host_->Encrypt("secret data", policy, sealer);
    EXPECT_THAT(bundle, IsOk());
    return bundle.value_or("");
  }

  TaoResponse Unseal(Principal name, const std::string& bundle) {
    TaoRequest request;
    request.set_id(12);
    request.mutable_unseal()->set_bundle(bundle);
    return Call(request, &name);
  }

  // Unseals what `sealer` sealed under `policy`, as `caller`.
  TaoResponse UnsealAs(const Principal& caller, const Principal& sealer,
                       absl::string_view policy) {
    return Unseal(caller, Bundle(sealer, policy));
  }

  TaoResponse Secret(Principal name, absl::string_view policy) {
    TaoRequest request;
    request.set_id(13);
    request.mutable_get_shared_secret()->set_size(32);
    request.mutable_get_shared_secret()->set_policy(std::string(policy));
    return Call(request, &name);
  }

  TaoResponse Attest(Principal name, const Statement& statement) {
    TaoRequest request;
    request.set_id(14);
    *request.mutable_attest() = statement;
    return Call(request, &name);
  }

  static Statement Claim(const std::string& speaker) {
    Statement s;
    s.set_speaker(speaker);
    s.mutable_predicate()->set_name("ready");
    return s;
  }

  static Statement Delegation(const std::string& delegator) {
    Statement s;
    s.mutable_delegation()->set_delegate(
        Principal::ForKey(test::NewKey().verifying_key()).text());
    s.mutable_delegation()->set_delegator(delegator);
    return s;
  }

  // Expects an allowed unseal that returns the data.
  static void ExpectUnsealed(const TaoResponse& r) {
    EXPECT_EQ(r.code(), 0) << r.message();
    EXPECT_EQ(r.unsealed().data(), "secret data");
  }

  // Expects a denial with `reason` and no plaintext.
  static void ExpectDenied(const TaoResponse& r, const std::string& reason) {
    EXPECT_EQ(r.code(), kDenied) << r.message();
    EXPECT_THAT(r.message(), HasSubstr(reason));
    EXPECT_FALSE(r.has_unsealed());
    EXPECT_FALSE(r.has_data());
  }

  FixedClock clock_{absl::FromUnixSeconds(1700000000)};
  std::unique_ptr<TaoHost> host_, other_host_;
  SigningKey publisher_ = test::NewKey();
  std::optional<Principal> alice_, alice_args_, bob_, carol_, stranger_, v1_,
      v2_, v3_;
  test::TestDomain domain_;
  std::unique_ptr<TaoDomain> tao_domain_;
  std::unique_ptr<TaoRequestHandler> handler_;
};

// ---- Seal ------------------------------------------------------------------

TEST_F(TaoRequestHandlerTest, SealNeedsASealGrantForEveryPolicyKind) {
  const std::string signer =
      Principal::ForKey(publisher_.verifying_key()).text();
  for (const std::string& policy :
       {std::string(""), std::string("SameProgram"),
        std::string("SameMeasurement"), std::string("SameHost"),
        absl::StrCat("SameSigner(", signer, ",demo,2)"),
        std::string("DomainRule(db)"),
        std::string("AllOf(SameHost,DomainRule(db))"),
        std::string("AnyOf(SameProgram,DomainRule(web))")}) {
    TaoResponse sealed = Seal(*alice_, policy);
    EXPECT_EQ(sealed.code(), 0) << policy << ": " << sealed.message();
    ASSERT_OK_AND_ASSIGN(Unsealed opened, host_->Decrypt(sealed.data()));
    EXPECT_EQ(opened.policy, policy.empty() ? "SameProgram" : policy);
    EXPECT_EQ(opened.sealer, *alice_);
    // A program of another host matches no rule.
    ExpectDenied(Seal(*stranger_, policy), "no rule grants Seal");
  }
}

TEST_F(TaoRequestHandlerTest, SealUnderADomainRuleNeedsEachLabel) {
  domain_.policy().clear_rules();
  AddRule(&domain_.policy(), "db-only", {"Seal"}, NamePrefix(host_->name()),
          {"db"});
  MakeHandler(nullptr);
  EXPECT_EQ(Seal(*alice_, "DomainRule(db)").code(), 0);
  // Another label, or one of two, is refused, naming it.
  ExpectDenied(Seal(*alice_, "DomainRule(web)"), "Seal(web)");
  ExpectDenied(Seal(*alice_, "AllOf(DomainRule(db),DomainRule(web))"),
               "Seal(web)");
  // No label at all needs a grant without labels.
  ExpectDenied(Seal(*alice_, "SameProgram"), "no rule grants Seal");
}

TEST_F(TaoRequestHandlerTest, SealRefusesAPolicyThatDoesNotDecode) {
  TaoResponse r = Seal(*alice_, "SameProgram ");
  EXPECT_EQ(r.code(), kInvalid);
  EXPECT_FALSE(r.has_data());
}

// ---- Unseal, per policy kind -----------------------------------------------

TEST_F(TaoRequestHandlerTest, UnsealSameProgram) {
  ExpectUnsealed(UnsealAs(*alice_, *alice_, "SameProgram"));
  ExpectDenied(UnsealAs(*alice_args_, *alice_, "SameProgram"),
               "SameProgram: the caller");
  ExpectDenied(UnsealAs(*bob_, *alice_, "SameProgram"), "is not the sealer");
}

TEST_F(TaoRequestHandlerTest, UnsealSameMeasurement) {
  ExpectUnsealed(UnsealAs(*alice_args_, *alice_, "SameMeasurement"));
  ExpectDenied(UnsealAs(*bob_, *alice_, "SameMeasurement"),
               "but the sealer ran");
  ExpectDenied(UnsealAs(*stranger_, *alice_, "SameMeasurement"),
               "under another host");
}

TEST_F(TaoRequestHandlerTest, UnsealSameSigner) {
  const std::string policy = absl::StrCat(
      "SameSigner(", Principal::ForKey(publisher_.verifying_key()).text(),
      ",demo,2)");
  ExpectUnsealed(UnsealAs(*v3_, *v2_, policy));
  ExpectUnsealed(UnsealAs(*v2_, *v2_, policy));
  ExpectDenied(UnsealAs(*v1_, *v2_, policy), "older than the minimum 2");
  ExpectDenied(UnsealAs(*alice_, *v2_, policy),
               "carries no verified publisher signature");
}

TEST_F(TaoRequestHandlerTest, UnsealSameHost) {
  ExpectUnsealed(UnsealAs(*bob_, *alice_, "SameHost"));
  // (Bundle seals with this host's secret, so only the name differs.)
  ExpectDenied(UnsealAs(*stranger_, *alice_, "SameHost"),
               "is not a program of this host");
}

TEST_F(TaoRequestHandlerTest, UnsealDomainRule) {
  TaoResponse allowed = UnsealAs(*bob_, *alice_, "DomainRule(db)");
  ExpectUnsealed(allowed);
  ExpectDenied(UnsealAs(*carol_, *alice_, "DomainRule(db)"),
               "DomainRule(db): domain 'test': no rule grants Unseal(db)");
  ExpectDenied(UnsealAs(*bob_, *alice_, "DomainRule(web)"),
               "no rule grants Unseal(web)");
}

TEST_F(TaoRequestHandlerTest, UnsealAllOf) {
  ExpectUnsealed(
      UnsealAs(*alice_args_, *alice_, "AllOf(SameHost,SameMeasurement)"));
  ExpectDenied(UnsealAs(*bob_, *alice_, "AllOf(SameHost,SameMeasurement)"),
               "AllOf: SameMeasurement");
  ExpectDenied(UnsealAs(*alice_, *alice_, "AllOf(SameProgram,DomainRule(db))"),
               "AllOf: DomainRule(db)");
}

TEST_F(TaoRequestHandlerTest, UnsealAnyOf) {
  ExpectUnsealed(UnsealAs(*bob_, *alice_, "AnyOf(SameProgram,DomainRule(db))"));
  ExpectUnsealed(
      UnsealAs(*alice_, *alice_, "AnyOf(SameProgram,DomainRule(db))"));
  ExpectDenied(UnsealAs(*carol_, *alice_, "AnyOf(SameProgram,DomainRule(db))"),
               "AnyOf: none holds");
}

TEST_F(TaoRequestHandlerTest, UnsealOfAForeignOrBrokenBundleIsRefused) {
  auto foreign = other_host_->Encrypt("x", "SameHost", *alice_);
  ASSERT_THAT(foreign, IsOk());
  TaoResponse r = Unseal(*alice_, *foreign);
  EXPECT_EQ(r.code(), static_cast<int32_t>(absl::StatusCode::kDataLoss));
  EXPECT_FALSE(r.has_unsealed());
  // A policy that does not decode (sealed raw by the host) is data loss.
  r = UnsealAs(*alice_, *alice_, "NotAPolicy");
  EXPECT_EQ(r.code(), static_cast<int32_t>(absl::StatusCode::kDataLoss));
  EXPECT_THAT(r.message(), HasSubstr("does not decode"));
}

// ---- Shared secrets --------------------------------------------------------

TEST_F(TaoRequestHandlerTest, SharedSecretBindings) {
  // SameMeasurement: two callers it admits share one binding and secret.
  auto a = tao_domain_->AuthorizeSharedSecret(*alice_, "SameMeasurement",
                                              host_->name());
  auto a2 = tao_domain_->AuthorizeSharedSecret(*alice_args_, "SameMeasurement",
                                               host_->name());
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(a2, IsOk());
  EXPECT_TRUE(a->decision.allowed) << a->decision.reason;
  EXPECT_EQ(a->binding, a2->binding);
  EXPECT_EQ(a->binding, Program(host_->name(), 'a').text());
  EXPECT_THAT(a->decision.reason, HasSubstr("SameMeasurement: bound to"));
  EXPECT_EQ(Secret(*alice_, "SameMeasurement").data(),
            Secret(*alice_args_, "SameMeasurement").data());
  EXPECT_NE(Secret(*alice_, "SameMeasurement").data(),
            Secret(*bob_, "SameMeasurement").data());

  // SameProgram: the exact name, so the two differ.
  auto p =
      tao_domain_->AuthorizeSharedSecret(*alice_, "SameProgram", host_->name());
  auto p2 = tao_domain_->AuthorizeSharedSecret(*alice_args_, "SameProgram",
                                               host_->name());
  ASSERT_THAT(p, IsOk());
  ASSERT_THAT(p2, IsOk());
  EXPECT_EQ(p->binding, alice_->text());
  EXPECT_NE(p->binding, p2->binding);
  EXPECT_NE(Secret(*alice_, "SameProgram").data(),
            Secret(*alice_args_, "SameProgram").data());
  // The default policy is SameProgram.
  EXPECT_EQ(Secret(*alice_, "").data(), Secret(*alice_, "SameProgram").data());

  // SameHost binds nothing more: every program of the host shares it, a
  // program elsewhere is refused.
  auto h = tao_domain_->AuthorizeSharedSecret(*bob_, "SameHost", host_->name());
  ASSERT_THAT(h, IsOk());
  EXPECT_EQ(h->binding, "");
  EXPECT_EQ(Secret(*alice_, "SameHost").data(),
            Secret(*bob_, "SameHost").data());
  EXPECT_EQ(Secret(*alice_, "SameHost").data().size(), 32u);
  ExpectDenied(Secret(*stranger_, "SameHost"), "GetSharedSecret");

  // DomainRule: admitted as an Unseal of that label would be.
  EXPECT_EQ(Secret(*bob_, "DomainRule(db)").code(), 0);
  ExpectDenied(Secret(*carol_, "DomainRule(db)"), "no rule grants Unseal(db)");
}

TEST_F(TaoRequestHandlerTest, SharedSecretsRefuseCompoundPolicies) {
  for (const char* policy :
       {"AllOf(SameProgram,SameHost)", "AnyOf(SameProgram,SameHost)"}) {
    TaoResponse r = Secret(*alice_, policy);
    EXPECT_EQ(r.code(), kInvalid);
    EXPECT_THAT(r.message(), HasSubstr("single-kind"));
    EXPECT_THAT(
        tao_domain_->AuthorizeSharedSecret(*alice_, policy, host_->name()),
        StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_EQ(Secret(*alice_, "NotAPolicy").code(), kInvalid);
}

TEST_F(TaoRequestHandlerTest, SharedSecretsNeedAGrant) {
  domain_.policy().clear_rules();
  AddRule(&domain_.policy(), "seal-only", {"Seal"}, NamePrefix(host_->name()));
  MakeHandler(nullptr);
  ExpectDenied(Secret(*alice_, "SameProgram"),
               "no rule grants GetSharedSecret");
  auto answer =
      tao_domain_->AuthorizeSharedSecret(*alice_, "SameProgram", host_->name());
  ASSERT_THAT(answer, IsOk());
  EXPECT_FALSE(answer->decision.allowed);
  EXPECT_EQ(answer->binding, "");
  EXPECT_EQ(answer->context, "");
}

// ---- Attest ----------------------------------------------------------------

TEST_F(TaoRequestHandlerTest, AttestSignsForTheCallersOwnName) {
  AttestationVerifier verifier({host_->signing_public_key()}, clock_);
  // An empty speaker is the caller; the caller's own name is fine too.
  for (const std::string& speaker : {std::string(), alice_->text()}) {
    TaoResponse r = Attest(*alice_, Claim(speaker));
    ASSERT_EQ(r.code(), 0) << r.message();
    ASSERT_OK_AND_ASSIGN(VerifiedStatement verified,
                         verifier.Verify(r.attestation()));
    EXPECT_EQ(verified.speaker, *alice_);
    // A relying party's `measurement` matcher sees alice's measurement, and
    // no other.
    DomainPolicy relying;
    relying.set_domain_name("relying");
    AddRule(&relying, "a", {"Execute"}, test::Measurement('a'));
    EXPECT_TRUE(DecideWithPolicy(relying, Caller::Program(verified.speaker),
                                 "Execute", "")
                    .allowed);
    relying.clear_rules();
    AddRule(&relying, "f", {"Execute"}, test::Measurement('f'));
    EXPECT_FALSE(DecideWithPolicy(relying, Caller::Program(verified.speaker),
                                  "Execute", "")
                     .allowed);
  }
}

TEST_F(TaoRequestHandlerTest, AttestSignsForExtExtensions) {
  Principal extended = Ext(Ext(*alice_, "role", "web"), "shard", "2");
  EXPECT_EQ(Attest(*alice_, Claim(extended.text())).code(), 0);
  // After ExtendTaoName, the extended name is the caller.
  Principal name = Ext(*alice_, "role", "web");
  EXPECT_EQ(Attest(name, Claim(Ext(name, "shard", "2").text())).code(), 0);
  // But not the name it extended (a caller speaks for itself and below).
  ExpectDenied(Attest(name, Claim(alice_->text())), "Attest refused");
}

TEST_F(TaoRequestHandlerTest, AttestRefusesAForgedMeasurement) {
  // The attack: speak as alice.Program(<another digest>), which a relying
  // party's `measurement` matcher would then accept as that program.
  const Principal forged = Program(*alice_, 'f');
  TaoResponse r = Attest(*alice_, Claim(forged.text()));
  ExpectDenied(r, "is not the caller or the caller extended by Ext(...) only");
  EXPECT_THAT(r.message(), StartsWith("domain 'test': Attest refused"));
  EXPECT_FALSE(r.has_attestation());
  // Nor Args or Publisher, nor after an Ext, nor another program's name.
  ExpectDenied(Attest(*alice_, Claim(Args(*alice_, 'f').text())),
               "Attest refused");
  ExpectDenied(
      Attest(*alice_, Claim(Published(*alice_, publisher_, "demo", 9).text())),
      "Attest refused");
  ExpectDenied(
      Attest(*alice_, Claim(Program(Ext(*alice_, "r", "x"), 'f').text())),
      "Attest refused");
  ExpectDenied(Attest(*alice_, Claim(bob_->text())), "Attest refused");
  ExpectDenied(Attest(*alice_, Claim(host_->name().text())), "Attest refused");
  // A malformed speaker is a malformed request.
  EXPECT_EQ(Attest(*alice_, Claim("key(ecdsa-p256:AAAA)")).code(), kInvalid);
}

TEST_F(TaoRequestHandlerTest, AttestDelegationsFollowTheSameRule) {
  EXPECT_EQ(Attest(*alice_, Delegation(alice_->text())).code(), 0);
  EXPECT_EQ(
      Attest(*alice_, Delegation(Ext(*alice_, "role", "tls").text())).code(),
      0);
  ExpectDenied(Attest(*alice_, Delegation(Program(*alice_, 'f').text())),
               "the statement's delegator");
  ExpectDenied(Attest(*alice_, Delegation(bob_->text())),
               "the statement's delegator");
  EXPECT_EQ(Attest(*alice_, Delegation("not a name")).code(), kInvalid);
}

TEST_F(TaoRequestHandlerTest, AttestNeedsAGrant) {
  domain_.policy().clear_rules();
  AddRule(&domain_.policy(), "seal-only", {"Seal"}, NamePrefix(host_->name()));
  MakeHandler(nullptr);
  ExpectDenied(Attest(*alice_, Claim("")), "no rule grants Attest");
}

// ---- One request, one record -----------------------------------------------

// The decision records of the trail at `path` (`note` records, such as the
// `name` records that spell out long callers and labels, are left out), with
// every field that a `name` record spells out replaced by its full text.
std::vector<std::vector<std::string>> DecisionRecords(const std::string& path) {
  std::vector<std::vector<std::string>> out;
  auto trail = ReadFileToString(path);
  if (!trail.ok()) return out;
  std::map<std::string, std::string> names;
  for (absl::string_view line :
       absl::StrSplit(*trail, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    if (fields.size() != 9) continue;
    if (fields[5] == "note") {
      std::string text;
      if (fields[3] == "name" && absl::CUnescape(fields[6], &text)) {
        names[fields[2]] = text;
      }
      continue;
    }
    for (int i : {2, 4}) {
      auto named = names.find(fields[i]);
      if (named != names.end()) fields[i] = named->second;
    }
    out.push_back(std::move(fields));
  }
  return out;
}

TEST_F(TaoRequestHandlerTest, OneRequestIsOneAuditRecord) {
  test::TempDir dir;
  const std::string path = dir.Join("audit.log");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AuditLog> log, AuditLog::Open(path));
  AddRule(&domain_.policy(), "all-labels", {"Unseal"},
          NamePrefix(host_->name()), {"*"});
  MakeHandler(log.get());
  // A policy of 60 DomainRule leaves, each its own label.
  std::vector<std::string> leaves;
  for (int i = 0; i < 60; ++i) {
    leaves.push_back(absl::StrCat("DomainRule(label-", i, ")"));
  }
  const std::string all =
      absl::StrCat("AllOf(", absl::StrJoin(leaves, ","), ")");
  const std::string any =
      absl::StrCat("AnyOf(", absl::StrJoin(leaves, ","), ")");
  ASSERT_EQ(DecisionRecords(path).size(), 0u);
  TaoResponse sealed = Seal(*alice_, all);
  ASSERT_EQ(sealed.code(), 0) << sealed.message();
  EXPECT_EQ(DecisionRecords(path).size(), 1u);
  ExpectUnsealed(Unseal(*bob_, sealed.data()));
  EXPECT_EQ(DecisionRecords(path).size(), 2u);
  // A denied unseal of every leaf (a stranger matches none) is one too.
  ExpectDenied(UnsealAs(*stranger_, *alice_, any), "AnyOf: none holds");
  EXPECT_EQ(DecisionRecords(path).size(), 3u);
  EXPECT_EQ(Secret(*bob_, "DomainRule(label-7)").code(), 0);
  EXPECT_EQ(DecisionRecords(path).size(), 4u);
  EXPECT_EQ(Attest(*alice_, Claim("")).code(), 0);
  EXPECT_EQ(DecisionRecords(path).size(), 5u);
  ExpectDenied(Attest(*alice_, Claim(Program(*alice_, 'f').text())),
               "Attest refused");
  EXPECT_EQ(DecisionRecords(path).size(), 6u);
  ASSERT_THAT(VerifyAuditLog(path), IsOk());
  // What was recorded: operation, label (the Seal's labels, the policy
  // bytes), allow or deny. Long labels are spelled out by `name` records.
  std::vector<std::vector<std::string>> records = DecisionRecords(path);
  ASSERT_EQ(records.size(), 6u);
  std::vector<std::string> labels;
  for (int i = 0; i < 60; ++i) labels.push_back(absl::StrCat("label-", i));
  EXPECT_EQ(records[0][3], "Seal");
  EXPECT_EQ(records[0][4], absl::StrJoin(labels, ","));
  EXPECT_EQ(records[0][5], "allow");
  // The reason names the labels' grants; the trail bounds it (1024 bytes).
  EXPECT_THAT(records[0][6], HasSubstr("grants Seal(label-0)"));
  EXPECT_LE(records[0][6].size(), 1100u);
  EXPECT_EQ(records[1][3], "Unseal");
  EXPECT_EQ(records[1][4], all);
  EXPECT_EQ(records[1][5], "allow");
  EXPECT_EQ(records[2][3], "Unseal");
  EXPECT_EQ(records[2][5], "deny");
  EXPECT_EQ(records[3][3], "GetSharedSecret");
  EXPECT_EQ(records[3][4], "DomainRule(label-7)");
  EXPECT_EQ(records[4][3], "Attest");
  EXPECT_EQ(records[4][5], "allow");
  EXPECT_EQ(records[5][3], "Attest");
  EXPECT_EQ(records[5][5], "deny");
  EXPECT_THAT(records[5][6], HasSubstr("Attest refused"));
}

// A refused program learns what was refused to whom and which clause
// failed, never the domain's other rules (their ids, labels, grantees): it
// could map the policy by asking. The audit trail keeps the whole reason.
TEST_F(TaoRequestHandlerTest, ARefusedProgramIsNotToldTheDomainsRules) {
  test::TempDir dir;
  const std::string path = dir.Join("audit.log");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AuditLog> log, AuditLog::Open(path));
  MakeHandler(log.get());
  const std::vector<std::pair<TaoResponse, std::string>> refusals = {
      {UnsealAs(*carol_, *alice_, "DomainRule(db)"),
       "DomainRule(db): domain 'test': no rule grants Unseal(db) to program"},
      {UnsealAs(*carol_, *alice_, "AnyOf(SameProgram,DomainRule(db))"),
       "AnyOf: none holds: SameProgram: the caller "},
      {UnsealAs(*alice_, *alice_, "AllOf(SameProgram,DomainRule(db))"),
       "AllOf: DomainRule(db): domain 'test': no rule grants Unseal(db)"},
      {Attest(*stranger_, Claim("")),
       "domain 'test': no rule grants Attest to program"},
  };
  for (const auto& [response, reason] : refusals) {
    ExpectDenied(response, reason);
    EXPECT_THAT(response.message(),
                Not(AnyOf(HasSubstr("rule '"), HasSubstr("db-readers"),
                          HasSubstr("to others"), HasSubstr("labels ["))));
  }
  // The operator's copy names the rules that nearly matched.
  std::vector<std::vector<std::string>> records = DecisionRecords(path);
  ASSERT_EQ(records.size(), refusals.size());
  std::string unseal_reason, attest_reason;  // the trail escapes quotes
  ASSERT_TRUE(absl::CUnescape(records[0][6], &unseal_reason));
  ASSERT_TRUE(absl::CUnescape(records[3][6], &attest_reason));
  EXPECT_THAT(unseal_reason,
              HasSubstr("rule 'db-readers' grants Unseal(db) to others"));
  EXPECT_THAT(attest_reason,
              HasSubstr("rule 'programs' grants Attest to others"));
}

// ---- What the loop must wipe -----------------------------------------------

TEST_F(TaoRequestHandlerTest, TheAnswerSaysWhatHoldsPlaintext) {
  TaoRequestHandler::Answered answered;
  Principal name = *alice_;
  TaoRequest seal;
  seal.set_id(1);
  seal.mutable_seal()->set_data("plaintext");
  TaoResponse sealed = Call(seal, &name, &answered);
  ASSERT_EQ(sealed.code(), 0);
  EXPECT_TRUE(answered.request_held_secret);
  EXPECT_FALSE(answered.response_holds_secret);

  TaoRequest unseal;
  unseal.set_id(2);
  unseal.mutable_unseal()->set_bundle(sealed.data());
  ASSERT_EQ(Call(unseal, &name, &answered).code(), 0);
  EXPECT_FALSE(answered.request_held_secret);
  EXPECT_TRUE(answered.response_holds_secret);
  Principal other = *bob_;
  EXPECT_EQ(Call(unseal, &other, &answered).code(), kDenied);
  EXPECT_FALSE(answered.response_holds_secret) << "a denial holds no data";

  TaoRequest secret;
  secret.set_id(3);
  secret.mutable_get_shared_secret()->set_size(32);
  ASSERT_EQ(Call(secret, &name, &answered).code(), 0);
  EXPECT_TRUE(answered.response_holds_secret);
  secret.mutable_get_shared_secret()->set_policy("AllOf(SameHost,SameHost)");
  EXPECT_EQ(Call(secret, &name, &answered).code(), kInvalid);
  EXPECT_FALSE(answered.response_holds_secret);

  TaoRequest random;
  random.set_id(4);
  random.mutable_get_random_bytes()->set_size(8);
  ASSERT_EQ(Call(random, &name, &answered).code(), 0);
  EXPECT_FALSE(answered.response_holds_secret);
  EXPECT_FALSE(answered.request_held_secret);
}

// A Seal in an encoding the copy-free parser declines (a repeated field,
// which protobuf reads as the last one) takes the same path and rules.
TEST_F(TaoRequestHandlerTest, EveryEncodingOfSealTakesTheOnePath) {
  TaoRequest request;
  request.set_id(5);
  request.mutable_seal()->set_data("first");
  std::string frame;
  ASSERT_TRUE(request.SerializeToString(&frame));
  TaoRequest again;
  again.mutable_seal()->set_data("second");
  std::string more;
  ASSERT_TRUE(again.SerializeToString(&more));
  frame += more;  // seal appears twice: protobuf merges, data is "second"
  ASSERT_FALSE(ParseBulkRequest(frame).has_value());
  std::string out;
  Principal name = *alice_;
  ASSERT_OK_AND_ASSIGN(
      TaoRequestHandler::Answered answered,
      handler_->AnswerFrame(frame, &name, kDefaultMaxFrameSize, &out));
  EXPECT_EQ(answered.code, absl::StatusCode::kOk);
  EXPECT_TRUE(answered.request_held_secret);
  TaoResponse response;
  ASSERT_TRUE(response.ParseFromString(out.substr(kFrameHeaderSize)));
  ASSERT_OK_AND_ASSIGN(Unsealed opened, host_->Decrypt(response.data()));
  EXPECT_EQ(opened.data.view(), "second");
  // And refused by the same rule.
  Principal stranger = *stranger_;
  out.clear();
  ASSERT_OK_AND_ASSIGN(
      answered,
      handler_->AnswerFrame(frame, &stranger, kDefaultMaxFrameSize, &out));
  EXPECT_EQ(answered.code, absl::StatusCode::kPermissionDenied);
}

TEST_F(TaoRequestHandlerTest, AFrameThatDoesNotParseIsAnError) {
  std::string out = "before";
  Principal name = *alice_;
  EXPECT_THAT(handler_->AnswerFrame(std::string("\xff\xff\xff", 3), &name,
                                    kDefaultMaxFrameSize, &out),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(out, "before");
}

}  // namespace
}  // namespace tao
