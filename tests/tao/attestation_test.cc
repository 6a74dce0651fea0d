#include "tao/attestation.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tao/clock.h"
#include "tao/crypto.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tests/testing/names.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tao_printers.h"

namespace tao {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::tao::test::IsOk;
using ::tao::test::KeyName;
using ::tao::test::Program;
using ::tao::test::StatusIs;
using ::tao::test::Sub;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

constexpr int64_t kNow = 1700000000;  // 2023-11-14T22:13:20Z

// Matches a failed verification: the status code that goes with `failure`,
// the failure as payload, and its name at the start of the message.
MATCHER_P(FailsWith, failure,
          absl::StrCat(negation ? "doesn't fail" : "fails", " with ",
                       AttestationFailureName(failure))) {
  const absl::Status& status = arg.status();
  const absl::StatusCode code = failure == AttestationFailure::kMalformed
                                    ? absl::StatusCode::kInvalidArgument
                                    : absl::StatusCode::kUnauthenticated;
  *result_listener << "which has status " << status;
  return status.code() == code && GetAttestationFailure(status) == failure &&
         absl::StartsWith(status.message(),
                          absl::StrCat(AttestationFailureName(failure), ": "));
}

// "speaker says ready(arg)".
Statement Says(const Principal& speaker,
               std::optional<int64_t> not_before = std::nullopt,
               std::optional<int64_t> not_after = std::nullopt) {
  Statement s;
  s.set_speaker(speaker.text());
  s.mutable_predicate()->set_name("ready");
  s.mutable_predicate()->add_args("arg");
  if (not_before) s.set_not_before(*not_before);
  if (not_after) s.set_not_after(*not_after);
  return s;
}

// "speaker says delegate speaksfor delegator".
Statement Delegates(const Principal& speaker, const Principal& delegate,
                    const Principal& delegator) {
  Statement s;
  s.set_speaker(speaker.text());
  s.mutable_delegation()->set_delegate(delegate.text());
  s.mutable_delegation()->set_delegator(delegator.text());
  return s;
}

Attestation Sign(const Statement& statement, const SigningKey& key,
                 const Attestation* delegation = nullptr) {
  auto attestation = SignStatement(statement, key, delegation);
  EXPECT_THAT(attestation, IsOk());
  return attestation.ok() ? *attestation : Attestation();
}

// Signs `serialized` (any bytes) as an attestation statement, bypassing
// SignStatement's checks.
Attestation SignRaw(const std::string& serialized, const SigningKey& key) {
  Attestation a;
  a.set_serialized_statement(serialized);
  a.set_signer_key(key.verifying_key().spki());
  auto signature = key.Sign(kAttestationContext, serialized);
  EXPECT_THAT(signature, IsOk());
  if (signature.ok()) a.set_signature(*signature);
  return a;
}

class AttestationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(root_, SigningKey::Generate());
    ASSERT_OK_AND_ASSIGN(k1_, SigningKey::Generate());
    ASSERT_OK_AND_ASSIGN(k2_, SigningKey::Generate());
    root_name_ = KeyName(*root_);
  }

  AttestationVerifier Verifier() const {
    return AttestationVerifier({root_->verifying_key()}, clock_);
  }
  absl::StatusOr<VerifiedStatement> Verify(const Attestation& a) const {
    return Verifier().Verify(a);
  }

  // root says key(k1) speaksfor root.Program(x); the leaf is signed by k1 as
  // root.Program(x).Ext(a:b).
  Principal Delegator() const { return Program(*root_name_, 'x'); }
  Principal LeafSpeaker() const {
    return Sub(Delegator(), Subprincipal::Ext("a", "b"));
  }

  FixedClock clock_{absl::FromUnixSeconds(kNow)};
  std::optional<SigningKey> root_;
  std::optional<SigningKey> k1_;
  std::optional<SigningKey> k2_;
  std::optional<Principal> root_name_;
};

// --- Accepted ---------------------------------------------------------------

TEST_F(AttestationTest, RootSignedStatementVerifies) {
  const Statement statement = Says(*root_name_, kNow - 10, kNow + 10);
  const Attestation a = Sign(statement, *root_);
  EXPECT_EQ(a.signer_key(), root_->verifying_key().spki());
  EXPECT_EQ(a.serialized_statement(), statement.SerializeAsString());
  EXPECT_FALSE(a.has_delegation());

  ASSERT_OK_AND_ASSIGN(VerifiedStatement v, Verify(a));
  EXPECT_TRUE(MessageDifferencer::Equals(v.statement, statement));
  EXPECT_EQ(v.speaker, *root_name_);
  EXPECT_EQ(v.root, *root_name_);
  EXPECT_EQ(v.delegations, 0);
  EXPECT_EQ(v.not_before, absl::FromUnixSeconds(kNow - 10));
  EXPECT_EQ(v.not_after, absl::FromUnixSeconds(kNow + 10));

  ASSERT_OK_AND_ASSIGN(VerifiedStatement vs,
                       Verifier().VerifySerialized(a.SerializeAsString()));
  EXPECT_EQ(vs.speaker, *root_name_);
}

TEST_F(AttestationTest, SubprincipalSpeakerVerifies) {
  const Principal speaker =
      Sub(Program(*root_name_, 'p'), Subprincipal::Ext("role", "db"));
  ASSERT_OK_AND_ASSIGN(VerifiedStatement v,
                       Verify(Sign(Says(speaker), *root_)));
  EXPECT_EQ(v.speaker, speaker);
  EXPECT_EQ(v.root, *root_name_);
  EXPECT_EQ(v.delegations, 0);
}

TEST_F(AttestationTest, AbsentBoundsAreUnbounded) {
  ASSERT_OK_AND_ASSIGN(VerifiedStatement v,
                       Verify(Sign(Says(*root_name_), *root_)));
  EXPECT_EQ(v.not_before, absl::InfinitePast());
  EXPECT_EQ(v.not_after, absl::InfiniteFuture());
}

TEST_F(AttestationTest, WindowBoundsAreInclusive) {
  const Attestation a = Sign(Says(*root_name_, kNow - 5, kNow + 5), *root_);
  clock_.Set(absl::FromUnixSeconds(kNow - 5));
  EXPECT_THAT(Verify(a), IsOk());
  clock_.Set(absl::FromUnixSeconds(kNow + 5));
  EXPECT_THAT(Verify(a), IsOk());
  // A one-instant window.
  const Attestation instant = Sign(Says(*root_name_, kNow, kNow), *root_);
  clock_.Set(absl::FromUnixSeconds(kNow));
  EXPECT_THAT(Verify(instant), IsOk());
}

TEST_F(AttestationTest, TwoLevelChainVerifies) {
  const Attestation delegation =
      Sign(Delegates(*root_name_, KeyName(*k1_), Delegator()), *root_);
  const Attestation leaf = Sign(Says(LeafSpeaker()), *k1_, &delegation);
  EXPECT_TRUE(leaf.has_delegation());
  EXPECT_EQ(leaf.signer_key(), k1_->verifying_key().spki());

  ASSERT_OK_AND_ASSIGN(VerifiedStatement v, Verify(leaf));
  EXPECT_EQ(v.speaker, LeafSpeaker());
  EXPECT_EQ(v.root, *root_name_);
  EXPECT_EQ(v.delegations, 1);
  EXPECT_TRUE(MessageDifferencer::Equals(v.statement, Says(LeafSpeaker())));

  // The delegator itself may speak through the delegate too.
  EXPECT_THAT(Verify(Sign(Says(Delegator()), *k1_, &delegation)), IsOk());
  // And the same chain, serialized.
  EXPECT_THAT(Verifier().VerifySerialized(leaf.SerializeAsString()), IsOk());
  // k1 alone is not trusted.
  EXPECT_THAT(Verify(Sign(Says(LeafSpeaker()), *k1_)),
              FailsWith(AttestationFailure::kSpeakerNotSigner));
}

TEST_F(AttestationTest, ChainWindowIsTheIntersection) {
  Statement d = Delegates(*root_name_, KeyName(*k1_), Delegator());
  d.set_not_before(kNow - 50);
  d.set_not_after(kNow + 100);  // earlier than the leaf's not_after
  const Attestation delegation = Sign(d, *root_);
  const Attestation leaf =
      Sign(Says(LeafSpeaker(), kNow - 100, kNow + 1000), *k1_, &delegation);

  ASSERT_OK_AND_ASSIGN(VerifiedStatement v, Verify(leaf));
  EXPECT_EQ(v.not_before, absl::FromUnixSeconds(kNow - 50));
  EXPECT_EQ(v.not_after, absl::FromUnixSeconds(kNow + 100));
  // The statement itself still carries its own window.
  EXPECT_EQ(v.statement.not_after(), kNow + 1000);

  clock_.Set(absl::FromUnixSeconds(kNow + 100));
  EXPECT_THAT(Verify(leaf), IsOk());
  clock_.Set(
      absl::FromUnixSeconds(kNow + 101));  // inside the leaf's own window
  EXPECT_THAT(Verify(leaf), FailsWith(AttestationFailure::kExpired));
  clock_.Set(absl::FromUnixSeconds(kNow - 50));
  EXPECT_THAT(Verify(leaf), IsOk());
  clock_.Set(absl::FromUnixSeconds(kNow - 51));
  EXPECT_THAT(Verify(leaf), FailsWith(AttestationFailure::kNotYetValid));
}

TEST_F(AttestationTest, UnboundedLeafTakesTheDelegationsWindow) {
  Statement d = Delegates(*root_name_, KeyName(*k1_), Delegator());
  d.set_not_after(kNow + 1);
  const Attestation delegation = Sign(d, *root_);
  ASSERT_OK_AND_ASSIGN(VerifiedStatement v,
                       Verify(Sign(Says(LeafSpeaker()), *k1_, &delegation)));
  EXPECT_EQ(v.not_before, absl::InfinitePast());
  EXPECT_EQ(v.not_after, absl::FromUnixSeconds(kNow + 1));
}

// root -> K1 -> ... -> Kn, each link "root says K(i+1) speaksfor root", and
// a leaf signed by Kn.
class DelegationDepthTest : public AttestationTest {
 protected:
  absl::StatusOr<VerifiedStatement> VerifyChainOf(int n) {
    std::vector<SigningKey> keys;
    for (int i = 0; i < n; ++i) {
      auto key = SigningKey::Generate();
      EXPECT_THAT(key, IsOk());
      if (!key.ok()) return key.status();
      keys.push_back(std::move(key).value());
    }
    std::optional<Attestation> link;
    const SigningKey* signer = &*root_;
    for (int i = 0; i < n; ++i) {
      link = Sign(Delegates(*root_name_, KeyName(keys[i]), *root_name_),
                  *signer, link ? &*link : nullptr);
      signer = &keys[i];
    }
    return Verify(Sign(Says(*root_name_), *signer, link ? &*link : nullptr));
  }
};

TEST_F(DelegationDepthTest, MaxDepthChainVerifies) {
  ASSERT_OK_AND_ASSIGN(VerifiedStatement v, VerifyChainOf(kMaxDelegationDepth));
  EXPECT_EQ(v.delegations, kMaxDelegationDepth);
  EXPECT_EQ(v.root, *root_name_);
}

TEST_F(DelegationDepthTest, DeeperChainIsRejected) {
  EXPECT_THAT(VerifyChainOf(kMaxDelegationDepth + 1),
              FailsWith(AttestationFailure::kChainTooDeep));
  EXPECT_THAT(VerifyChainOf(kMaxDelegationDepth + 3),
              FailsWith(AttestationFailure::kChainTooDeep));
}

// --- Rejected ---------------------------------------------------------------

TEST_F(AttestationTest, TamperedSignatureIsBadSignature) {
  const Attestation good = Sign(Says(*root_name_), *root_);
  for (size_t i = 0; i < good.signature().size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Attestation a = good;
      (*a.mutable_signature())[i] ^= static_cast<char>(1 << bit);
      ASSERT_THAT(Verify(a), FailsWith(AttestationFailure::kBadSignature))
          << "byte " << i << " bit " << bit;
    }
  }
  Attestation empty = good;
  empty.clear_signature();
  EXPECT_THAT(Verify(empty), FailsWith(AttestationFailure::kBadSignature));
}

TEST_F(AttestationTest, TamperedStatementBytesAreBadSignature) {
  const Attestation good =
      Sign(Says(*root_name_, kNow - 10, kNow + 10), *root_);
  // Change the predicate "ready" to "readz": still a valid Statement.
  Attestation a = good;
  const size_t at = a.serialized_statement().find("ready");
  ASSERT_NE(at, std::string::npos);
  (*a.mutable_serialized_statement())[at + 4] ^= 0x03;
  Statement altered;
  ASSERT_TRUE(altered.ParseFromString(a.serialized_statement()));
  EXPECT_EQ(altered.predicate().name(), "readz");
  EXPECT_THAT(Verify(a), FailsWith(AttestationFailure::kBadSignature));

  // Change the window: not_after (field 3) is a varint after tag 0x18.
  Attestation b = good;
  const std::string not_after_field = absl::StrCat(
      "\x18", std::string(1, static_cast<char>(0x80 | ((kNow + 10) & 0x7f))));
  const size_t window_at = b.serialized_statement().find(not_after_field);
  ASSERT_NE(window_at, std::string::npos);
  (*b.mutable_serialized_statement())[window_at + 1] ^= 0x01;
  ASSERT_TRUE(altered.ParseFromString(b.serialized_statement()));
  EXPECT_EQ(altered.not_after(), (kNow + 10) ^ 1);
  EXPECT_THAT(Verify(b), FailsWith(AttestationFailure::kBadSignature));

  // Every single-bit change is refused: as a bad signature, or as
  // malformed when the bytes no longer parse. Never accepted.
  for (size_t i = 0; i < good.serialized_statement().size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Attestation c = good;
      (*c.mutable_serialized_statement())[i] ^= static_cast<char>(1 << bit);
      ASSERT_THAT(Verify(c), AnyOf(FailsWith(AttestationFailure::kBadSignature),
                                   FailsWith(AttestationFailure::kMalformed)))
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST_F(AttestationTest, VerifierChecksTheExactBytes) {
  const Attestation good = Sign(Says(*root_name_), *root_);
  Statement statement;
  ASSERT_TRUE(statement.ParseFromString(good.serialized_statement()));
  statement.GetReflection()
      ->MutableUnknownFields(&statement)
      ->AddVarint(1000, 7);
  const std::string reserialized = statement.SerializeAsString();
  ASSERT_NE(reserialized, good.serialized_statement());

  Attestation a = good;
  a.set_serialized_statement(reserialized);
  EXPECT_THAT(Verify(a), FailsWith(AttestationFailure::kBadSignature));

  // Bytes that were signed as they are verify, unknown field and all, and
  // the statement reported is the one parsed from them.
  ASSERT_OK_AND_ASSIGN(VerifiedStatement v,
                       Verify(SignRaw(reserialized, *root_)));
  EXPECT_EQ(v.statement.predicate().name(), "ready");
  EXPECT_EQ(v.statement.SerializeAsString(), reserialized);
}

TEST_F(AttestationTest, SwappedSignerKeyIsBadSignature) {
  Attestation a = Sign(Says(*root_name_), *root_);
  a.set_signer_key(k1_->verifying_key().spki());
  EXPECT_THAT(Verify(a), FailsWith(AttestationFailure::kBadSignature));
}

TEST_F(AttestationTest, WrongRootIsUntrustedSigner) {
  const Attestation a = Sign(Says(*root_name_), *root_);
  AttestationVerifier other({k1_->verifying_key(), k2_->verifying_key()},
                            clock_);
  EXPECT_THAT(other.Verify(a), FailsWith(AttestationFailure::kUntrustedSigner));
  AttestationVerifier none({}, clock_);
  EXPECT_THAT(none.Verify(a), FailsWith(AttestationFailure::kUntrustedSigner));
  AttestationVerifier several({k1_->verifying_key(), root_->verifying_key()},
                              clock_);
  EXPECT_THAT(several.Verify(a), IsOk());
}

TEST_F(AttestationTest, ExpiredAndNotYetValid) {
  const Attestation a = Sign(Says(*root_name_, kNow - 10, kNow + 10), *root_);
  clock_.Set(absl::FromUnixSeconds(kNow + 11));
  EXPECT_THAT(Verify(a), FailsWith(AttestationFailure::kExpired));
  clock_.Set(absl::FromUnixSeconds(kNow - 11));
  EXPECT_THAT(Verify(a), FailsWith(AttestationFailure::kNotYetValid));
}

TEST_F(AttestationTest, BoundsAreWholeSeconds) {
  // not_after = T is valid until T + 1s; not_before = T from T on.
  const Attestation a = Sign(Says(*root_name_, kNow - 10, kNow + 10), *root_);
  clock_.Set(absl::FromUnixSeconds(kNow + 10) + absl::Milliseconds(999));
  EXPECT_THAT(Verify(a), IsOk());
  clock_.Set(absl::FromUnixSeconds(kNow + 11));
  EXPECT_THAT(Verify(a), FailsWith(AttestationFailure::kExpired));
  clock_.Set(absl::FromUnixSeconds(kNow - 10));
  EXPECT_THAT(Verify(a), IsOk());
  clock_.Set(absl::FromUnixSeconds(kNow - 10) - absl::Nanoseconds(1));
  EXPECT_THAT(Verify(a), FailsWith(AttestationFailure::kNotYetValid));
}

TEST_F(AttestationTest, SpeakerNotUnderSigner) {
  // root speaks as k1, or as a subprincipal of k1.
  EXPECT_THAT(Verify(Sign(Says(KeyName(*k1_)), *root_)),
              FailsWith(AttestationFailure::kSpeakerNotSigner));
  EXPECT_THAT(Verify(Sign(Says(Program(KeyName(*k1_), 'p')), *root_)),
              FailsWith(AttestationFailure::kSpeakerNotSigner));
  // root's subprincipal is fine, but a name under root signed by k1 without a
  // delegation is not.
  EXPECT_THAT(Verify(Sign(Says(Program(*root_name_, 'p')), *root_)), IsOk());
  EXPECT_THAT(Verify(Sign(Says(Program(*root_name_, 'p')), *k1_)),
              FailsWith(AttestationFailure::kSpeakerNotSigner));
}

TEST_F(AttestationTest, DelegationWhoseStatementIsAPredicate) {
  const Attestation not_delegation = Sign(Says(Delegator()), *root_);
  EXPECT_THAT(Verify(Sign(Says(LeafSpeaker()), *k1_, &not_delegation)),
              FailsWith(AttestationFailure::kBadDelegation));
}

TEST_F(AttestationTest, DelegationNamingAnotherKey) {
  const Attestation to_k2 =
      Sign(Delegates(*root_name_, KeyName(*k2_), Delegator()), *root_);
  EXPECT_THAT(Verify(Sign(Says(LeafSpeaker()), *k1_, &to_k2)),
              FailsWith(AttestationFailure::kBadDelegation));
  // The same delegation does work for k2.
  EXPECT_THAT(Verify(Sign(Says(LeafSpeaker()), *k2_, &to_k2)), IsOk());
}

TEST_F(AttestationTest, DelegatorNotCoveringTheSpeaker) {
  const Attestation delegation =
      Sign(Delegates(*root_name_, KeyName(*k1_), Delegator()), *root_);
  // A sibling of the delegator.
  EXPECT_THAT(Verify(Sign(Says(Program(*root_name_, 'y')), *k1_, &delegation)),
              FailsWith(AttestationFailure::kBadDelegation));
  // The delegator's parent.
  EXPECT_THAT(Verify(Sign(Says(*root_name_), *k1_, &delegation)),
              FailsWith(AttestationFailure::kBadDelegation));
  // k1 itself.
  EXPECT_THAT(Verify(Sign(Says(KeyName(*k1_)), *k1_, &delegation)),
              FailsWith(AttestationFailure::kBadDelegation));
}

TEST_F(AttestationTest, SpeakerCannotDelegateForTheDelegator) {
  // root delegates for a name under another key.
  const Principal foreign = Program(KeyName(*k2_), 'x');
  const Attestation for_foreign =
      Sign(Delegates(*root_name_, KeyName(*k1_), foreign), *root_);
  EXPECT_THAT(Verify(Sign(Says(foreign), *k1_, &for_foreign)),
              FailsWith(AttestationFailure::kBadDelegation));
  EXPECT_THAT(Verify(for_foreign),
              FailsWith(AttestationFailure::kBadDelegation));
  // root.Program(x) delegates for its parent, root.
  const Attestation upward =
      Sign(Delegates(Delegator(), KeyName(*k1_), *root_name_), *root_);
  EXPECT_THAT(Verify(Sign(Says(*root_name_), *k1_, &upward)),
              FailsWith(AttestationFailure::kBadDelegation));
  EXPECT_THAT(Verify(upward), FailsWith(AttestationFailure::kBadDelegation));
}

TEST_F(AttestationTest, TamperedSignatureInsideDelegation) {
  Attestation delegation =
      Sign(Delegates(*root_name_, KeyName(*k1_), Delegator()), *root_);
  (*delegation.mutable_signature())[10] ^= 0x01;
  EXPECT_THAT(Verify(Sign(Says(LeafSpeaker()), *k1_, &delegation)),
              FailsWith(AttestationFailure::kBadSignature));

  // Tampering with the delegation's statement bytes after signing is caught
  // too: here it is made to delegate to k2 instead.
  Attestation good =
      Sign(Delegates(*root_name_, KeyName(*k1_), Delegator()), *root_);
  Attestation leaf = Sign(Says(LeafSpeaker()), *k2_, &good);
  leaf.mutable_delegation()->set_serialized_statement(
      Delegates(*root_name_, KeyName(*k2_), Delegator()).SerializeAsString());
  EXPECT_THAT(Verify(leaf), FailsWith(AttestationFailure::kBadSignature));
}

TEST_F(AttestationTest, ChainEndingInAnUntrustedKey) {
  // k2 says k1 speaksfor k2, properly signed, but k2 is no root.
  const Attestation delegation =
      Sign(Delegates(KeyName(*k2_), KeyName(*k1_), KeyName(*k2_)), *k2_);
  EXPECT_THAT(Verify(Sign(Says(KeyName(*k2_)), *k1_, &delegation)),
              FailsWith(AttestationFailure::kUntrustedSigner));
  // k2 claims to speak as root in its delegation.
  const Attestation forged =
      Sign(Delegates(*root_name_, KeyName(*k1_), *root_name_), *k2_);
  EXPECT_THAT(Verify(Sign(Says(*root_name_), *k1_, &forged)),
              FailsWith(AttestationFailure::kSpeakerNotSigner));
}

TEST_F(AttestationTest, GarbageBytesAreMalformed) {
  const AttestationVerifier verifier = Verifier();
  EXPECT_THAT(verifier.VerifySerialized("not an attestation"),
              FailsWith(AttestationFailure::kMalformed));
  EXPECT_THAT(verifier.VerifySerialized(std::string("\xff\xff\xff\xff", 4)),
              FailsWith(AttestationFailure::kMalformed));
  EXPECT_THAT(verifier.VerifySerialized(""),
              FailsWith(AttestationFailure::kMalformed));
  EXPECT_THAT(verifier.VerifySerialized("not an attestation"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A valid attestation, truncated.
  const std::string good = Sign(Says(*root_name_), *root_).SerializeAsString();
  EXPECT_THAT(verifier.VerifySerialized(good.substr(0, good.size() / 2)),
              FailsWith(AttestationFailure::kMalformed));
  // Over the size limit, however well formed.
  Attestation big = Sign(Says(*root_name_), *root_);
  big.mutable_delegation()->set_signature(
      std::string(kMaxAttestationSize, 'x'));
  EXPECT_THAT(verifier.VerifySerialized(big.SerializeAsString()),
              FailsWith(AttestationFailure::kMalformed));
}

TEST_F(AttestationTest, EmptyWindowIsMalformed) {
  EXPECT_THAT(Verify(Sign(Says(*root_name_, kNow + 1, kNow - 1), *root_)),
              FailsWith(AttestationFailure::kMalformed));
  // In a delegation too.
  Statement d = Delegates(*root_name_, KeyName(*k1_), Delegator());
  d.set_not_before(kNow + 1);
  d.set_not_after(kNow);
  const Attestation delegation = Sign(d, *root_);
  EXPECT_THAT(Verify(Sign(Says(LeafSpeaker()), *k1_, &delegation)),
              FailsWith(AttestationFailure::kMalformed));
}

TEST_F(AttestationTest, MalformedPartsAreMalformed) {
  // Speaker that is not a name (signed without SignStatement's check).
  Statement bad_speaker = Says(*root_name_);
  bad_speaker.set_speaker("root");
  EXPECT_THAT(Verify(SignRaw(bad_speaker.SerializeAsString(), *root_)),
              FailsWith(AttestationFailure::kMalformed));
  // Statement bytes that do not parse, validly signed.
  EXPECT_THAT(Verify(SignRaw("\xff\xff", *root_)),
              FailsWith(AttestationFailure::kMalformed));
  // Signer key that is not a key.
  Attestation bad_key = Sign(Says(*root_name_), *root_);
  bad_key.set_signer_key("junk");
  EXPECT_THAT(Verify(bad_key), FailsWith(AttestationFailure::kMalformed));
  // A delegate that is not a bare key.
  EXPECT_THAT(Verify(Sign(Delegates(*root_name_, Program(KeyName(*k1_), 'z'),
                                    Delegator()),
                          *root_)),
              FailsWith(AttestationFailure::kMalformed));
  // Delegation names that do not parse.
  Statement bad_names = Delegates(*root_name_, KeyName(*k1_), Delegator());
  bad_names.mutable_delegation()->set_delegator("nobody");
  EXPECT_THAT(Verify(Sign(bad_names, *root_)),
              FailsWith(AttestationFailure::kMalformed));
}

TEST_F(AttestationTest, SignStatementRejectsBadSpeaker) {
  Statement s = Says(*root_name_);
  s.set_speaker("");
  EXPECT_THAT(SignStatement(s, *root_),
              StatusIs(absl::StatusCode::kInvalidArgument));
  s.set_speaker(root_name_->text() + ".bad");
  EXPECT_THAT(SignStatement(s, *root_),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(AttestationFailureTest, NamesAndPayloads) {
  EXPECT_EQ(AttestationFailureName(AttestationFailure::kMalformed),
            "malformed");
  EXPECT_EQ(AttestationFailureName(AttestationFailure::kBadSignature),
            "bad-signature");
  EXPECT_EQ(AttestationFailureName(AttestationFailure::kUntrustedSigner),
            "untrusted-signer");
  EXPECT_EQ(AttestationFailureName(AttestationFailure::kSpeakerNotSigner),
            "speaker-not-signer");
  EXPECT_EQ(AttestationFailureName(AttestationFailure::kBadDelegation),
            "bad-delegation");
  EXPECT_EQ(AttestationFailureName(AttestationFailure::kExpired), "expired");
  EXPECT_EQ(AttestationFailureName(AttestationFailure::kNotYetValid),
            "not-yet-valid");
  EXPECT_EQ(AttestationFailureName(AttestationFailure::kChainTooDeep),
            "chain-too-deep");
  EXPECT_EQ(GetAttestationFailure(absl::OkStatus()), std::nullopt);
  EXPECT_EQ(
      GetAttestationFailure(absl::UnauthenticatedError("bad-signature: x")),
      std::nullopt);
}

TEST_F(AttestationTest, FailureIsCarriedAsPayload) {
  const absl::StatusOr<VerifiedStatement> result =
      Verify(Sign(Says(KeyName(*k1_)), *root_));
  EXPECT_THAT(GetAttestationFailure(result.status()),
              Optional(AttestationFailure::kSpeakerNotSigner));
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnauthenticated,
                               AllOf(HasSubstr(KeyName(*k1_).text()),
                                     HasSubstr(root_name_->text()))));
}

TEST_F(AttestationTest, DescribeStatement) {
  Statement s = Says(*root_name_, kNow, std::nullopt);
  const std::string text = DescribeStatement(s);
  EXPECT_THAT(text,
              AllOf(HasSubstr(root_name_->text()), HasSubstr(" says "),
                    HasSubstr("ready(\"arg\")"),
                    HasSubstr("2023-11-14T22:13:20Z"), HasSubstr("+inf")));
  const std::string delegation =
      DescribeStatement(Delegates(*root_name_, KeyName(*k1_), Delegator()));
  EXPECT_THAT(delegation, AllOf(HasSubstr(KeyName(*k1_).text() + " speaksfor " +
                                          Delegator().text()),
                                HasSubstr("-inf")));
  EXPECT_THAT(DescribeStatement(Statement()), HasSubstr("(empty message)"));
  EXPECT_THAT(DescribeStatement(Statement()), Not(HasSubstr("ready")));
}

}  // namespace
}  // namespace tao
