#include "seal_policy/codec.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "seal_policy/seal_policy.pb.h"
#include "tao/crypto.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::IsOkAndHolds;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

SealPolicy AllOfPolicy(const std::vector<SealPolicy>& children) {
  SealPolicy p;
  auto* all = p.mutable_all_of();
  for (const SealPolicy& c : children) *all->add_policies() = c;
  return p;
}

SealPolicy AnyOfPolicy(const std::vector<SealPolicy>& children) {
  SealPolicy p;
  auto* any = p.mutable_any_of();
  for (const SealPolicy& c : children) *any->add_policies() = c;
  return p;
}

// `leaf` wrapped in `levels` AllOf(...) layers.
SealPolicy Nested(int levels, const SealPolicy& leaf) {
  SealPolicy p = leaf;
  for (int i = 0; i < levels; ++i) p = AllOfPolicy({p});
  return p;
}

std::string NestedText(int levels, absl::string_view leaf) {
  std::string text(leaf);
  for (int i = 0; i < levels; ++i) text = absl::StrCat("AllOf(", text, ")");
  return text;
}

// Two policies are equal when their (deterministic) serializations are.
std::string Bytes(const SealPolicy& p) {
  std::string out;
  EXPECT_TRUE(p.SerializeToString(&out));
  return out;
}

class SealPolicyCodecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = SigningKey::Generate();
    ASSERT_THAT(key, IsOk());
    key_ = Principal::ForKey(key->verifying_key());
  }

  const std::string& KeyText() const { return key_->text(); }

  // Encode -> Decode -> Encode must give the same bytes, and Decode must give
  // back the same policy.
  void ExpectRoundTrip(const SealPolicy& policy,
                       absl::string_view expected_text) {
    auto text = EncodeSealPolicy(policy);
    ASSERT_THAT(text, IsOk());
    if (!expected_text.empty()) {
      EXPECT_EQ(*text, expected_text);
    }
    auto decoded = DecodeSealPolicy(*text);
    ASSERT_THAT(decoded, IsOk()) << *text;
    EXPECT_EQ(Bytes(*decoded), Bytes(policy)) << *text;
    EXPECT_THAT(EncodeSealPolicy(*decoded), IsOkAndHolds(*text));
  }

  // Decode must refuse `text` with kInvalidArgument naming `offset`.
  void ExpectRejectedAt(absl::string_view text, size_t offset,
                        absl::string_view why = "") {
    SCOPED_TRACE(absl::StrCat("input: '", text, "'"));
    EXPECT_THAT(
        DecodeSealPolicy(text),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 testing::AllOf(HasSubstr(absl::StrCat("offset ", offset, ":")),
                                HasSubstr(std::string(why)))));
  }

  std::optional<Principal> key_;
};

TEST_F(SealPolicyCodecTest, SimpleKindsRoundTrip) {
  ExpectRoundTrip(SameProgramPolicy(), "SameProgram");
  ExpectRoundTrip(SameMeasurementPolicy(), "SameMeasurement");
  ExpectRoundTrip(SameHostPolicy(), "SameHost");
  ExpectRoundTrip(DomainRulePolicy("db-creds"), "DomainRule(db-creds)");
  ExpectRoundTrip(DomainRulePolicy("team:a/b.c_d-9"),
                  "DomainRule(team:a/b.c_d-9)");
  ExpectRoundTrip(DomainRulePolicy(std::string(128, 'x')),
                  absl::StrCat("DomainRule(", std::string(128, 'x'), ")"));
}

TEST_F(SealPolicyCodecTest, SameSignerRoundTrips) {
  ExpectRoundTrip(SameSignerPolicy(KeyText(), "demo-secret", 1),
                  absl::StrCat("SameSigner(", KeyText(), ",demo-secret,1)"));
  ExpectRoundTrip(SameSignerPolicy(KeyText(), "A.b_C-9", 0),
                  absl::StrCat("SameSigner(", KeyText(), ",A.b_C-9,0)"));
  ExpectRoundTrip(
      SameSignerPolicy(KeyText(), std::string(128, 'p'),
                       std::numeric_limits<uint64_t>::max()),
      absl::StrCat("SameSigner(", KeyText(), ",", std::string(128, 'p'),
                   ",18446744073709551615)"));
}

TEST_F(SealPolicyCodecTest, NestedAllOfAnyOfRoundTrip) {
  SealPolicy signer = SameSignerPolicy(KeyText(), "demo", 7);
  ExpectRoundTrip(
      AllOfPolicy({SameProgramPolicy(), signer}),
      absl::StrCat("AllOf(SameProgram,SameSigner(", KeyText(), ",demo,7))"));
  ExpectRoundTrip(
      AnyOfPolicy({AllOfPolicy({SameHostPolicy(), DomainRulePolicy("db")}),
                   SameMeasurementPolicy(), AnyOfPolicy({signer})}),
      absl::StrCat(
          "AnyOf(AllOf(SameHost,DomainRule(db)),SameMeasurement,AnyOf(",
          "SameSigner(", KeyText(), ",demo,7)))"));
  ExpectRoundTrip(AllOfPolicy({SameProgramPolicy()}), "AllOf(SameProgram)");
  ExpectRoundTrip(AnyOfPolicy({SameProgramPolicy()}), "AnyOf(SameProgram)");
}

TEST_F(SealPolicyCodecTest, LimitsAreInclusive) {
  // 16 levels of nesting and 64 children are allowed.
  ExpectRoundTrip(Nested(kMaxSealPolicyDepth, SameHostPolicy()),
                  NestedText(kMaxSealPolicyDepth, "SameHost"));
  std::vector<SealPolicy> children(kMaxSealPolicyChildren, SameHostPolicy());
  std::vector<std::string> texts(kMaxSealPolicyChildren, "SameHost");
  ExpectRoundTrip(AnyOfPolicy(children),
                  absl::StrCat("AnyOf(", absl::StrJoin(texts, ","), ")"));
  ExpectRoundTrip(AllOfPolicy(children),
                  absl::StrCat("AllOf(", absl::StrJoin(texts, ","), ")"));
}

// Random trees of every kind round trip byte for byte.
TEST_F(SealPolicyCodecTest, RandomTreesRoundTrip) {
  std::mt19937 rng(20240611);
  std::function<SealPolicy(int)> make = [&](int depth) -> SealPolicy {
    int kind = static_cast<int>(rng() % (depth >= 5 ? 5 : 7));
    switch (kind) {
      case 0:
        return SameProgramPolicy();
      case 1:
        return SameMeasurementPolicy();
      case 2:
        return SameHostPolicy();
      case 3:
        return SameSignerPolicy(KeyText(), absl::StrCat("p", rng() % 1000),
                                rng() % 3 == 0 ? 0 : rng());
      case 4:
        return DomainRulePolicy(absl::StrCat("l:", rng() % 1000));
      default: {
        std::vector<SealPolicy> children;
        int n = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < n; ++i) children.push_back(make(depth + 1));
        return kind == 5 ? AllOfPolicy(children) : AnyOfPolicy(children);
      }
    }
  };
  for (int i = 0; i < 200; ++i) {
    SCOPED_TRACE(i);
    ExpectRoundTrip(make(0), "");
  }
}

TEST_F(SealPolicyCodecTest, EncodeRejectsPoliciesWithoutEncoding) {
  using absl::StatusCode;
  EXPECT_THAT(EncodeSealPolicy(SealPolicy()),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("no kind")));
  SealPolicy empty_all;
  empty_all.mutable_all_of();
  EXPECT_THAT(EncodeSealPolicy(empty_all),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("AllOf")));
  SealPolicy empty_any;
  empty_any.mutable_any_of();
  EXPECT_THAT(EncodeSealPolicy(empty_any),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("AnyOf")));
  // An unset kind or empty AllOf nested inside a valid one.
  EXPECT_THAT(EncodeSealPolicy(AnyOfPolicy({SameHostPolicy(), SealPolicy()})),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(EncodeSealPolicy(AnyOfPolicy({SameHostPolicy(), empty_all})),
              StatusIs(StatusCode::kInvalidArgument));
  // Signers, products and labels.
  EXPECT_THAT(EncodeSealPolicy(SameSignerPolicy("", "demo", 1)),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("signer")));
  EXPECT_THAT(EncodeSealPolicy(SameSignerPolicy("demo", "demo", 1)),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("signer")));
  Principal with_sub =
      *key_->Extend(*Subprincipal::Program(std::string(kSha256Size, 'a')));
  EXPECT_THAT(EncodeSealPolicy(SameSignerPolicy(with_sub.text(), "demo", 1)),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("bare key")));
  for (const std::string& product :
       {std::string(""), std::string("de mo"), std::string("demo,1"),
        std::string("a/b"), std::string("a:b"), std::string("(x)"),
        std::string(129, 'p')}) {
    EXPECT_THAT(EncodeSealPolicy(SameSignerPolicy(KeyText(), product, 1)),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr("product")))
        << product;
  }
  for (const std::string& label :
       {std::string(""), std::string("db creds"), std::string("a,b"),
        std::string("a)"), std::string("a(b"), std::string("caf\xc3\xa9"),
        std::string(129, 'l')}) {
    EXPECT_THAT(EncodeSealPolicy(DomainRulePolicy(label)),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr("label")))
        << label;
  }
}

TEST_F(SealPolicyCodecTest, EncodeEnforcesDepthAndChildLimits) {
  EXPECT_THAT(
      EncodeSealPolicy(Nested(kMaxSealPolicyDepth + 1, SameHostPolicy())),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("deeper")));
  std::vector<SealPolicy> children(kMaxSealPolicyChildren + 1,
                                   SameHostPolicy());
  EXPECT_THAT(EncodeSealPolicy(AllOfPolicy(children)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("64")));
  EXPECT_THAT(EncodeSealPolicy(AnyOfPolicy(children)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("64")));
}

// An AnyOf of AnyOfs of DomainRule leaves whose encoding is exactly `size`
// bytes (size must be in roughly [63300, 69000]).
SealPolicy PolicyOfSize(size_t size) {
  // A full group: AnyOf( 64 x DomainRule(<128 x l>) ) = 6 + 64*140 + 63 + 1.
  constexpr size_t kFullGroup = 9030;
  constexpr int kFullGroups = 7;
  std::vector<SealPolicy> leaves(64, DomainRulePolicy(std::string(128, 'l')));
  std::vector<SealPolicy> groups(kFullGroups, AnyOfPolicy(leaves));
  // Outer: "AnyOf(" + groups joined by ',' + ")", one more (partial) group.
  size_t used = 6 + 1 + kFullGroups * (kFullGroup + 1);
  size_t partial = size - used;  // 6 + m*13 + sum(label lengths) + 1 - 1
  for (size_t m = 1; m <= 64; ++m) {
    if (partial < 6 + 14 * m || partial > 6 + 141 * m) continue;
    size_t labels = partial - 6 - 13 * m;
    std::vector<SealPolicy> part;
    for (size_t i = 0; i < m; ++i) {
      size_t len = labels / (m - i);
      if (len > 128) len = 128;
      labels -= len;
      part.push_back(DomainRulePolicy(std::string(len, 'q')));
    }
    groups.push_back(AnyOfPolicy(part));
    return AnyOfPolicy(groups);
  }
  ADD_FAILURE() << "no policy of size " << size;
  return SameHostPolicy();
}

TEST_F(SealPolicyCodecTest, SixtyFourKibibytesIsTheLimit) {
  auto exact = EncodeSealPolicy(PolicyOfSize(kMaxSealPolicyTextSize));
  ASSERT_THAT(exact, IsOk());
  ASSERT_EQ(exact->size(), kMaxSealPolicyTextSize);
  EXPECT_THAT(DecodeSealPolicy(*exact), IsOk());

  SealPolicy over = PolicyOfSize(kMaxSealPolicyTextSize + 1);
  EXPECT_THAT(
      EncodeSealPolicy(over),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("64 KiB")));
  // The same text, one byte longer, is refused by Decode.
  std::string longer = *exact;
  longer.insert(longer.find("qq"), "q");
  ASSERT_EQ(longer.size(), kMaxSealPolicyTextSize + 1);
  EXPECT_THAT(
      DecodeSealPolicy(longer),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("64 KiB")));
  EXPECT_THAT(
      DecodeSealPolicy(std::string(1 << 20, 'A')),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("64 KiB")));
}

TEST_F(SealPolicyCodecTest, DecodeRejectsEmpty) {
  EXPECT_THAT(DecodeSealPolicy(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
}

TEST_F(SealPolicyCodecTest, DecodeRejectsWhitespaceAnywhere) {
  ExpectRejectedAt(" SameProgram", 0, "unknown policy kind");
  // A bare kind runs to the next '(', ')' or ',', so the trailing byte is part
  // of an unknown kind.
  ExpectRejectedAt("SameProgram ", 0, "unknown policy kind 'SameProgram '");
  ExpectRejectedAt("SameProgram\n", 0, "unknown policy kind 'SameProgram\\n'");
  ExpectRejectedAt("Same Program", 0, "unknown policy kind");
  ExpectRejectedAt("AllOf (SameProgram)", 0, "unknown policy kind");
  ExpectRejectedAt("AllOf( SameProgram)", 6, "unknown policy kind");
  ExpectRejectedAt("AllOf(SameProgram ,SameHost)", 6, "unknown policy kind");
  ExpectRejectedAt("AllOf(SameProgram, SameHost)", 18, "unknown policy kind");
  ExpectRejectedAt("AllOf(SameProgram,SameHost )", 18, "unknown policy kind");
  ExpectRejectedAt("AllOf(SameProgram)\t", 18, "trailing");
  ExpectRejectedAt("DomainRule( db)", 11, "label");
  ExpectRejectedAt("DomainRule(db )", 11, "label");
  const size_t k = KeyText().size();
  ExpectRejectedAt(absl::StrCat("SameSigner( ", KeyText(), ",demo,1)"), 11,
                   "key(");
  ExpectRejectedAt(absl::StrCat("SameSigner(", KeyText(), ", demo,1)"), 12 + k,
                   "product");
  ExpectRejectedAt(absl::StrCat("SameSigner(", KeyText(), ",demo, 1)"), 17 + k,
                   "min_version");
  ExpectRejectedAt(absl::StrCat("SameSigner(", KeyText(), ",demo,1 )"), 17 + k,
                   "min_version");
}

TEST_F(SealPolicyCodecTest, DecodeRejectsOtherSpellingsAndUnknownKinds) {
  ExpectRejectedAt("sameprogram", 0, "unknown policy kind");
  ExpectRejectedAt("SAMEPROGRAM", 0, "unknown policy kind");
  ExpectRejectedAt("Sameprogram", 0, "unknown policy kind");
  ExpectRejectedAt("allOf(SameProgram)", 0, "unknown policy kind");
  ExpectRejectedAt("SameHostStates", 0, "unknown policy kind");
  // SameHostState is a kind now (tpm2 roots); bare, it lacks its state.
  ExpectRejectedAt("SameHostState", 13, "expected '('");
  ExpectRejectedAt("SameProgramSameHost", 0, "unknown policy kind");
  ExpectRejectedAt("AllOf(SameHost,Nobody)", 15, "unknown policy kind");
  ExpectRejectedAt("domainrule(db)", 0, "unknown policy kind");
  ExpectRejectedAt(std::string("Same\0Program", 12), 0, "unknown policy kind");
}

TEST_F(SealPolicyCodecTest, DecodeRejectsMissingParensAndTrailingBytes) {
  ExpectRejectedAt("DomainRule", 10, "expected '('");
  ExpectRejectedAt("DomainRule(db", 13, "expected ')'");
  ExpectRejectedAt("DomainRule(db))", 14, "trailing");
  ExpectRejectedAt("AllOf", 5, "expected '('");
  ExpectRejectedAt("AnyOf(SameHost", 14, "expected ')'");
  ExpectRejectedAt("AnyOf(SameHost))", 15, "trailing");
  ExpectRejectedAt("SameSigner", 10, "expected '('");
  ExpectRejectedAt("SameProgram()", 11, "trailing");
  ExpectRejectedAt("SameProgram,SameHost", 11, "trailing");
  ExpectRejectedAt("SameProgram)", 11, "trailing");
  ExpectRejectedAt(std::string("SameProgram\0", 12), 0, "unknown policy kind");
  const size_t k = KeyText().size();
  ExpectRejectedAt(absl::StrCat("SameSigner(", KeyText(), ",demo,1"), 18 + k,
                   "expected ')'");
  ExpectRejectedAt(absl::StrCat("SameSigner(", KeyText(), ",demo,1)x"), 19 + k,
                   "trailing");
  ExpectRejectedAt(absl::StrCat("SameSigner(", KeyText(), ",demo)"), 16 + k,
                   "expected ','");
  ExpectRejectedAt(absl::StrCat("SameSigner(", KeyText(), ")"), 11 + k,
                   "expected ','");
  ExpectRejectedAt(absl::StrCat("SameSigner(", KeyText(), ",demo,1,2)"), 18 + k,
                   "expected ')'");
}

TEST_F(SealPolicyCodecTest, DecodeRejectsEmptyAndDanglingChildLists) {
  ExpectRejectedAt("AllOf()", 6, "unknown policy kind ''");
  ExpectRejectedAt("AnyOf()", 6, "unknown policy kind ''");
  ExpectRejectedAt("AllOf(", 6, "unknown policy kind ''");
  ExpectRejectedAt("AllOf(SameHost,)", 15, "unknown policy kind ''");
  ExpectRejectedAt("AllOf(,SameHost)", 6, "unknown policy kind ''");
  ExpectRejectedAt("AllOf(SameHost,,SameHost)", 15, "unknown policy kind ''");
  ExpectRejectedAt("AllOf(AnyOf())", 12, "unknown policy kind ''");
}

TEST_F(SealPolicyCodecTest, DecodeRejectsNonCanonicalVersions) {
  const size_t at = 17 + KeyText().size();
  for (const std::string& version :
       {std::string("01"), std::string("00"), std::string("007"),
        std::string(""), std::string("-1"), std::string("+1"),
        std::string("0x1"), std::string("1e3"), std::string("1.0"),
        std::string("18446744073709551616"),
        std::string("99999999999999999999"),
        std::string("100000000000000000000"),
        std::string("000000000000000000001")}) {
    ExpectRejectedAt(
        absl::StrCat("SameSigner(", KeyText(), ",demo,", version, ")"), at,
        "min_version");
  }
  EXPECT_THAT(DecodeSealPolicy(absl::StrCat("SameSigner(", KeyText(),
                                            ",demo,18446744073709551615)")),
              IsOk());
  EXPECT_THAT(
      DecodeSealPolicy(absl::StrCat("SameSigner(", KeyText(), ",demo,0)")),
      IsOk());
}

TEST_F(SealPolicyCodecTest, DecodeRejectsBadSigners) {
  // Not a key at all.
  ExpectRejectedAt("SameSigner(demo,demo,1)", 11, "key(");
  ExpectRejectedAt("SameSigner(,demo,1)", 11, "key(");
  // A key principal that does not parse (bad base64, wrong key type).
  ExpectRejectedAt("SameSigner(key(ecdsa-p256:AAAA),demo,1)", 11, "signer");
  ExpectRejectedAt("SameSigner(key(rsa:AAAA),demo,1)", 11, "signer");
  ExpectRejectedAt("SameSigner(key(),demo,1)", 11, "signer");
  // A key with subprincipals: only a bare key is a signer.
  Principal with_sub =
      *key_->Extend(*Subprincipal::Program(std::string(kSha256Size, 'a')));
  ExpectRejectedAt(absl::StrCat("SameSigner(", with_sub.text(), ",demo,1)"),
                   11 + KeyText().size(), "expected ','");
  // A non-canonical key encoding (base64 with padding) is refused.
  std::string padded = KeyText();
  padded.insert(padded.size() - 1, "=");
  ExpectRejectedAt(absl::StrCat("SameSigner(", padded, ",demo,1)"), 11,
                   "signer");
}

TEST_F(SealPolicyCodecTest, DecodeRejectsBadProductsAndLabels) {
  const size_t at = 12 + KeyText().size();
  for (const std::string& product :
       {std::string(""), std::string("de mo"), std::string("a/b"),
        std::string("a:b"), std::string("caf\xc3\xa9"),
        std::string(129, 'p')}) {
    ExpectRejectedAt(
        absl::StrCat("SameSigner(", KeyText(), ",", product, ",1)"), at,
        "product");
  }
  for (const std::string& label :
       {std::string(""), std::string("db creds"), std::string("a*"),
        std::string("caf\xc3\xa9"), std::string(129, 'l'),
        std::string("a\tb")}) {
    ExpectRejectedAt(absl::StrCat("DomainRule(", label, ")"), 11, "label");
  }
  ExpectRejectedAt("DomainRule(a(b))", 12, "expected ')'");
  ExpectRejectedAt("DomainRule(a,b)", 12, "expected ')'");
}

TEST_F(SealPolicyCodecTest, DecodeRejectsTooDeepNesting) {
  EXPECT_THAT(DecodeSealPolicy(NestedText(kMaxSealPolicyDepth, "SameHost")),
              IsOk());
  ExpectRejectedAt(NestedText(kMaxSealPolicyDepth + 1, "SameHost"),
                   6 * (kMaxSealPolicyDepth + 1), "deeper");
  // Deep nesting that would exhaust the stack is refused quickly.
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "AnyOf(";
  EXPECT_THAT(
      DecodeSealPolicy(deep),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("deeper")));
}

TEST_F(SealPolicyCodecTest, DecodeRejectsTooManyChildren) {
  std::vector<std::string> children(kMaxSealPolicyChildren + 1, "SameHost");
  ExpectRejectedAt(absl::StrCat("AllOf(", absl::StrJoin(children, ","), ")"),
                   6 + 9 * kMaxSealPolicyChildren, "more than 64");
  ExpectRejectedAt(absl::StrCat("AnyOf(", absl::StrJoin(children, ","), ")"),
                   6 + 9 * kMaxSealPolicyChildren, "more than 64");
}

// One request's cost is bounded by its leaves, however they nest: a 64 x 64
// tree of short DomainRule leaves fits in 64 KiB but has 4096 leaves.
TEST_F(SealPolicyCodecTest, TooManyLeavesAreRefusedAtDecodeAndEncode) {
  std::vector<std::string> row(64, "DomainRule(a)");
  std::vector<std::string> rows(
      64, absl::StrCat("AnyOf(", absl::StrJoin(row, ","), ")"));
  std::string wide = absl::StrCat("AnyOf(", absl::StrJoin(rows, ","), ")");
  ASSERT_LT(wide.size(), kMaxSealPolicyTextSize);
  EXPECT_THAT(DecodeSealPolicy(wide),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 512 leaves")));
  // Exactly the bound is accepted; one more is refused at the extra leaf.
  std::vector<std::string> eight(
      8, absl::StrCat("AnyOf(", absl::StrJoin(row, ","), ")"));
  std::string bound = absl::StrCat("AnyOf(", absl::StrJoin(eight, ","), ")");
  EXPECT_THAT(DecodeSealPolicy(bound), IsOk());
  std::string over =
      absl::StrCat("AnyOf(", absl::StrJoin(eight, ","), ",SameHost)");
  ExpectRejectedAt(over, over.size() - 9, "more than 512 leaves");
  std::vector<SealPolicy> leaves(64, DomainRulePolicy("a"));
  std::vector<SealPolicy> groups(8, AnyOfPolicy(leaves));
  EXPECT_THAT(EncodeSealPolicy(AnyOfPolicy(groups)), IsOk());
  groups.push_back(SameHostPolicy());
  EXPECT_THAT(EncodeSealPolicy(AnyOfPolicy(groups)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 512 leaves")));
}

// Decode accepts only what Encode produces: every accepted input re-encodes
// to itself, for inputs made by mutating valid encodings byte by byte.
TEST_F(SealPolicyCodecTest, EveryAcceptedMutationIsCanonical) {
  const std::string base =
      absl::StrCat("AnyOf(AllOf(SameHost,DomainRule(db:x)),", "SameSigner(",
                   KeyText(), ",demo,10),SameProgram)");
  ASSERT_THAT(DecodeSealPolicy(base), IsOk());
  const std::string alphabet = std::string("(),.:-_ 0aAzZ\n\x01\xff", 17);
  int accepted = 0;
  for (size_t i = 0; i < base.size(); ++i) {
    for (char c : alphabet) {
      for (int op = 0; op < 3; ++op) {
        std::string m = base;
        if (op == 0) {
          m[i] = c;
        } else if (op == 1) {
          m.insert(i, 1, c);
        } else {
          m.erase(i, 1);
        }
        auto decoded = DecodeSealPolicy(m);
        if (!decoded.ok()) {
          EXPECT_THAT(decoded, StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("offset")));
          continue;
        }
        ++accepted;
        EXPECT_THAT(EncodeSealPolicy(*decoded), IsOkAndHolds(m));
      }
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace tao
