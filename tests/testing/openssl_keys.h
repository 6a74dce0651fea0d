// Keys made with OpenSSL directly, in forms the Tao must refuse: other curves,
// other algorithms, a compressed P-256 point. For negative tests of
// VerifyingKey, SigningKey and Principal parsing.
#ifndef TAO_TESTS_TESTING_OPENSSL_KEYS_H_
#define TAO_TESTS_TESTING_OPENSSL_KEYS_H_

#include <string>

namespace tao {
namespace test {

// DER SubjectPublicKeyInfo of a fresh P-256 key whose point is encoded
// compressed (59 bytes instead of the canonical 91).
std::string CompressedP256Spki();
// DER SubjectPublicKeyInfo of a fresh P-384 key.
std::string P384Spki();
// PEM "PUBLIC KEY" block of a fresh P-384 key.
std::string P384Pem();
// Unencrypted DER PKCS#8 of a fresh P-384 private key.
std::string P384Pkcs8();
// DER SubjectPublicKeyInfo of a fresh Ed25519 key (not an EC key at all).
std::string Ed25519Spki();

}  // namespace test
}  // namespace tao

#endif  // TAO_TESTS_TESTING_OPENSSL_KEYS_H_
