// StackedRoot: the root of a host that is itself a hosted program of
// another host (its parent, reached through the parent's Tao: in a process
// the client library's channel from TAO_CHANNEL). docs/stacking.md.
//
// First start: makes a signing key K and a sealing secret, has the parent
// seal them as one bundle (the keyset, under `seal_policy`: SameProgram by
// default) and writes the bundle to `keyset_file` (mode 0600). Every start
// (the first too): the host's name is the one the parent gives it
// (GetTaoName: what the parent measured), and the parent attests
// "<name> says K speaksfor <name>" for a window of `delegation_lifetime`;
// that attestation is the host's delegation. Later starts unseal the
// keyset through the parent. No passphrase anywhere.
//
// While open, a thread renews the delegation when a third of its window is
// left (retrying on failure) and installs it in the host.
#ifndef TAO_TAO_STACKED_ROOT_H_
#define TAO_TAO_STACKED_ROOT_H_

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tao/clock.h"
#include "tao/host_root.h"
#include "tao/key_store.h"
#include "tao/tao.h"

namespace tao {

// The file name of the sealed keyset in a stacked host's state directory.
inline constexpr absl::string_view kStackedKeysetBasename = "stacked_keyset";

struct StackedRootOptions {
  // The parent host. Required.
  std::unique_ptr<Tao> parent;
  // Where the sealed keyset lives. Required; its directory must exist.
  std::string keyset_file;
  // Encoded seal policy (seal_policy/codec.h) of the keyset bundle; empty
  // is the parent's default, SameProgram.
  std::string seal_policy;
  // Whether a keyset sealed under `sealed_policy` is this host's to use
  // (a bundle planted under a looser policy is not, even if the parent
  // opens it). Unset: only `seal_policy` itself. A keyset accepted under
  // another policy is sealed again under `seal_policy` (an upgrade moves
  // the keyset forward, so an older version cannot take it back).
  std::function<bool(absl::string_view sealed_policy)> accept_policy;
  // The window of each delegation (the parent's domain may want it short).
  absl::Duration delegation_lifetime = absl::Hours(1);
  // Bounds start this much before now, for clocks that differ a little.
  absl::Duration clock_skew = absl::Minutes(1);
  // Called after each renewal attempt, from the renewal thread.
  std::function<void(const absl::Status&)> on_renewal;
  // Defaults to the real clock. Must outlive the root.
  const Clock* clock = nullptr;
};

// Thread-safe after Open.
class StackedRoot final : public HostRoot {
 public:
  explicit StackedRoot(StackedRootOptions options);
  // Stops the renewal thread.
  ~StackedRoot() override;

  absl::string_view kind() const override { return "stacked"; }
  // The parent's statuses pass through (kPermissionDenied when its domain
  // refuses Seal, Unseal or Attest; kDataLoss for a keyset another host
  // sealed or that was altered); kInvalidArgument for missing options or a
  // keyset that does not parse; kFailedPrecondition for a keyset sealed
  // under a policy that accept_policy refuses; errno statuses of the
  // file.
  absl::Status Open() override;
  const TaoHost& host() const override { return *host_; }
  bool created_keys() const override { return created_keys_; }

  // Asks the parent for a fresh delegation and installs it (the renewal
  // thread calls this; tests may too). Returns the parent's status.
  absl::Status Renew();
  // When the current delegation's window ends.
  absl::Time delegation_not_after() const;

  // The keyset's plaintext encoding (exposed for tests):
  // "tao-stacked-keyset-v1" 0x00, a 2-byte big-endian length, the signing
  // key's DER PKCS#8, then the 32-byte sealing secret.
  static absl::StatusOr<SecretString> EncodeKeyset(const HostKeys& keys);
  static absl::StatusOr<HostKeys> DecodeKeyset(absl::string_view bytes);

 private:
  absl::StatusOr<Attestation> FreshDelegation(absl::Time* not_after) const;
  absl::StatusOr<HostKeys> LoadOrCreateKeys();
  absl::Status SealKeyset(const HostKeys& keys, bool replace);
  void RenewLoop();

  StackedRootOptions options_;
  const Clock& clock_;
  std::unique_ptr<TaoHost> host_;
  std::optional<Principal> name_;  // set by Open
  bool created_keys_ = false;
  // During Open only: the key the first delegation is for.
  const SigningKey* pending_key_ = nullptr;

  mutable absl::Mutex mu_;
  absl::Time not_after_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread renewer_;
};

}  // namespace tao

#endif  // TAO_TAO_STACKED_ROOT_H_
