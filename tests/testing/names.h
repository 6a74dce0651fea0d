// Shared fixtures for names, keys and digests, so that tests build the same
// principals the same way: `Program(host, 'a')` is host.Program(sha256:aa..),
// a measurement every test spells alike. On a failure the current test
// fails (EXPECT) and the unextended name comes back.
#ifndef TAO_TESTS_TESTING_NAMES_H_
#define TAO_TESTS_TESTING_NAMES_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tao/crypto.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao/tao_host.h"

namespace tao {
namespace test {

// A SHA-256 digest of 32 bytes `c`, raw.
std::string Digest(char c);
// The same as a measurement argument: "sha256:<64 hex digits>".
std::string DigestArg(char c);

// `p` extended with `sub`.
Principal Sub(const Principal& p, const absl::StatusOr<Subprincipal>& sub);
// p.Program(sha256:Digest(c)), p.Args(sha256:Digest(c)), p.Ext(label:value).
Principal Program(const Principal& p, char c);
Principal Args(const Principal& p, char c);
Principal Ext(const Principal& p, absl::string_view label,
              absl::string_view value);
// p.Publisher(publisher, product, version): what a host appends after the
// measurement of a program whose publisher signature verified.
Principal Published(const Principal& p, const SigningKey& publisher,
                    absl::string_view product, uint64_t version);

// The principal a key speaks as: key(ecdsa-p256:...).
Principal KeyName(const SigningKey& key);

// scrypt cheap enough for tests (N = 2^10, the least ValidateScryptParams
// accepts); keys at rest in tests are wrapped with it.
inline constexpr ScryptParams kFastScrypt{1 << 10, 8, 1};

// A fresh P-256 key; aborts the test binary if OpenSSL cannot make one.
SigningKey NewKey();
// A host with fresh keys in memory, named by its signing key.
std::unique_ptr<TaoHost> NewTestHost();

}  // namespace test
}  // namespace tao

#endif  // TAO_TESTS_TESTING_NAMES_H_
