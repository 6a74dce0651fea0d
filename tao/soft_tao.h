// SoftTao: the soft root. It keeps its host keys in a directory, encrypted
// under a passphrase, and its name is its signing key's principal. Data that
// one process seals, a later process that loads the same directory with the
// same passphrase unseals.
//
// The directory holds (docs/keys-at-rest.md):
//   host_keys  the encrypted signing key and sealing secret, mode 0600
//   host_name  the host's principal text, a trust anchor for verifiers
#ifndef TAO_TAO_SOFT_TAO_H_
#define TAO_TAO_SOFT_TAO_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "tao/crypto.h"
#include "tao/tao.h"
#include "tao/tao_host.h"

namespace tao {

// The key directory's basename: files host_keys and host_name.
inline constexpr absl::string_view kHostKeyBasename = "host";

struct SoftTaoOptions {
  // Directory of the keys; created (mode 0700) if missing and
  // create_if_missing is set.
  std::string keys_dir;
  // Protects the keys at rest. Must not be empty.
  std::string passphrase;
  // Make fresh keys when the directory holds none; otherwise kNotFound.
  bool create_if_missing = true;
  // Cost of the passphrase KDF for fresh keys (loaded keys use the
  // parameters stored in their file).
  ScryptParams scrypt;
};

// Thread-safe.
class SoftTao final : public Tao {
 public:
  // Loads the keys in `options.keys_dir`, or creates them, as
  // LoadOrCreateKeyDirectory does (which says what is written when).
  // Returns kPermissionDenied for a wrong passphrase, kDataLoss for an
  // altered keys file, kNotFound if there are none and creation is off.
  static absl::StatusOr<std::unique_ptr<SoftTao>> Create(
      const SoftTaoOptions& options);

  // True if Create made fresh keys rather than loading them.
  bool created_keys() const { return created_keys_; }
  // The mechanism underneath, for a host that serves hosted programs.
  const TaoHost& host() const { return *host_; }

  absl::StatusOr<Principal> GetTaoName() override;
  absl::Status ExtendTaoName(const Subprincipal& sub) override;
  absl::StatusOr<std::string> GetRandomBytes(size_t n) override;
  absl::StatusOr<SecretString> GetSharedSecret(
      size_t n, absl::string_view policy) override;
  absl::StatusOr<Attestation> Attest(const Statement& statement) override;
  absl::StatusOr<std::string> Seal(absl::string_view data,
                                   absl::string_view policy) override;
  absl::StatusOr<Unsealed> Unseal(absl::string_view sealed) override;

 private:
  SoftTao(std::unique_ptr<TaoHost> host, bool created_keys)
      : host_(std::move(host)),
        created_keys_(created_keys),
        name_(host_->name()) {}
  Principal name() const;

  const std::unique_ptr<TaoHost> host_;
  const bool created_keys_;
  mutable absl::Mutex mu_;
  Principal name_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tao

#endif  // TAO_TAO_SOFT_TAO_H_
