// Reading, checking, signing and verifying domain policies. Every parser takes
// untrusted bytes and returns a status; none of them crashes on bad input.
#ifndef TAO_TAO_DOMAIN_POLICY_IO_H_
#define TAO_TAO_DOMAIN_POLICY_IO_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "tao/keys.h"
#include "tao/secret_string.h"
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

// The serial of a serialized SignedDomainPolicy, read without verifying
// it (for tools that number the next revision). kInvalidArgument if it
// does not parse.
absl::StatusOr<uint64_t> PeekDomainPolicySerial(
    absl::string_view signed_policy);

// The highest policy serial a host has accepted, kept in one small file
// (mode 0600, written atomically) that carries an HMAC under a key derived
// from the host's keys, so it cannot be edited down without them. Policies
// with a lower serial are refused; an equal one (the same policy read
// again) is accepted. Thread-safe.
//
// File format: "tao-policy-serial-v1 <serial> <hex HMAC-SHA256>\n", the
// HMAC over "tao-policy-serial-v1 <serial>".
class PolicySerialMark {
 public:
  // Reads the mark at `path` (none yet: highest() is 0). `key` must be at
  // least 32 bytes. kDataLoss if the file is malformed or its MAC does not
  // verify (edited, or made by other keys); kInvalidArgument if it is not a
  // regular file; errno statuses otherwise.
  static absl::StatusOr<std::unique_ptr<PolicySerialMark>> Open(
      std::string path, SecretString key);

  // The highest serial accepted so far (0 before the first).
  uint64_t highest() const;

  // OK if `serial` is not lower than highest(), then raises the mark to it
  // (writing the file when it grows). kFailedPrecondition "policy serial S
  // is older than H, the highest this host accepted"; an errno status if
  // the file cannot be written (the mark is then unchanged).
  absl::Status Accept(uint64_t serial);

 private:
  PolicySerialMark(std::string path, SecretString key, uint64_t highest)
      : path_(std::move(path)), key_(std::move(key)), highest_(highest) {}

  const std::string path_;
  const SecretString key_;
  mutable absl::Mutex mu_;
  uint64_t highest_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tao

#endif  // TAO_TAO_DOMAIN_POLICY_IO_H_
