#include "tao/tpm2/tpm2_files.h"

#include "absl/strings/str_cat.h"
#include "tao/crypto.h"
#include "tao/file_util.h"
#include "tao/stacked_root.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

constexpr absl::string_view kKeysetHeader{"tao-tpm2-keyset-v1\0", 19};
constexpr size_t kMaxFile = 64 << 10;

absl::StatusOr<SecretString> KeysetKey(absl::string_view root_secret) {
  if (root_secret.size() != kTpm2RootSecretSize) {
    return absl::DataLossError(
        "tpm2: the unsealed root secret is not 32 bytes");
  }
  return HkdfSha256(root_secret, "", "tao-tpm2-keyset-v1", kAesGcmKeySize);
}

}  // namespace

PcrValues PcrsFromProto(
    const google::protobuf::RepeatedPtrField<Tpm2Pcr>& pcrs) {
  PcrValues out;
  for (const Tpm2Pcr& pcr : pcrs) out[pcr.index()] = pcr.value();
  return out;
}

absl::StatusOr<std::string> EncryptTpm2Keyset(const HostKeys& keys,
                                              absl::string_view root_secret) {
  TAO_ASSIGN_OR_RETURN(SecretString key, KeysetKey(root_secret));
  TAO_ASSIGN_OR_RETURN(SecretString plain, StackedRoot::EncodeKeyset(keys));
  TAO_ASSIGN_OR_RETURN(std::string iv, RandomBytes(kAesGcmIvSize));
  std::string out = absl::StrCat(kKeysetHeader, iv);
  const size_t at = out.size();
  out.resize(at + plain.size() + kAesGcmTagSize);
  TAO_RETURN_IF_ERROR(AesGcmEncrypt(key.view(), iv, kKeysetHeader, plain.data(),
                                    plain.size(), &out[at],
                                    &out[at + plain.size()]));
  return out;
}

absl::StatusOr<HostKeys> DecryptTpm2Keyset(absl::string_view file,
                                           absl::string_view root_secret) {
  const size_t fixed = kKeysetHeader.size() + kAesGcmIvSize + kAesGcmTagSize;
  if (file.size() <= fixed ||
      file.substr(0, kKeysetHeader.size()) != kKeysetHeader) {
    return absl::InvalidArgumentError("tpm2: the keyset file is malformed");
  }
  TAO_ASSIGN_OR_RETURN(SecretString key, KeysetKey(root_secret));
  absl::string_view iv = file.substr(kKeysetHeader.size(), kAesGcmIvSize);
  const size_t len = file.size() - fixed;
  absl::string_view ct = file.substr(kKeysetHeader.size() + kAesGcmIvSize, len);
  SecretString plain(len);
  absl::Status opened =
      AesGcmDecrypt(key.view(), iv, kKeysetHeader, ct.data(), len,
                    file.substr(file.size() - kAesGcmTagSize), plain.data());
  if (!opened.ok()) {
    return absl::DataLossError(
        "tpm2: the keyset file does not authenticate under the TPM's root "
        "secret (altered, or from another TPM)");
  }
  auto keys = StackedRoot::DecodeKeyset(plain.view());
  if (!keys.ok()) {
    return absl::DataLossError("tpm2: the keyset does not decode");
  }
  return keys;
}

absl::StatusOr<Tpm2SealedState> ReadTpm2SealedState(const std::string& path) {
  TAO_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path, kMaxFile));
  Tpm2SealedState state;
  if (!state.ParseFromString(bytes) || state.pcrs().empty() ||
      state.public_area().empty() || state.private_area().empty()) {
    return absl::DataLossError(absl::StrCat(path, ": does not parse"));
  }
  return state;
}

absl::StatusOr<Tpm2PcrAuthorization> ReadTpm2PcrAuthorization(
    const std::string& path, const VerifyingKey& policy_key) {
  TAO_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path, kMaxFile));
  Tpm2PcrAuthorization approval;
  if (!approval.ParseFromString(bytes) || approval.pcrs().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not a signed PCR set (tao-domain sign-pcrs)"));
  }
  int64_t last = -1;
  for (const Tpm2Pcr& pcr : approval.pcrs()) {
    if (static_cast<int64_t>(pcr.index()) <= last ||
        pcr.index() > kTpm2MaxPcr || pcr.value().size() != kSha256Size) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, ": PCRs must be in increasing order with 32-byte values"));
    }
    last = pcr.index();
  }
  TAO_ASSIGN_OR_RETURN(std::string approved,
                       PolicyPcrDigest(PcrsFromProto(approval.pcrs())));
  absl::Status signed_ok = VerifyRawEcdsaSha256(
      policy_key.spki(), PolicyAuthorizationMessage(approved),
      approval.signature());
  if (!signed_ok.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        path,
        ": not signed by the domain's policy key: ", signed_ok.message()));
  }
  return approval;
}

}  // namespace tao
