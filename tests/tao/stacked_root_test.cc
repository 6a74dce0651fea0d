// StackedRoot over a real parent: a SoftTao (the soft root's Tao) stands
// for the parent host, so the keyset is really sealed and unsealed and the
// delegation really signed. The listen loop's policy checks (SameProgram)
// are tested with real processes in tests/stacked/.
#include "tao/stacked_root.h"

#include <sys/stat.h>

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/attestation.h"
#include "tao/clock.h"
#include "tao/file_util.h"
#include "tao/soft_tao.h"
#include "tests/testing/names.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::tao::test::TempDir;
using ::testing::HasSubstr;

class StackedRootTest : public ::testing::Test {
 protected:
  // A parent: the soft root in parent_dir_ (the same keys every time).
  std::unique_ptr<SoftTao> Parent() {
    SoftTaoOptions options;
    options.keys_dir = parent_dir_.path() + "/parent";
    options.passphrase = "parent passphrase";
    options.scrypt = ScryptParams{1 << 10, 8, 1};
    auto parent = SoftTao::Create(options);
    EXPECT_THAT(parent, IsOk());
    return parent.ok() ? *std::move(parent) : nullptr;
  }
  StackedRootOptions Options(std::string policy = "policy-A") {
    StackedRootOptions options;
    options.parent = Parent();
    options.keyset_file = state_.path() + "/stacked_keyset";
    options.seal_policy = std::move(policy);
    options.clock = &clock_;
    return options;
  }
  VerifyingKey ParentKey() { return Parent()->host().signing_public_key(); }

  TempDir parent_dir_;
  TempDir state_;
  FixedClock clock_{absl::FromUnixSeconds(1'800'000'000)};
};

TEST_F(StackedRootTest, FirstOpenMakesKeysTheParentSealsAndVouchesFor) {
  StackedRoot root(Options());
  ASSERT_THAT(root.Open(), IsOk());
  EXPECT_TRUE(root.created_keys());
  EXPECT_EQ(root.kind(), "stacked");
  EXPECT_EQ(root.host().name(), Parent()->host().name());
  struct stat st;
  ASSERT_EQ(::stat((state_.path() + "/stacked_keyset").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600);
  ASSERT_TRUE(root.host().delegation().has_value());
  EXPECT_EQ(root.delegation_not_after(), clock_.Now() + absl::Hours(1));

  // What the host signs for its programs verifies up to the parent's key.
  Principal child = test::Program(root.host().name(), 'c');
  Statement s;
  s.mutable_predicate()->set_name("ready");
  auto a = root.host().Attest(child, s);
  ASSERT_THAT(a, IsOk());
  AttestationVerifier verifier({ParentKey()}, clock_);
  auto verified = verifier.Verify(*a);
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(verified->delegations, 1);
  EXPECT_EQ(verified->speaker, child);
  // Not against the host's own key: it is no root.
  AttestationVerifier own({root.host().signing_public_key()}, clock_);
  EXPECT_FALSE(own.Verify(*a).ok());
}

TEST_F(StackedRootTest, RestartUnsealsTheSameKeysWithAFreshDelegation) {
  std::string key;
  std::string secret;
  {
    StackedRoot first(Options());
    ASSERT_THAT(first.Open(), IsOk());
    key = first.host().signing_public_key().spki();
    secret = std::string(first.host().DeriveSecret("ctx", 32)->view());
  }
  clock_.Set(clock_.Now() + absl::Hours(5));
  StackedRoot second(Options());
  ASSERT_THAT(second.Open(), IsOk());
  EXPECT_FALSE(second.created_keys());
  EXPECT_EQ(second.host().signing_public_key().spki(), key);
  EXPECT_EQ(second.host().DeriveSecret("ctx", 32)->view(), secret);
  EXPECT_EQ(second.delegation_not_after(), clock_.Now() + absl::Hours(1));
}

TEST_F(StackedRootTest, AnAlteredKeysetIsRefused) {
  {
    StackedRoot first(Options());
    ASSERT_THAT(first.Open(), IsOk());
  }
  const std::string path = state_.path() + "/stacked_keyset";
  std::string bundle = *ReadFileToString(path);
  bundle[bundle.size() - 1] ^= 1;
  ASSERT_THAT(WriteFileAtomically(path, bundle), IsOk());
  StackedRoot second(Options());
  EXPECT_THAT(second.Open(), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(StackedRootTest, AKeysetUnderAnotherPolicyIsNotOurs) {
  {
    StackedRoot first(Options("policy-A"));
    ASSERT_THAT(first.Open(), IsOk());
  }
  StackedRoot second(Options("policy-B"));
  EXPECT_THAT(second.Open(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("another policy")));
}

TEST_F(StackedRootTest, AnAcceptedOlderPolicyIsSealedForward) {
  std::string key;
  {
    StackedRoot v1(Options("policy-1"));
    ASSERT_THAT(v1.Open(), IsOk());
    key = v1.host().signing_public_key().spki();
  }
  {
    StackedRootOptions options = Options("policy-2");
    options.accept_policy = [](absl::string_view sealed) {
      return sealed == "policy-1";
    };
    StackedRoot v2(std::move(options));
    ASSERT_THAT(v2.Open(), IsOk());
    EXPECT_FALSE(v2.created_keys());
    EXPECT_EQ(v2.host().signing_public_key().spki(), key);
  }
  // The keyset now carries policy-2: version 1 cannot take it back.
  StackedRoot back(Options("policy-1"));
  EXPECT_THAT(back.Open(), StatusIs(absl::StatusCode::kFailedPrecondition));
  StackedRoot again(Options("policy-2"));
  ASSERT_THAT(again.Open(), IsOk());
  EXPECT_EQ(again.host().signing_public_key().spki(), key);
}

TEST_F(StackedRootTest, RenewalKeepsTheHostsAttestationsValid) {
  StackedRoot root(Options());
  ASSERT_THAT(root.Open(), IsOk());
  Principal child = test::Program(root.host().name(), 'c');
  Statement s;
  s.mutable_predicate()->set_name("ready");
  const absl::Time start = clock_.Now();
  clock_.Set(start + absl::Minutes(50));
  ASSERT_THAT(root.Renew(), IsOk());
  EXPECT_EQ(root.delegation_not_after(), clock_.Now() + absl::Hours(1));
  auto a = root.host().Attest(child, s);
  ASSERT_THAT(a, IsOk());
  // Past the first delegation's window, within the renewed one.
  clock_.Set(start + absl::Minutes(90));
  AttestationVerifier verifier({ParentKey()}, clock_);
  EXPECT_THAT(verifier.Verify(*a), IsOk());
  clock_.Set(start + absl::Minutes(115));
  auto expired = verifier.Verify(*a);
  EXPECT_EQ(GetAttestationFailure(expired.status()),
            AttestationFailure::kExpired);
  EXPECT_THAT(expired.status().message(), HasSubstr("delegation 1"));
}

TEST_F(StackedRootTest, TheRenewalThreadRenewsBeforeTheWindowEnds) {
  RealClock real;
  StackedRootOptions options = Options();
  options.clock = &real;
  options.delegation_lifetime = absl::Seconds(3);
  options.clock_skew = absl::ZeroDuration();
  int renewals = 0;
  absl::Mutex mu;
  options.on_renewal = [&](const absl::Status& status) {
    EXPECT_THAT(status, IsOk());
    absl::MutexLock lock(&mu);
    ++renewals;
  };
  StackedRoot root(std::move(options));
  ASSERT_THAT(root.Open(), IsOk());
  const absl::Time first = root.delegation_not_after();
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (root.delegation_not_after() == first && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_GT(root.delegation_not_after(), first);
  // Renewed before the old window ended.
  EXPECT_LT(absl::Now(), first);
  absl::MutexLock lock(&mu);
  EXPECT_GE(renewals, 1);
}

TEST_F(StackedRootTest, NeedsAParentAndAFile) {
  StackedRootOptions options = Options();
  options.parent.reset();
  StackedRoot root(std::move(options));
  EXPECT_THAT(root.Open(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StackedKeysetTest, RoundTripsAndRefusesMalformedBytes) {
  auto keys = HostKeys::Generate();
  ASSERT_THAT(keys, IsOk());
  auto encoded = StackedRoot::EncodeKeyset(*keys);
  ASSERT_THAT(encoded, IsOk());
  auto decoded = StackedRoot::DecodeKeyset(encoded->view());
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(decoded->signing_key.verifying_key().spki(),
            keys->signing_key.verifying_key().spki());
  EXPECT_EQ(decoded->sealing_secret.view(), keys->sealing_secret.view());
  std::string bytes(encoded->view());
  for (size_t cut : {size_t{0}, size_t{10}, bytes.size() - 1}) {
    EXPECT_THAT(StackedRoot::DecodeKeyset(bytes.substr(0, cut)),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(StackedRoot::DecodeKeyset(bytes + "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace tao
