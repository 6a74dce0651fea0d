// The TPM commands a tpm2 root runs, each flushing every transient object
// and session it makes. Replies are untrusted: sizes are checked before
// they are copied and a malformed reply is an error, never a crash.
// docs/tpm2-root.md describes the keys, the policy and the quote.
#ifndef TAO_TAO_TPM2_TPM2_OPS_H_
#define TAO_TAO_TPM2_TPM2_OPS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tao/keys.h"
#include "tao/secret_string.h"
#include "tao/tpm2/esys.h"
#include "tao/tpm2_quote.h"
#include "tao/tpm2_state.pb.h"

namespace tao {

// Reads the SHA-256 bank's `pcrs`. kFailedPrecondition if the TPM has no
// such bank or answers with another selection.
absl::StatusOr<PcrValues> ReadPcrs(EsysContext& ctx,
                                   const std::vector<uint32_t>& pcrs);

// The attestation key, loaded: a restricted ECDSA P-256 primary key of the
// endorsement hierarchy, the same key at every start. Flushed when this goes.
struct Tpm2AttestationKey {
  TransientHandle handle;
  std::string spki;  // its DER SPKI
};

// Makes (re-creates) the attestation key.
absl::StatusOr<Tpm2AttestationKey> CreateAttestationKey(EsysContext& ctx);

// A quote: TPMS_ATTEST and the DER ECDSA-SHA256 signature over it.
struct Tpm2QuoteResult {
  std::string attest;
  std::string signature;
};

// Quotes `pcrs` with `ak` and `qualifying_data` (at most 64 bytes).
absl::StatusOr<Tpm2QuoteResult> Quote(EsysContext& ctx,
                                      const Tpm2AttestationKey& ak,
                                      const std::vector<uint32_t>& pcrs,
                                      absl::string_view qualifying_data);

// The TPM name (nameAlg SHA-256) of `key` loaded as an ECDSA-SHA256
// verification key, computed without a TPM. Also its TPM2B_PUBLIC.
absl::StatusOr<std::string> Tpm2KeyName(const VerifyingKey& key);

// Seals `secret` (1 to 128 bytes) under the owner hierarchy's storage key
// with the policy PolicyOR(PolicyPCR(baseline), PolicyAuthorize(policy key,
// kTpm2PolicyRef)). The object is not subject to dictionary-attack lockout.
absl::StatusOr<Tpm2SealedState> CreateSealedObject(
    EsysContext& ctx, absl::string_view secret, const PcrValues& baseline,
    const VerifyingKey& policy_key);

// Unseals through the PCR branch (the current PCRs must be the baseline).
// kFailedPrecondition when the TPM refuses the policy (the PCRs differ).
absl::StatusOr<SecretString> UnsealWithPcrs(EsysContext& ctx,
                                            const Tpm2SealedState& state);

// Unseals through the PolicyAuthorize branch: the TPM checks `approval`'s
// signature by `policy_key` over the current PCRs' policy.
// kFailedPrecondition when the TPM refuses it.
absl::StatusOr<SecretString> UnsealWithAuthorization(
    EsysContext& ctx, const Tpm2SealedState& state,
    const Tpm2PcrAuthorization& approval, const VerifyingKey& policy_key);

}  // namespace tao

#endif  // TAO_TAO_TPM2_TPM2_OPS_H_
