// TaoRequestHandler: answers one Tao request from a hosted program. This is
// where every Tao call is checked: Seal (may the caller use that policy),
// Unseal (decrypt, then evaluate the sealed policy against the caller),
// Attest and GetSharedSecret (does the domain grant them), ExtendTaoName
// (only Ext). The listen loop owns the I/O and calls it for each frame.
#ifndef TAO_CHANNELS_TAO_REQUEST_HANDLER_H_
#define TAO_CHANNELS_TAO_REQUEST_HANDLER_H_

#include <string>

#include "absl/status/status.h"
#include "channels/tao_rpc.pb.h"
#include "channels/wire_format.h"
#include "tao/principal.h"
#include "tao/tao_host.h"
#include "tao_domain/tao_domain.h"

namespace tao {

// Thread-safe (TaoHost and TaoDomain are). `host` and `domain` must outlive it.
class TaoRequestHandler {
 public:
  TaoRequestHandler(const TaoHost& host, TaoDomain& domain)
      : host_(host), domain_(domain) {}

  // Answers `request` from the program currently named `*name`, which
  // ExtendTaoName updates. Never fails: an error or a denial (with its
  // reason) is the response's code and message.
  TaoResponse Handle(const TaoRequest& request, Principal* name) const;

  // Answers a Seal or Unseal request parsed by ParseBulkRequest, from the
  // program named `name`, with the same checks and answers as Handle, but
  // writes the whole response frame to the end of `out`: the bundle is
  // sealed, or the plaintext decrypted, straight into it. Returns the
  // answer's code; a response over `max_frame_size` is kResourceExhausted.
  absl::StatusCode HandleBulk(const BulkRequestView& request,
                              const Principal& name, size_t max_frame_size,
                              std::string* out) const;

 private:
  // May `caller` seal under `requested_policy` (empty: SameProgram)? The
  // policy bytes to seal, or why not.
  absl::StatusOr<std::string> CheckSeal(
      const Caller& caller, const std::string& requested_policy) const;
  // May `caller`, named `name`, have what `sealer` sealed under `policy`?
  // Records the decision. kPermissionDenied with the reason, kDataLoss for a
  // policy that does not decode.
  absl::Status CheckUnseal(const Caller& caller, const Principal& name,
                           absl::string_view policy,
                           const Principal& sealer) const;
  absl::Status SealInto(const BulkRequestView& request, const Principal& name,
                        size_t max_frame_size, std::string* out) const;
  absl::Status UnsealInto(const BulkRequestView& request, const Principal& name,
                          size_t max_frame_size, std::string* out) const;

  const TaoHost& host_;
  TaoDomain& domain_;
};

}  // namespace tao

#endif  // TAO_CHANNELS_TAO_REQUEST_HANDLER_H_
