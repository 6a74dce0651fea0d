#include "tao/tao_host.h"

#include <openssl/crypto.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "tao/attestation.h"
#include "tao/crypto.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

constexpr absl::string_view kDeriveInfoPrefix = "tao-derive-v1";

// Whether `delegation` (or none) makes `key_name` speak for `name`.
absl::Status CheckDelegation(const Principal& key_name, const Principal& name,
                             const Attestation* delegation) {
  if (delegation == nullptr) {
    if (!name.IsSelfOrSubprincipalOf(key_name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "host name ", name.text(),
          " is not under its signing key and no delegation was given"));
    }
    return absl::OkStatus();
  }
  // The shape only: its signatures are for verifiers to check against
  // their roots.
  Statement statement;
  if (!statement.ParseFromString(delegation->serialized_statement()) ||
      !statement.has_delegation() ||
      statement.delegation().delegate() != key_name.text()) {
    return absl::InvalidArgumentError(
        "the host's delegation does not delegate to its signing key");
  }
  TAO_ASSIGN_OR_RETURN(Principal delegator,
                       Principal::Parse(statement.delegation().delegator()));
  if (!name.IsSelfOrSubprincipalOf(delegator)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the host's delegation is for ", delegator.text(),
                     ", not for ", name.text()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TaoHost>> TaoHost::Create(
    HostKeys keys, Principal name, std::optional<Attestation> delegation) {
  if (keys.sealing_secret.size() != kSealingSecretSize) {
    return absl::InvalidArgumentError("sealing secret must be 32 bytes");
  }
  TAO_RETURN_IF_ERROR(
      CheckDelegation(Principal::ForKey(keys.signing_key.verifying_key()), name,
                      delegation.has_value() ? &*delegation : nullptr));
  return std::unique_ptr<TaoHost>(
      new TaoHost(std::move(keys), std::move(name), std::move(delegation)));
}

std::shared_ptr<const Attestation> TaoHost::current_delegation() const {
  absl::MutexLock lock(&mu_);
  return delegation_;
}

std::optional<Attestation> TaoHost::delegation() const {
  std::shared_ptr<const Attestation> current = current_delegation();
  if (current == nullptr) return std::nullopt;
  return *current;
}

absl::Status TaoHost::ReplaceDelegation(Attestation delegation) {
  if (current_delegation() == nullptr) {
    return absl::FailedPreconditionError(
        "this host's key is its own root: it takes no delegation");
  }
  TAO_RETURN_IF_ERROR(
      CheckDelegation(Principal::ForKey(keys_.signing_key.verifying_key()),
                      name_, &delegation));
  auto fresh = std::make_shared<const Attestation>(std::move(delegation));
  absl::MutexLock lock(&mu_);
  delegation_ = std::move(fresh);
  return absl::OkStatus();
}

absl::StatusOr<std::string> TaoHost::GetRandomBytes(size_t n) const {
  return RandomBytes(n);
}

absl::StatusOr<Attestation> TaoHost::Attest(const Principal& speaker,
                                            Statement statement) const {
  if (!speaker.IsSelfOrSubprincipalOf(name_)) {
    return absl::PermissionDeniedError(
        absl::StrCat(speaker.text(), " is not this host (", name_.text(),
                     ") or its subprincipal"));
  }
  if (statement.speaker().empty()) {
    statement.set_speaker(speaker.text());
  } else {
    TAO_ASSIGN_OR_RETURN(Principal claimed,
                         Principal::Parse(statement.speaker()));
    if (!claimed.IsSelfOrSubprincipalOf(speaker)) {
      return absl::PermissionDeniedError(
          absl::StrCat("statement speaker ", claimed.text(), " is not ",
                       speaker.text(), " or its subprincipal"));
    }
  }
  if (statement.has_not_before() && statement.has_not_after() &&
      statement.not_before() > statement.not_after()) {
    return absl::InvalidArgumentError(
        "statement not_before is after not_after");
  }
  std::shared_ptr<const Attestation> delegation = current_delegation();
  return SignStatement(statement, keys_.signing_key, delegation.get());
}

absl::StatusOr<std::string> TaoHost::Encrypt(absl::string_view data,
                                             absl::string_view policy,
                                             const Principal& sealer) const {
  std::string out;
  TAO_RETURN_IF_ERROR(EncryptTo(data, policy, sealer, &out));
  return out;
}

absl::Status TaoHost::EncryptTo(absl::string_view data,
                                absl::string_view policy,
                                const Principal& sealer,
                                std::string* out) const {
  char nonce[kSealNonceSize];
  TAO_RETURN_IF_ERROR(FillRandom(nonce, sizeof(nonce)));
  absl::string_view nonce_view(nonce, sizeof(nonce));
  const size_t start = out->size();
  out->reserve(start + SealedBundleSize(policy.size(), sealer.text().size(),
                                        data.size()));
  TAO_RETURN_IF_ERROR(AppendSealedBundleHeader(policy, sealer.text(),
                                               nonce_view, data.size(), out));
  auto key_iv = HkdfSha256(keys_.sealing_secret.view(), nonce_view,
                           kSealKdfInfo, kAesGcmKeySize + kAesGcmIvSize);
  if (!key_iv.ok()) {
    out->resize(start);
    return key_iv.status();
  }
  const size_t body = out->size();
  out->resize(body + data.size() + kAesGcmTagSize);
  absl::Status sealed = AesGcmEncrypt(
      key_iv->view().substr(0, kAesGcmKeySize),
      key_iv->view().substr(kAesGcmKeySize),
      absl::string_view(out->data() + start, body - start), data.data(),
      data.size(), out->data() + body, out->data() + body + data.size());
  if (!sealed.ok()) out->resize(start);
  return sealed;
}

absl::StatusOr<Unsealed> TaoHost::Decrypt(absl::string_view bundle) const {
  TAO_ASSIGN_OR_RETURN(SealedBundleView view, ParseSealedBundle(bundle));
  SecretString data(view.ciphertext.size());
  TAO_ASSIGN_OR_RETURN(Principal sealer, DecryptInto(view, data.data()));
  return Unsealed{std::move(data), std::string(view.policy), std::move(sealer)};
}

absl::StatusOr<Principal> TaoHost::DecryptInto(const SealedBundleView& view,
                                               char* plaintext) const {
  TAO_ASSIGN_OR_RETURN(
      SecretString key_iv,
      HkdfSha256(keys_.sealing_secret.view(), view.nonce, kSealKdfInfo,
                 kAesGcmKeySize + kAesGcmIvSize));
  absl::Status opened = AesGcmDecrypt(
      key_iv.view().substr(0, kAesGcmKeySize),
      key_iv.view().substr(kAesGcmKeySize), view.associated_data,
      view.ciphertext.data(), view.ciphertext.size(), view.tag, plaintext);
  if (!opened.ok()) {
    return absl::DataLossError(
        "sealed bundle does not authenticate: it was altered or sealed by "
        "another host");
  }
  // The sealer text is authenticated; a bundle from this host always parses.
  auto sealer = Principal::Parse(view.sealer);
  if (!sealer.ok()) {
    OPENSSL_cleanse(plaintext, view.ciphertext.size());
    return absl::DataLossError(absl::StrCat(
        "sealed bundle names a malformed sealer: ", sealer.status().message()));
  }
  return *std::move(sealer);
}

absl::StatusOr<SecretString> TaoHost::DeriveSecret(absl::string_view context,
                                                   size_t n) const {
  return HkdfSha256(
      keys_.sealing_secret.view(), /*salt=*/"",
      absl::StrCat(kDeriveInfoPrefix, absl::string_view("\0", 1), context), n);
}

}  // namespace tao
