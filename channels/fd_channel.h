// FdChannel: blocking framed messages over a pair of file descriptors (two
// pipe ends, or one socket used both ways). What the hosted programs' client
// library talks over. Thread-compatible: callers serialize Send and Receive.
#ifndef TAO_CHANNELS_FD_CHANNEL_H_
#define TAO_CHANNELS_FD_CHANNEL_H_

#include <string>

#include "absl/status/status.h"
#include "channels/framing.h"
#include "google/protobuf/message_lite.h"
#include "tao/unique_fd.h"

namespace tao {

class FdChannel {
 public:
  // Owns both descriptors (for a socket, pass it and a dup of it).
  FdChannel(UniqueFd read_fd, UniqueFd write_fd,
            size_t max_frame_size = kDefaultMaxFrameSize);

  // Writes one frame, retrying on EINTR and short writes. A peer that has
  // gone returns kUnavailable (SIGPIPE is blocked for the calling thread
  // while it writes, so it never kills the process).
  absl::Status Send(const google::protobuf::MessageLite& message);

  // Reads one frame into `message`. kOutOfRange on a clean EOF between
  // frames, kDataLoss on EOF inside one, kInvalidArgument for an oversized
  // frame or bytes that do not parse.
  absl::Status Receive(google::protobuf::MessageLite* message);

 private:
  UniqueFd read_fd_;
  UniqueFd write_fd_;
  size_t max_frame_size_;
  FrameReader reader_;
  std::string out_;
};

// Writes all of `data` to `fd`, retrying on EINTR and short writes, with
// SIGPIPE blocked for this thread. kUnavailable if the reader has gone.
absl::Status WriteAllNoSigpipe(int fd, absl::string_view data);

}  // namespace tao

#endif  // TAO_CHANNELS_FD_CHANNEL_H_
