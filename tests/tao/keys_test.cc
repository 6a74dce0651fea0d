#include "tao/keys.h"

#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/p256_spki.h"
#include "tests/testing/openssl_keys.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tao_printers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::IsOkAndHolds;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr absl::string_view kContext = "tao-test-v1";

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(key_, SigningKey::Generate()); }
  const VerifyingKey& pub() const { return key_->verifying_key(); }

  std::optional<SigningKey> key_;
};

TEST_F(KeysTest, SignThenVerify) {
  ASSERT_OK_AND_ASSIGN(std::string sig, key_->Sign(kContext, "hello"));
  EXPECT_FALSE(sig.empty());
  EXPECT_EQ(sig[0], '\x30');  // a DER SEQUENCE
  EXPECT_THAT(pub().Verify(kContext, "hello", sig), IsOk());
}

TEST_F(KeysTest, SignsEmptyAndBinaryData) {
  const std::string binary("\0\x01\xff\0", 4);
  ASSERT_OK_AND_ASSIGN(std::string empty_sig, key_->Sign(kContext, ""));
  ASSERT_OK_AND_ASSIGN(std::string bin_sig, key_->Sign(kContext, binary));
  EXPECT_THAT(pub().Verify(kContext, "", empty_sig), IsOk());
  EXPECT_THAT(pub().Verify(kContext, binary, bin_sig), IsOk());
  EXPECT_THAT(pub().Verify(kContext, binary.substr(0, 3), bin_sig),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // An empty context is a context too.
  ASSERT_OK_AND_ASSIGN(std::string no_context_sig, key_->Sign("", "data"));
  EXPECT_THAT(pub().Verify("", "data", no_context_sig), IsOk());
  EXPECT_THAT(pub().Verify(kContext, "data", no_context_sig),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(KeysTest, WrongContextIsRejected) {
  ASSERT_OK_AND_ASSIGN(std::string sig, key_->Sign(kContext, "hello"));
  EXPECT_THAT(pub().Verify("tao-test-v2", "hello", sig),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(pub().Verify("", "hello", sig),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(pub().Verify("tao-attestation-v1", "hello", sig),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(KeysTest, ContextAndDataDoNotRunTogether) {
  // context || 0x00 || data: moving bytes across the boundary must not verify.
  ASSERT_OK_AND_ASSIGN(std::string sig, key_->Sign("ab", "c"));
  EXPECT_THAT(pub().Verify("a", "bc", sig),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(pub().Verify("abc", "", sig),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(pub().Verify("ab", "c", sig), IsOk());
}

TEST_F(KeysTest, TamperedDataIsRejected) {
  const std::string data = "the quick brown fox";
  ASSERT_OK_AND_ASSIGN(std::string sig, key_->Sign(kContext, data));
  for (size_t i = 0; i < data.size(); ++i) {
    std::string altered = data;
    altered[i] ^= 0x01;
    EXPECT_THAT(pub().Verify(kContext, altered, sig),
                StatusIs(absl::StatusCode::kUnauthenticated))
        << i;
  }
  EXPECT_THAT(pub().Verify(kContext, data + "!", sig),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(pub().Verify(kContext, data.substr(1), sig),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(KeysTest, TamperedSignatureIsRejected) {
  ASSERT_OK_AND_ASSIGN(std::string sig, key_->Sign(kContext, "data"));
  for (size_t i = 0; i < sig.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string altered = sig;
      altered[i] ^= static_cast<char>(1 << bit);
      ASSERT_THAT(pub().Verify(kContext, "data", altered),
                  StatusIs(absl::StatusCode::kUnauthenticated))
          << "byte " << i << " bit " << bit;
    }
  }
  EXPECT_THAT(pub().Verify(kContext, "data", ""),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(pub().Verify(kContext, "data", sig + std::string(1, '\0')),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(pub().Verify(kContext, "data", sig.substr(0, sig.size() - 1)),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(pub().Verify(kContext, "data", std::string(72, '\xff')),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(KeysTest, OtherKeyIsRejected) {
  ASSERT_OK_AND_ASSIGN(SigningKey other, SigningKey::Generate());
  ASSERT_OK_AND_ASSIGN(std::string sig, key_->Sign(kContext, "data"));
  EXPECT_THAT(other.verifying_key().Verify(kContext, "data", sig),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_NE(other.verifying_key(), pub());
}

TEST_F(KeysTest, ContextWithNulIsRejected) {
  const std::string nul_context("tao\0evil", 8);
  EXPECT_THAT(key_->Sign(nul_context, "data"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("NUL")));
  EXPECT_THAT(key_->Sign(std::string(1, '\0'), "data"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Verify refuses it too, even for a signature over the same bytes: a
  // signature over "tao" || 0 || "evil" || 0 || data must not be reachable.
  ASSERT_OK_AND_ASSIGN(
      std::string sig,
      key_->Sign("tao", absl::StrCat(absl::string_view("evil\0", 5), "data")));
  EXPECT_THAT(pub().Verify(nul_context, "data", sig),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("NUL")));
  EXPECT_THAT(
      pub().Verify("tao", absl::StrCat(absl::string_view("evil\0", 5), "data"),
                   sig),
      IsOk());
}

TEST_F(KeysTest, Pkcs8RoundTripGivesTheSameKey) {
  ASSERT_OK_AND_ASSIGN(SecretString der, key_->ToPkcs8());
  EXPECT_FALSE(der.empty());
  ASSERT_OK_AND_ASSIGN(SigningKey reloaded, SigningKey::FromPkcs8(der.view()));
  EXPECT_EQ(reloaded.verifying_key(), pub());
  EXPECT_EQ(reloaded.verifying_key().spki(), pub().spki());
  // The reloaded private key signs for the original public key, and back.
  ASSERT_OK_AND_ASSIGN(std::string sig, reloaded.Sign(kContext, "x"));
  EXPECT_THAT(pub().Verify(kContext, "x", sig), IsOk());
  ASSERT_OK_AND_ASSIGN(std::string sig2, key_->Sign(kContext, "y"));
  EXPECT_THAT(reloaded.verifying_key().Verify(kContext, "y", sig2), IsOk());
}

TEST_F(KeysTest, FromPkcs8RejectsOtherInput) {
  EXPECT_THAT(SigningKey::FromPkcs8(""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SigningKey::FromPkcs8("not der"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SigningKey::FromPkcs8(pub().spki()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string p384 = test::P384Pkcs8();
  ASSERT_FALSE(p384.empty());
  EXPECT_THAT(SigningKey::FromPkcs8(p384),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("P-256")));
  ASSERT_OK_AND_ASSIGN(SecretString der, key_->ToPkcs8());
  EXPECT_THAT(SigningKey::FromPkcs8(der.view().substr(0, der.size() - 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(KeysTest, GeneratedKeysDiffer) {
  ASSERT_OK_AND_ASSIGN(SigningKey other, SigningKey::Generate());
  EXPECT_NE(other.verifying_key().spki(), pub().spki());
}

TEST_F(KeysTest, SpkiIsCanonicalUncompressedP256) {
  const std::string& spki = pub().spki();
  ASSERT_EQ(spki.size(), 91u);
  EXPECT_EQ(spki[26], '\x04');  // uncompressed point
  ASSERT_OK_AND_ASSIGN(VerifyingKey parsed, VerifyingKey::FromSpki(spki));
  EXPECT_EQ(parsed, pub());
  EXPECT_EQ(parsed.spki(), spki);
}

TEST_F(KeysTest, FromSpkiRejectsNonCanonicalAndForeignKeys) {
  const auto invalid = [](absl::string_view why) {
    return StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(why));
  };
  EXPECT_THAT(VerifyingKey::FromSpki(""), invalid("SubjectPublicKeyInfo"));
  EXPECT_THAT(VerifyingKey::FromSpki("garbage"),
              invalid("SubjectPublicKeyInfo"));
  EXPECT_THAT(VerifyingKey::FromSpki(pub().spki().substr(0, 90)),
              invalid("SubjectPublicKeyInfo"));
  EXPECT_THAT(VerifyingKey::FromSpki(pub().spki() + std::string(1, '\0')),
              invalid("trailing"));
  const std::string compressed = test::CompressedP256Spki();
  ASSERT_EQ(compressed.size(), 59u);
  EXPECT_THAT(VerifyingKey::FromSpki(compressed), invalid("uncompressed"));
  const std::string p384 = test::P384Spki();
  ASSERT_FALSE(p384.empty());
  EXPECT_THAT(VerifyingKey::FromSpki(p384), invalid("not P-256"));
  const std::string ed25519 = test::Ed25519Spki();
  ASSERT_FALSE(ed25519.empty());
  EXPECT_THAT(VerifyingKey::FromSpki(ed25519), invalid("elliptic-curve"));
  // The hybrid point form (0x06/0x07) is as long as the canonical one and
  // names the same key; it must not give the key a second SPKI.
  std::string hybrid = pub().spki();
  hybrid[26] = (hybrid[90] & 1) ? '\x07' : '\x06';
  EXPECT_THAT(VerifyingKey::FromSpki(hybrid), invalid("uncompressed"));
  std::string wrong_parity_hybrid = hybrid;
  wrong_parity_hybrid[26] ^= 0x01;
  EXPECT_THAT(VerifyingKey::FromSpki(wrong_parity_hybrid),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A point that is not on the curve.
  std::string off_curve = pub().spki();
  off_curve[90] ^= 0x01;
  EXPECT_THAT(VerifyingKey::FromSpki(off_curve),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// CheckP256SpkiEncoding: the bytes of the canonical form, and nothing about
// the point. Every key FromSpki accepts passes it; everything of another
// size or header fails it, naming the difference.
TEST_F(KeysTest, TheEncodingCheckAcceptsWhatFromSpkiAccepts) {
  for (int i = 0; i < 8; ++i) {
    ASSERT_OK_AND_ASSIGN(SigningKey key, SigningKey::Generate());
    ASSERT_THAT(VerifyingKey::FromSpki(key.verifying_key().spki()), IsOk());
    EXPECT_THAT(CheckP256SpkiEncoding(key.verifying_key().spki()), IsOk());
  }
}

TEST_F(KeysTest, TheEncodingCheckRefusesEveryOtherForm) {
  auto refused = [](absl::string_view why) {
    return StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(why));
  };
  const std::string spki = pub().spki();
  ASSERT_EQ(spki.size(), kP256SpkiSize);
  EXPECT_THAT(CheckP256SpkiEncoding(""), refused("0 bytes, expected 91"));
  EXPECT_THAT(CheckP256SpkiEncoding(spki.substr(0, 90)), refused("90 bytes"));
  EXPECT_THAT(CheckP256SpkiEncoding(spki + '\0'), refused("92 bytes"));
  EXPECT_THAT(CheckP256SpkiEncoding(test::CompressedP256Spki()),
              refused("59 bytes"));
  EXPECT_THAT(CheckP256SpkiEncoding(test::P384Spki()), refused("120 bytes"));
  EXPECT_THAT(CheckP256SpkiEncoding(test::Ed25519Spki()), refused("bytes"));
  std::string hybrid = spki;
  hybrid[kP256PointOffset] = (hybrid[90] & 1) ? '\x07' : '\x06';
  EXPECT_THAT(CheckP256SpkiEncoding(hybrid), refused("not in uncompressed"));
  for (size_t i = 0; i < kP256PointOffset; ++i) {
    SCOPED_TRACE(i);
    std::string changed = spki;
    changed[i] ^= 0x01;
    EXPECT_THAT(CheckP256SpkiEncoding(changed),
                refused(absl::StrCat("byte ", i, " differs")));
  }
}

TEST_F(KeysTest, TheEncodingCheckLeavesThePointToCheckSpki) {
  std::string off_curve = pub().spki();
  off_curve[90] ^= 0x01;
  EXPECT_THAT(CheckP256SpkiEncoding(off_curve), IsOk());
  EXPECT_THAT(VerifyingKey::CheckSpki(off_curve),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(VerifyingKey::FromSpki(off_curve),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(KeysTest, PemRoundTrip) {
  const std::string pem = pub().ToPem();
  EXPECT_THAT(pem, StartsWith("-----BEGIN PUBLIC KEY-----\n"));
  EXPECT_TRUE(absl::EndsWith(pem, "-----END PUBLIC KEY-----\n")) << pem;
  ASSERT_OK_AND_ASSIGN(VerifyingKey parsed, VerifyingKey::FromPem(pem));
  EXPECT_EQ(parsed, pub());
  EXPECT_EQ(parsed.ToPem(), pem);
  // The PEM key verifies what the private key signs.
  ASSERT_OK_AND_ASSIGN(std::string sig, key_->Sign(kContext, "pem"));
  EXPECT_THAT(parsed.Verify(kContext, "pem", sig), IsOk());
}

TEST_F(KeysTest, FromPemRejectsOtherInput) {
  EXPECT_THAT(VerifyingKey::FromPem(""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      VerifyingKey::FromPem(
          "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(VerifyingKey::FromPem(pub().spki()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string p384 = test::P384Pem();
  ASSERT_FALSE(p384.empty());
  EXPECT_THAT(VerifyingKey::FromPem(p384),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("P-256")));
}

TEST_F(KeysTest, VerifyingKeyCopiesShareTheKey) {
  VerifyingKey copy = pub();
  EXPECT_EQ(copy, pub());
  ASSERT_OK_AND_ASSIGN(std::string sig, key_->Sign(kContext, "copy"));
  EXPECT_THAT(copy.Verify(kContext, "copy", sig), IsOk());
}

}  // namespace
}  // namespace tao
