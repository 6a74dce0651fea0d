#include "tao/principal.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/encoding.h"
#include "tao/keys.h"
#include "tests/testing/names.h"
#include "tests/testing/openssl_keys.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tao_printers.h"

namespace tao {
namespace {

using ::tao::test::Digest;
using ::tao::test::DigestArg;
using ::tao::test::IsOk;
using ::tao::test::IsOkAndHolds;
using ::tao::test::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Property;
using ::testing::StartsWith;

constexpr absl::string_view kPrefix = "key(ecdsa-p256:";

class PrincipalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = SigningKey::Generate();
    ASSERT_THAT(key, IsOk());
    key_ = Principal::ForKey(key->verifying_key());
    auto other = SigningKey::Generate();
    ASSERT_THAT(other, IsOk());
    other_key_ = Principal::ForKey(other->verifying_key());
    b64_ = Base64UrlEncode(key_->key_spki());
  }

  // key(ecdsa-p256:<b64>) for this test's key.
  std::string KeyText() const { return key_->text(); }
  // The text with the key's base64 replaced.
  std::string KeyTextWith(absl::string_view b64) const {
    return absl::StrCat(kPrefix, b64, ")");
  }

  // `p` extended with `sub`; on failure the test fails and `p` comes back.
  static Principal Sub(const Principal& p,
                       const absl::StatusOr<Subprincipal>& sub) {
    EXPECT_THAT(sub, IsOk());
    if (!sub.ok()) return p;
    auto extended = p.Extend(*sub);
    EXPECT_THAT(extended, IsOk());
    return extended.ok() ? *extended : p;
  }

  std::optional<Principal> key_;
  std::optional<Principal> other_key_;
  std::string b64_;
};

TEST_F(PrincipalTest, KeyPrincipalHasCanonicalText) {
  EXPECT_EQ(key_->text(), absl::StrCat(kPrefix, b64_, ")"));
  EXPECT_EQ(key_->key_spki().size(), 91u);
  EXPECT_TRUE(key_->subprincipals().empty());
  EXPECT_EQ(key_->RootKey(), *key_);
}

TEST_F(PrincipalTest, KeyPrincipalRoundTrips) {
  auto parsed = Principal::Parse(key_->text());
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(*parsed, *key_);
  EXPECT_EQ(parsed->text(), key_->text());
  EXPECT_EQ(parsed->key_spki(), key_->key_spki());
  EXPECT_TRUE(parsed->subprincipals().empty());
}

TEST_F(PrincipalTest, EverySubprincipalKindRoundTrips) {
  Principal p = *key_;
  p = Sub(p, Subprincipal::Program(Digest('\x01')));
  p = Sub(p, Subprincipal::Args(Digest('\x02')));
  p = Sub(p, Subprincipal::Vm(Digest('\x03')));
  p = Sub(p, Subprincipal::Enclave(Digest('\xfe')));
  ASSERT_OK_AND_ASSIGN(SigningKey publisher, SigningKey::Generate());
  p = Sub(p, Subprincipal::Publisher(publisher.verifying_key(), "tao-demo_1.x",
                                     42));
  p = Sub(p, Subprincipal::Ext("role-1_x", "v1.2:a=b+c/d,e@f-g_h"));
  EXPECT_EQ(p.text(),
            absl::StrCat(
                key_->text(), ".Program(", DigestArg('\x01'), ")", ".Args(",
                DigestArg('\x02'), ")", ".VM(", DigestArg('\x03'), ")",
                ".Enclave(", DigestArg('\xfe'), ")", ".Publisher(ecdsa-p256:",
                Base64UrlEncode(publisher.verifying_key().spki()),
                ",tao-demo_1.x,42)", ".Ext(role-1_x:v1.2:a=b+c/d,e@f-g_h)"));

  auto parsed = Principal::Parse(p.text());
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(*parsed, p);
  EXPECT_EQ(parsed->text(), p.text());
  EXPECT_EQ(parsed->key_spki(), key_->key_spki());
  EXPECT_EQ(parsed->RootKey(), *key_);
  EXPECT_EQ(parsed->subprincipals(), p.subprincipals());
  ASSERT_EQ(parsed->subprincipals().size(), 6u);
  EXPECT_EQ(parsed->subprincipals()[0].kind(), "Program");
  EXPECT_EQ(parsed->subprincipals()[1].kind(), "Args");
  EXPECT_EQ(parsed->subprincipals()[2].kind(), "VM");
  EXPECT_EQ(parsed->subprincipals()[3].kind(), "Enclave");
  EXPECT_EQ(parsed->subprincipals()[4].kind(), "Publisher");
  EXPECT_EQ(parsed->subprincipals()[5].kind(), "Ext");
  EXPECT_EQ(parsed->subprincipals()[5].argument(),
            "role-1_x:v1.2:a=b+c/d,e@f-g_h");
  EXPECT_EQ(parsed->subprincipals()[3].argument(), DigestArg('\xfe'));
  ASSERT_OK_AND_ASSIGN(PublisherClaim claim,
                       ParsePublisher(parsed->subprincipals()[4]));
  EXPECT_EQ(claim.publisher_spki, publisher.verifying_key().spki());
  EXPECT_EQ(claim.product, "tao-demo_1.x");
  EXPECT_EQ(claim.version, 42u);
}

TEST_F(PrincipalTest, FromOwnHostParsesEveryWellFormedNameAsParseDoes) {
  ASSERT_OK_AND_ASSIGN(SigningKey publisher, SigningKey::Generate());
  Principal p = *key_;
  p = Sub(p, Subprincipal::Program(Digest('\x01')));
  p = Sub(p, Subprincipal::Args(Digest('\x02')));
  p = Sub(p, Subprincipal::Vm(Digest('\x03')));
  p = Sub(p, Subprincipal::Enclave(Digest('\x04')));
  p = Sub(p, Subprincipal::Publisher(publisher.verifying_key(), "prod", 7));
  p = Sub(p, Subprincipal::Ext("role", "v1"));
  const Principal tpm2 = Principal::ForTpm2(publisher.verifying_key());
  for (const Principal& name :
       {*key_, p, tpm2, Sub(tpm2, Subprincipal::Ext("a", "b"))}) {
    SCOPED_TRACE(name.text());
    ASSERT_OK_AND_ASSIGN(Principal strict, Principal::Parse(name.text()));
    ASSERT_OK_AND_ASSIGN(Principal from_host,
                         Principal::ParseFromOwnHost(name.text()));
    EXPECT_EQ(from_host, strict);
    EXPECT_EQ(from_host.key_spki(), strict.key_spki());
    EXPECT_EQ(from_host.is_tpm2(), strict.is_tpm2());
    EXPECT_EQ(from_host.subprincipals(), strict.subprincipals());
  }
}

// The one difference, as principal.h says: a key whose bytes have the
// canonical form but whose point is not on the curve. Parse refuses it, in
// the root and in a Publisher(...); ParseFromOwnHost takes the host's word.
TEST_F(PrincipalTest, OnlyParseChecksThatAKeyIsOnTheCurve) {
  std::string off_curve = key_->key_spki();
  off_curve[90] ^= 0x01;
  ASSERT_THAT(VerifyingKey::FromSpki(off_curve),
              StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string root = KeyTextWith(Base64UrlEncode(off_curve));
  EXPECT_THAT(
      Principal::Parse(root),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("offset 15")));
  ASSERT_OK_AND_ASSIGN(Principal from_host, Principal::ParseFromOwnHost(root));
  EXPECT_EQ(from_host.key_spki(), off_curve);
  EXPECT_EQ(from_host.text(), root);

  const std::string publisher = absl::StrCat(
      "Publisher(ecdsa-p256:", Base64UrlEncode(off_curve), ",prod,1)");
  const std::string name = absl::StrCat(KeyText(), ".", publisher);
  EXPECT_THAT(
      Principal::Parse(name),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr(absl::StrCat("offset ", KeyText().size() + 1))));
  EXPECT_THAT(Subprincipal::Parse(publisher),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(Principal named, Principal::ParseFromOwnHost(name));
  ASSERT_EQ(named.subprincipals().size(), 1u);
  ASSERT_OK_AND_ASSIGN(PublisherClaim claim,
                       ParsePublisher(named.subprincipals()[0]));
  EXPECT_EQ(claim.publisher_spki, off_curve);
}

TEST_F(PrincipalTest, PrintParsePrintIsStable) {
  Principal p = Sub(*key_, Subprincipal::Ext("a", "b"));
  auto once = Principal::Parse(p.text());
  ASSERT_THAT(once, IsOk());
  auto twice = Principal::Parse(once->text());
  ASSERT_THAT(twice, IsOk());
  EXPECT_EQ(twice->text(), p.text());
}

TEST_F(PrincipalTest, MaximumNameRoundTrips) {
  Principal p = *key_;
  for (size_t i = 0; i < kMaxSubprincipals; ++i) {
    p = Sub(p, Subprincipal::Ext("n", absl::StrCat(i)));
  }
  EXPECT_EQ(p.subprincipals().size(), kMaxSubprincipals);
  EXPECT_THAT(Principal::Parse(p.text()), IsOkAndHolds(p));
}

TEST_F(PrincipalTest, EqualityIsTextEquality) {
  Principal a = Sub(*key_, Subprincipal::Program(Digest('a')));
  auto a2 = Principal::Parse(a.text());
  ASSERT_THAT(a2, IsOk());
  EXPECT_TRUE(a == *a2);
  EXPECT_FALSE(a != *a2);
  EXPECT_FALSE(a < *a2 || *a2 < a);

  Principal b = Sub(*key_, Subprincipal::Program(Digest('b')));
  EXPECT_NE(a, b);
  EXPECT_EQ(a < b, a.text() < b.text());
  // Same subprincipal, different key.
  EXPECT_NE(a, Sub(*other_key_, Subprincipal::Program(Digest('a'))));
  // Same digest, different kind.
  EXPECT_NE(a, Sub(*key_, Subprincipal::Args(Digest('a'))));
  EXPECT_NE(a, *key_);
}

TEST_F(PrincipalTest, IsSelfOrSubprincipalOf) {
  Principal prog = Sub(*key_, Subprincipal::Program(Digest('p')));
  Principal child = Sub(prog, Subprincipal::Ext("role", "worker"));
  Principal sibling = Sub(*key_, Subprincipal::Program(Digest('q')));
  Principal other_prog = Sub(*other_key_, Subprincipal::Program(Digest('p')));

  EXPECT_TRUE(key_->IsSelfOrSubprincipalOf(*key_));
  EXPECT_TRUE(prog.IsSelfOrSubprincipalOf(prog));
  EXPECT_TRUE(prog.IsSelfOrSubprincipalOf(*key_));
  EXPECT_TRUE(child.IsSelfOrSubprincipalOf(prog));
  EXPECT_TRUE(child.IsSelfOrSubprincipalOf(*key_));

  EXPECT_FALSE(key_->IsSelfOrSubprincipalOf(prog));
  EXPECT_FALSE(prog.IsSelfOrSubprincipalOf(child));
  EXPECT_FALSE(sibling.IsSelfOrSubprincipalOf(prog));
  EXPECT_FALSE(Sub(sibling, Subprincipal::Ext("role", "worker"))
                   .IsSelfOrSubprincipalOf(prog));
  EXPECT_FALSE(other_prog.IsSelfOrSubprincipalOf(*key_));
  EXPECT_FALSE(prog.IsSelfOrSubprincipalOf(*other_key_));
  EXPECT_FALSE(other_prog.IsSelfOrSubprincipalOf(prog));
}

TEST_F(PrincipalTest, ExtendAppendsAndLeavesTheOriginal) {
  auto sub = Subprincipal::Program(Digest('z'));
  ASSERT_THAT(sub, IsOk());
  auto extended = key_->Extend(*sub);
  ASSERT_THAT(extended, IsOk());
  EXPECT_EQ(extended->text(),
            absl::StrCat(key_->text(), ".Program(", DigestArg('z'), ")"));
  EXPECT_THAT(extended->subprincipals(), ElementsAre(*sub));
  EXPECT_EQ(extended->key_spki(), key_->key_spki());
  EXPECT_TRUE(key_->subprincipals().empty());
  EXPECT_EQ(key_->text(), KeyText());
  EXPECT_EQ(extended->RootKey(), *key_);
}

TEST_F(PrincipalTest, ExtendRefusesTooManySubprincipals) {
  Principal p = *key_;
  for (size_t i = 0; i < kMaxSubprincipals; ++i) {
    p = Sub(p, Subprincipal::Ext("n", "1"));
  }
  auto sub = Subprincipal::Ext("n", "1");
  ASSERT_THAT(sub, IsOk());
  EXPECT_THAT(p.Extend(*sub),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("128")));
}

TEST_F(PrincipalTest, ExtendRefusesTooLongText) {
  Principal p = *key_;
  auto big = Subprincipal::Ext("big", std::string(1024, 'v'));
  ASSERT_THAT(big, IsOk());
  absl::Status status;
  size_t n = 0;
  while (status.ok() && n < kMaxSubprincipals) {
    auto next = p.Extend(*big);
    status = next.status();
    if (next.ok()) {
      p = *next;
      ++n;
    }
  }
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("size")));
  EXPECT_LE(p.text().size(), kMaxPrincipalTextSize);
  EXPECT_GT(p.text().size() + big->ToString().size() + 1,
            kMaxPrincipalTextSize);
  EXPECT_THAT(Principal::Parse(p.text()), IsOkAndHolds(p));
}

// --- Malformed text ---------------------------------------------------------

struct MalformedCase {
  std::string name;
  std::string text;
  size_t offset;    // where the message must say the problem is
  std::string why;  // a phrase the message must contain
};

class MalformedPrincipalTest : public PrincipalTest {
 protected:
  std::vector<MalformedCase> Cases() const {
    const std::string k = KeyText();
    const size_t kk = k.size();
    const std::string hex = HexEncode(Digest('\xab'));
    std::string plus = b64_;
    plus[40] = '+';
    std::string slash = b64_;
    slash[40] = '/';
    // The last character of a 91-byte encoding carries 2 data bits and 4
    // bits that must be zero; setting the lowest one is non-canonical.
    std::string noncanonical = b64_;
    const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    noncanonical.back() = alphabet[alphabet.find(b64_.back()) | 1];
    std::string hybrid = key_->key_spki();
    hybrid[26] = (hybrid[90] & 1) ? '\x07' : '\x06';
    std::string too_many = k;
    for (size_t i = 0; i <= kMaxSubprincipals; ++i) too_many += ".Ext(a:b)";

    return {
        {"Empty", "", 0, "must start with"},
        {"WrongPrefix", "key(rsa:" + b64_ + ")", 4, "must start with"},
        {"WrongPrefixCase", "Key(ecdsa-p256:" + b64_ + ")", 0,
         "must start with"},
        {"JustTheKind", "key", 3, "must start with"},
        {"MissingCloseParen", absl::StrCat(kPrefix, b64_), 15,
         "unterminated key"},
        {"Base64Padding", KeyTextWith(b64_ + "=="), 15, "'='"},
        {"Base64Plus", KeyTextWith(plus), 15, "'+'"},
        {"Base64Slash", KeyTextWith(slash), 15, "'/'"},
        {"Base64NonCanonicalTrailingBits", KeyTextWith(noncanonical), 15,
         "canonical"},
        {"Base64ImpossibleLength", KeyTextWith(b64_ + "AAA"), 15,
         "impossible length"},
        {"EmptyKey", KeyTextWith(""), 15, "SubjectPublicKeyInfo"},
        {"Base64NotSpki", KeyTextWith(Base64UrlEncode("hello, world")), 15,
         "not a DER SubjectPublicKeyInfo"},
        {"CompressedPointSpki",
         KeyTextWith(Base64UrlEncode(test::CompressedP256Spki())), 15,
         "uncompressed"},
        {"P384Spki", KeyTextWith(Base64UrlEncode(test::P384Spki())), 15,
         "P-256"},
        {"Ed25519Spki", KeyTextWith(Base64UrlEncode(test::Ed25519Spki())), 15,
         "elliptic-curve"},
        {"HybridPointSpki", KeyTextWith(Base64UrlEncode(hybrid)), 15,
         "uncompressed"},
        {"SpkiTrailingBytes",
         KeyTextWith(Base64UrlEncode(
             absl::StrCat(key_->key_spki(), std::string(1, '\0')))),
         15, "trailing"},
        {"MissingDot", k + "Program(sha256:" + hex + ")", kk, "expected '.'"},
        {"TrailingDot", k + ".", kk + 1, "A-Z"},
        {"LowercaseKind", k + ".program(sha256:" + hex + ")", kk + 1, "A-Z"},
        {"UnknownKind", k + ".Foo(sha256:" + hex + ")", kk + 1,
         "unknown subprincipal kind"},
        {"KindWithoutParen", k + ".Program", kk + 8, "expected '('"},
        {"UppercaseHex",
         k + ".Program(sha256:" + absl::AsciiStrToUpper(hex) + ")", kk + 1,
         "not lowercase hex"},
        {"NonHexDigest", k + ".Args(sha256:" + std::string(63, 'a') + "g)",
         kk + 1, "not lowercase hex"},
        {"ShortDigest", k + ".Program(sha256:" + hex.substr(2) + ")", kk + 1,
         "62 hex digits"},
        {"LongDigest", k + ".VM(sha256:" + hex + "00)", kk + 1,
         "66 hex digits"},
        {"MissingSha256Prefix", k + ".Enclave(" + hex + ")", kk + 1, "sha256:"},
        {"OtherDigestPrefix", k + ".Program(sha512:" + hex + ")", kk + 1,
         "sha256:"},
        {"NestedParen", k + ".Ext(a:(b))", kk + 7, "'(' inside"},
        {"UnterminatedArgument", k + ".Program(sha256:" + hex, kk + 9,
         "unterminated argument"},
        {"TrailingGarbage", k + ".Ext(a:b)xyz", kk + 9, "expected '.'"},
        {"TrailingParen", k + ")", kk, "expected '.'"},
        {"TrailingSpace", k + " ", kk, "expected '.'"},
        {"ExtMissingColon", k + ".Ext(ab)", kk + 1, "<label>:<value>"},
        {"ExtUppercaseLabel", k + ".Ext(Role:x)", kk + 1, "label"},
        {"ExtEmptyLabel", k + ".Ext(:x)", kk + 1, "label"},
        {"ExtBadLabelCharacter", k + ".Ext(ro.le:x)", kk + 1,
         "label character"},
        {"ExtLabelTooLong", k + ".Ext(" + std::string(65, 'l') + ":x)", kk + 1,
         "label"},
        {"ExtBadValueSpace", k + ".Ext(role:a b)", kk + 1, "value character"},
        {"ExtBadValueStar", k + ".Ext(role:a*b)", kk + 1, "value character"},
        {"ExtBadValueNonAscii", k + ".Ext(role:caf\xc3\xa9)", kk + 1,
         "value character"},
        {"ExtEmptyValue", k + ".Ext(role:)", kk + 1, "1-1024"},
        {"ExtValueTooLong", k + ".Ext(role:" + std::string(1025, 'v') + ")",
         kk + 1, "1-1024"},
        {"PublisherTwoParts", k + ".Publisher(ecdsa-p256:" + b64_ + ",prod)",
         kk + 1, "must hold"},
        {"PublisherFourParts",
         k + ".Publisher(ecdsa-p256:" + b64_ + ",prod,1,2)", kk + 1,
         "must hold"},
        {"PublisherOtherAlgorithm", k + ".Publisher(rsa:" + b64_ + ",prod,1)",
         kk + 1, "must hold"},
        {"PublisherBadBase64", k + ".Publisher(ecdsa-p256:" + plus + ",prod,1)",
         kk + 1, "base64url"},
        {"PublisherCompressedKey",
         k + ".Publisher(ecdsa-p256:" +
             Base64UrlEncode(test::CompressedP256Spki()) + ",prod,1)",
         kk + 1, "uncompressed"},
        {"PublisherEmptyProduct", k + ".Publisher(ecdsa-p256:" + b64_ + ",,1)",
         kk + 1, "product"},
        {"PublisherBadProductCharacter",
         k + ".Publisher(ecdsa-p256:" + b64_ + ",a:b,1)", kk + 1, "product"},
        {"PublisherProductTooLong",
         k + ".Publisher(ecdsa-p256:" + b64_ + "," + std::string(129, 'p') +
             ",1)",
         kk + 1, "product"},
        {"PublisherLeadingZeroVersion",
         k + ".Publisher(ecdsa-p256:" + b64_ + ",prod,01)", kk + 1, "version"},
        {"PublisherNegativeVersion",
         k + ".Publisher(ecdsa-p256:" + b64_ + ",prod,-1)", kk + 1, "version"},
        {"PublisherEmptyVersion",
         k + ".Publisher(ecdsa-p256:" + b64_ + ",prod,)", kk + 1, "version"},
        {"PublisherVersionOverflow",
         k + ".Publisher(ecdsa-p256:" + b64_ + ",prod,18446744073709551616)",
         kk + 1, "version"},
        {"PublisherFractionalVersion",
         k + ".Publisher(ecdsa-p256:" + b64_ + ",prod,1.0)", kk + 1, "version"},
        {"TooManySubprincipals", too_many, kk + kMaxSubprincipals * 9 + 1,
         "more than 128"},
    };
  }
};

TEST_F(MalformedPrincipalTest,
       EveryMalformedFormIsRejectedWithOffsetAndReason) {
  for (const MalformedCase& c : Cases()) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(Principal::Parse(c.text),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(absl::StrCat("offset ", c.offset)),
                               HasSubstr(c.why))));
  }
}

// ParseFromOwnHost has Parse's grammar: every malformed form is refused at
// the same offset (a key's reason may be worded by the encoding check).
TEST_F(MalformedPrincipalTest, FromOwnHostRefusesEveryMalformedFormToo) {
  for (const MalformedCase& c : Cases()) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(Principal::ParseFromOwnHost(c.text),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("offset ", c.offset))));
  }
}

TEST_F(MalformedPrincipalTest, TheHelperKeysReallyAreWhatTheyClaim) {
  // Guards the negative cases above: they must fail for the stated reason,
  // not because the helper made nothing.
  std::string compressed = test::CompressedP256Spki();
  ASSERT_EQ(compressed.size(), 59u);
  const unsigned char point_tag = static_cast<unsigned char>(compressed[26]);
  EXPECT_TRUE(point_tag == 0x02 || point_tag == 0x03) << int{point_tag};
  EXPECT_EQ(test::P384Spki().size(), 120u);
  EXPECT_FALSE(test::Ed25519Spki().empty());
}

// principal.h: "Returns kInvalidArgument naming the offset and the reason for
// anything else". The size check is the one error that names no offset.
TEST_F(MalformedPrincipalTest, TooLongTextSaysWhereAndWhy) {
  const std::string text =
      KeyText() + ".Ext(a:" + std::string(kMaxPrincipalTextSize, 'x') + ")";
  EXPECT_THAT(
      Principal::Parse(text),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr(absl::StrCat("offset ", kMaxPrincipalTextSize)),
                     HasSubstr("limit"))));
}

TEST_F(MalformedPrincipalTest, TooLongTextIsRejectedEvenIfWellFormed) {
  // Well-formed apart from its size: 31 subprincipals of ~1 KiB each.
  std::string text = KeyText();
  while (text.size() <= kMaxPrincipalTextSize) {
    text += ".Ext(big:" + std::string(1024, 'v') + ")";
  }
  EXPECT_THAT(Principal::Parse(text),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
}

// --- Subprincipal -----------------------------------------------------------

TEST(SubprincipalTest, FactoriesMakeCanonicalText) {
  EXPECT_THAT(
      Subprincipal::Program(Digest('\x00')),
      IsOkAndHolds(Property(&Subprincipal::ToString,
                            "Program(sha256:" + std::string(64, '0') + ")")));
  EXPECT_THAT(
      Subprincipal::Args(Digest('\xff')),
      IsOkAndHolds(Property(&Subprincipal::ToString,
                            "Args(sha256:" + std::string(64, 'f') + ")")));
  EXPECT_THAT(Subprincipal::Vm(Digest('\x11')),
              IsOkAndHolds(Property(&Subprincipal::kind, "VM")));
  EXPECT_THAT(
      Subprincipal::Enclave(Digest('\x11')),
      IsOkAndHolds(Property(&Subprincipal::argument, DigestArg('\x11'))));
  EXPECT_THAT(
      Subprincipal::Ext("role", "admin"),
      IsOkAndHolds(Property(&Subprincipal::ToString, "Ext(role:admin)")));
}

TEST(SubprincipalTest, FactoriesRejectBadInput) {
  for (size_t size : {0, 16, 31, 33, 64}) {
    std::string digest(size, 'x');
    EXPECT_THAT(Subprincipal::Program(digest),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(Subprincipal::Args(digest),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(Subprincipal::Vm(digest),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(Subprincipal::Enclave(digest),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(Subprincipal::Ext("", "v"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Subprincipal::Ext("_x", "v"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Subprincipal::Ext(std::string(64, 'a'), "v"), IsOk());
  EXPECT_THAT(Subprincipal::Ext(std::string(65, 'a'), "v"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Subprincipal::Ext("a", std::string(1024, 'v')), IsOk());
  EXPECT_THAT(Subprincipal::Ext("a", std::string(1025, 'v')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Subprincipal::Ext("a", "x)"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Subprincipal::Ext("a", "x("),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Subprincipal::Create("Ext", "a:b"), IsOk());
  EXPECT_THAT(
      Subprincipal::Create("Prog", DigestArg('a')),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown")));
}

TEST(SubprincipalTest, PublisherBounds) {
  ASSERT_OK_AND_ASSIGN(SigningKey key, SigningKey::Generate());
  const VerifyingKey& pub = key.verifying_key();
  EXPECT_THAT(Subprincipal::Publisher(pub, "p", 0), IsOk());
  EXPECT_THAT(Subprincipal::Publisher(pub, std::string(128, 'p'), ~uint64_t{0}),
              IsOk());
  EXPECT_THAT(Subprincipal::Publisher(pub, "", 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Subprincipal::Publisher(pub, std::string(129, 'p'), 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Subprincipal::Publisher(pub, "a,b", 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Subprincipal::Publisher(pub, "a)b", 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(Subprincipal max,
                       Subprincipal::Publisher(pub, "prod", ~uint64_t{0}));
  EXPECT_THAT(ParsePublisher(max),
              IsOkAndHolds(Field(&PublisherClaim::version, ~uint64_t{0})));
  EXPECT_THAT(Subprincipal::Parse(max.ToString()), IsOkAndHolds(max));
}

TEST(SubprincipalTest, ParsePublisherAndMeasurementKinds) {
  ASSERT_OK_AND_ASSIGN(Subprincipal program,
                       Subprincipal::Program(Digest('a')));
  ASSERT_OK_AND_ASSIGN(Subprincipal args, Subprincipal::Args(Digest('a')));
  ASSERT_OK_AND_ASSIGN(Subprincipal vm, Subprincipal::Vm(Digest('a')));
  ASSERT_OK_AND_ASSIGN(Subprincipal enclave,
                       Subprincipal::Enclave(Digest('a')));
  ASSERT_OK_AND_ASSIGN(Subprincipal ext, Subprincipal::Ext("a", "b"));
  ASSERT_OK_AND_ASSIGN(SigningKey key, SigningKey::Generate());
  ASSERT_OK_AND_ASSIGN(Subprincipal publisher,
                       Subprincipal::Publisher(key.verifying_key(), "prod", 3));
  EXPECT_TRUE(IsMeasurementKind(program));
  EXPECT_TRUE(IsMeasurementKind(vm));
  EXPECT_TRUE(IsMeasurementKind(enclave));
  EXPECT_FALSE(IsMeasurementKind(args));
  EXPECT_FALSE(IsMeasurementKind(ext));
  EXPECT_FALSE(IsMeasurementKind(publisher));
  EXPECT_THAT(ParsePublisher(program),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePublisher(ext),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(PublisherClaim claim, ParsePublisher(publisher));
  EXPECT_EQ(claim.publisher_spki, key.verifying_key().spki());
  EXPECT_EQ(claim.product, "prod");
  EXPECT_EQ(claim.version, 3u);
}

TEST(SubprincipalTest, ParseWithAndWithoutLeadingDot) {
  const std::string text = "Program(" + DigestArg('\x5a') + ")";
  auto expected = Subprincipal::Program(Digest('\x5a'));
  ASSERT_THAT(expected, IsOk());
  EXPECT_THAT(Subprincipal::Parse(text), IsOkAndHolds(*expected));
  EXPECT_THAT(Subprincipal::Parse("." + text), IsOkAndHolds(*expected));
  EXPECT_THAT(Subprincipal::Parse("Ext(k:v)"),
              IsOkAndHolds(Property(&Subprincipal::ToString, "Ext(k:v)")));
  EXPECT_THAT(Subprincipal::Parse(".Ext(k:v)"),
              IsOkAndHolds(Property(&Subprincipal::ToString, "Ext(k:v)")));
}

TEST(SubprincipalTest, ParseRejectsMalformed) {
  const std::string text = "Program(" + DigestArg('\x5a') + ")";
  const auto invalid = [](absl::string_view offset_and_reason) {
    return StatusIs(absl::StatusCode::kInvalidArgument,
                    HasSubstr(offset_and_reason));
  };
  EXPECT_THAT(Subprincipal::Parse(""), invalid("offset 0"));
  EXPECT_THAT(Subprincipal::Parse("."), invalid("offset 1"));
  EXPECT_THAT(Subprincipal::Parse(".." + text), invalid("offset 1"));
  EXPECT_THAT(Subprincipal::Parse(text + "x"),
              invalid(absl::StrCat("offset ", text.size())));
  EXPECT_THAT(Subprincipal::Parse(text + "." + text),
              invalid(absl::StrCat("offset ", text.size())));
  EXPECT_THAT(Subprincipal::Parse(" " + text), invalid("offset 0"));
  EXPECT_THAT(Subprincipal::Parse("Ext(a:b"), invalid("unterminated"));
  EXPECT_THAT(Subprincipal::Parse("Ext(a:(b))"), invalid("offset 6"));
  EXPECT_THAT(Subprincipal::Parse("ext(a:b)"), invalid("A-Z"));
  EXPECT_THAT(Subprincipal::Parse("Nope(a:b)"),
              invalid("unknown subprincipal kind"));
}

}  // namespace
}  // namespace tao
