// The sealed bundle format (tao/sealed_bundle.h) and sealing through
// TaoHost::Encrypt / Decrypt.
#include "tao/sealed_bundle.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/byte_reader.h"
#include "tao/crypto.h"
#include "tao/key_store.h"
#include "tao/tao_host.h"
#include "tests/testing/bytes.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tao_printers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::SetU32;
using ::tao::test::StatusIs;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::HasSubstr;

const auto kRejected = StatusIs(
    AnyOf(absl::StatusCode::kInvalidArgument, absl::StatusCode::kDataLoss));

absl::StatusOr<std::unique_ptr<TaoHost>> NewHost() {
  auto keys = HostKeys::Generate();
  if (!keys.ok()) return keys.status();
  Principal name = Principal::ForKey(keys->signing_key.verifying_key());
  return TaoHost::Create(std::move(keys).value(), std::move(name),
                         std::nullopt);
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + 7) & 0xff);
  return s;
}

class SealTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(host_, NewHost());
    auto sealer = host_->name().Extend(
        *Subprincipal::Program(std::string(kSha256Size, '\x42')));
    ASSERT_THAT(sealer, IsOk());
    sealer_ = *sealer;
  }

  std::unique_ptr<TaoHost> host_;
  std::optional<Principal> sealer_;
};

TEST_F(SealTest, RoundTripsAtEverySize) {
  const std::string policy("policy\0bytes\xff", 13);  // opaque, binary
  for (size_t size : {size_t{0}, size_t{1}, size_t{32}, size_t{1} << 20}) {
    SCOPED_TRACE(size);
    const std::string data = Pattern(size);
    ASSERT_OK_AND_ASSIGN(std::string bundle,
                         host_->Encrypt(data, policy, *sealer_));
    if (size >= 32) {
      EXPECT_EQ(bundle.find(data.substr(0, 32)), std::string::npos)
          << "the plaintext appears in the bundle";
    }
    ASSERT_OK_AND_ASSIGN(Unsealed unsealed, host_->Decrypt(bundle));
    EXPECT_TRUE(unsealed.data.view() == data);
    EXPECT_EQ(unsealed.data.size(), size);
    EXPECT_EQ(unsealed.policy, policy);
    EXPECT_EQ(unsealed.sealer, *sealer_);
  }
}

TEST_F(SealTest, EmptyPolicyAndKeySealer) {
  ASSERT_OK_AND_ASSIGN(std::string bundle,
                       host_->Encrypt("secret", "", host_->name()));
  ASSERT_OK_AND_ASSIGN(Unsealed unsealed, host_->Decrypt(bundle));
  EXPECT_EQ(unsealed.data.view(), "secret");
  EXPECT_EQ(unsealed.policy, "");
  EXPECT_EQ(unsealed.sealer, host_->name());
}

TEST_F(SealTest, BundleHasTheDocumentedLayout) {
  const std::string data(40, 'd');
  const std::string policy(10, 'p');
  ASSERT_OK_AND_ASSIGN(std::string bundle,
                       host_->Encrypt(data, policy, *sealer_));
  const std::string& sealer = sealer_->text();
  EXPECT_EQ(bundle.size(), 4 + 2 + 2 + 4 + policy.size() + 4 + sealer.size() +
                               32 + 8 + data.size() + 16);
  ASSERT_OK_AND_ASSIGN(SealedBundleView view, ParseSealedBundle(bundle));
  EXPECT_EQ(view.version, kSealedBundleVersion);
  EXPECT_EQ(view.policy, policy);
  EXPECT_EQ(view.sealer, sealer);
  EXPECT_EQ(view.nonce.size(), kSealNonceSize);
  EXPECT_EQ(view.ciphertext.size(), data.size());
  EXPECT_NE(view.ciphertext, data);
  EXPECT_EQ(view.tag.size(), kAesGcmTagSize);
  EXPECT_EQ(view.associated_data,
            absl::string_view(bundle).substr(0, bundle.size() - 56));

  std::string header;
  ASSERT_THAT(AppendSealedBundleHeader(policy, sealer, view.nonce, data.size(),
                                       &header),
              IsOk());
  EXPECT_EQ(header, view.associated_data);
  EXPECT_EQ(bundle.substr(0, 4), "TAOS");
}

TEST_F(SealTest, SealingTwiceGivesDifferentBundles) {
  ASSERT_OK_AND_ASSIGN(std::string a, host_->Encrypt("same", "p", *sealer_));
  ASSERT_OK_AND_ASSIGN(std::string b, host_->Encrypt("same", "p", *sealer_));
  EXPECT_NE(a, b);
  ASSERT_OK_AND_ASSIGN(SealedBundleView va, ParseSealedBundle(a));
  ASSERT_OK_AND_ASSIGN(SealedBundleView vb, ParseSealedBundle(b));
  EXPECT_NE(va.nonce, vb.nonce);
}

TEST_F(SealTest, EveryFlippedBitIsRejected) {
  ASSERT_OK_AND_ASSIGN(
      std::string bundle,
      host_->Encrypt(std::string(40, 'd'), std::string(10, 'p'), *sealer_));
  for (size_t i = 0; i < bundle.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string altered = bundle;
      altered[i] ^= static_cast<char>(1 << bit);
      ASSERT_THAT(host_->Decrypt(altered), kRejected)
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST_F(SealTest, FlippedBitsInTheAuthenticatedPartsAreDataLoss) {
  const std::string policy(10, 'p');
  ASSERT_OK_AND_ASSIGN(std::string bundle,
                       host_->Encrypt(std::string(40, 'd'), policy, *sealer_));
  ASSERT_OK_AND_ASSIGN(SealedBundleView view, ParseSealedBundle(bundle));
  const size_t policy_at = 12;
  const size_t sealer_at = policy_at + policy.size() + 4;
  const size_t nonce_at = sealer_at + sealer_->text().size();
  const size_t ciphertext_at = nonce_at + kSealNonceSize + 8;
  ASSERT_EQ(view.ciphertext.data(), bundle.data() + ciphertext_at);
  for (size_t i :
       {policy_at, policy_at + 9, sealer_at, sealer_at + 20, nonce_at,
        nonce_at + 31, ciphertext_at, ciphertext_at + 39, bundle.size() - 1}) {
    std::string altered = bundle;
    altered[i] ^= 0x01;
    EXPECT_THAT(host_->Decrypt(altered), StatusIs(absl::StatusCode::kDataLoss))
        << i;
  }
}

TEST_F(SealTest, EveryTruncationIsRejected) {
  ASSERT_OK_AND_ASSIGN(
      std::string bundle,
      host_->Encrypt(std::string(40, 'd'), std::string(10, 'p'), *sealer_));
  for (size_t len = 0; len < bundle.size(); ++len) {
    ASSERT_THAT(host_->Decrypt(absl::string_view(bundle).substr(0, len)),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << "length " << len;
  }
  EXPECT_THAT(host_->Decrypt(bundle + "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SealTest, BundleFromAnotherHostIsDataLoss) {
  ASSERT_OK_AND_ASSIGN(auto other, NewHost());
  ASSERT_OK_AND_ASSIGN(std::string bundle,
                       other->Encrypt("theirs", "p", other->name()));
  EXPECT_THAT(host_->Decrypt(bundle), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(other->Decrypt(bundle), IsOk());
}

TEST_F(SealTest, AHostWithTheSameSealingSecretOpensIt) {
  ASSERT_OK_AND_ASSIGN(HostKeys keys, HostKeys::Generate());
  ASSERT_OK_AND_ASSIGN(HostKeys other_signer, HostKeys::Generate());
  other_signer.sealing_secret = SecretString(keys.sealing_secret.Copy());
  const Principal a_name = Principal::ForKey(keys.signing_key.verifying_key());
  const Principal b_name =
      Principal::ForKey(other_signer.signing_key.verifying_key());
  ASSERT_OK_AND_ASSIGN(auto a,
                       TaoHost::Create(std::move(keys), a_name, std::nullopt));
  ASSERT_OK_AND_ASSIGN(
      auto b, TaoHost::Create(std::move(other_signer), b_name, std::nullopt));
  ASSERT_OK_AND_ASSIGN(std::string bundle, a->Encrypt("shared", "p", a_name));
  ASSERT_OK_AND_ASSIGN(Unsealed unsealed, b->Decrypt(bundle));
  EXPECT_EQ(unsealed.data.view(), "shared");
  EXPECT_EQ(unsealed.sealer, a_name);
}

TEST_F(SealTest, EncryptRefusesAnOversizedPolicy) {
  EXPECT_THAT(
      host_->Encrypt("x", std::string(kMaxSealPolicySize + 1, 'p'), *sealer_),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy")));
  EXPECT_THAT(
      host_->Encrypt("x", std::string(kMaxSealPolicySize, 'p'), *sealer_),
      IsOk());
}

// --- ParseSealedBundle -------------------------------------------------------

// A structurally valid bundle (it does not authenticate; parsing does not
// care) with the given parts.
std::string Bundle(absl::string_view policy = "pol",
                   absl::string_view sealer = "sealer", size_t data_len = 5) {
  std::string out;
  EXPECT_THAT(
      AppendSealedBundleHeader(policy, sealer, std::string(kSealNonceSize, 'n'),
                               data_len, &out),
      IsOk());
  out += std::string(data_len, 'c');
  out += std::string(kAesGcmTagSize, 't');
  return out;
}

TEST(ParseSealedBundleTest, ParsesAValidBundle) {
  const std::string bundle = Bundle("pol", "sealer", 5);
  ASSERT_OK_AND_ASSIGN(SealedBundleView view, ParseSealedBundle(bundle));
  EXPECT_EQ(view.version, 1);
  EXPECT_EQ(view.policy, "pol");
  EXPECT_EQ(view.sealer, "sealer");
  EXPECT_EQ(view.nonce, std::string(32, 'n'));
  EXPECT_EQ(view.ciphertext, "ccccc");
  EXPECT_EQ(view.tag, std::string(16, 't'));
  EXPECT_EQ(view.associated_data.size(), 4 + 2 + 2 + 4 + 3 + 4 + 6 + 32 + 8u);
  EXPECT_EQ(bundle.substr(0, 12),
            absl::StrCat("TAOS", std::string("\0\x01\0\0\0\0\0\x03", 8)));
}

TEST(ParseSealedBundleTest, BadMagic) {
  std::string bundle = Bundle();
  bundle[3] = 'X';
  EXPECT_THAT(ParseSealedBundle(bundle),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("offset 0"), HasSubstr("magic"))));
  EXPECT_THAT(ParseSealedBundle(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("magic")));
  EXPECT_THAT(ParseSealedBundle("TAO"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("magic")));
}

TEST(ParseSealedBundleTest, BadVersion) {
  for (uint16_t version : {0, 2, 0x100, 0xffff}) {
    std::string bundle = Bundle();
    bundle[4] = static_cast<char>(version >> 8);
    bundle[5] = static_cast<char>(version & 0xff);
    EXPECT_THAT(ParseSealedBundle(bundle),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("offset 4"), HasSubstr("version"))))
        << version;
  }
}

TEST(ParseSealedBundleTest, BadFlags) {
  for (int byte : {6, 7}) {
    std::string bundle = Bundle();
    bundle[byte] = 1;
    EXPECT_THAT(ParseSealedBundle(bundle),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("offset 6"), HasSubstr("flags"))));
  }
}

TEST(ParseSealedBundleTest, BadPolicyLength) {
  std::string too_big = Bundle();
  SetU32(&too_big, 8, kMaxSealPolicySize + 1);
  EXPECT_THAT(
      ParseSealedBundle(too_big),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("offset 8"), HasSubstr("policy length"))));
  std::string past_end = Bundle();
  SetU32(&past_end, 8, static_cast<uint32_t>(past_end.size()));
  EXPECT_THAT(
      ParseSealedBundle(past_end),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy length")));
  // One byte longer: the rest of the bundle shifts, and the check that
  // catches it is a later one. Still refused.
  std::string shifted = Bundle();
  SetU32(&shifted, 8, 4);
  EXPECT_THAT(ParseSealedBundle(shifted),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParseSealedBundleTest, BadSealerLength) {
  const size_t sealer_len_at = 12 + 3;
  std::string zero = Bundle();
  SetU32(&zero, sealer_len_at, 0);
  EXPECT_THAT(ParseSealedBundle(zero),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(absl::StrCat("offset ", sealer_len_at)),
                             HasSubstr("sealer length"))));
  std::string too_big = Bundle();
  SetU32(&too_big, sealer_len_at, kMaxPrincipalTextSize + 1);
  EXPECT_THAT(
      ParseSealedBundle(too_big),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sealer length")));
  std::string past_end = Bundle();
  SetU32(&past_end, sealer_len_at, 1000);
  EXPECT_THAT(
      ParseSealedBundle(past_end),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sealer")));
}

TEST(ParseSealedBundleTest, BadDataLength) {
  const std::string good = Bundle("pol", "sealer", 5);
  const size_t len_at = 12 + 3 + 4 + 6 + 32;
  for (uint64_t len : {uint64_t{0}, uint64_t{4}, uint64_t{6}, uint64_t{21},
                       uint64_t{kMaxSealedDataSize},
                       uint64_t{kMaxSealedDataSize} + 1, ~uint64_t{0}}) {
    std::string bundle = good;
    std::string enc;
    AppendU64(len, &enc);
    bundle.replace(len_at, 8, enc);
    EXPECT_THAT(ParseSealedBundle(bundle),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(absl::StrCat("offset ", len_at)),
                               HasSubstr("data length"))))
        << len;
  }
}

TEST(ParseSealedBundleTest, EveryTruncationIsRejected) {
  const std::string bundle = Bundle();
  for (size_t len = 0; len < bundle.size(); ++len) {
    EXPECT_THAT(ParseSealedBundle(absl::string_view(bundle).substr(0, len)),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << len;
  }
}

TEST(AppendSealedBundleHeaderTest, RejectsBadParts) {
  std::string out;
  const std::string nonce(kSealNonceSize, 'n');
  EXPECT_THAT(AppendSealedBundleHeader("p", "", nonce, 0, &out),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      AppendSealedBundleHeader("p", std::string(kMaxPrincipalTextSize + 1, 's'),
                               nonce, 0, &out),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(AppendSealedBundleHeader("p", "s", nonce.substr(1), 0, &out),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(AppendSealedBundleHeader(std::string(kMaxSealPolicySize + 1, 'p'),
                                       "s", nonce, 0, &out),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      AppendSealedBundleHeader("p", "s", nonce, kMaxSealedDataSize + 1, &out),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(out.empty()) << "a failed header must append nothing";
}

}  // namespace
}  // namespace tao
