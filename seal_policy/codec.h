// The canonical encoding of seal policies: compact text that a bundle carries
// and that is evaluated as is. Each policy has exactly one encoding, and
// DecodeSealPolicy accepts only that one, so equal policies have equal bytes:
//
//   SameProgram | SameMeasurement | SameHost
//   SameHostState(sha256:<pcr>+<pcr>...:<64 hex digits>)
//   SameSigner(key(ecdsa-p256:<base64url SPKI>),<product>,<min_version>)
//   DomainRule(<label>)
//   AllOf(<policy>,<policy>,...) | AnyOf(<policy>,<policy>,...)
//
// docs/seal-policy.md has the grammar and the limits.
#ifndef TAO_SEAL_POLICY_CODEC_H_
#define TAO_SEAL_POLICY_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "seal_policy/seal_policy.pb.h"

namespace tao {

inline constexpr size_t kMaxSealPolicyTextSize = 64 * 1024;
inline constexpr int kMaxSealPolicyDepth = 16;
inline constexpr int kMaxSealPolicyChildren = 64;
// Most leaves (every kind but AllOf and AnyOf) one policy may have: each is
// a check, and a DomainRule leaf is a question to the domain, so a policy's
// cost is bounded however it nests (docs/seal-policy.md). 512 is the first
// power of two above what 64 KiB of the longest DomainRule leaves holds.
inline constexpr int kMaxSealPolicyLeaves = 512;

// The canonical bytes of `policy`. Returns kInvalidArgument for a policy that
// has no encoding: an unset kind, an empty AllOf/AnyOf, a bad signer, product
// or label, or limits exceeded.
absl::StatusOr<std::string> EncodeSealPolicy(const SealPolicy& policy);

// Parses canonical bytes; anything else (including whitespace, other
// spellings or non-canonical numbers) is kInvalidArgument with the offset
// and the reason.
absl::StatusOr<SealPolicy> DecodeSealPolicy(absl::string_view bytes);

// True for a DomainRule label: 1 to 128 characters of [A-Za-z0-9._:/-].
bool IsValidDomainRuleLabel(absl::string_view label);

// Convenience: the policy of a single kind.
SealPolicy SameProgramPolicy();
SealPolicy SameMeasurementPolicy();
SealPolicy SameHostPolicy();
SealPolicy DomainRulePolicy(absl::string_view label);
SealPolicy SameHostStatePolicy(absl::string_view state);
SealPolicy SameSignerPolicy(absl::string_view signer, absl::string_view product,
                            uint64_t min_version);

}  // namespace tao

#endif  // TAO_SEAL_POLICY_CODEC_H_
