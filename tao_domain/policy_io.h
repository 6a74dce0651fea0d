// Reading, checking, signing and verifying domain policies. Every parser takes
// untrusted bytes and returns a status; none of them crashes on bad input.
#ifndef TAO_TAO_DOMAIN_POLICY_IO_H_
#define TAO_TAO_DOMAIN_POLICY_IO_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tao/keys.h"
#include "tao_domain/domain_policy.pb.h"

namespace tao {

inline constexpr absl::string_view kDomainPolicyContext =
    "tao-domain-policy-v1";
inline constexpr size_t kMaxDomainPolicySize = 4 << 20;

// True for the operation names a rule may grant (see domain_policy.proto).
bool IsKnownOperation(absl::string_view operation);

// Parses protobuf text format and validates it. kInvalidArgument naming the
// line and column, or the rule and field, that is wrong.
absl::StatusOr<DomainPolicy> ParseDomainPolicyText(absl::string_view text);

// Checks a parsed policy: a domain name; every rule with an id (unique), at
// least one known operation and at least one valid matcher; labels only with
// Seal or Unseal. kInvalidArgument naming the rule.
absl::Status ValidateDomainPolicy(const DomainPolicy& policy);

// The policy as protobuf text, for people.
std::string DomainPolicyToText(const DomainPolicy& policy);

// Validates `policy` and signs its serialization with `policy_key`; returns
// a serialized SignedDomainPolicy.
absl::StatusOr<std::string> SignDomainPolicy(const DomainPolicy& policy,
                                             const SigningKey& policy_key);

// Parses a serialized SignedDomainPolicy, checks it is signed by
// `policy_key` over the exact bytes carried, then parses and validates the
// policy. kInvalidArgument (malformed or invalid policy), kUnauthenticated
// (signed by another key, or a bad signature), each with the reason.
absl::StatusOr<DomainPolicy> VerifySignedDomainPolicy(
    absl::string_view signed_policy, const VerifyingKey& policy_key);

}  // namespace tao

#endif  // TAO_TAO_DOMAIN_POLICY_IO_H_
