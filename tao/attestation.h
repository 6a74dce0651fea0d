// Signing statements into attestations, and verifying attestation chains.
// The rules are in docs/attestation.md.
#ifndef TAO_TAO_ATTESTATION_H_
#define TAO_TAO_ATTESTATION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tao/attestation.pb.h"
#include "tao/clock.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao/tpm2_quote.h"

namespace tao {

// The signature context of every attestation.
inline constexpr absl::string_view kAttestationContext = "tao-attestation-v1";
// Most delegations followed from a leaf attestation to a trusted root.
inline constexpr int kMaxDelegationDepth = 8;
// Largest serialized attestation accepted.
inline constexpr size_t kMaxAttestationSize = 1 << 20;

// Serializes `statement` and signs the bytes with `key`. `delegation`, if
// given, is attached as the chain that makes `key` trusted. Returns
// kInvalidArgument if the statement's speaker is not a valid name.
absl::StatusOr<Attestation> SignStatement(
    const Statement& statement, const SigningKey& key,
    const Attestation* delegation = nullptr);

// Why a verification failed. Carried on the failing status as a payload
// (GetAttestationFailure) and named at the start of its message.
enum class AttestationFailure {
  kMalformed,         // unparsable statement, key, name or window
  kBadSignature,      // a signature does not verify over the bytes received
  kUntrustedSigner,   // the chain ends in a key that is not a trusted root
  kSpeakerNotSigner,  // the speaker is neither the signer nor under it
  kBadDelegation,     // a delegation is missing, of the wrong key or name
  kExpired,           // now is after the chain's not_after
  kNotYetValid,       // now is before the chain's not_before
  kChainTooDeep,      // more than kMaxDelegationDepth delegations
  kBadQuote,          // a TPM quote fails a check (magic, type, qualifying
                      // data, PCR selection or digest, signature)
};

// "malformed", "bad-signature", ... as used in messages and the CLI.
absl::string_view AttestationFailureName(AttestationFailure failure);

// The failure carried by a status that a verifier returned, if any.
std::optional<AttestationFailure> GetAttestationFailure(
    const absl::Status& status);

// What a successful verification establishes.
struct VerifiedStatement {
  Statement statement;  // parsed from the exact signed bytes
  Principal speaker;
  absl::Time not_before;  // the intersection of the chain's windows
  absl::Time not_after;
  Principal root;   // the trusted key the chain ends in
  int delegations;  // how many delegations were followed
  // The PCRs a TPM quoted for the chain's root link (empty unless the root
  // is a tpm2(...) principal): the platform state the chain vouches for.
  PcrValues platform_pcrs = {};
};

// Checks attestations against a set of trusted root keys and a clock.
// Immutable after construction; thread-safe. `clock` must outlive it.
class AttestationVerifier {
 public:
  AttestationVerifier(std::vector<VerifyingKey> trusted_roots,
                      const Clock& clock);

  // Verifies every signature over the bytes received, that each speaker is
  // its signer or under it (or under a delegator whose delegation names the
  // signer), that the chain ends in a trusted root, and that now lies in the
  // intersection of all validity windows. Chains of any length up to
  // kMaxDelegationDepth are followed. A link carrying a TPM quote is
  // checked as VerifyTpm2Quote checks one (its qualifying data must be the
  // SHA-256 of the link's statement bytes) and speaks as tpm2(<its key>).
  // On failure returns kInvalidArgument
  // (malformed) or kUnauthenticated, with the AttestationFailure as payload
  // and a message that names the failing link ("attestation" for the leaf,
  // "delegation N" for the Nth link up the chain) and why.
  absl::StatusOr<VerifiedStatement> Verify(
      const Attestation& attestation) const;

  // Parses a serialized Attestation (at most kMaxAttestationSize) and
  // verifies it.
  absl::StatusOr<VerifiedStatement> VerifySerialized(
      absl::string_view bytes) const;

 private:
  absl::StatusOr<VerifiedStatement> VerifyLink(const Attestation& attestation,
                                               int depth) const;
  bool IsTrusted(const std::string& spki) const;

  std::vector<VerifyingKey> roots_;
  const Clock& clock_;
};

// The statement as readable text: speaker, window, message.
std::string DescribeStatement(const Statement& statement);

}  // namespace tao

#endif  // TAO_TAO_ATTESTATION_H_
