#include "tao/sealed_bundle.h"

#include "absl/strings/str_cat.h"
#include "tao/byte_reader.h"
#include "tao/crypto.h"

namespace tao {
namespace {

absl::Status Bad(size_t offset, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("sealed bundle at offset ", offset, ": ", why));
}

}  // namespace

absl::StatusOr<SealedBundleView> ParseSealedBundle(absl::string_view bundle) {
  ByteReader r(bundle);
  SealedBundleView view;
  absl::string_view magic;
  if (!r.Take(4, &magic) || magic != kSealedBundleMagic) {
    return Bad(0, "not a sealed bundle (magic is not \"TAOS\")");
  }
  uint16_t flags = 0;
  if (!r.ReadU16(&view.version))
    return Bad(r.offset(), "truncated before version");
  if (view.version != kSealedBundleVersion) {
    return Bad(4, absl::StrCat("format version ", view.version,
                               " is not supported (this build reads ",
                               kSealedBundleVersion, ")"));
  }
  if (!r.ReadU16(&flags)) return Bad(r.offset(), "truncated before flags");
  if (flags != 0)
    return Bad(6, absl::StrCat("unknown flags 0x", absl::Hex(flags)));
  uint32_t policy_len = 0;
  if (!r.ReadU32(&policy_len))
    return Bad(r.offset(), "truncated before policy length");
  if (policy_len > kMaxSealPolicySize) {
    return Bad(
        8, absl::StrCat("policy length ", policy_len, " exceeds the limit"));
  }
  if (!r.Take(policy_len, &view.policy)) {
    return Bad(12, absl::StrCat("policy length ", policy_len,
                                " runs past the end of the bundle"));
  }
  uint32_t sealer_len = 0;
  size_t sealer_len_offset = r.offset();
  if (!r.ReadU32(&sealer_len))
    return Bad(r.offset(), "truncated before sealer length");
  if (sealer_len == 0 || sealer_len > kMaxPrincipalTextSize) {
    return Bad(sealer_len_offset,
               absl::StrCat("sealer length ", sealer_len, " is out of range"));
  }
  if (!r.Take(sealer_len, &view.sealer)) {
    return Bad(sealer_len_offset + 4,
               "sealer name runs past the end of the bundle");
  }
  if (!r.Take(kSealNonceSize, &view.nonce)) {
    return Bad(r.offset(), "truncated inside the nonce");
  }
  uint64_t plaintext_len = 0;
  size_t len_offset = r.offset();
  if (!r.ReadU64(&plaintext_len))
    return Bad(r.offset(), "truncated before data length");
  view.associated_data = r.consumed();
  if (plaintext_len > kMaxSealedDataSize) {
    return Bad(len_offset, absl::StrCat("data length ", plaintext_len,
                                        " exceeds the limit"));
  }
  if (r.remaining() != plaintext_len + kAesGcmTagSize) {
    return Bad(len_offset, absl::StrCat("data length ", plaintext_len,
                                        " plus a 16-byte tag "
                                        "does not match the ",
                                        r.remaining(), " bytes left"));
  }
  r.Take(plaintext_len, &view.ciphertext);
  r.Take(kAesGcmTagSize, &view.tag);
  return view;
}

absl::Status AppendSealedBundleHeader(absl::string_view policy,
                                      absl::string_view sealer,
                                      absl::string_view nonce,
                                      uint64_t plaintext_len,
                                      std::string* out) {
  if (policy.size() > kMaxSealPolicySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("seal policy is ", policy.size(),
                     " bytes, over the limit of ", kMaxSealPolicySize));
  }
  if (sealer.empty() || sealer.size() > kMaxPrincipalTextSize) {
    return absl::InvalidArgumentError("sealer name size is out of range");
  }
  if (nonce.size() != kSealNonceSize) {
    return absl::InvalidArgumentError("seal nonce must be 32 bytes");
  }
  if (plaintext_len > kMaxSealedDataSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("data to seal is ", plaintext_len,
                     " bytes, over the limit of ", kMaxSealedDataSize));
  }
  out->append(kSealedBundleMagic.data(), kSealedBundleMagic.size());
  AppendU16(kSealedBundleVersion, out);
  AppendU16(0, out);
  AppendU32(static_cast<uint32_t>(policy.size()), out);
  out->append(policy.data(), policy.size());
  AppendU32(static_cast<uint32_t>(sealer.size()), out);
  out->append(sealer.data(), sealer.size());
  out->append(nonce.data(), nonce.size());
  AppendU64(plaintext_len, out);
  return absl::OkStatus();
}

}  // namespace tao
