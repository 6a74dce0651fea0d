// stacked-chain-bench: AttestationVerifier::Verify time by chain length (0 to
// kMaxDelegationDepth delegations, as a tree of stacked hosts makes them),
// against a raw OpenSSL baseline measured in the same run: one
// EVP_DigestVerify of an ECDSA P-256 signature. A chain of n delegations
// holds n + 1 signatures, so n + 1 baselines is the floor.
//
//   stacked-chain-bench [ITERATIONS]   (default 300 per run, 3 runs)
//
// Prints one row per length: the median of 3 runs of the mean time per
// Verify, and its ratio to (n + 1) raw verifications.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tao/attestation.h"
#include "tao/clock.h"
#include "tao/keys.h"
#include "tao/principal.h"

namespace {

double MedianOf3(const std::function<void()>& body, int iterations) {
  std::vector<double> runs;
  for (int r = 0; r < 3; ++r) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) body();
    std::chrono::duration<double, std::micro> took =
        std::chrono::steady_clock::now() - start;
    runs.push_back(took.count() / iterations);
  }
  std::sort(runs.begin(), runs.end());
  return runs[1];
}

tao::SigningKey Key() { return *tao::SigningKey::Generate(); }

// A leaf under `hosts` stacked hosts; *root is the trusted key.
tao::Attestation Chain(int hosts, tao::VerifyingKey* root) {
  std::vector<tao::SigningKey> keys;
  keys.push_back(Key());
  *root = keys[0].verifying_key();
  tao::Principal name = tao::Principal::ForKey(keys[0].verifying_key());
  std::vector<tao::Attestation> links;
  const std::string digest(32, 'a');
  for (int i = 1; i <= hosts; ++i) {
    name = *name.Extend(*tao::Subprincipal::Program(digest));
    tao::SigningKey key = Key();
    tao::Statement s;
    s.set_speaker(name.text());
    s.mutable_delegation()->set_delegate(
        tao::Principal::ForKey(key.verifying_key()).text());
    s.mutable_delegation()->set_delegator(name.text());
    links.push_back(*tao::SignStatement(
        s, keys.back(), links.empty() ? nullptr : &links.back()));
    keys.push_back(std::move(key));
  }
  tao::Statement leaf;
  leaf.set_speaker(name.text());
  leaf.mutable_predicate()->set_name("ready");
  return *tao::SignStatement(leaf, keys.back(),
                             links.empty() ? nullptr : &links.back());
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::stoi(argv[1]) : 300;
  // The raw baseline: one ECDSA P-256 verification with OpenSSL's EVP API.
  tao::SigningKey key = Key();
  const std::string message(200, 'm');
  const std::string signature = *key.Sign(tao::kAttestationContext, message);
  const std::string& spki = key.verifying_key().spki();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(spki.data());
  EVP_PKEY* pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));
  std::string signed_bytes =
      std::string(tao::kAttestationContext) + std::string(1, '\0') + message;
  const double raw = MedianOf3(
      [&] {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey);
        int ok = EVP_DigestVerify(
            ctx, reinterpret_cast<const unsigned char*>(signature.data()),
            signature.size(),
            reinterpret_cast<const unsigned char*>(signed_bytes.data()),
            signed_bytes.size());
        EVP_MD_CTX_free(ctx);
        if (ok != 1) std::abort();
      },
      iterations);
  EVP_PKEY_free(pkey);
  std::printf("raw ECDSA P-256 verify (OpenSSL EVP): %.1f us\n", raw);
  std::printf("%-12s %12s %14s\n", "delegations", "verify_us", "x(n+1)*raw");
  tao::RealClock clock;
  for (int n = 0; n <= tao::kMaxDelegationDepth; ++n) {
    tao::VerifyingKey root = key.verifying_key();
    tao::Attestation chain = Chain(n, &root);
    tao::AttestationVerifier verifier({root}, clock);
    const double us = MedianOf3(
        [&] {
          if (!verifier.Verify(chain).ok()) std::abort();
        },
        iterations);
    std::printf("%-12d %12.1f %14.2f\n", n, us, us / ((n + 1) * raw));
  }
  return 0;
}
