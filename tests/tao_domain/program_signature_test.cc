// Tests of tao/program_signature.h. (They live here rather than in tests/tao/
// because this folder's CMakeLists registers them.)
#include "tao/program_signature.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao/program_signature.pb.h"
#include "tao_domain/policy_io.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tao_printers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::AnyOf;
using ::testing::HasSubstr;

class ProgramSignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* slot : {&publisher_, &other_}) {
      auto key = SigningKey::Generate();
      ASSERT_THAT(key, IsOk());
      slot->emplace(std::move(key).value());
    }
    measurement_ = Sha256("the program's bytes");
  }

  // A ProgramSignature whose claim is `claim`, signed by `key` under `context`.
  std::string SignClaim(const ProgramClaim& claim, const SigningKey& key,
                        absl::string_view context = kProgramSignatureContext) {
    ProgramSignature sig;
    claim.SerializeToString(sig.mutable_serialized_claim());
    auto signature = key.Sign(context, sig.serialized_claim());
    EXPECT_THAT(signature, IsOk());
    sig.set_signature(signature.ok() ? *signature : "");
    sig.set_publisher_key(key.verifying_key().spki());
    return sig.SerializeAsString();
  }

  ProgramClaim Claim(absl::string_view product = "demo",
                     uint64_t version = 3) const {
    ProgramClaim claim;
    claim.set_measurement(measurement_);
    claim.set_product(std::string(product));
    claim.set_version(version);
    return claim;
  }

  std::optional<SigningKey> publisher_, other_;
  std::string measurement_;
};

TEST_F(ProgramSignatureTest, SignAndVerifyRoundTrip) {
  auto signature = SignProgram(*publisher_, measurement_, "demo-secret", 3);
  ASSERT_THAT(signature, IsOk());
  auto claim = VerifyProgramSignature(*signature, measurement_);
  ASSERT_THAT(claim, IsOk());
  EXPECT_EQ(claim->publisher_spki, publisher_->verifying_key().spki());
  EXPECT_EQ(claim->product, "demo-secret");
  EXPECT_EQ(claim->version, 3u);

  auto sub = PublisherSubprincipal(*claim);
  ASSERT_THAT(sub, IsOk());
  auto expected =
      Subprincipal::Publisher(publisher_->verifying_key(), "demo-secret", 3);
  ASSERT_THAT(expected, IsOk());
  EXPECT_EQ(*sub, *expected);
  EXPECT_EQ(sub->ToString(),
            absl::StrCat("Publisher(ecdsa-p256:",
                         Base64UrlEncode(publisher_->verifying_key().spki()),
                         ",demo-secret,3)"));
  auto parsed = ParsePublisher(*sub);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->publisher_spki, claim->publisher_spki);
  EXPECT_EQ(parsed->product, claim->product);
  EXPECT_EQ(parsed->version, claim->version);
}

TEST_F(ProgramSignatureTest, ExtremeVersionsRoundTrip) {
  for (uint64_t version : {uint64_t{0}, ~uint64_t{0}}) {
    auto signature = SignProgram(*publisher_, measurement_, "p", version);
    ASSERT_THAT(signature, IsOk());
    auto claim = VerifyProgramSignature(*signature, measurement_);
    ASSERT_THAT(claim, IsOk());
    EXPECT_EQ(claim->version, version);
    EXPECT_THAT(PublisherSubprincipal(*claim), IsOk());
  }
}

TEST_F(ProgramSignatureTest, SignRefusesBadInput) {
  for (size_t size : {size_t{0}, size_t{31}, size_t{33}, size_t{64}}) {
    EXPECT_THAT(
        SignProgram(*publisher_, std::string(size, 'm'), "demo", 1),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32-byte")))
        << size;
  }
  for (const std::string& product :
       {std::string(""), std::string("de mo"), std::string("a,b"),
        std::string("a(b)"), std::string("a/b"), std::string(129, 'p')}) {
    EXPECT_THAT(
        SignProgram(*publisher_, measurement_, product, 1),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("product")))
        << product;
  }
}

TEST_F(ProgramSignatureTest, AnotherMeasurementIsRefused) {
  auto signature = SignProgram(*publisher_, measurement_, "demo", 1);
  ASSERT_THAT(signature, IsOk());
  std::string other = Sha256("other bytes");
  EXPECT_THAT(VerifyProgramSignature(*signature, other),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       testing::AllOf(HasSubstr(HexEncode(measurement_)),
                                      HasSubstr(HexEncode(other)))));
  EXPECT_THAT(VerifyProgramSignature(*signature, ""),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(ProgramSignatureTest, NoSingleBitFlipVerifies) {
  auto signature = SignProgram(*publisher_, measurement_, "demo", 1);
  ASSERT_THAT(signature, IsOk());
  for (size_t i = 0; i < signature->size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = *signature;
      bad[i] ^= static_cast<char>(1 << bit);
      EXPECT_THAT(VerifyProgramSignature(bad, measurement_),
                  StatusIs(AnyOf(absl::StatusCode::kInvalidArgument,
                                 absl::StatusCode::kUnauthenticated)))
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST_F(ProgramSignatureTest, AnotherKeyOrContextIsRefused) {
  auto signature = SignProgram(*publisher_, measurement_, "demo", 1);
  ASSERT_THAT(signature, IsOk());
  // The key swapped for another one: the signature no longer verifies.
  ProgramSignature swapped;
  ASSERT_TRUE(swapped.ParseFromString(*signature));
  swapped.set_publisher_key(other_->verifying_key().spki());
  EXPECT_THAT(VerifyProgramSignature(swapped.SerializeAsString(), measurement_),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // Signed by one key, naming another.
  ProgramSignature mixed;
  ASSERT_TRUE(mixed.ParseFromString(SignClaim(Claim(), *other_)));
  mixed.set_publisher_key(publisher_->verifying_key().spki());
  EXPECT_THAT(VerifyProgramSignature(mixed.SerializeAsString(), measurement_),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // A signature made for a domain policy is not a program signature.
  EXPECT_THAT(
      VerifyProgramSignature(
          SignClaim(Claim(), *publisher_, kDomainPolicyContext), measurement_),
      StatusIs(absl::StatusCode::kUnauthenticated));
  // The hand-made one with the right context verifies.
  EXPECT_THAT(
      VerifyProgramSignature(SignClaim(Claim(), *publisher_), measurement_),
      IsOk());
}

TEST_F(ProgramSignatureTest, MalformedSignaturesAreRefused) {
  for (const std::string& garbage :
       {std::string("garbage"), std::string("\xff\xff\xff", 3), std::string(""),
        std::string("\x12\x03"
                    "abc",
                    5)}) {
    EXPECT_THAT(VerifyProgramSignature(garbage, measurement_),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << garbage;
  }
  EXPECT_THAT(
      VerifyProgramSignature(std::string(kMaxProgramSignatureSize + 1, '\0'),
                             measurement_),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too large")));
  // Validly signed, but the claim is not a ProgramClaim.
  ProgramSignature sig;
  sig.set_serialized_claim("\xff\xff\xff");
  sig.set_publisher_key(publisher_->verifying_key().spki());
  auto s = publisher_->Sign(kProgramSignatureContext, sig.serialized_claim());
  ASSERT_THAT(s, IsOk());
  sig.set_signature(*s);
  EXPECT_THAT(VerifyProgramSignature(sig.SerializeAsString(), measurement_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not parse")));
  // Validly signed, but naming a product no name may carry.
  EXPECT_THAT(
      VerifyProgramSignature(SignClaim(Claim("bad product,9"), *publisher_),
                             measurement_),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("product")));
}

}  // namespace
}  // namespace tao
