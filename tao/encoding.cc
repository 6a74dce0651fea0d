#include "tao/encoding.h"

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace tao {

std::string HexEncode(absl::string_view bytes) {
  return absl::BytesToHexString(bytes);
}

std::string Base64UrlEncode(absl::string_view bytes) {
  std::string out;
  absl::WebSafeBase64Escape(bytes, &out);
  return out;
}

absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "base64url: character '", absl::CHexEscape(text.substr(i, 1)),
          "' at offset ", i, " is not in the unpadded base64url alphabet"));
    }
  }
  if (text.size() % 4 == 1) {
    return absl::InvalidArgumentError("base64url: impossible length");
  }
  std::string out;
  if (!absl::WebSafeBase64Unescape(text, &out) ||
      Base64UrlEncode(out) != text) {
    return absl::InvalidArgumentError(
        "base64url: not the canonical encoding of any byte string");
  }
  return out;
}

}  // namespace tao
