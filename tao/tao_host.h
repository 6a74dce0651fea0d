// TaoHost: the host-side mechanism that acts for hosted programs. It signs
// attestations as a program's subprincipal, seals and unseals bundles and
// derives secrets. It enforces no policy: callers (the listen loop) decide
// who may do what before they call it. As CloudProxy's tao_host.h put it,
// "TaoHost does not itself enforce policy for seal and unseal operations."
#ifndef TAO_TAO_TAO_HOST_H_
#define TAO_TAO_TAO_HOST_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "tao/attestation.pb.h"
#include "tao/key_store.h"
#include "tao/principal.h"
#include "tao/sealed_bundle.h"

namespace tao {

// Immutable after Create but for its delegation, which a root renews
// (ReplaceDelegation); every method is thread-safe.
class TaoHost {
 public:
  // `name` is the host's name; `delegation`, if present, is an attestation
  // "parent says key(signing key) speaksfor name" that makes the host's
  // attestations verifiable up to the parent's root. Without one, `name`
  // must be the signing key's own principal or a subprincipal of it. A
  // delegation must delegate to the signing key for `name` or a prefix of it
  // (its signatures are checked by verifiers, not here). kInvalidArgument
  // otherwise.
  static absl::StatusOr<std::unique_ptr<TaoHost>> Create(
      HostKeys keys, Principal name, std::optional<Attestation> delegation);

  const Principal& name() const { return name_; }
  const VerifyingKey& signing_public_key() const {
    return keys_.signing_key.verifying_key();
  }
  // The current delegation (a copy: a root may renew it meanwhile).
  std::optional<Attestation> delegation() const;
  // Installs a fresh delegation (a renewal), checked as Create checks one;
  // later Attest calls attach it. kInvalidArgument as Create; a host made
  // without a delegation takes none (kFailedPrecondition).
  absl::Status ReplaceDelegation(Attestation delegation);
  // The host's signing key, for the host's own statements about itself
  // (the audit trail's checkpoint). Never handed to a hosted program.
  const SigningKey& signing_key() const { return keys_.signing_key; }

  // `n` random bytes (at most 1 MiB, else kInvalidArgument).
  absl::StatusOr<std::string> GetRandomBytes(size_t n) const;

  // Signs `statement` on behalf of `speaker`, which must be this host or its
  // subprincipal. An empty statement speaker is filled with `speaker`; a
  // non-empty one must be `speaker` or its subprincipal. Returns
  // kPermissionDenied if a speaker is not under this host, kInvalidArgument
  // for a malformed speaker or an empty window.
  absl::StatusOr<Attestation> Attest(const Principal& speaker,
                                     Statement statement) const;

  // Seals `data` with `policy` (opaque bytes) recorded as sealed by `sealer`.
  absl::StatusOr<std::string> Encrypt(absl::string_view data,
                                      absl::string_view policy,
                                      const Principal& sealer) const;

  // Encrypt, appending the bundle (SealedBundleSize bytes) to `out`, so a
  // caller can seal straight into a response it is building. On error `out`
  // is as it was.
  absl::Status EncryptTo(absl::string_view data, absl::string_view policy,
                         const Principal& sealer, std::string* out) const;

  // Opens a bundle sealed by this host (or one with the same sealing secret)
  // and reports its policy and sealer; decides nothing. Returns
  // kInvalidArgument for a malformed bundle and kDataLoss if it does not
  // authenticate (altered, or sealed by another host).
  absl::StatusOr<Unsealed> Decrypt(absl::string_view bundle) const;

  // Decrypt into a caller's buffer: authenticates the bundle `view`
  // (ParseSealedBundle) and writes its view.ciphertext.size() plaintext
  // bytes to `plaintext`. Returns the sealer. kDataLoss as Decrypt; on any
  // error `plaintext` holds no plaintext.
  absl::StatusOr<Principal> DecryptInto(const SealedBundleView& view,
                                        char* plaintext) const;

  // `n` bytes (1..8160) derived with HKDF from the sealing secret and
  // `context`: equal contexts give equal secrets, across restarts.
  absl::StatusOr<SecretString> DeriveSecret(absl::string_view context,
                                            size_t n) const;

 private:
  TaoHost(HostKeys keys, Principal name, std::optional<Attestation> delegation)
      : keys_(std::move(keys)), name_(std::move(name)) {
    if (delegation.has_value()) {
      delegation_ = std::make_shared<const Attestation>(*std::move(delegation));
    }
  }
  std::shared_ptr<const Attestation> current_delegation() const;

  HostKeys keys_;
  Principal name_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Attestation> delegation_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tao

#endif  // TAO_TAO_TAO_HOST_H_
