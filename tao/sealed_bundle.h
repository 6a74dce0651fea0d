// The sealed bundle: the self-describing byte format that Seal returns and
// Unseal takes. docs/sealed-bundle.md gives it byte by byte:
//
//   "TAOS" | version u16 | flags u16 (0) | policy_len u32 | policy
//   | sealer_len u32 | sealer | nonce[32] | plaintext_len u64
//   | ciphertext[plaintext_len] | tag[16]
//
// All integers are big-endian. The AES-256-GCM associated data is every byte
// before the ciphertext. Key and IV are HKDF-SHA256(sealing secret,
// salt = nonce, info = "tao-seal-v1"), 32 + 12 bytes.
#ifndef TAO_TAO_SEALED_BUNDLE_H_
#define TAO_TAO_SEALED_BUNDLE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tao/principal.h"
#include "tao/secret_string.h"

namespace tao {

inline constexpr absl::string_view kSealedBundleMagic = "TAOS";
inline constexpr uint16_t kSealedBundleVersion = 1;
inline constexpr size_t kSealNonceSize = 32;
inline constexpr absl::string_view kSealKdfInfo = "tao-seal-v1";
// Limits on the parts a bundle may carry.
inline constexpr size_t kMaxSealPolicySize = 1 << 20;
inline constexpr size_t kMaxSealedDataSize = size_t{1} << 30;

// What Unseal returns: the data and what the bundle says about it. The core
// decides nothing with `policy`; the listen loop evaluates it.
struct Unsealed {
  SecretString data;
  std::string policy;  // the policy bytes exactly as sealed
  Principal sealer;    // who sealed it
};

// A parsed bundle; views point into the bytes it was parsed from.
struct SealedBundleView {
  uint16_t version;
  absl::string_view policy;
  absl::string_view sealer;  // principal text, not yet parsed
  absl::string_view nonce;
  absl::string_view associated_data;  // every byte before the ciphertext
  absl::string_view ciphertext;
  absl::string_view tag;
};

// Splits `bundle` into its parts, checking magic, version, flags, every
// length against the bytes present and the limits above. Authenticates
// nothing. Returns kInvalidArgument naming the first bad field.
absl::StatusOr<SealedBundleView> ParseSealedBundle(absl::string_view bundle);

// The size of a bundle sealing `plaintext_len` bytes under a policy and a
// sealer text of the given sizes: 72 + policy + sealer + plaintext bytes.
inline constexpr size_t SealedBundleSize(size_t policy_len, size_t sealer_len,
                                         size_t plaintext_len) {
  return 4 + 2 + 2 + 4 + policy_len + 4 + sealer_len + kSealNonceSize + 8 +
         plaintext_len + 16;
}

// Writes the header of a bundle (everything up to and including
// plaintext_len) to the end of `out`. Fails like ParseSealedBundle on sizes.
absl::Status AppendSealedBundleHeader(absl::string_view policy,
                                      absl::string_view sealer,
                                      absl::string_view nonce,
                                      uint64_t plaintext_len, std::string* out);

}  // namespace tao

#endif  // TAO_TAO_SEALED_BUNDLE_H_
