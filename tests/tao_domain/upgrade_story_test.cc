// The upgrade story end to end, with real binaries: a publisher signs three
// builds of one program as versions 0, 1 and 2; version 1 seals a secret with
// a real TaoHost under SameSigner(publisher, product, 1); version 2 (the
// upgrade) may unseal it, version 0 (a downgrade) may not, and neither may a
// binary signed as another product or by another publisher.
#include <stdio.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "seal_policy/codec.h"
#include "seal_policy/evaluator.h"
#include "tao/clock.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/file_util.h"
#include "tao/key_store.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao/program_signature.h"
#include "tao/status_macros.h"
#include "tao/tao_host.h"
#include "tao_domain/policy_io.h"
#include "tao_domain/tao_domain.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tao_printers.h"
#include "tests/testing/temp_dir.h"

#ifndef VERSIONED_V0
#error "VERSIONED_V0, VERSIONED_V1 and VERSIONED_V2 come from CMake"
#endif

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::tao::test::TempDir;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr absl::string_view kProduct = "demo-secret";
constexpr absl::string_view kSecret = "the database password";

// The SHA-256 of a file's bytes, read in pieces as a host measures.
absl::StatusOr<std::string> MeasureFile(const std::string& path) {
  TAO_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  Sha256Hasher hasher;
  for (size_t i = 0; i < bytes.size(); i += 4096) {
    hasher.Update(absl::string_view(bytes).substr(i, 4096));
  }
  return hasher.Finish();
}

// Overwrites `path` in place, without the fsyncs of WriteFileAtomically.
void Overwrite(const std::string& path, absl::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  ASSERT_TRUE(out.good());
}

// Runs `path` and returns what it printed.
std::string RunAndCapture(const std::string& path) {
  FILE* pipe = ::popen(path.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  char buffer[256];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
    out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

class UpgradeStoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* slot : {&publisher_, &other_publisher_}) {
      auto key = SigningKey::Generate();
      ASSERT_THAT(key, IsOk());
      slot->emplace(std::move(key).value());
    }
    auto keys = HostKeys::Generate();
    ASSERT_THAT(keys, IsOk());
    Principal name = Principal::ForKey(keys->signing_key.verifying_key());
    auto host = TaoHost::Create(std::move(keys).value(), name, std::nullopt);
    ASSERT_THAT(host, IsOk());
    host_ = std::move(host).value();
  }

  // Copies `binary` into the temp dir as `name` and signs the copy's bytes
  // as `product` at `version`, writing name.taosig beside it.
  absl::Status Publish(const std::string& binary, absl::string_view name,
                       const SigningKey& publisher, absl::string_view product,
                       uint64_t version) {
    TAO_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(binary));
    std::string copy = dir_.Join(name);
    TAO_RETURN_IF_ERROR(WriteFileAtomically(copy, bytes, 0755));
    TAO_ASSIGN_OR_RETURN(
        std::string signature,
        SignProgram(publisher, Sha256(bytes), product, version));
    return WriteFileAtomically(absl::StrCat(copy, kProgramSignatureSuffix),
                               signature, 0644);
  }

  // What a host does before it runs `name`: measures the copy afresh, reads
  // and verifies the signature beside it, and names the program
  // host.Program(<measurement>).Publisher(<claim>).
  absl::StatusOr<Principal> NameAsHostWould(absl::string_view name) {
    std::string copy = dir_.Join(name);
    TAO_ASSIGN_OR_RETURN(std::string measurement, MeasureFile(copy));
    TAO_ASSIGN_OR_RETURN(
        std::string signature,
        ReadFileToString(absl::StrCat(copy, kProgramSignatureSuffix),
                         kMaxProgramSignatureSize));
    TAO_ASSIGN_OR_RETURN(PublisherClaim claim,
                         VerifyProgramSignature(signature, measurement));
    TAO_ASSIGN_OR_RETURN(Subprincipal program,
                         Subprincipal::Program(measurement));
    TAO_ASSIGN_OR_RETURN(Subprincipal publisher, PublisherSubprincipal(claim));
    TAO_ASSIGN_OR_RETURN(Principal named, host_->name().Extend(program));
    return named.Extend(publisher);
  }

  // Publish + NameAsHostWould; on failure the test fails and the host's own
  // name comes back.
  Principal Install(const std::string& binary, absl::string_view name,
                    const SigningKey& publisher, absl::string_view product,
                    uint64_t version) {
    EXPECT_THAT(Publish(binary, name, publisher, product, version), IsOk());
    auto named = NameAsHostWould(name);
    EXPECT_THAT(named, IsOk());
    return named.ok() ? *named : host_->name();
  }

  // Seals kSecret as `sealer` under `policy` (encoded canonically).
  std::string Seal(const SealPolicy& policy, const Principal& sealer) {
    auto encoded = EncodeSealPolicy(policy);
    EXPECT_THAT(encoded, IsOk());
    auto bundle = host_->Encrypt(kSecret, encoded.ok() ? *encoded : "", sealer);
    EXPECT_THAT(bundle, IsOk());
    return bundle.ok() ? *bundle : "";
  }

  // A deny for a step that has already failed the test. Tests cannot make a
  // Decision (only seal_policy/ and tao_domain/ can), so the evaluator makes
  // one: a policy without a kind denies.
  Decision Failed(const Principal& caller) {
    return EvaluateSealPolicy(
        SealPolicy(),
        SealPolicyContext{caller, caller, host_->name(), nullptr});
  }

  // Opens `bundle` and evaluates the policy it carries for `caller`, as the
  // listen loop does: the data is released only on allow.
  Decision Unseal(const std::string& bundle, const Principal& caller,
                  const DomainRuleChecker* domain = nullptr) {
    auto unsealed = host_->Decrypt(bundle);
    EXPECT_THAT(unsealed, IsOk());
    if (!unsealed.ok()) return Failed(caller);
    EXPECT_EQ(unsealed->data.view(), kSecret);
    SealPolicyContext context{caller, unsealed->sealer, host_->name(), domain};
    auto decision = EvaluateSealPolicyBytes(unsealed->policy, context);
    EXPECT_THAT(decision, IsOk());
    if (!decision.ok()) return Failed(caller);
    EXPECT_FALSE(decision->reason.empty());
    return *decision;
  }

  TempDir dir_;
  std::optional<SigningKey> publisher_, other_publisher_;
  std::unique_ptr<TaoHost> host_;
};

TEST_F(UpgradeStoryTest, TheThreeBuildsAreDifferentPrograms) {
  auto m0 = MeasureFile(VERSIONED_V0);
  auto m1 = MeasureFile(VERSIONED_V1);
  auto m2 = MeasureFile(VERSIONED_V2);
  ASSERT_THAT(m0, IsOk());
  ASSERT_THAT(m1, IsOk());
  ASSERT_THAT(m2, IsOk());
  EXPECT_NE(*m0, *m1);
  EXPECT_NE(*m1, *m2);
  EXPECT_NE(*m0, *m2);
  // And real programs: the published copies run and say which they are.
  ASSERT_THAT(Publish(VERSIONED_V1, "app-v1", *publisher_, kProduct, 1),
              IsOk());
  EXPECT_EQ(RunAndCapture(dir_.Join("app-v1")),
            "versioned_program version 1\n");
  ASSERT_THAT(Publish(VERSIONED_V2, "app-v2", *publisher_, kProduct, 2),
              IsOk());
  EXPECT_EQ(RunAndCapture(dir_.Join("app-v2")),
            "versioned_program version 2\n");
}

TEST_F(UpgradeStoryTest, TheHostNamesThePublisherProductAndVersion) {
  Principal v1 = Install(VERSIONED_V1, "app-v1", *publisher_, kProduct, 1);
  ASSERT_EQ(v1.subprincipals().size(), 2u);
  auto m1 = MeasureFile(VERSIONED_V1);
  ASSERT_THAT(m1, IsOk());
  EXPECT_EQ(v1.subprincipals()[0], *Subprincipal::Program(*m1));
  auto claim = ParsePublisher(v1.subprincipals()[1]);
  ASSERT_THAT(claim, IsOk());
  EXPECT_EQ(claim->publisher_spki, publisher_->verifying_key().spki());
  EXPECT_EQ(claim->product, kProduct);
  EXPECT_EQ(claim->version, 1u);
  EXPECT_TRUE(v1.IsSelfOrSubprincipalOf(host_->name()));
}

TEST_F(UpgradeStoryTest, UpgradesUnsealAndOlderVersionsDoNot) {
  Principal v0 = Install(VERSIONED_V0, "app-v0", *publisher_, kProduct, 0);
  Principal v1 = Install(VERSIONED_V1, "app-v1", *publisher_, kProduct, 1);
  Principal v2 = Install(VERSIONED_V2, "app-v2", *publisher_, kProduct, 2);
  Principal v2_other_product =
      Install(VERSIONED_V2, "other-v2", *publisher_, "other", 2);
  Principal v2_other_publisher =
      Install(VERSIONED_V2, "forged-v2", *other_publisher_, kProduct, 2);

  const std::string bundle = Seal(
      SameSignerPolicy(Principal::ForKey(publisher_->verifying_key()).text(),
                       kProduct, 1),
      v1);
  auto unsealed = host_->Decrypt(bundle);
  ASSERT_THAT(unsealed, IsOk());
  EXPECT_EQ(unsealed->sealer, v1);
  EXPECT_EQ(unsealed->policy,
            absl::StrCat("SameSigner(",
                         Principal::ForKey(publisher_->verifying_key()).text(),
                         ",demo-secret,1)"));

  Decision upgrade = Unseal(bundle, v2);
  EXPECT_TRUE(upgrade.allowed) << upgrade.reason;
  EXPECT_THAT(upgrade.reason,
              StartsWith("SameSigner: the caller is version 2"));

  Decision same = Unseal(bundle, v1);
  EXPECT_TRUE(same.allowed) << same.reason;

  Decision downgrade = Unseal(bundle, v0);
  EXPECT_FALSE(downgrade.allowed);
  EXPECT_THAT(downgrade.reason, HasSubstr("older"));

  Decision product = Unseal(bundle, v2_other_product);
  EXPECT_FALSE(product.allowed);
  EXPECT_THAT(product.reason, HasSubstr("product 'other'"));

  Decision forged = Unseal(bundle, v2_other_publisher);
  EXPECT_FALSE(forged.allowed);
  EXPECT_THAT(forged.reason, HasSubstr("published by another key"));

  // v2 without its signature (measured but unsigned) is not published at all.
  auto m2 = MeasureFile(dir_.Join("app-v2"));
  ASSERT_THAT(m2, IsOk());
  auto unsigned_v2 = host_->name().Extend(*Subprincipal::Program(*m2));
  ASSERT_THAT(unsigned_v2, IsOk());
  Decision bare = Unseal(bundle, *unsigned_v2);
  EXPECT_FALSE(bare.allowed);
  EXPECT_THAT(bare.reason, HasSubstr("no verified publisher signature"));
}

TEST_F(UpgradeStoryTest, SameMeasurementAndSameProgramWithRealBinaries) {
  Principal v1 = Install(VERSIONED_V1, "app-v1", *publisher_, kProduct, 1);
  Principal v2 = Install(VERSIONED_V2, "app-v2", *publisher_, kProduct, 2);
  auto args_a = v1.Extend(*Subprincipal::Args(Sha256("--port=1")));
  auto args_b = v1.Extend(*Subprincipal::Args(Sha256("--port=2")));
  ASSERT_THAT(args_a, IsOk());
  ASSERT_THAT(args_b, IsOk());

  const std::string by_measurement = Seal(SameMeasurementPolicy(), *args_a);
  EXPECT_TRUE(Unseal(by_measurement, *args_b).allowed);
  EXPECT_TRUE(Unseal(by_measurement, v1).allowed);
  EXPECT_FALSE(Unseal(by_measurement, v2).allowed);

  const std::string by_name = Seal(SameProgramPolicy(), *args_a);
  EXPECT_TRUE(Unseal(by_name, *args_a).allowed);
  Decision other_args = Unseal(by_name, *args_b);
  EXPECT_FALSE(other_args.allowed);
  EXPECT_THAT(other_args.reason, StartsWith("SameProgram"));
}

TEST_F(UpgradeStoryTest, ASignatureIsForOneBinaryOnly) {
  ASSERT_THAT(Publish(VERSIONED_V1, "app-v1", *publisher_, kProduct, 1),
              IsOk());
  auto sig_v1 = ReadFileToString(dir_.Join("app-v1.taosig"));
  ASSERT_THAT(sig_v1, IsOk());
  auto m1 = MeasureFile(dir_.Join("app-v1"));
  auto m2 = MeasureFile(VERSIONED_V2);
  ASSERT_THAT(m1, IsOk());
  ASSERT_THAT(m2, IsOk());
  EXPECT_THAT(VerifyProgramSignature(*sig_v1, *m1), IsOk());
  EXPECT_THAT(
      VerifyProgramSignature(*sig_v1, *m2),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr(HexEncode(*m2))));

  // v1's signature copied beside v2: the host refuses to name it.
  auto v2_bytes = ReadFileToString(VERSIONED_V2);
  ASSERT_THAT(v2_bytes, IsOk());
  ASSERT_THAT(WriteFileAtomically(dir_.Join("app-v2"), *v2_bytes, 0755),
              IsOk());
  ASSERT_THAT(WriteFileAtomically(dir_.Join("app-v2.taosig"), *sig_v1, 0644),
              IsOk());
  EXPECT_THAT(NameAsHostWould("app-v2"),
              StatusIs(absl::StatusCode::kUnauthenticated));

  // A binary changed after signing is refused too.
  std::string patched = *ReadFileToString(dir_.Join("app-v1"));
  patched[patched.size() / 2] ^= 0x01;
  ASSERT_THAT(WriteFileAtomically(dir_.Join("app-v1"), patched, 0755), IsOk());
  EXPECT_THAT(NameAsHostWould("app-v1"),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(UpgradeStoryTest, ATamperedSignatureFileIsRefused) {
  ASSERT_THAT(Publish(VERSIONED_V2, "app-v2", *publisher_, kProduct, 2),
              IsOk());
  ASSERT_THAT(NameAsHostWould("app-v2"), IsOk());
  const std::string sig_path = dir_.Join("app-v2.taosig");
  auto original = ReadFileToString(sig_path);
  ASSERT_THAT(original, IsOk());
  // Flip one bit at a time anywhere in the file: never accepted.
  for (size_t i = 0; i < original->size(); ++i) {
    std::string tampered = *original;
    tampered[i] ^= 0x04;
    Overwrite(sig_path, tampered);
    EXPECT_THAT(NameAsHostWould("app-v2"),
                StatusIs(AnyOf(absl::StatusCode::kInvalidArgument,
                               absl::StatusCode::kUnauthenticated)))
        << "byte " << i;
  }
  // A claim rewritten to a higher version without re-signing.
  ProgramSignature sig;
  ASSERT_TRUE(sig.ParseFromString(*original));
  ProgramClaim claim;
  ASSERT_TRUE(claim.ParseFromString(sig.serialized_claim()));
  claim.set_version(99);
  claim.SerializeToString(sig.mutable_serialized_claim());
  ASSERT_THAT(WriteFileAtomically(sig_path, sig.SerializeAsString(), 0644),
              IsOk());
  EXPECT_THAT(NameAsHostWould("app-v2"),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // An empty signature file.
  ASSERT_THAT(WriteFileAtomically(sig_path, "", 0644), IsOk());
  EXPECT_THAT(NameAsHostWould("app-v2"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// The domain policy names the same publisher: Execute for version 2 and up,
// and DomainRule(demo) unseals for any version of the product.
TEST_F(UpgradeStoryTest, DomainSignerRulesWithRealBinaries) {
  Principal v1 = Install(VERSIONED_V1, "app-v1", *publisher_, kProduct, 1);
  Principal v2 = Install(VERSIONED_V2, "app-v2", *publisher_, kProduct, 2);
  Principal forged =
      Install(VERSIONED_V2, "forged-v2", *other_publisher_, kProduct, 2);
  auto policy_key = SigningKey::Generate();
  ASSERT_THAT(policy_key, IsOk());
  std::string publisher = Principal::ForKey(publisher_->verifying_key()).text();
  auto policy = ParseDomainPolicyText(absl::StrReplaceAll(
      R"pb(
        domain_name: "story"
        rules {
          id: "run-v2"
          operations: "Execute"
          principals {
            signer { signer: "$PUB" product: "demo-secret" min_version: 2 }
          }
        }
        rules {
          id: "demo-data"
          operations: "Unseal"
          labels: "demo"
          principals {
            signer { signer: "$PUB" product: "demo-secret" min_version: 0 }
          }
        }
      )pb",
      {{"$PUB", publisher}}));
  ASSERT_THAT(policy, IsOk());
  auto signed_policy = SignDomainPolicy(*policy, *policy_key);
  ASSERT_THAT(signed_policy, IsOk());
  RealClock clock;
  auto domain = TaoDomain::Create(policy_key->verifying_key(), *signed_policy,
                                  nullptr, clock);
  ASSERT_THAT(domain, IsOk());

  EXPECT_TRUE((*domain)->Authorize(Caller::Program(v2), "Execute").allowed);
  Decision old = (*domain)->Authorize(Caller::Program(v1), "Execute");
  EXPECT_FALSE(old.allowed);
  EXPECT_THAT(old.reason, HasSubstr("rule 'run-v2' grants Execute to others"));
  EXPECT_FALSE(
      (*domain)->Authorize(Caller::Program(forged), "Execute").allowed);

  const std::string bundle = Seal(DomainRulePolicy("demo"), v1);
  EXPECT_TRUE(Unseal(bundle, v2, domain->get()).allowed);
  EXPECT_TRUE(Unseal(bundle, v1, domain->get()).allowed);
  Decision denied = Unseal(bundle, forged, domain->get());
  EXPECT_FALSE(denied.allowed);
  EXPECT_THAT(denied.reason, StartsWith("DomainRule(demo): domain 'story'"));
}

}  // namespace
}  // namespace tao
