// TaoRequestHandler: answers one Tao request from a hosted program. It
// parses the request, asks the domain the call's typed question (TaoDomain::
// AuthorizeSeal, AuthorizeUnseal, AuthorizeSharedSecret, AuthorizeAttest)
// and acts on the answer with the host's mechanism (TaoHost). It decides
// nothing itself: it holds no Decision it did not receive from the domain.
// ExtendTaoName (only Ext) is a rule of the protocol, not of the domain. The
// listen loop owns the I/O and calls it for each frame.
#ifndef TAO_CHANNELS_TAO_REQUEST_HANDLER_H_
#define TAO_CHANNELS_TAO_REQUEST_HANDLER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "channels/framing.h"
#include "channels/tao_rpc.pb.h"
#include "channels/wire_format.h"
#include "tao/principal.h"
#include "tao/tao_host.h"
#include "tao_domain/tao_domain.h"

namespace tao {

// Thread-safe (TaoHost and TaoDomain are). `host` and `domain` must outlive it.
class TaoRequestHandler {
 public:
  TaoRequestHandler(const TaoHost& host, const TaoDomain& domain)
      : host_(host), domain_(domain) {}

  // What answering one frame left behind, for the caller's wiping.
  struct Answered {
    absl::StatusCode code = absl::StatusCode::kOk;  // the response's code
    // The appended response holds plaintext (unsealed data or a shared
    // secret): wipe it from the output once it is sent.
    bool response_holds_secret = false;
    // The request carried plaintext (Seal data): wipe the frame's bytes.
    bool request_held_secret = false;
  };

  // Answers the TaoRequest in `frame` from the program currently named
  // `*name` (ExtendTaoName updates it), appending the whole response frame
  // to `out`. Every Seal and Unseal, in whichever encoding, takes the one
  // copy-free path (HandleBulk). Returns kInvalidArgument, with `out`
  // unchanged, if the frame does not parse as a TaoRequest (the caller
  // closes the channel); an error or a denial of the request itself is the
  // response's code and message.
  absl::StatusOr<Answered> AnswerFrame(absl::string_view frame, Principal* name,
                                       size_t max_frame_size,
                                       std::string* out) const;

  // Answers `request` from the program currently named `*name`, which
  // ExtendTaoName updates. Never fails: an error or a denial (with its
  // reason) is the response's code and message. Seal and Unseal go through
  // HandleBulk (under `max_frame_size`).
  TaoResponse Handle(const TaoRequest& request, Principal* name,
                     size_t max_frame_size = kDefaultMaxFrameSize) const;

  // Answers a Seal or Unseal request parsed by ParseBulkRequest, from the
  // program named `name`, writing the whole response frame to the end of
  // `out`: the bundle is sealed, or the plaintext decrypted, straight into
  // it. Returns the answer's code; a response over `max_frame_size` is
  // kResourceExhausted. The one Seal and the one Unseal path.
  absl::StatusCode HandleBulk(const BulkRequestView& request,
                              const Principal& name, size_t max_frame_size,
                              std::string* out) const;

 private:
  absl::Status SealInto(const BulkRequestView& request, const Principal& name,
                        size_t max_frame_size, std::string* out) const;
  absl::Status UnsealInto(const BulkRequestView& request, const Principal& name,
                          size_t max_frame_size, std::string* out) const;
  absl::Status SharedSecret(const GetSharedSecretArgs& args,
                            const Principal& name, TaoResponse* response) const;
  absl::Status ExtendName(const ExtendTaoNameArgs& args, Principal* name) const;

  const TaoHost& host_;
  const TaoDomain& domain_;
};

}  // namespace tao

#endif  // TAO_CHANNELS_TAO_REQUEST_HANDLER_H_
