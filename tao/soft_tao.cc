#include "tao/soft_tao.h"

#include <openssl/crypto.h>

#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "tao/key_store.h"
#include "tao/status_macros.h"

namespace tao {

absl::StatusOr<std::unique_ptr<SoftTao>> SoftTao::Create(
    const SoftTaoOptions& options) {
  if (options.keys_dir.empty()) {
    return absl::InvalidArgumentError("SoftTao needs a keys directory");
  }
  if (options.passphrase.empty()) {
    return absl::InvalidArgumentError("SoftTao needs a non-empty passphrase");
  }
  KeyDirectoryOptions dir_options;
  dir_options.dir = options.keys_dir;
  dir_options.basename = std::string(kHostKeyBasename);
  dir_options.passphrase = options.passphrase;
  absl::Cleanup wipe = [&dir_options] {
    OPENSSL_cleanse(dir_options.passphrase.data(),
                    dir_options.passphrase.size());
  };
  dir_options.create_if_missing = options.create_if_missing;
  dir_options.scrypt = options.scrypt;
  bool created = false;
  TAO_ASSIGN_OR_RETURN(HostKeys keys,
                       LoadOrCreateKeyDirectory(dir_options, &created));
  Principal name = Principal::ForKey(keys.signing_key.verifying_key());
  TAO_ASSIGN_OR_RETURN(
      std::unique_ptr<TaoHost> host,
      TaoHost::Create(std::move(keys), std::move(name), std::nullopt));
  return std::unique_ptr<SoftTao>(new SoftTao(std::move(host), created));
}

Principal SoftTao::name() const {
  absl::MutexLock lock(&mu_);
  return name_;
}

absl::StatusOr<Principal> SoftTao::GetTaoName() { return name(); }

absl::Status SoftTao::ExtendTaoName(const Subprincipal& sub) {
  if (sub.kind() != "Ext") {
    return absl::InvalidArgumentError(absl::StrCat(
        "only Ext(...) subprincipals may be added to a name, not ", sub.kind(),
        "(...): measurements and publishers are the host's to assign"));
  }
  absl::MutexLock lock(&mu_);
  TAO_ASSIGN_OR_RETURN(name_, name_.Extend(sub));
  return absl::OkStatus();
}

absl::StatusOr<std::string> SoftTao::GetRandomBytes(size_t n) {
  return host_->GetRandomBytes(n);
}

absl::StatusOr<SecretString> SoftTao::GetSharedSecret(
    size_t n, absl::string_view policy) {
  // Length-prefixed so that no (name, policy) pair collides with another.
  std::string who = name().text();
  return host_->DeriveSecret(absl::StrCat("shared-secret:", who.size(), ":",
                                          who, policy.size(), ":", policy),
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
