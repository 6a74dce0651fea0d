// HostRoot: where a host's keys come from. A root gives the host its
// signing key, its sealing secret and the delegation (if any) that vouches
// for its signing key, as one TaoHost; nothing else in the host knows which
// root it has. docs/stacking.md describes the roots.
//   soft     keys at rest under a passphrase; the key is its own root
//            (tao/soft_root.h).
//   stacked  the host is a hosted program of another host, which vouches
//            for its key and seals its keyset (tao/stacked_root.h).
//   tpm2     the TPM quotes the key and seals the keyset under its PCRs
//            (tao/tpm2/tpm2_root.h).
#ifndef TAO_TAO_HOST_ROOT_H_
#define TAO_TAO_HOST_ROOT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "tao/tao_host.h"

namespace tao {

// Implementations are thread-safe after Open; Open is called once.
class HostRoot {
 public:
  virtual ~HostRoot() = default;

  // "soft", "stacked", ...: for logs and the admin Info call.
  virtual absl::string_view kind() const = 0;

  // Loads the host's keys, or creates them on first start, and makes the
  // host; starts whatever upkeep the root needs (a stacked root renews its
  // delegation until it is destroyed). Statuses are the root's own (see
  // each root); kFailedPrecondition if called twice.
  virtual absl::Status Open() = 0;

  // The host, after a successful Open; owned by the root.
  virtual const TaoHost& host() const = 0;

  // True if Open made fresh keys rather than loading them.
  virtual bool created_keys() const = 0;

  // The platform state the root vouches for (a tpm2 root: its quoted PCRs
  // as PlatformStateText, tao/tpm2_quote.h), after Open; empty for roots
  // without one. SameHostState seal policies compare it.
  virtual std::string platform_state() const { return ""; }
};

}  // namespace tao

#endif  // TAO_TAO_HOST_ROOT_H_
