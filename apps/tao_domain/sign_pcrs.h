// tao-domain sign-pcrs: the domain approves a PCR set for tpm2 hosts, so
// that a host whose PCRs change in an update (to exactly that set) can
// still unseal its keys (docs/tpm2-root.md).
#ifndef TAO_APPS_TAO_DOMAIN_SIGN_PCRS_H_
#define TAO_APPS_TAO_DOMAIN_SIGN_PCRS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tao/keys.h"
#include "tao/tpm2_state.pb.h"

namespace tao {

// Parses "INDEX=HEX" arguments (a SHA-256 value of 64 hex digits per PCR,
// each index once) and signs them with the policy key as a
// Tpm2PcrAuthorization. kInvalidArgument for a malformed argument.
absl::StatusOr<Tpm2PcrAuthorization> SignPcrSet(
    const SigningKey& policy_key, const std::vector<std::string>& pcr_args);

}  // namespace tao

#endif  // TAO_APPS_TAO_DOMAIN_SIGN_PCRS_H_
