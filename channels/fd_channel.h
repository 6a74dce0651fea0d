// FdChannel: blocking framed messages over a pair of file descriptors (two
// pipe ends, or one socket used both ways). What the hosted programs' client
// library talks over. Thread-compatible: callers serialize Send and Receive.
#ifndef TAO_CHANNELS_FD_CHANNEL_H_
#define TAO_CHANNELS_FD_CHANNEL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "channels/client_channel.h"
#include "channels/framing.h"
#include "google/protobuf/message_lite.h"
#include "tao/unique_fd.h"

namespace tao {

class FdChannel final : public ClientChannel {
 public:
  // Owns both descriptors (for a socket, pass it and a dup of it).
  FdChannel(UniqueFd read_fd, UniqueFd write_fd,
            size_t max_frame_size = kDefaultMaxFrameSize);

  // Writes one frame, retrying on EINTR and short writes. A peer that has
  // gone returns kUnavailable and never kills the process with SIGPIPE (a
  // socket is written with MSG_NOSIGNAL; for a pipe, SIGPIPE is blocked for
  // the calling thread while it writes).
  absl::Status Send(const google::protobuf::MessageLite& message) override;

  // Writes the concatenation of `parts`, which must be exactly one or more
  // whole frames, with one writev per try and no copy. Fails like Send.
  absl::Status SendParts(absl::Span<const absl::string_view> parts) override;

  // Reads one frame into `message`. kOutOfRange on a clean EOF between
  // frames, kDataLoss on EOF inside one, kInvalidArgument for an oversized
  // frame or bytes that do not parse.
  absl::Status Receive(google::protobuf::MessageLite* message) override;

  size_t max_frame_size() const override { return max_frame_size_; }

 private:
  UniqueFd read_fd_;
  UniqueFd write_fd_;
  size_t max_frame_size_;
  FrameReader reader_;
  std::string out_;
  bool write_is_socket_ = false;  // then MSG_NOSIGNAL, not the signal mask
};

// Writes all of `parts`, in order, to `fd`, retrying on EINTR and short
// writes, with SIGPIPE blocked for this thread. kUnavailable if the reader
// has gone.
absl::Status WriteAllNoSigpipe(int fd,
                               absl::Span<const absl::string_view> parts);

}  // namespace tao

#endif  // TAO_CHANNELS_FD_CHANNEL_H_
