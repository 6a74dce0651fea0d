// TaoRequestHandler: answers one Tao request from a hosted program. This is
// where every Tao call is checked: Seal (may the caller use that policy),
// Unseal (decrypt, then evaluate the sealed policy against the caller),
// Attest and GetSharedSecret (does the domain grant them), ExtendTaoName
// (only Ext). The listen loop owns the I/O and calls it for each frame.
#ifndef TAO_CHANNELS_TAO_REQUEST_HANDLER_H_
#define TAO_CHANNELS_TAO_REQUEST_HANDLER_H_

#include "channels/tao_rpc.pb.h"
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

 private:
  const TaoHost& host_;
  TaoDomain& domain_;
};

}  // namespace tao

#endif  // TAO_CHANNELS_TAO_REQUEST_HANDLER_H_
