// Detached program signatures: a publisher key signs (measurement, product,
// version), so a host that measures the program can name its publisher in
// the program's name (a Publisher subprincipal) and seal policies can let
// later versions of a product unseal what earlier ones sealed.
#ifndef TAO_TAO_PROGRAM_SIGNATURE_H_
#define TAO_TAO_PROGRAM_SIGNATURE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao/program_signature.pb.h"

namespace tao {

inline constexpr absl::string_view kProgramSignatureContext =
    "tao-program-signature-v1";
// The signature of program P is read from P + this suffix.
inline constexpr absl::string_view kProgramSignatureSuffix = ".taosig";
inline constexpr size_t kMaxProgramSignatureSize = 64 * 1024;

// Signs `measurement` (32-byte SHA-256) as `product` at `version`. Returns
// kInvalidArgument for a bad measurement size or product name.
absl::StatusOr<std::string> SignProgram(const SigningKey& publisher,
                                        absl::string_view measurement,
                                        absl::string_view product,
                                        uint64_t version);

// Checks a serialized ProgramSignature against the program's `measurement`:
// it must parse, carry a valid P-256 key and a signature over the exact claim
// bytes, and claim this very measurement. Returns the publisher's claim, or
// kInvalidArgument (malformed) / kUnauthenticated (bad signature, or a
// signature for other bytes) with the reason.
absl::StatusOr<PublisherClaim> VerifyProgramSignature(
    absl::string_view signature, absl::string_view measurement);

// The Publisher subprincipal for a verified claim.
absl::StatusOr<Subprincipal> PublisherSubprincipal(const PublisherClaim& claim);

}  // namespace tao

#endif  // TAO_TAO_PROGRAM_SIGNATURE_H_
