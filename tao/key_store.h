// A host's keys and their encrypted form at rest. The file format is in
// docs/keys-at-rest.md: a header with the scrypt parameters, a salt and a
// passphrase check value, then AES-256-GCM ciphertext of the keys whose
// associated data is the header.
#ifndef TAO_TAO_KEY_STORE_H_
#define TAO_TAO_KEY_STORE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tao/crypto.h"
#include "tao/keys.h"
#include "tao/secret_string.h"

namespace tao {

inline constexpr size_t kSealingSecretSize = 32;

// A host's secrets: the key it signs attestations with and the secret its
// sealing keys are derived from. Move-only.
struct HostKeys {
  SigningKey signing_key;
  SecretString sealing_secret;

  // Fresh keys from OpenSSL's DRBG.
  static absl::StatusOr<HostKeys> Generate();
};

// Encrypts `keys` under `passphrase` with scrypt `params`. Returns
// kInvalidArgument for an empty passphrase or bad parameters.
absl::StatusOr<std::string> EncryptHostKeys(const HostKeys& keys,
                                            absl::string_view passphrase,
                                            const ScryptParams& params);

// Decrypts a file made by EncryptHostKeys. Returns kInvalidArgument for a
// malformed file or out-of-bounds parameters, kPermissionDenied for a wrong
// passphrase and kDataLoss when the passphrase is right but the file was
// altered.
absl::StatusOr<HostKeys> DecryptHostKeys(absl::string_view file,
                                         absl::string_view passphrase);

}  // namespace tao

#endif  // TAO_TAO_KEY_STORE_H_
