#include "tao_domain/policy_io.h"

#include <google/protobuf/text_format.h>
#include <sys/stat.h>

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/file_util.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao/program_signature.h"
#include "tao_domain/domain_policy.pb.h"
#include "tests/testing/bytes.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tao_printers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::Serialize;
using ::tao::test::StatusIs;
using ::testing::AnyOf;
using ::testing::HasSubstr;

std::string Hex64(char c) { return HexEncode(std::string(kSha256Size, c)); }

class DomainPolicyIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* slot : {&policy_key_, &other_key_}) {
      auto key = SigningKey::Generate();
      ASSERT_THAT(key, IsOk());
      slot->emplace(std::move(key).value());
    }
    key_name_ = Principal::ForKey(policy_key_->verifying_key()).text();
    program_ = absl::StrCat(key_name_, ".Program(sha256:", Hex64('a'), ")");
  }

  // A policy with every matcher kind, labels and admin rules.
  std::string GoodText() const {
    return absl::StrReplaceAll(
        R"pb(
          # A comment.
          domain_name: "corp"
          rules {
            id: "exec"
            operations: [ "Execute", "Attest" ]
            principals { measurement: "sha256:$A" }
            principals {
              signer { signer: "$KEY" product: "app" min_version: 2 }
            }
          }
          rules {
            id: "db"
            operations: [ "Seal", "Unseal" ]
            labels: [ "db", "*" ]
            principals { name_prefix: "$KEY" }
            principals { exact_name: "$PROGRAM" }
          }
          rules {
            id: "admins"
            operations: "Admin:*"
            principals { uid: 0 }
            principals { gid: 27 }
          }
        )pb",
        {{"$A", Hex64('a')}, {"$KEY", key_name_}, {"$PROGRAM", program_}});
  }

  // `text` parsed and valid; on failure the test fails and an empty policy
  // comes back.
  DomainPolicy Parse(absl::string_view text) {
    auto policy = ParseDomainPolicyText(text);
    EXPECT_THAT(policy, IsOk());
    return policy.ok() ? *policy : DomainPolicy();
  }

  // A SignedDomainPolicy over `serialized` bytes, signed by `key` (with the
  // right context) and naming `claimed` as its key.
  std::string Envelope(const std::string& serialized, const SigningKey& key,
                       const VerifyingKey& claimed) {
    SignedDomainPolicy env;
    env.set_serialized_policy(serialized);
    auto signature = key.Sign(kDomainPolicyContext, serialized);
    EXPECT_THAT(signature, IsOk());
    env.set_signature(signature.ok() ? *signature : "");
    env.set_policy_key(claimed.spki());
    return Serialize(env);
  }

  std::optional<SigningKey> policy_key_, other_key_;
  std::string key_name_, program_;
};

TEST_F(DomainPolicyIoTest, ParsesGoodText) {
  DomainPolicy policy = Parse(GoodText());
  EXPECT_EQ(policy.domain_name(), "corp");
  ASSERT_EQ(policy.rules_size(), 3);
  const Rule& exec = policy.rules(0);
  EXPECT_EQ(exec.id(), "exec");
  EXPECT_THAT(exec.operations(), testing::ElementsAre("Execute", "Attest"));
  ASSERT_EQ(exec.principals_size(), 2);
  EXPECT_EQ(exec.principals(0).measurement(),
            absl::StrCat("sha256:", Hex64('a')));
  EXPECT_EQ(exec.principals(1).signer().signer(), key_name_);
  EXPECT_EQ(exec.principals(1).signer().product(), "app");
  EXPECT_EQ(exec.principals(1).signer().min_version(), 2u);
  EXPECT_THAT(policy.rules(1).labels(), testing::ElementsAre("db", "*"));
  EXPECT_EQ(policy.rules(1).principals(1).exact_name(), program_);
  EXPECT_EQ(policy.rules(2).principals(0).kind_case(), Matcher::kUid);
  EXPECT_EQ(policy.rules(2).principals(0).uid(), 0u);
  EXPECT_EQ(policy.rules(2).principals(1).gid(), 27u);
  // An empty rule list is valid: it grants nothing.
  EXPECT_THAT(ParseDomainPolicyText("domain_name: \"empty\""), IsOk());
}

TEST_F(DomainPolicyIoTest, TextRoundTrips) {
  DomainPolicy policy = Parse(GoodText());
  DomainPolicy again = Parse(DomainPolicyToText(policy));
  EXPECT_EQ(Serialize(again), Serialize(policy));
}

TEST_F(DomainPolicyIoTest, BadTextNamesTheLine) {
  EXPECT_THAT(
      ParseDomainPolicyText("domain_name: \"x\"\nrules {\n  idd: \"a\"\n}\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 3")));
  EXPECT_THAT(
      ParseDomainPolicyText("domain_name: \"x\"\n\n\nrules {\n  id: \"a\"\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 6")));
  EXPECT_THAT(
      ParseDomainPolicyText("domain_name: 5\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1")));
  EXPECT_THAT(
      ParseDomainPolicyText(
          "# c\ndomain_name: \"x\"\nrules { principals { uid: -1 } }\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 3")));
  EXPECT_THAT(
      ParseDomainPolicyText("domain_name: \"x\" domain_name: \"y\"\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1")));
  EXPECT_THAT(
      ParseDomainPolicyText("\xff\xfe garbage"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1")));
  EXPECT_THAT(ParseDomainPolicyText(std::string(kMaxDomainPolicySize + 1, ' ')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("4 MiB")));
}

struct InvalidCase {
  std::string name;
  std::string text;
  std::string why;
};

TEST_F(DomainPolicyIoTest, ValidationNamesTheRuleAndTheProblem) {
  const std::string key = key_name_;
  const std::string m = absl::StrCat("sha256:", Hex64('a'));
  const std::string ok_principal =
      absl::StrCat("principals { measurement: \"", m, "\" }");
  const InvalidCase cases[] = {
      {"no domain name",
       "rules { id: \"a\" operations: \"Execute\" " + ok_principal + " }",
       "needs a domain_name"},
      {"rule without id",
       "domain_name: \"d\" rules { operations: \"Execute\" " + ok_principal +
           " }",
       "rule #1: needs an id"},
      {"duplicate id",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Execute\" " +
           ok_principal + " } rules { id: \"a\" operations: \"Attest\" " +
           ok_principal + " }",
       "rule #2 'a': duplicate id"},
      {"no operation",
       "domain_name: \"d\" rules { id: \"a\" " + ok_principal + " }",
       "rule #1 'a': grants no operation"},
      {"unknown operation",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Exec\" " +
           ok_principal + " }",
       "unknown operation 'Exec'"},
      {"lowercase operation",
       "domain_name: \"d\" rules { id: \"a\" operations: \"execute\" " +
           ok_principal + " }",
       "unknown operation 'execute'"},
      {"unknown admin call",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Admin:Reboot\" "
       "principals { uid: 0 } }",
       "unknown operation 'Admin:Reboot'"},
      {"labels on Execute",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Execute\" labels: "
       "\"db\" " +
           ok_principal + " }",
       "labels apply only to Seal and Unseal"},
      {"empty label",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Unseal\" labels: "
       "\"\" " +
           ok_principal + " }",
       "label '' must be"},
      {"no principals",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Execute\" }",
       "rule #1 'a': matches no principal"},
      {"matcher without kind",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Execute\" "
       "principals { } }",
       "no kind set"},
      {"measurement without prefix",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Execute\" "
       "principals { "
       "measurement: \"" +
           Hex64('a') + "\" } }",
       "principals #1"},
      {"measurement with uppercase hex",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Execute\" "
       "principals { "
       "measurement: \"sha256:" +
           std::string(64, 'A') + "\" } }",
       "not lowercase hex"},
      {"short measurement",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Execute\" " +
           ok_principal + " principals { measurement: \"sha256:" +
           std::string(63, 'a') + "\" } }",
       "principals #2"},
      {"signer with subprincipals",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Execute\" "
       "principals { signer { "
       "signer: \"" +
           program_ + "\" product: \"app\" } } }",
       "bare key principal"},
      {"signer not a key",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Execute\" "
       "principals { signer { "
       "signer: \"alice\" product: \"app\" } } }",
       "principals #1"},
      {"signer without product",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Execute\" "
       "principals { signer { "
       "signer: \"" +
           key + "\" } } }",
       "product must be 1-128"},
      {"bad exact name",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Execute\" "
       "principals { "
       "exact_name: \"" +
           key + ".Program(x)\" } }",
       "principals #1"},
      {"bad name prefix",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Execute\" "
       "principals { "
       "name_prefix: \"key(\" } }",
       "principals #1"},
      {"second rule bad",
       "domain_name: \"d\" rules { id: \"a\" operations: \"Execute\" " +
           ok_principal + " } rules { id: \"b\" operations: \"Attest\" }",
       "rule #2 'b'"},
  };
  for (const InvalidCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(ParseDomainPolicyText(c.text),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.why)));
    // The same check applies to a parsed policy and to signing.
    DomainPolicy parsed;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(c.text, &parsed));
    EXPECT_THAT(ValidateDomainPolicy(parsed),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.why)));
    EXPECT_THAT(SignDomainPolicy(parsed, *policy_key_),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.why)));
  }
}

TEST_F(DomainPolicyIoTest, KnownOperations) {
  for (absl::string_view op :
       {"Execute", "Seal", "Unseal", "Attest", "GetSharedSecret", "Admin:Start",
        "Admin:Stop", "Admin:Kill", "Admin:List", "Admin:Wait", "Admin:Logs",
        "Admin:Events", "Admin:GetTaoName", "Admin:Info", "Admin:Reload",
        "Admin:Shutdown", "Admin:*"}) {
    EXPECT_TRUE(IsKnownOperation(op)) << op;
  }
  for (absl::string_view op :
       {"", "execute", "Admin:", "Admin", "*", "Execute ", "Admin:Foo"}) {
    EXPECT_FALSE(IsKnownOperation(op)) << op;
  }
}

TEST_F(DomainPolicyIoTest, SignAndVerifyRoundTrip) {
  DomainPolicy policy = Parse(GoodText());
  auto signed_policy = SignDomainPolicy(policy, *policy_key_);
  ASSERT_THAT(signed_policy, IsOk());
  auto verified =
      VerifySignedDomainPolicy(*signed_policy, policy_key_->verifying_key());
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(Serialize(*verified), Serialize(policy));
  // The envelope names the key and carries the exact bytes signed.
  SignedDomainPolicy env;
  ASSERT_TRUE(env.ParseFromString(*signed_policy));
  EXPECT_EQ(env.policy_key(), policy_key_->verifying_key().spki());
  EXPECT_EQ(env.serialized_policy(), Serialize(policy));
  EXPECT_THAT(
      policy_key_->verifying_key().Verify(
          kDomainPolicyContext, env.serialized_policy(), env.signature()),
      IsOk());
}

TEST_F(DomainPolicyIoTest, UnsignedPolicyIsRefused) {
  DomainPolicy policy = Parse(GoodText());
  SignedDomainPolicy env;
  env.set_serialized_policy(Serialize(policy));
  env.set_policy_key(policy_key_->verifying_key().spki());
  EXPECT_THAT(
      VerifySignedDomainPolicy(Serialize(env), policy_key_->verifying_key()),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("not signed")));
  // Empty bytes are an empty envelope: not signed either.
  EXPECT_THAT(VerifySignedDomainPolicy("", policy_key_->verifying_key()),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(DomainPolicyIoTest, TamperedPolicyIsRefused) {
  auto signed_policy = SignDomainPolicy(Parse(GoodText()), *policy_key_);
  ASSERT_THAT(signed_policy, IsOk());
  SignedDomainPolicy env;
  ASSERT_TRUE(env.ParseFromString(*signed_policy));
  // Every byte of the signed policy matters.
  for (size_t i = 0; i < env.serialized_policy().size(); ++i) {
    SignedDomainPolicy bad = env;
    (*bad.mutable_serialized_policy())[i] ^= 0x01;
    EXPECT_THAT(
        VerifySignedDomainPolicy(Serialize(bad), policy_key_->verifying_key()),
        StatusIs(absl::StatusCode::kUnauthenticated,
                 HasSubstr("does not verify")))
        << "byte " << i;
  }
  // A policy with a rule added after signing.
  SignedDomainPolicy extended = env;
  extended.mutable_serialized_policy()->append(Serialize(Parse(
      absl::StrCat("domain_name: \"corp\" rules { id: \"evil\" "
                   "operations: \"Admin:*\" principals { uid: 1000 } }"))));
  EXPECT_THAT(VerifySignedDomainPolicy(Serialize(extended),
                                       policy_key_->verifying_key()),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // A changed signature.
  SignedDomainPolicy bad_sig = env;
  (*bad_sig.mutable_signature())[bad_sig.signature().size() - 1] ^= 0x01;
  EXPECT_THAT(VerifySignedDomainPolicy(Serialize(bad_sig),
                                       policy_key_->verifying_key()),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(DomainPolicyIoTest, NoSingleBitFlipVerifies) {
  auto signed_policy = SignDomainPolicy(Parse(GoodText()), *policy_key_);
  ASSERT_THAT(signed_policy, IsOk());
  for (size_t i = 0; i < signed_policy->size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = *signed_policy;
      bad[i] ^= static_cast<char>(1 << bit);
      EXPECT_THAT(VerifySignedDomainPolicy(bad, policy_key_->verifying_key()),
                  StatusIs(AnyOf(absl::StatusCode::kInvalidArgument,
                                 absl::StatusCode::kUnauthenticated)))
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST_F(DomainPolicyIoTest, PolicySignedByAnotherKeyIsRefused) {
  DomainPolicy policy = Parse(GoodText());
  auto by_other = SignDomainPolicy(policy, *other_key_);
  ASSERT_THAT(by_other, IsOk());
  EXPECT_THAT(
      VerifySignedDomainPolicy(*by_other, policy_key_->verifying_key()),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("another key")));
  // Signed by another key but claiming to be ours.
  EXPECT_THAT(VerifySignedDomainPolicy(Envelope(Serialize(policy), *other_key_,
                                                policy_key_->verifying_key()),
                                       policy_key_->verifying_key()),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       HasSubstr("does not verify")));
  // Signed by our key for another purpose (another signature context).
  SignedDomainPolicy env;
  env.set_serialized_policy(Serialize(policy));
  env.set_policy_key(policy_key_->verifying_key().spki());
  auto wrong_context =
      policy_key_->Sign(kProgramSignatureContext, env.serialized_policy());
  ASSERT_THAT(wrong_context, IsOk());
  env.set_signature(*wrong_context);
  EXPECT_THAT(
      VerifySignedDomainPolicy(Serialize(env), policy_key_->verifying_key()),
      StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(DomainPolicyIoTest, GarbageIsRefused) {
  for (const std::string& garbage :
       {std::string("garbage"), std::string("\xff\xff\xff\xff", 4),
        std::string("\x0a\x05\x01", 3),
        std::string("\x0a\xff\xff\xff\xff\x0f", 6)}) {
    EXPECT_THAT(VerifySignedDomainPolicy(garbage, policy_key_->verifying_key()),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << garbage;
  }
  EXPECT_THAT(
      VerifySignedDomainPolicy(std::string(kMaxDomainPolicySize + 1, '\0'),
                               policy_key_->verifying_key()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("4 MiB")));
  // A signed body that is not a DomainPolicy.
  EXPECT_THAT(VerifySignedDomainPolicy(Envelope("\xff\xff\xff", *policy_key_,
                                                policy_key_->verifying_key()),
                                       policy_key_->verifying_key()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not parse")));
}

TEST_F(DomainPolicyIoTest, UnknownFieldInTheEnvelopeIsRefused) {
  auto signed_policy = SignDomainPolicy(Parse(GoodText()), *policy_key_);
  ASSERT_THAT(signed_policy, IsOk());
  // Field 4, varint 1.
  EXPECT_THAT(VerifySignedDomainPolicy(absl::StrCat(*signed_policy, "\x20\x01"),
                                       policy_key_->verifying_key()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not understand")));
  // Field 9, length-delimited, before the known ones.
  EXPECT_THAT(
      VerifySignedDomainPolicy(absl::StrCat("\x4a\x02hi", *signed_policy),
                               policy_key_->verifying_key()),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(DomainPolicyIoTest, UnknownFieldInsideTheSignedPolicyIsRefused) {
  DomainPolicy policy = Parse(GoodText());
  // At the top level: field 15, varint 1 (field 3 is now the serial).
  std::string top = absl::StrCat(Serialize(policy), "\x78\x01");
  EXPECT_THAT(VerifySignedDomainPolicy(
                  Envelope(top, *policy_key_, policy_key_->verifying_key()),
                  policy_key_->verifying_key()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not understand")));
  // Inside a rule, and inside a matcher.
  DomainPolicy in_rule = policy;
  in_rule.mutable_rules(1)
      ->GetReflection()
      ->MutableUnknownFields(in_rule.mutable_rules(1))
      ->AddVarint(5, 1);
  EXPECT_THAT(
      VerifySignedDomainPolicy(Envelope(Serialize(in_rule), *policy_key_,
                                        policy_key_->verifying_key()),
                               policy_key_->verifying_key()),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("does not understand")));
  DomainPolicy in_matcher = policy;
  Matcher* matcher = in_matcher.mutable_rules(0)->mutable_principals(1);
  matcher->mutable_signer()
      ->GetReflection()
      ->MutableUnknownFields(matcher->mutable_signer())
      ->AddLengthDelimited(7, "newer");
  EXPECT_THAT(
      VerifySignedDomainPolicy(Envelope(Serialize(in_matcher), *policy_key_,
                                        policy_key_->verifying_key()),
                               policy_key_->verifying_key()),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("does not understand")));
  // The same bytes without the unknown field verify.
  EXPECT_THAT(VerifySignedDomainPolicy(Envelope(Serialize(policy), *policy_key_,
                                                policy_key_->verifying_key()),
                                       policy_key_->verifying_key()),
              IsOk());
}

TEST_F(DomainPolicyIoTest, SignedButInvalidPolicyIsRefused) {
  DomainPolicy policy = Parse(GoodText());
  DomainPolicy no_name = policy;
  no_name.clear_domain_name();
  EXPECT_THAT(
      VerifySignedDomainPolicy(Envelope(Serialize(no_name), *policy_key_,
                                        policy_key_->verifying_key()),
                               policy_key_->verifying_key()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("domain_name")));
  DomainPolicy dup = policy;
  dup.mutable_rules(1)->set_id("exec");
  EXPECT_THAT(
      VerifySignedDomainPolicy(
          Envelope(Serialize(dup), *policy_key_, policy_key_->verifying_key()),
          policy_key_->verifying_key()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duplicate id")));
}

TEST_F(DomainPolicyIoTest, SerialIsSignedAndPeekable) {
  DomainPolicy policy = Parse(GoodText());
  policy.set_serial(7);
  auto signed_policy = SignDomainPolicy(policy, *policy_key_);
  ASSERT_THAT(signed_policy, IsOk());
  auto verified =
      VerifySignedDomainPolicy(*signed_policy, policy_key_->verifying_key());
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(verified->serial(), 7u);
  auto peeked = PeekDomainPolicySerial(*signed_policy);
  ASSERT_THAT(peeked, IsOk());
  EXPECT_EQ(*peeked, 7u);
  EXPECT_THAT(PeekDomainPolicySerial("garbage"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

SecretString MarkKey(char c) { return SecretString(std::string(32, c)); }

TEST(PolicySerialMarkTest, RefusesALowerSerialAndRemembersAcrossOpens) {
  test::TempDir dir;
  const std::string path = dir.Join("policy_serial");
  {
    auto mark = PolicySerialMark::Open(path, MarkKey('k'));
    ASSERT_THAT(mark, IsOk());
    EXPECT_EQ((*mark)->highest(), 0u);
    EXPECT_THAT((*mark)->Accept(0), IsOk());  // a policy from before serials
    EXPECT_THAT((*mark)->Accept(5), IsOk());
    EXPECT_THAT((*mark)->Accept(5), IsOk());  // the same policy, re-read
    EXPECT_THAT(
        (*mark)->Accept(3),
        StatusIs(absl::StatusCode::kFailedPrecondition,
                 HasSubstr("policy serial 3 is older than 5, the highest this "
                           "host accepted")));
  }
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = PolicySerialMark::Open(path, MarkKey('k'));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ((*again)->highest(), 5u);
  EXPECT_THAT((*again)->Accept(4),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT((*again)->Accept(6), IsOk());
  EXPECT_EQ((*again)->highest(), 6u);
}

TEST(PolicySerialMarkTest, AnEditedMarkIsRefused) {
  test::TempDir dir;
  const std::string path = dir.Join("policy_serial");
  {
    auto mark = PolicySerialMark::Open(path, MarkKey('k'));
    ASSERT_THAT(mark, IsOk());
    ASSERT_THAT((*mark)->Accept(9), IsOk());
  }
  auto text = ReadFileToString(path);
  ASSERT_THAT(text, IsOk());
  EXPECT_THAT(*text, HasSubstr("tao-policy-serial-v1 9 "));
  // Lowering the number without the host's key breaks the MAC.
  std::string edited = absl::StrReplaceAll(*text, {{" 9 ", " 1 "}});
  ASSERT_THAT(WriteFileAtomically(path, edited), IsOk());
  EXPECT_THAT(PolicySerialMark::Open(path, MarkKey('k')),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("altered")));
  // A mark made with other keys does not verify either.
  ASSERT_THAT(WriteFileAtomically(path, *text), IsOk());
  EXPECT_THAT(PolicySerialMark::Open(path, MarkKey('x')),
              StatusIs(absl::StatusCode::kDataLoss));
  ASSERT_THAT(WriteFileAtomically(path, "junk\n"), IsOk());
  EXPECT_THAT(PolicySerialMark::Open(path, MarkKey('k')),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(PolicySerialMark::Open(path, SecretString(std::string(8, 'k'))),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace tao
