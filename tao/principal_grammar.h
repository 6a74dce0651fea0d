// The grammar of principal names with the key check as a parameter: the
// strict parsers (principal_parse.cc: VerifyingKey::CheckSpki, OpenSSL) and
// Principal::ParseFromOwnHost (principal.cc: the encoding's bytes only) share
// it. Not installed, and for those two files only: a caller with its own
// check could accept names that are not canonical.
#ifndef TAO_TAO_PRINCIPAL_GRAMMAR_H_
#define TAO_TAO_PRINCIPAL_GRAMMAR_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tao/principal.h"

namespace tao {

// How a parse checks the DER SPKI of a key in a name (the root's, a
// Publisher's): OK, or kInvalidArgument with the reason.
using SpkiCheck = absl::Status (*)(absl::string_view der);

namespace principal_internal {

// Stateless; thread-safe. The statuses of the public parsers.
struct Grammar {
  static absl::StatusOr<Subprincipal> CreateSub(absl::string_view kind,
                                                absl::string_view argument,
                                                SpkiCheck check);
  static absl::StatusOr<Subprincipal> ParseSub(absl::string_view text,
                                               SpkiCheck check);
  static absl::StatusOr<Principal> ParseName(absl::string_view text,
                                             SpkiCheck check);
};

}  // namespace principal_internal
}  // namespace tao

#endif  // TAO_TAO_PRINCIPAL_GRAMMAR_H_
