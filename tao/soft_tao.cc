#include "tao/soft_tao.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "tao/file_util.h"
#include "tao/key_store.h"
#include "tao/status_macros.h"

namespace tao {

namespace {

// Loads the keys in options.keys_dir or, if there are none, makes and stores
// fresh ones (setting *created).
absl::StatusOr<HostKeys> LoadOrCreateKeys(const SoftTaoOptions& options,
                                          bool* created) {
  const std::string keys_path = absl::StrCat(options.keys_dir, "/", kHostKeysFile);
  auto existing = ReadFileToString(keys_path, 1 << 20);
  if (existing.ok()) {
    auto loaded = DecryptHostKeys(*existing, options.passphrase);
    if (!loaded.ok()) {
      return absl::Status(loaded.status().code(),
                          absl::StrCat(keys_path, ": ", loaded.status().message()));
    }
    *created = false;
    return loaded;
  }
  if (!absl::IsNotFound(existing.status())) return existing.status();
  if (!options.create_if_missing) {
    return absl::NotFoundError(absl::StrCat("no host keys at ", keys_path));
  }
  TAO_ASSIGN_OR_RETURN(HostKeys keys, HostKeys::Generate());
  TAO_ASSIGN_OR_RETURN(std::string encrypted,
                       EncryptHostKeys(keys, options.passphrase, options.scrypt));
  TAO_RETURN_IF_ERROR(EnsureDirectory(options.keys_dir, 0700));
  // The name first: a crash between the two writes leaves no keys, so the
  // next start makes fresh ones and rewrites the name.
  Principal name = Principal::ForKey(keys.signing_key.verifying_key());
  TAO_RETURN_IF_ERROR(WriteFileAtomically(
      absl::StrCat(options.keys_dir, "/", kHostNameFile),
      absl::StrCat(name.text(), "\n"), 0644));
  TAO_RETURN_IF_ERROR(WriteFileAtomically(keys_path, encrypted, 0600));
  *created = true;
  return keys;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SoftTao>> SoftTao::Create(
    const SoftTaoOptions& options) {
  if (options.keys_dir.empty()) {
    return absl::InvalidArgumentError("SoftTao needs a keys directory");
  }
  if (options.passphrase.empty()) {
    return absl::InvalidArgumentError("SoftTao needs a non-empty passphrase");
  }
  bool created = false;
  TAO_ASSIGN_OR_RETURN(HostKeys keys, LoadOrCreateKeys(options, &created));
  Principal name = Principal::ForKey(keys.signing_key.verifying_key());
  TAO_ASSIGN_OR_RETURN(std::unique_ptr<TaoHost> host,
                       TaoHost::Create(std::move(keys), std::move(name), std::nullopt));
  return std::unique_ptr<SoftTao>(new SoftTao(std::move(host), created));
}

Principal SoftTao::name() const {
  absl::MutexLock lock(&mu_);
  return name_;
}

absl::StatusOr<Principal> SoftTao::GetTaoName() { return name(); }

absl::Status SoftTao::ExtendTaoName(const Subprincipal& sub) {
  absl::MutexLock lock(&mu_);
  TAO_ASSIGN_OR_RETURN(name_, name_.Extend(sub));
  return absl::OkStatus();
}

absl::StatusOr<std::string> SoftTao::GetRandomBytes(size_t n) {
  return host_->GetRandomBytes(n);
}

absl::StatusOr<SecretString> SoftTao::GetSharedSecret(size_t n,
                                                      absl::string_view policy) {
  // Length-prefixed so that no (name, policy) pair collides with another.
  std::string who = name().text();
  return host_->DeriveSecret(
      absl::StrCat("shared-secret:", who.size(), ":", who, policy.size(), ":", policy),
      n);
}

absl::StatusOr<Attestation> SoftTao::Attest(const Statement& statement) {
  return host_->Attest(name(), statement);
}

absl::StatusOr<std::string> SoftTao::Seal(absl::string_view data,
                                          absl::string_view policy) {
  return host_->Encrypt(data, policy, name());
}

absl::StatusOr<Unsealed> SoftTao::Unseal(absl::string_view sealed) {
  return host_->Decrypt(sealed);
}

}  // namespace tao
