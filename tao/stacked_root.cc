#include "tao/stacked_root.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tao/crypto.h"
#include "tao/file_util.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

constexpr absl::string_view kKeysetMagic{"tao-stacked-keyset-v1\0", 22};
constexpr size_t kMaxKeysetFile = 64 << 10;

const Clock& DefaultClock() {
  static const RealClock* clock = new RealClock();
  return *clock;
}

}  // namespace

StackedRoot::StackedRoot(StackedRootOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : DefaultClock()) {}

StackedRoot::~StackedRoot() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (renewer_.joinable()) renewer_.join();
}

absl::StatusOr<SecretString> StackedRoot::EncodeKeyset(const HostKeys& keys) {
  TAO_ASSIGN_OR_RETURN(SecretString der, keys.signing_key.ToPkcs8());
  if (der.size() > 0xffff || keys.sealing_secret.size() != kSealingSecretSize) {
    return absl::InvalidArgumentError("keys out of bounds for a keyset");
  }
  SecretString out(kKeysetMagic.size() + 2 + der.size() +
                   keys.sealing_secret.size());
  char* p = out.data();
  for (char c : kKeysetMagic) *p++ = c;
  *p++ = static_cast<char>(der.size() >> 8);
  *p++ = static_cast<char>(der.size() & 0xff);
  for (char c : der.view()) *p++ = c;
  for (char c : keys.sealing_secret.view()) *p++ = c;
  return out;
}

absl::StatusOr<HostKeys> StackedRoot::DecodeKeyset(absl::string_view bytes) {
  auto malformed = [] {
    return absl::InvalidArgumentError("the sealed keyset is malformed");
  };
  if (bytes.size() < kKeysetMagic.size() + 2 ||
      bytes.substr(0, kKeysetMagic.size()) != kKeysetMagic) {
    return malformed();
  }
  bytes.remove_prefix(kKeysetMagic.size());
  const size_t der_size =
      (static_cast<size_t>(static_cast<uint8_t>(bytes[0])) << 8) |
      static_cast<uint8_t>(bytes[1]);
  bytes.remove_prefix(2);
  if (bytes.size() != der_size + kSealingSecretSize) return malformed();
  auto key = SigningKey::FromPkcs8(bytes.substr(0, der_size));
  if (!key.ok()) return malformed();
  return HostKeys{*std::move(key),
                  SecretString(std::string(bytes.substr(der_size)))};
}

absl::StatusOr<Attestation> StackedRoot::FreshDelegation(
    absl::Time* not_after) const {
  const absl::Time now = clock_.Now();
  Statement statement;
  statement.set_speaker(name_->text());
  statement.set_not_before(absl::ToUnixSeconds(now - options_.clock_skew));
  *not_after = now + options_.delegation_lifetime;
  statement.set_not_after(absl::ToUnixSeconds(*not_after));
  Delegation* delegation = statement.mutable_delegation();
  delegation->set_delegate(
      Principal::ForKey(host_ != nullptr ? host_->signing_public_key()
                                         : pending_key_->verifying_key())
          .text());
  delegation->set_delegator(name_->text());
  return options_.parent->Attest(statement);
}

absl::Status StackedRoot::SealKeyset(const HostKeys& keys, bool replace) {
  TAO_ASSIGN_OR_RETURN(SecretString plain, EncodeKeyset(keys));
  auto bundle = options_.parent->Seal(plain.view(), options_.seal_policy);
  if (!bundle.ok()) {
    return absl::Status(bundle.status().code(),
                        absl::StrCat("the parent did not seal the keyset: ",
                                     bundle.status().message()));
  }
  // A first start never replaces: of two starts at once, one keyset wins
  // and the other start fails here rather than orphaning data sealed
  // under the first.
  return replace ? WriteFileAtomically(options_.keyset_file, *bundle, 0600)
                 : CreateFileAtomically(options_.keyset_file, *bundle, 0600);
}

absl::StatusOr<HostKeys> StackedRoot::LoadOrCreateKeys() {
  auto existing = ReadFileToString(options_.keyset_file, kMaxKeysetFile);
  if (existing.ok()) {
    auto unsealed = options_.parent->Unseal(*existing);
    if (!unsealed.ok()) {
      return absl::Status(unsealed.status().code(),
                          absl::StrCat("the parent did not unseal the keyset ",
                                       options_.keyset_file, ": ",
                                       unsealed.status().message()));
    }
    // A bundle planted under a looser policy (SameHost, say) is not ours
    // even if the parent opens it for us.
    const bool same = unsealed->policy == options_.seal_policy;
    if (!same &&
        !(options_.accept_policy && options_.accept_policy(unsealed->policy))) {
      return absl::FailedPreconditionError(absl::StrCat(
          options_.keyset_file,
          " was sealed under another policy than the configured one"));
    }
    if (!same) {
      TAO_ASSIGN_OR_RETURN(HostKeys keys, DecodeKeyset(unsealed->data.view()));
      TAO_RETURN_IF_ERROR(SealKeyset(keys, /*replace=*/true));
      return keys;
    }
    return DecodeKeyset(unsealed->data.view());
  }
  if (absl::IsNotFound(existing.status())) {
    TAO_ASSIGN_OR_RETURN(HostKeys keys, HostKeys::Generate());
    TAO_RETURN_IF_ERROR(SealKeyset(keys, /*replace=*/false));
    created_keys_ = true;
    return keys;
  }
  return existing.status();
}

absl::Status StackedRoot::Open() {
  if (host_ != nullptr) {
    return absl::FailedPreconditionError("the stacked root is already open");
  }
  if (options_.parent == nullptr || options_.keyset_file.empty()) {
    return absl::InvalidArgumentError(
        "a stacked root needs its parent and a keyset file");
  }
  TAO_ASSIGN_OR_RETURN(name_, options_.parent->GetTaoName());
  TAO_ASSIGN_OR_RETURN(HostKeys keys, LoadOrCreateKeys());
  pending_key_ = &keys.signing_key;
  absl::Time not_after;
  auto delegation = FreshDelegation(&not_after);
  pending_key_ = nullptr;
  if (!delegation.ok()) {
    return absl::Status(
        delegation.status().code(),
        absl::StrCat("the parent did not attest the host's key: ",
                     delegation.status().message()));
  }
  TAO_ASSIGN_OR_RETURN(
      host_, TaoHost::Create(std::move(keys), *name_, *std::move(delegation)));
  {
    absl::MutexLock lock(&mu_);
    not_after_ = not_after;
  }
  renewer_ = std::thread([this] { RenewLoop(); });
  return absl::OkStatus();
}

absl::Status StackedRoot::Renew() {
  if (host_ == nullptr) {
    return absl::FailedPreconditionError("the stacked root is not open");
  }
  absl::Time not_after;
  TAO_ASSIGN_OR_RETURN(Attestation delegation, FreshDelegation(&not_after));
  TAO_RETURN_IF_ERROR(host_->ReplaceDelegation(std::move(delegation)));
  absl::MutexLock lock(&mu_);
  not_after_ = not_after;
  return absl::OkStatus();
}

absl::Time StackedRoot::delegation_not_after() const {
  absl::MutexLock lock(&mu_);
  return not_after_;
}

void StackedRoot::RenewLoop() {
  const absl::Duration lead = options_.delegation_lifetime / 3;
  absl::Duration retry = absl::ZeroDuration();
  while (true) {
    absl::Time wake;
    {
      absl::MutexLock lock(&mu_);
      wake = retry > absl::ZeroDuration() ? clock_.Now() + retry
                                          : not_after_ - lead;
      // Real time for the wait; the clock decides when the window ends.
      const absl::Duration wait =
          std::max(wake - clock_.Now(), absl::ZeroDuration());
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait)) return;
    }
    absl::Status renewed = Renew();
    if (options_.on_renewal) options_.on_renewal(renewed);
    // Retry a failure soon, but give the parent some room.
    retry = renewed.ok() ? absl::ZeroDuration()
                         : std::clamp(lead / 10, absl::Milliseconds(100),
                                      absl::Seconds(30));
  }
}

}  // namespace tao
