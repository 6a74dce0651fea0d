#include "tao/p256_spki.h"

#include "absl/strings/str_cat.h"

namespace tao {

absl::Status CheckP256SpkiEncoding(absl::string_view der) {
  if (der.size() != kP256SpkiSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key is not a canonical P-256 SubjectPublicKeyInfo: ", der.size(),
        " bytes, expected ", kP256SpkiSize));
  }
  for (size_t i = 0; i < sizeof(kP256SpkiHeader); ++i) {
    if (static_cast<unsigned char>(der[i]) == kP256SpkiHeader[i]) continue;
    if (i == kP256PointOffset) {
      return absl::InvalidArgumentError(
          "key is not a canonical P-256 SubjectPublicKeyInfo: the point is "
          "not in uncompressed form");
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "key is not a canonical P-256 SubjectPublicKeyInfo: byte ", i,
        " differs from the header of an uncompressed P-256 key"));
  }
  return absl::OkStatus();
}

}  // namespace tao
