#include "tao/tao_host.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/attestation.h"
#include "tao/clock.h"
#include "tao/crypto.h"
#include "tao/key_store.h"
#include "tests/testing/names.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tao_printers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::IsOkAndHolds;
using ::tao::test::Program;
using ::tao::test::StatusIs;
using ::tao::test::Sub;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr int64_t kNow = 1700000000;

Statement Predicate(absl::string_view speaker = "") {
  Statement s;
  s.set_speaker(std::string(speaker));
  s.mutable_predicate()->set_name("listening");
  s.mutable_predicate()->add_args("port=443");
  return s;
}

// A copy of `keys` (the same signing key and sealing secret).
absl::StatusOr<HostKeys> CopyKeys(const HostKeys& keys) {
  auto pkcs8 = keys.signing_key.ToPkcs8();
  if (!pkcs8.ok()) return pkcs8.status();
  auto key = SigningKey::FromPkcs8(pkcs8->view());
  if (!key.ok()) return key.status();
  return HostKeys{std::move(key).value(),
                  SecretString(keys.sealing_secret.Copy())};
}

class TaoHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(HostKeys keys, HostKeys::Generate());
    key_name_ = Principal::ForKey(keys.signing_key.verifying_key());
    ASSERT_OK_AND_ASSIGN(
        host_, TaoHost::Create(std::move(keys), *key_name_, std::nullopt));
    child_ = Program(host_->name(), 'c');
  }

  AttestationVerifier Verifier() const {
    return AttestationVerifier({host_->signing_public_key()}, clock_);
  }

  FixedClock clock_{absl::FromUnixSeconds(kNow)};
  std::optional<Principal> key_name_;
  std::unique_ptr<TaoHost> host_;
  std::optional<Principal> child_;
};

TEST_F(TaoHostTest, CreateNamesTheHost) {
  EXPECT_EQ(host_->name(), *key_name_);
  EXPECT_EQ(Principal::ForKey(host_->signing_public_key()), *key_name_);
  EXPECT_FALSE(host_->delegation().has_value());
}

TEST_F(TaoHostTest, CreateAcceptsASubprincipalOfItsKey) {
  ASSERT_OK_AND_ASSIGN(HostKeys keys, HostKeys::Generate());
  const Principal name =
      Program(Principal::ForKey(keys.signing_key.verifying_key()), 'h');
  ASSERT_OK_AND_ASSIGN(auto host,
                       TaoHost::Create(std::move(keys), name, std::nullopt));
  EXPECT_EQ(host->name(), name);
}

TEST_F(TaoHostTest, CreateRefusesANameNotUnderItsKey) {
  ASSERT_OK_AND_ASSIGN(HostKeys keys, HostKeys::Generate());
  EXPECT_THAT(
      TaoHost::Create(std::move(keys), *key_name_, std::nullopt),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not under")));
}

TEST_F(TaoHostTest, CreateRefusesABadSealingSecret) {
  for (size_t size : {size_t{0}, size_t{16}, size_t{31}, size_t{33}}) {
    ASSERT_OK_AND_ASSIGN(HostKeys keys, HostKeys::Generate());
    const Principal name = Principal::ForKey(keys.signing_key.verifying_key());
    keys.sealing_secret = SecretString(size);
    EXPECT_THAT(
        TaoHost::Create(std::move(keys), name, std::nullopt),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32 bytes")))
        << size;
  }
}

TEST_F(TaoHostTest, AttestForChildFillsAnEmptySpeaker) {
  ASSERT_OK_AND_ASSIGN(Attestation a, host_->Attest(*child_, Predicate()));
  Statement signed_statement;
  ASSERT_TRUE(signed_statement.ParseFromString(a.serialized_statement()));
  EXPECT_EQ(signed_statement.speaker(), child_->text());
  EXPECT_EQ(a.signer_key(), host_->signing_public_key().spki());
  EXPECT_FALSE(a.has_delegation());

  ASSERT_OK_AND_ASSIGN(VerifiedStatement v, Verifier().Verify(a));
  EXPECT_EQ(v.speaker, *child_);
  EXPECT_EQ(v.root, *key_name_);
  EXPECT_EQ(v.statement.predicate().name(), "listening");
}

TEST_F(TaoHostTest, AttestKeepsASpeakerUnderTheChild) {
  const Principal sub = Sub(*child_, Subprincipal::Ext("role", "frontend"));
  ASSERT_OK_AND_ASSIGN(Attestation a,
                       host_->Attest(*child_, Predicate(sub.text())));
  ASSERT_OK_AND_ASSIGN(VerifiedStatement v, Verifier().Verify(a));
  EXPECT_EQ(v.speaker, sub);
  // The child's exact name is fine as well, and so is the host for itself.
  EXPECT_THAT(host_->Attest(*child_, Predicate(child_->text())), IsOk());
  ASSERT_OK_AND_ASSIGN(Attestation own,
                       host_->Attest(host_->name(), Predicate()));
  EXPECT_THAT(Verifier().Verify(own), IsOk());
}

TEST_F(TaoHostTest, AttestRefusesASpeakerNotUnderTheHost) {
  ASSERT_OK_AND_ASSIGN(SigningKey other, SigningKey::Generate());
  const Principal stranger =
      Program(Principal::ForKey(other.verifying_key()), 'c');
  EXPECT_THAT(host_->Attest(stranger, Predicate()),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(
      host_->Attest(Principal::ForKey(other.verifying_key()), Predicate()),
      StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(TaoHostTest, AttestRefusesAParentOrSiblingOfAHostName) {
  // A host named key.Program(h) must not speak as key, nor as key.Program(z).
  ASSERT_OK_AND_ASSIGN(HostKeys keys, HostKeys::Generate());
  const Principal key = Principal::ForKey(keys.signing_key.verifying_key());
  ASSERT_OK_AND_ASSIGN(
      auto host,
      TaoHost::Create(std::move(keys), Program(key, 'h'), std::nullopt));
  EXPECT_THAT(host->Attest(key, Predicate()),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(host->Attest(Program(key, 'z'), Predicate()),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(host->Attest(Program(Program(key, 'h'), 'c'), Predicate()),
              IsOk());
}

TEST_F(TaoHostTest, AttestRefusesAStatementSpeakerOutsideTheChild) {
  const Principal sibling = Program(host_->name(), 'd');
  EXPECT_THAT(host_->Attest(*child_, Predicate(sibling.text())),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(host_->Attest(*child_, Predicate(host_->name().text())),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(host_->Attest(*child_, Predicate("not a name")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TaoHostTest, AttestRefusesAnEmptyWindow) {
  Statement s = Predicate();
  s.set_not_before(kNow + 1);
  s.set_not_after(kNow);
  EXPECT_THAT(host_->Attest(*child_, s),
              StatusIs(absl::StatusCode::kInvalidArgument));
  s.set_not_before(kNow);
  ASSERT_OK_AND_ASSIGN(Attestation a, host_->Attest(*child_, s));
  ASSERT_OK_AND_ASSIGN(VerifiedStatement v, Verifier().Verify(a));
  EXPECT_EQ(v.not_before, absl::FromUnixSeconds(kNow));
  EXPECT_EQ(v.not_after, absl::FromUnixSeconds(kNow));
}

TEST_F(TaoHostTest, DelegatedHostAttestsUpToTheParentRoot) {
  // The parent root names the host root.Program(h) and delegates to its key.
  ASSERT_OK_AND_ASSIGN(SigningKey root, SigningKey::Generate());
  const Principal root_name = Principal::ForKey(root.verifying_key());
  const Principal host_name = Program(root_name, 'h');
  ASSERT_OK_AND_ASSIGN(HostKeys keys, HostKeys::Generate());
  Statement d;
  d.set_speaker(root_name.text());
  d.mutable_delegation()->set_delegate(
      Principal::ForKey(keys.signing_key.verifying_key()).text());
  d.mutable_delegation()->set_delegator(host_name.text());
  ASSERT_OK_AND_ASSIGN(Attestation delegation, SignStatement(d, root));
  ASSERT_OK_AND_ASSIGN(auto host,
                       TaoHost::Create(std::move(keys), host_name, delegation));
  ASSERT_TRUE(host->delegation().has_value());

  const Principal child = Program(host_name, 'c');
  ASSERT_OK_AND_ASSIGN(Attestation a, host->Attest(child, Predicate()));
  EXPECT_TRUE(a.has_delegation());
  AttestationVerifier verifier({root.verifying_key()}, clock_);
  ASSERT_OK_AND_ASSIGN(VerifiedStatement v, verifier.Verify(a));
  EXPECT_EQ(v.speaker, child);
  EXPECT_EQ(v.root, root_name);
  EXPECT_EQ(v.delegations, 1);
  // The host's own key is not a root.
  EXPECT_THAT(
      AttestationVerifier({host->signing_public_key()}, clock_).Verify(a),
      StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(TaoHostTest, CreateChecksTheDelegationsShape) {
  ASSERT_OK_AND_ASSIGN(SigningKey root, SigningKey::Generate());
  const Principal root_name = Principal::ForKey(root.verifying_key());
  const Principal host_name = Program(root_name, 'h');
  const auto make = [&](const Statement& d, const Principal& name) {
    auto keys = HostKeys::Generate();
    EXPECT_THAT(keys, IsOk());
    auto delegation = SignStatement(d, root);
    EXPECT_THAT(delegation, IsOk());
    return TaoHost::Create(std::move(keys).value(), name, *delegation);
  };
  ASSERT_OK_AND_ASSIGN(SigningKey stranger, SigningKey::Generate());
  // Delegates to another key.
  Statement to_other;
  to_other.set_speaker(root_name.text());
  to_other.mutable_delegation()->set_delegate(
      Principal::ForKey(stranger.verifying_key()).text());
  to_other.mutable_delegation()->set_delegator(host_name.text());
  EXPECT_THAT(make(to_other, host_name),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Not a delegation at all.
  EXPECT_THAT(make(Predicate(root_name.text()), host_name),
              StatusIs(absl::StatusCode::kInvalidArgument));

  // For a delegator that does not cover the name.
  ASSERT_OK_AND_ASSIGN(HostKeys keys, HostKeys::Generate());
  Statement narrow;
  narrow.set_speaker(root_name.text());
  narrow.mutable_delegation()->set_delegate(
      Principal::ForKey(keys.signing_key.verifying_key()).text());
  narrow.mutable_delegation()->set_delegator(Program(root_name, 'x').text());
  ASSERT_OK_AND_ASSIGN(Attestation narrow_att, SignStatement(narrow, root));
  EXPECT_THAT(
      TaoHost::Create(std::move(keys), host_name, narrow_att),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not for")));

  // A delegation for a prefix of the name is fine.
  ASSERT_OK_AND_ASSIGN(HostKeys keys2, HostKeys::Generate());
  Statement prefix;
  prefix.set_speaker(root_name.text());
  prefix.mutable_delegation()->set_delegate(
      Principal::ForKey(keys2.signing_key.verifying_key()).text());
  prefix.mutable_delegation()->set_delegator(root_name.text());
  ASSERT_OK_AND_ASSIGN(Attestation prefix_att, SignStatement(prefix, root));
  EXPECT_THAT(TaoHost::Create(std::move(keys2), host_name, prefix_att), IsOk());

  // Garbage statement bytes.
  ASSERT_OK_AND_ASSIGN(HostKeys keys3, HostKeys::Generate());
  Attestation garbage;
  garbage.set_serialized_statement("\xff\xff");
  EXPECT_THAT(TaoHost::Create(std::move(keys3), host_name, garbage),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TaoHostTest, GetRandomBytes) {
  EXPECT_THAT(host_->GetRandomBytes(0), IsOkAndHolds(SizeIs(0)));
  EXPECT_THAT(host_->GetRandomBytes(64), IsOkAndHolds(SizeIs(64)));
  EXPECT_THAT(host_->GetRandomBytes(size_t{1} << 20),
              IsOkAndHolds(SizeIs(size_t{1} << 20)));
  EXPECT_THAT(host_->GetRandomBytes((size_t{1} << 20) + 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TaoHostTest, DeriveSecretIsStableAndContextBound) {
  ASSERT_OK_AND_ASSIGN(HostKeys keys, HostKeys::Generate());
  ASSERT_OK_AND_ASSIGN(HostKeys copy, CopyKeys(keys));
  const Principal name = Principal::ForKey(keys.signing_key.verifying_key());
  ASSERT_OK_AND_ASSIGN(auto a,
                       TaoHost::Create(std::move(keys), name, std::nullopt));
  ASSERT_OK_AND_ASSIGN(auto b,
                       TaoHost::Create(std::move(copy), name, std::nullopt));

  ASSERT_OK_AND_ASSIGN(SecretString s1, a->DeriveSecret("ctx", 32));
  ASSERT_OK_AND_ASSIGN(SecretString s2, b->DeriveSecret("ctx", 32));
  ASSERT_OK_AND_ASSIGN(SecretString other_ctx, a->DeriveSecret("ctx2", 32));
  ASSERT_OK_AND_ASSIGN(SecretString other_host, host_->DeriveSecret("ctx", 32));
  ASSERT_OK_AND_ASSIGN(SecretString shorter, a->DeriveSecret("ctx", 16));
  EXPECT_EQ(s1.view(), s2.view());
  EXPECT_NE(s1.view(), other_ctx.view());
  EXPECT_NE(s1.view(), other_host.view());
  EXPECT_EQ(shorter.view(), s1.view().substr(0, 16));

  EXPECT_THAT(a->DeriveSecret("ctx", 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(a->DeriveSecret("ctx", 8160), IsOkAndHolds(SizeIs(8160)));
  EXPECT_THAT(a->DeriveSecret("ctx", 8161),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace tao

namespace tao {
namespace {

TEST_F(TaoHostTest, EncryptToAppendsTheBundleEncryptWouldMake) {
  std::string out = "prefix";
  ASSERT_THAT(host_->EncryptTo("some data", "SameProgram", *child_, &out),
              IsOk());
  ASSERT_EQ(out.substr(0, 6), "prefix");
  const std::string bundle = out.substr(6);
  EXPECT_EQ(bundle.size(), SealedBundleSize(11, child_->text().size(), 9));
  ASSERT_OK_AND_ASSIGN(Unsealed opened, host_->Decrypt(bundle));
  EXPECT_EQ(opened.data.view(), "some data");
  EXPECT_EQ(opened.policy, "SameProgram");
  EXPECT_EQ(opened.sealer, *child_);
  // A refused seal (a policy over the limit) leaves `out` as it was.
  EXPECT_FALSE(host_
                   ->EncryptTo("x", std::string(kMaxSealPolicySize + 1, 'p'),
                               *child_, &out)
                   .ok());
  EXPECT_EQ(out, "prefix" + bundle);
}

TEST_F(TaoHostTest, DecryptIntoWritesThePlaintextOrNothing) {
  ASSERT_OK_AND_ASSIGN(std::string bundle,
                       host_->Encrypt("plaintext!", "SameProgram", *child_));
  ASSERT_OK_AND_ASSIGN(SealedBundleView view, ParseSealedBundle(bundle));
  std::string plaintext(view.ciphertext.size(), '\0');
  ASSERT_OK_AND_ASSIGN(Principal sealer,
                       host_->DecryptInto(view, plaintext.data()));
  EXPECT_EQ(plaintext, "plaintext!");
  EXPECT_EQ(sealer, *child_);

  std::string tampered = bundle;
  tampered.back() ^= 1;  // the tag
  ASSERT_OK_AND_ASSIGN(SealedBundleView bad, ParseSealedBundle(tampered));
  std::string out(bad.ciphertext.size(), '\0');
  EXPECT_THAT(host_->DecryptInto(bad, out.data()),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(out, std::string(out.size(), '\0')) << "no plaintext left behind";
}

}  // namespace
}  // namespace tao
