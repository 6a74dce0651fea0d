// Text encodings of byte strings that names and files use: lowercase hex and
// unpadded base64url. Pure functions over their arguments (thread-safe); no
// OpenSSL, so a program that only parses names (the client library) does not
// link it.
#ifndef TAO_TAO_ENCODING_H_
#define TAO_TAO_ENCODING_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tao {

// Lowercase hex of `bytes`.
std::string HexEncode(absl::string_view bytes);

// base64url without padding (RFC 4648 section 5).
std::string Base64UrlEncode(absl::string_view bytes);
// Strict inverse of Base64UrlEncode: rejects padding, other alphabets and
// non-canonical trailing bits, so each byte string has exactly one text.
// Returns kInvalidArgument.
absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text);

}  // namespace tao

#endif  // TAO_TAO_ENCODING_H_
