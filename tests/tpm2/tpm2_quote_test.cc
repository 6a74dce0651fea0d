// The TPM 2.0 formats without a TPM: a software P-256 key stands in for the
// attestation key and signs hand-built TPMS_ATTEST bytes, so every check of
// the verifier can be made to fail on its own.
#include "tao/tpm2_quote.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "seal_policy/codec.h"
#include "seal_policy/evaluator.h"
#include "tao/attestation.h"
#include "tao/byte_reader.h"
#include "tao/clock.h"
#include "tao/crypto.h"
#include "tao/principal.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

std::string Sized(absl::string_view b) {
  std::string out;
  AppendU16(static_cast<uint16_t>(b.size()), &out);
  out.append(b.data(), b.size());
  return out;
}

PcrValues TwoPcrs() {
  return {{16, std::string(32, '\0')}, {23, std::string(32, '\x17')}};
}

// A TPMS_ATTEST of a quote over `pcrs` with `extra`.
std::string Attest(absl::string_view extra, const PcrValues& pcrs,
                   uint32_t magic = kTpm2GeneratedValue,
                   uint16_t type = kTpm2StAttestQuote) {
  std::vector<uint32_t> indices;
  for (const auto& [i, v] : pcrs) indices.push_back(i);
  std::string out;
  AppendU32(magic, &out);
  AppendU16(type, &out);
  out += Sized("\x00\x0b" + std::string(32, 'n'));
  out += Sized(extra);
  AppendU64(12345, &out);
  AppendU32(1, &out);
  AppendU32(0, &out);
  out.push_back('\x01');
  AppendU64(7, &out);
  out += MarshalPcrSelection(indices);
  out += Sized(PcrCompositeDigest(pcrs));
  return out;
}

class Tpm2QuoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ak = SigningKey::Generate();
    ASSERT_TRUE(ak.ok());
    ak_.emplace(*std::move(ak));
  }
  std::string Sign(absl::string_view attest) {
    return *ak_->SignForeignFormat(attest);
  }
  absl::Status Verify(absl::string_view attest, absl::string_view sig,
                      absl::string_view extra, const PcrValues& pcrs) {
    return VerifyTpm2Quote(ak_->verifying_key().spki(), attest, sig, extra,
                           pcrs);
  }
  std::optional<SigningKey> ak_;
};

TEST_F(Tpm2QuoteTest, AGoodQuoteVerifies) {
  const std::string attest = Attest("qd", TwoPcrs());
  EXPECT_THAT(Verify(attest, Sign(attest), "qd", TwoPcrs()), IsOk());
}

TEST_F(Tpm2QuoteTest, EachCheckSaysWhichFailed) {
  const std::string good = Attest("qd", TwoPcrs());
  auto fails = [&](const std::string& attest, absl::string_view extra,
                   const PcrValues& pcrs, absl::string_view check) {
    absl::Status s = Verify(attest, Sign(attest), extra, pcrs);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated));
    EXPECT_THAT(std::string(s.message()), HasSubstr(check));
  };
  fails(Attest("qd", TwoPcrs(), 0x12345678), "qd", TwoPcrs(), "quote magic");
  fails(Attest("qd", TwoPcrs(), kTpm2GeneratedValue, 0x8017), "qd", TwoPcrs(),
        "quote type");
  fails(good, "other", TwoPcrs(), "quote qualifying data");
  PcrValues fewer = {{16, std::string(32, '\0')}};
  fails(good, "qd", fewer, "quote PCR selection");
  PcrValues changed = TwoPcrs();
  changed[23][0] ^= 1;
  fails(good, "qd", changed, "quote PCR digest");
  absl::Status s = Verify(good, Sign(good + "x"), "qd", TwoPcrs());
  EXPECT_THAT(std::string(s.message()), HasSubstr("quote signature"));
}

TEST_F(Tpm2QuoteTest, MalformedBytesAreErrorsNotCrashes) {
  const std::string good = Attest("qd", TwoPcrs());
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_THAT(ParseTpm2Quote(good.substr(0, n)),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << n;
  }
  EXPECT_THAT(ParseTpm2Quote(good + "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(Tpm2QuoteTest, AChainRootedInAQuoteVerifiesAgainstTheAkOnly) {
  const Principal tpm = Principal::ForTpm2(ak_->verifying_key());
  auto k = SigningKey::Generate();
  ASSERT_TRUE(k.ok());
  Statement st;
  st.set_speaker(tpm.text());
  st.mutable_delegation()->set_delegate(
      Principal::ForKey(k->verifying_key()).text());
  st.mutable_delegation()->set_delegator(tpm.text());
  Attestation delegation;
  st.SerializeToString(delegation.mutable_serialized_statement());
  const std::string attest =
      Attest(Sha256(delegation.serialized_statement()), TwoPcrs());
  delegation.set_signer_key(ak_->verifying_key().spki());
  delegation.mutable_tpm2_quote()->set_attest(attest);
  delegation.mutable_tpm2_quote()->set_signature(Sign(attest));
  for (const auto& [i, v] : TwoPcrs()) {
    Tpm2Pcr* pcr = delegation.mutable_tpm2_quote()->add_pcrs();
    pcr->set_index(i);
    pcr->set_value(v);
  }
  Statement leaf;
  leaf.set_speaker(tpm.text());
  leaf.mutable_predicate()->set_name("hello");
  auto chain = SignStatement(leaf, *k, &delegation);
  ASSERT_TRUE(chain.ok());
  RealClock clock;
  auto verified =
      AttestationVerifier({ak_->verifying_key()}, clock).Verify(*chain);
  ASSERT_THAT(verified.status(), IsOk());
  EXPECT_EQ(verified->root, tpm);
  EXPECT_EQ(verified->platform_pcrs, TwoPcrs());
  EXPECT_THAT(
      AttestationVerifier({k->verifying_key()}, clock).Verify(*chain).status(),
      StatusIs(absl::StatusCode::kUnauthenticated));
  // Another key's signature on the same bytes: bad-quote.
  auto other = SigningKey::Generate();
  chain->mutable_delegation()->mutable_tpm2_quote()->set_signature(
      *other->SignForeignFormat(attest));
  absl::Status bad = AttestationVerifier({ak_->verifying_key()}, clock)
                         .Verify(*chain)
                         .status();
  EXPECT_EQ(GetAttestationFailure(bad), AttestationFailure::kBadQuote);
  EXPECT_THAT(std::string(bad.message()), HasSubstr("quote signature"));
}

TEST(Tpm2PrincipalTest, TextRoundTripsAndDiffersFromTheKey) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  const Principal tpm = Principal::ForTpm2(key->verifying_key());
  const Principal plain = Principal::ForKey(key->verifying_key());
  EXPECT_THAT(tpm.text(), ::testing::StartsWith("tpm2(ecdsa-p256:"));
  auto parsed = Principal::Parse(tpm.text());
  ASSERT_THAT(parsed.status(), IsOk());
  EXPECT_EQ(*parsed, tpm);
  EXPECT_TRUE(parsed->is_tpm2());
  EXPECT_NE(tpm, plain);
  EXPECT_FALSE(tpm.IsSelfOrSubprincipalOf(plain));
  EXPECT_FALSE(plain.IsSelfOrSubprincipalOf(tpm));
  auto sub = Subprincipal::Program(std::string(32, 'p'));
  auto child = tpm.Extend(*sub);
  ASSERT_THAT(child.status(), IsOk());
  EXPECT_EQ(Principal::Parse(child->text())->text(), child->text());
  EXPECT_EQ(child->RootKey(), tpm);
  EXPECT_THAT(Principal::Parse("tpm2(ecdsa-p256:AAAA)").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SameHostStateTest, EncodesAndComparesTheState) {
  const std::string state = PlatformStateText(TwoPcrs());
  EXPECT_TRUE(IsValidPlatformStateText(state));
  EXPECT_FALSE(
      IsValidPlatformStateText("sha256:23+16:" + std::string(64, 'a')));
  auto encoded = EncodeSealPolicy(SameHostStatePolicy(state));
  ASSERT_THAT(encoded.status(), IsOk());
  EXPECT_EQ(*encoded, "SameHostState(" + state + ")");
  auto decoded = DecodeSealPolicy(*encoded);
  ASSERT_THAT(decoded.status(), IsOk());
  auto key = SigningKey::Generate();
  const Principal host = Principal::ForTpm2(key->verifying_key());
  const Principal program =
      *host.Extend(*Subprincipal::Program(std::string(32, 'p')));
  EXPECT_TRUE(
      EvaluateSealPolicy(
          *decoded, SealPolicyContext{program, program, host, nullptr, state})
          .allowed);
  PcrValues other = TwoPcrs();
  other[16][0] = 1;
  const std::string moved = PlatformStateText(other);
  Decision d = EvaluateSealPolicy(
      *decoded, SealPolicyContext{program, program, host, nullptr, moved});
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.reason, HasSubstr("SameHostState"));
  EXPECT_FALSE(EvaluateSealPolicy(
                   *decoded, SealPolicyContext{program, program, host, nullptr})
                   .allowed);
}

}  // namespace
}  // namespace tao
