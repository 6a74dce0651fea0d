// Chains of any length, as stacked hosts make them: a root key, then one
// delegation per stacked host, then the leaf. The verifier follows them to
// the root and names the link that fails and why.
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/attestation.h"
#include "tao/clock.h"
#include "tests/testing/names.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::NewKey;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kNow = 1'800'000'000;

// A tree of `hosts` stacked hosts under a root key: host i is named
// host i-1's name .Program(i).Args(i) and its key is vouched for by host
// i-1 for [from, until] of link i (1-based; unset: kNow +- 1 day).
struct Chain {
  std::vector<SigningKey> keys;  // keys[0] is the root
  std::vector<Principal> names;
  std::vector<Attestation> delegations;  // delegations[i] vouches keys[i+1]

  // The leaf: the last host's program says ready().
  Attestation Leaf() const {
    Statement s;
    s.set_speaker(test::Program(names.back(), 'z').text());
    s.mutable_predicate()->set_name("ready");
    auto a = SignStatement(s, keys.back(),
                           delegations.empty() ? nullptr : &delegations.back());
    EXPECT_THAT(a, IsOk());
    return a.ok() ? *a : Attestation();
  }
};

Chain MakeChain(int hosts, int short_link = 0, int64_t until = kNow + 86400) {
  Chain c;
  c.keys.push_back(NewKey());
  c.names.push_back(Principal::ForKey(c.keys[0].verifying_key()));
  for (int i = 1; i <= hosts; ++i) {
    Principal name = test::Args(
        test::Program(c.names.back(), static_cast<char>('a' + i % 26)),
        static_cast<char>('a' + i % 26));
    SigningKey key = NewKey();
    Statement s;
    s.set_speaker(name.text());
    s.set_not_before(kNow - 86400);
    s.set_not_after(i == short_link ? until : kNow + 86400);
    s.mutable_delegation()->set_delegate(
        Principal::ForKey(key.verifying_key()).text());
    s.mutable_delegation()->set_delegator(name.text());
    auto d =
        SignStatement(s, c.keys.back(),
                      c.delegations.empty() ? nullptr : &c.delegations.back());
    EXPECT_THAT(d, IsOk());
    c.delegations.push_back(d.ok() ? *d : Attestation());
    c.keys.push_back(std::move(key));
    c.names.push_back(std::move(name));
  }
  return c;
}

// The link `depth` of `a` (0: the leaf), for tampering.
Attestation* LinkAt(Attestation* a, int depth) {
  for (int i = 0; i < depth; ++i) a = a->mutable_delegation();
  return a;
}

class ChainTest : public ::testing::Test {
 protected:
  FixedClock clock_{absl::FromUnixSeconds(kNow)};
};

TEST_F(ChainTest, EveryLengthUpToTheLimitVerifiesToTheRoot) {
  for (int hosts = 0; hosts <= kMaxDelegationDepth; ++hosts) {
    Chain c = MakeChain(hosts);
    AttestationVerifier verifier({c.keys[0].verifying_key()}, clock_);
    auto verified = verifier.Verify(c.Leaf());
    ASSERT_THAT(verified, IsOk()) << hosts << " stacked hosts";
    EXPECT_EQ(verified->delegations, hosts);
    EXPECT_EQ(verified->root, c.names[0]);
    EXPECT_EQ(verified->speaker, test::Program(c.names.back(), 'z'));
  }
}

TEST_F(ChainTest, OneLinkPastTheLimitIsTooDeep) {
  Chain c = MakeChain(kMaxDelegationDepth + 1);
  AttestationVerifier verifier({c.keys[0].verifying_key()}, clock_);
  auto verified = verifier.Verify(c.Leaf());
  EXPECT_THAT(verified, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(GetAttestationFailure(verified.status()),
            AttestationFailure::kChainTooDeep);
}

TEST_F(ChainTest, OnlyTheRootKeyIsTrusted) {
  Chain c = MakeChain(3);
  // Any other key, a host's key in the chain included, is not the root.
  for (int k = 1; k <= 3; ++k) {
    AttestationVerifier verifier({c.keys[k].verifying_key()}, clock_);
    auto verified = verifier.Verify(c.Leaf());
    EXPECT_EQ(GetAttestationFailure(verified.status()),
              AttestationFailure::kUntrustedSigner)
        << "trusting host key " << k << ": " << verified.status();
    EXPECT_THAT(verified.status().message(), HasSubstr("delegation 3"));
  }
  AttestationVerifier stranger({NewKey().verifying_key()}, clock_);
  EXPECT_EQ(GetAttestationFailure(stranger.Verify(c.Leaf()).status()),
            AttestationFailure::kUntrustedSigner);
}

TEST_F(ChainTest, ATamperedLinkIsNamed) {
  Chain c = MakeChain(3);
  AttestationVerifier verifier({c.keys[0].verifying_key()}, clock_);
  for (int depth = 0; depth <= 3; ++depth) {
    for (int part = 0; part < 2; ++part) {
      Attestation a = c.Leaf();
      Attestation* link = LinkAt(&a, depth);
      std::string* bytes = part == 0 ? link->mutable_serialized_statement()
                                     : link->mutable_signature();
      (*bytes)[bytes->size() - 1] ^= 0x01;
      auto verified = verifier.Verify(a);
      ASSERT_FALSE(verified.ok()) << "depth " << depth << " part " << part;
      EXPECT_THAT(verified.status().message(),
                  HasSubstr(depth == 0 ? std::string("attestation")
                                       : absl::StrCat("delegation ", depth)))
          << verified.status();
    }
  }
}

TEST_F(ChainTest, ALinkOfAnotherKeyIsABadDelegation) {
  Chain c = MakeChain(2);
  Chain other = MakeChain(2);
  Attestation a = c.Leaf();
  // Link 1 replaced by the same position of another tree (same shape).
  *LinkAt(&a, 2) = other.delegations[0];
  AttestationVerifier verifier({c.keys[0].verifying_key()}, clock_);
  auto verified = verifier.Verify(a);
  EXPECT_FALSE(verified.ok());
  AttestationVerifier both(
      {c.keys[0].verifying_key(), other.keys[0].verifying_key()}, clock_);
  auto mixed = both.Verify(a);
  EXPECT_EQ(GetAttestationFailure(mixed.status()),
            AttestationFailure::kBadDelegation)
      << mixed.status();
  EXPECT_THAT(mixed.status().message(), HasSubstr("delegation 2"));
}

TEST_F(ChainTest, AnExpiredLinkIsNamed) {
  for (int link = 1; link <= 3; ++link) {
    Chain c = MakeChain(3, link, kNow - 10);
    AttestationVerifier verifier({c.keys[0].verifying_key()}, clock_);
    auto verified = verifier.Verify(c.Leaf());
    EXPECT_EQ(GetAttestationFailure(verified.status()),
              AttestationFailure::kExpired);
    // Link `link` of the tree is delegation (4 - link) from the leaf.
    EXPECT_THAT(verified.status().message(),
                HasSubstr(absl::StrCat("delegation ", 4 - link, " (valid")))
        << verified.status();
  }
}

}  // namespace
}  // namespace tao
