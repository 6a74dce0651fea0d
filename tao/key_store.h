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

// Decrypts a file made by EncryptHostKeys. Returns kInvalidArgument for an
// empty passphrase, a malformed file or out-of-bounds parameters;
// kPermissionDenied when the passphrase check fails, which is what a wrong
// passphrase and an altered header (scrypt parameters, salt, check value)
// both look like; kDataLoss when the passphrase is right but the ciphertext
// was altered or holds a malformed key record.
absl::StatusOr<HostKeys> DecryptHostKeys(absl::string_view file,
                                         absl::string_view passphrase);

// A directory holding one set of keys at rest:
//   <basename>_keys  the encrypted keys, mode 0600
//   <basename>_name  the signing key's principal text, mode 0644
// Hosts use basename "host"; domains "policy"; publishers "publisher".
struct KeyDirectoryOptions {
  std::string dir;       // created with mode 0700 when keys are created
  std::string basename;  // e.g. "host"
  std::string passphrase;
  bool create_if_missing = true;
  ScryptParams scrypt;  // for fresh keys; loaded keys use their stored ones
};

// Loads the keys in `options.dir`, or makes, stores and returns fresh ones
// (setting *created) when there are none and creation is allowed. Keys are
// never replaced: of two processes creating at once, one creates and the
// other loads its keys. The keys file is written first and the name file
// after; loading rewrites a missing or stale name file, so a crash between
// the two is repaired by the next load. A failed load writes nothing but
// that repair (and fails if the repair cannot be written). Returns kNotFound
// (no keys, creation off), kPermissionDenied (wrong passphrase, an altered
// header, or an unreadable file), kDataLoss (altered ciphertext),
// kInvalidArgument (malformed file or options), or an errno status.
absl::StatusOr<HostKeys> LoadOrCreateKeyDirectory(
    const KeyDirectoryOptions& options, bool* created);

// The paths of the two files.
std::string KeysFilePath(const std::string& dir, absl::string_view basename);
std::string NameFilePath(const std::string& dir, absl::string_view basename);

}  // namespace tao

#endif  // TAO_TAO_KEY_STORE_H_
