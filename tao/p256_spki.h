// The one DER form in which the Tao writes a P-256 public key: a
// SubjectPublicKeyInfo{ecPublicKey, prime256v1} of 91 bytes that holds the
// uncompressed point. Constants and byte checks only, with no OpenSSL, so that
// parsing a name (tao/principal.h) can check a key's encoding without linking
// it. Thread-safe.
#ifndef TAO_TAO_P256_SPKI_H_
#define TAO_TAO_P256_SPKI_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tao {

// DER of SubjectPublicKeyInfo{ecPublicKey, prime256v1} up to and including
// the uncompressed-point form byte 0x04; X || Y follow.
inline constexpr unsigned char kP256SpkiHeader[] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};
// Where the point starts (its form byte), how long it is, and the whole size.
inline constexpr size_t kP256PointOffset = sizeof(kP256SpkiHeader) - 1;
inline constexpr size_t kP256PointSize = 65;
inline constexpr size_t kP256SpkiSize = kP256PointOffset + kP256PointSize;

// OK if `der` has the bytes of the canonical form: exactly kP256SpkiSize
// bytes that start with kP256SpkiHeader. It does not check that the point
// lies on the curve; VerifyingKey::CheckSpki does, and so does every use of
// a key (VerifyingKey::FromSpki). kInvalidArgument naming the first
// difference.
absl::Status CheckP256SpkiEncoding(absl::string_view der);

}  // namespace tao

#endif  // TAO_TAO_P256_SPKI_H_
