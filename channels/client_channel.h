// ClientChannel: what the client library (RpcTao) talks over, whatever the
// kind of channel: blocking framed messages (4-byte length + protobuf).
// FdChannel serves pipes and sockets, ShmChannel the shared-memory kind.
#ifndef TAO_CHANNELS_CLIENT_CHANNEL_H_
#define TAO_CHANNELS_CLIENT_CHANNEL_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "google/protobuf/message_lite.h"

namespace tao {

// Thread-compatible: callers serialize Send and Receive.
class ClientChannel {
 public:
  virtual ~ClientChannel() = default;

  // Writes one frame. kUnavailable if the peer has gone (never SIGPIPE);
  // kInvalidArgument for a message over the frame cap.
  virtual absl::Status Send(const google::protobuf::MessageLite& message) = 0;

  // Writes the concatenation of `parts`, which must be exactly one or more
  // whole frames, without copying them first. Fails like Send.
  virtual absl::Status SendParts(absl::Span<const absl::string_view> parts) = 0;

  // Reads one frame into `message`. kOutOfRange on a clean end between
  // frames, kDataLoss on an end inside one, kInvalidArgument for an
  // oversized frame or bytes that do not parse.
  virtual absl::Status Receive(google::protobuf::MessageLite* message) = 0;

  // The largest frame either way.
  virtual size_t max_frame_size() const = 0;
};

}  // namespace tao

#endif  // TAO_CHANNELS_CLIENT_CHANNEL_H_
