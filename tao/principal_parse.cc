// The parsers for names from anyone: the grammar of principal.cc with
// VerifyingKey::CheckSpki, which needs OpenSSL. They have a file of their
// own so that a program that parses only what its host sends
// (Principal::ParseFromOwnHost, the client library) does not link OpenSSL.
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao/principal_grammar.h"

namespace tao {

using principal_internal::Grammar;

absl::StatusOr<Subprincipal> Subprincipal::Create(absl::string_view kind,
                                                  absl::string_view argument) {
  return Grammar::CreateSub(kind, argument, &VerifyingKey::CheckSpki);
}

absl::StatusOr<Subprincipal> Subprincipal::Parse(absl::string_view text) {
  return Grammar::ParseSub(text, &VerifyingKey::CheckSpki);
}

absl::StatusOr<Principal> Principal::Parse(absl::string_view text) {
  return Grammar::ParseName(text, &VerifyingKey::CheckSpki);
}

}  // namespace tao
