// Symmetric primitives over OpenSSL 3: randomness, SHA-256, HKDF-SHA256,
// AES-256-GCM and scrypt. Stateless functions; all are thread-safe.
#ifndef TAO_TAO_CRYPTO_H_
#define TAO_TAO_CRYPTO_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tao/secret_string.h"

namespace tao {

inline constexpr size_t kSha256Size = 32;
inline constexpr size_t kAesGcmKeySize = 32;
inline constexpr size_t kAesGcmIvSize = 12;
inline constexpr size_t kAesGcmTagSize = 16;

// Fills `out[0, n)` from RAND_bytes. Returns kInternal if the DRBG fails.
absl::Status FillRandom(char* out, size_t n);

// `n` bytes from RAND_bytes. Returns kInvalidArgument for n > 1 MiB.
absl::StatusOr<std::string> RandomBytes(size_t n);

// SHA-256 digest (32 raw bytes) of `data`.
std::string Sha256(absl::string_view data);

// Incremental SHA-256 for data read in pieces (files to be measured).
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(absl::string_view data);
  // Returns the 32-byte digest; the hasher must not be used afterwards.
  std::string Finish();

 private:
  struct Impl;
  Impl* impl_;
};

// HKDF-SHA256 (RFC 5869) of `secret` with `salt` and `info`, `length` bytes
// (at most 255 * 32). Returns kInvalidArgument for a bad length.
absl::StatusOr<SecretString> HkdfSha256(absl::string_view secret,
                                        absl::string_view salt,
                                        absl::string_view info, size_t length);

// AES-256-GCM encryption of `plaintext[0, len)` into `ciphertext` (len bytes)
// followed by the 16-byte tag into `tag`. `key` is 32 bytes, `iv` 12 bytes.
// `ciphertext` may equal `plaintext` (in place). Returns kInvalidArgument for
// bad sizes and kInternal if OpenSSL fails.
absl::Status AesGcmEncrypt(absl::string_view key, absl::string_view iv,
                           absl::string_view aad, const char* plaintext,
                           size_t len, char* ciphertext, char* tag);

// Decrypts and authenticates; the inverse of AesGcmEncrypt. Returns
// kDataLoss if the tag does not match (wrong key, or altered bytes), after
// wiping `plaintext`.
absl::Status AesGcmDecrypt(absl::string_view key, absl::string_view iv,
                           absl::string_view aad, const char* ciphertext,
                           size_t len, absl::string_view tag, char* plaintext);

// scrypt parameters; stored beside whatever they protect.
struct ScryptParams {
  uint64_t n = uint64_t{1} << 15;  // CPU/memory cost, a power of two
  uint32_t r = 8;
  uint32_t p = 1;
};

// Most memory scrypt may use (128 * r * N bytes).
inline constexpr uint64_t kMaxScryptMemory = uint64_t{1} << 30;

// Checks `params` against sane bounds (n a power of two in [2^10, 2^22],
// r in [1, 32], p in [1, 16], N < 2^(16 r) as RFC 7914 requires,
// 128 * r * N <= 1 GiB) so an untrusted file
// cannot make us allocate more than that. Returns kInvalidArgument naming
// the bad field.
absl::Status ValidateScryptParams(const ScryptParams& params);

// Derives `length` bytes from `passphrase` and `salt` with scrypt.
absl::StatusOr<SecretString> ScryptDerive(absl::string_view passphrase,
                                          absl::string_view salt,
                                          const ScryptParams& params,
                                          size_t length);

// Constant-time equality of two byte strings (length leaks, contents do not).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace tao

#endif  // TAO_TAO_CRYPTO_H_
