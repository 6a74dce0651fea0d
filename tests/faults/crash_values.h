// The known values crash-writer alternates between, shared by the writer and
// kill_points_test so the test can tell "exactly the old or the new value"
// from anything else. A and B differ in size and in every byte, so a file
// torn anywhere (a short write, a mix of both, a zero-filled tail) matches
// neither.
#ifndef TAO_TESTS_FAULTS_CRASH_VALUES_H_
#define TAO_TESTS_FAULTS_CRASH_VALUES_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "tao/crypto.h"
#include "tao_domain/domain_policy.pb.h"

namespace tao {
namespace faults {

inline constexpr absl::string_view kPassphrase = "crash test passphrase";
// Cheap scrypt, so a key-writing cycle is a few milliseconds.
inline ScryptParams CheapScrypt() {
  return ScryptParams{uint64_t{1} << 10, 8, 1};
}

inline constexpr size_t kSizeA = 100 * 1024;
inline constexpr size_t kSizeB = 300 * 1024;

// `size` bytes of a xorshift stream seeded by `seed`, with a header naming it.
inline std::string Pattern(char seed, size_t size) {
  std::string out =
      absl::StrCat("crash-value-", std::string(1, seed), "-", size, "\n");
  uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(seed);
  while (out.size() < size) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out.push_back(static_cast<char>(x >> 56));
  }
  out.resize(size);
  return out;
}

inline const std::string& ValueA() {
  static const std::string* a = new std::string(Pattern('A', kSizeA));
  return *a;
}
inline const std::string& ValueB() {
  static const std::string* b = new std::string(Pattern('B', kSizeB));
  return *b;
}

// The seal policies recorded in the two sealed bundles.
inline constexpr absl::string_view kSealPolicyA = "crash-policy-a";
inline constexpr absl::string_view kSealPolicyB = "crash-policy-b";

// The domain names and rule counts of the two signed policies.
inline constexpr absl::string_view kDomainA = "crash-domain-a";
inline constexpr absl::string_view kDomainB = "crash-domain-b";
inline constexpr int kRulesA = 4;
inline constexpr int kRulesB = 1500;

// A valid policy named `domain` with `rules` rules (each a few dozen bytes).
inline DomainPolicy CrashPolicy(absl::string_view domain, int rules) {
  DomainPolicy policy;
  policy.set_domain_name(std::string(domain));
  for (int i = 0; i < rules; ++i) {
    Rule* rule = policy.add_rules();
    rule->set_id(absl::StrCat(domain, "-rule-", i));
    rule->add_operations("Execute");
    rule->add_principals()->set_measurement(absl::StrCat(
        "sha256:", std::string(56, 'a'), absl::Hex(i, absl::kZeroPad8)));
  }
  return policy;
}

// File names inside a mode's directory.
inline constexpr absl::string_view kHostBasename = "host";  // keys, sealed
inline constexpr absl::string_view kRefA = "ref_a.keys";    // keys mode
inline constexpr absl::string_view kRefB = "ref_b.keys";
inline constexpr absl::string_view kPolicyKey =
    "policy_key.pkcs8";  // policy mode
inline constexpr absl::string_view kPolicyFile = "policy.signed";

// The writer's progress, shared through a small file it maps (the test reads
// it after the kill; the page survives the process). Set CRASH_WRITER_ACK.
struct AckBlock {
  uint64_t ready;      // 1 once the writer is in its loop
  uint64_t completed;  // writes (or audit records) acknowledged so far
};

}  // namespace faults
}  // namespace tao

#endif  // TAO_TESTS_FAULTS_CRASH_VALUES_H_
