// ECDSA P-256 keys over OpenSSL's EVP API. Every signature covers a fixed
// context string as well as the data, so a signature made for one purpose
// (attestations, program signatures, policies) never verifies for another.
#ifndef TAO_TAO_KEYS_H_
#define TAO_TAO_KEYS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tao/secret_string.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace tao {

namespace internal {
struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
}  // namespace internal

// A public key that checks signatures. Copyable (shares the immutable
// OpenSSL object); thread-safe for concurrent Verify calls.
class VerifyingKey {
 public:
  // Parses a DER SubjectPublicKeyInfo. Accepts only a P-256 key in its
  // canonical (uncompressed) encoding, so that one key has one SPKI and one
  // name. Returns kInvalidArgument otherwise.
  static absl::StatusOr<VerifyingKey> FromSpki(absl::string_view der);
  // Checks `der` exactly as FromSpki does, without building a key: the
  // fixed DER header of a P-256 SPKI (ending in the uncompressed form byte)
  // and an on-curve check of the point. Rejections carry FromSpki's messages.
  static absl::Status CheckSpki(absl::string_view der);
  // The canonical SPKI of the P-256 point (`x`, `y`), each exactly 32
  // big-endian bytes. kInvalidArgument if a coordinate has another size or
  // the point is not on the curve (CheckSpki's messages).
  static absl::StatusOr<std::string> SpkiFromPoint(absl::string_view x,
                                                   absl::string_view y);
  // Parses a PEM "PUBLIC KEY" block. Same rules as FromSpki.
  static absl::StatusOr<VerifyingKey> FromPem(absl::string_view pem);

  // The canonical DER SubjectPublicKeyInfo.
  const std::string& spki() const { return spki_; }
  // PEM "PUBLIC KEY" text.
  std::string ToPem() const;

  // Checks `signature` (DER ECDSA) over `context` || 0x00 || `data`.
  // Returns kUnauthenticated if it does not verify.
  absl::Status Verify(absl::string_view context, absl::string_view data,
                      absl::string_view signature) const;

  bool operator==(const VerifyingKey& other) const {
    return spki_ == other.spki_;
  }
  bool operator!=(const VerifyingKey& other) const { return !(*this == other); }

 private:
  VerifyingKey(std::shared_ptr<EVP_PKEY> key, std::string spki)
      : key_(std::move(key)), spki_(std::move(spki)) {}
  friend class SigningKey;

  std::shared_ptr<EVP_PKEY> key_;
  std::string spki_;
};

// A P-256 private key. Move-only; thread-safe for concurrent Sign calls.
class SigningKey {
 public:
  // A fresh key from OpenSSL's DRBG. Returns kInternal if OpenSSL fails.
  static absl::StatusOr<SigningKey> Generate();
  // Parses an unencrypted DER PKCS#8 PrivateKeyInfo holding a P-256 key.
  // Returns kInvalidArgument otherwise.
  static absl::StatusOr<SigningKey> FromPkcs8(absl::string_view der);

  SigningKey(SigningKey&&) = default;
  SigningKey& operator=(SigningKey&&) = default;

  // DER PKCS#8 of the private key; the caller keeps it secret.
  absl::StatusOr<SecretString> ToPkcs8() const;
  const VerifyingKey& verifying_key() const { return public_key_; }

  // DER ECDSA signature (SHA-256) over `context` || 0x00 || `data`.
  // `context` must not contain a NUL byte (kInvalidArgument).
  absl::StatusOr<std::string> Sign(absl::string_view context,
                                   absl::string_view data) const;
  // DER ECDSA signature (SHA-256) over `message` alone, with no context.
  // Only for foreign formats that carry their own domain separation: a
  // TPM 2.0 PolicyAuthorize approval (approvedPolicy || policyRef,
  // tao/tpm2_quote.h), which a context prefix would break.
  absl::StatusOr<std::string> SignForeignFormat(
      absl::string_view message) const;

 private:
  SigningKey(internal::PkeyPtr key, VerifyingKey public_key)
      : key_(std::move(key)), public_key_(std::move(public_key)) {}
  static absl::StatusOr<SigningKey> FromPkey(internal::PkeyPtr key);

  internal::PkeyPtr key_;
  VerifyingKey public_key_;
};

}  // namespace tao

#endif  // TAO_TAO_KEYS_H_
