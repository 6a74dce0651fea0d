// The files of a tpm2 root (docs/tpm2-root.md): the keyset encrypted under
// the TPM-sealed root secret, the sealed object's state, and a domain-signed
// PCR set. All are untrusted input when read back.
#ifndef TAO_TAO_TPM2_TPM2_FILES_H_
#define TAO_TAO_TPM2_TPM2_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tao/key_store.h"
#include "tao/keys.h"
#include "tao/secret_string.h"
#include "tao/tpm2_quote.h"
#include "tao/tpm2_state.pb.h"

namespace tao {

// Size of the root secret the TPM seals.
inline constexpr size_t kTpm2RootSecretSize = 32;

// "tao-tpm2-keyset-v1" 0x00, a 12-byte IV, AES-256-GCM ciphertext of the
// keyset (StackedRoot::EncodeKeyset's encoding), the 16-byte tag; the key is
// HKDF-SHA256(root secret, info "tao-tpm2-keyset-v1"), the header the AAD.
absl::StatusOr<std::string> EncryptTpm2Keyset(const HostKeys& keys,
                                              absl::string_view root_secret);
// The inverse. kDataLoss if it does not authenticate under `root_secret`,
// kInvalidArgument if malformed.
absl::StatusOr<HostKeys> DecryptTpm2Keyset(absl::string_view file,
                                           absl::string_view root_secret);

// Reads a Tpm2SealedState file. kDataLoss if it does not parse; errno
// statuses of the file.
absl::StatusOr<Tpm2SealedState> ReadTpm2SealedState(const std::string& path);

// Reads a domain-signed PCR set and checks it: PCRs in increasing order
// with 32-byte values, and a signature by `policy_key` over
// PolicyAuthorizationMessage(PolicyPcrDigest(pcrs)). kFailedPrecondition
// naming what is wrong; errno statuses of the file.
absl::StatusOr<Tpm2PcrAuthorization> ReadTpm2PcrAuthorization(
    const std::string& path, const VerifyingKey& policy_key);

// The values of a list of Tpm2Pcr (later entries win; callers check order).
PcrValues PcrsFromProto(
    const google::protobuf::RepeatedPtrField<Tpm2Pcr>& pcrs);

}  // namespace tao

#endif  // TAO_TAO_TPM2_TPM2_FILES_H_
