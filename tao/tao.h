// Tao: what a host offers one hosted program (or a root offers its owner).
// Implementations: SoftTao (the soft root, tao/soft_tao.h) and, in the client
// library, a Tao over a channel to the host. Unseal decides nothing: it
// returns what was sealed with the policy and sealer, and the host's listen
// loop is where the policy is checked.
#ifndef TAO_TAO_TAO_H_
#define TAO_TAO_TAO_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tao/attestation.pb.h"
#include "tao/principal.h"
#include "tao/sealed_bundle.h"
#include "tao/secret_string.h"

namespace tao {

// Implementations say whether they are thread-safe.
class Tao {
 public:
  virtual ~Tao() = default;

  // The caller's current name: its host's name plus what the host measured
  // and any extensions.
  virtual absl::StatusOr<Principal> GetTaoName() = 0;

  // Appends `sub` to the caller's name; later checks see the longer name.
  // Only Ext(...) subprincipals are accepted (kInvalidArgument otherwise):
  // measurements and publishers are for the host to assign.
  virtual absl::Status ExtendTaoName(const Subprincipal& sub) = 0;

  // `n` random bytes from the host (kInvalidArgument beyond 1 MiB).
  virtual absl::StatusOr<std::string> GetRandomBytes(size_t n) = 0;

  // `n` bytes derived from the host's sealing secret, the caller's name and
  // `policy`: the same caller asking with the same policy gets the same bytes,
  // across restarts of the caller and the host.
  virtual absl::StatusOr<SecretString> GetSharedSecret(
      size_t n, absl::string_view policy) = 0;

  // Signs `statement` as the caller (an empty speaker becomes the caller's
  // name; any other must be the caller or its subprincipal).
  virtual absl::StatusOr<Attestation> Attest(const Statement& statement) = 0;

  // Seals `data` under `policy` (encoded policy bytes; opaque to the core).
  virtual absl::StatusOr<std::string> Seal(absl::string_view data,
                                           absl::string_view policy) = 0;

  // Opens a bundle from Seal: the data, the policy bytes and the sealer.
  virtual absl::StatusOr<Unsealed> Unseal(absl::string_view sealed) = 0;
};

}  // namespace tao

#endif  // TAO_TAO_TAO_H_
