#include "channels/fd_channel.h"

#include <errno.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace tao {

absl::Status WriteAllNoSigpipe(int fd, absl::string_view data) {
  // Block SIGPIPE for this thread, and consume one raised by our write before
  // unblocking, so a library never kills its host process.
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t pending;
  sigpending(&pending);
  bool already_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  absl::Status status = absl::OkStatus();
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) {
        status = absl::UnavailableError("the peer closed the channel");
        if (!already_pending) {
          struct timespec zero = {0, 0};
          sigtimedwait(&pipe_set, nullptr, &zero);
        }
      } else {
        status = absl::ErrnoToStatus(errno, "write to channel");
      }
      break;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  return status;
}

FdChannel::FdChannel(UniqueFd read_fd, UniqueFd write_fd, size_t max_frame_size)
    : read_fd_(std::move(read_fd)),
      write_fd_(std::move(write_fd)),
      max_frame_size_(max_frame_size),
      reader_(max_frame_size) {}

absl::Status FdChannel::Send(const google::protobuf::MessageLite& message) {
  out_.clear();
  absl::Status framed = AppendFrame(message, max_frame_size_, &out_);
  if (!framed.ok()) return framed;
  absl::Status sent = WriteAllNoSigpipe(write_fd_.get(), out_);
  if (out_.capacity() > (1 << 20)) std::string().swap(out_);
  return sent;
}

absl::Status FdChannel::Receive(google::protobuf::MessageLite* message) {
  while (true) {
    absl::string_view frame;
    absl::StatusOr<bool> ready = reader_.Next(&frame);
    if (!ready.ok()) return ready.status();
    if (*ready) {
      if (!message->ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
        return absl::InvalidArgumentError("a frame from the channel does not parse");
      }
      return absl::OkStatus();
    }
    size_t room = 0;
    char* dst = reader_.WritableSpace(64 * 1024, &room);
    ssize_t n = ::read(read_fd_.get(), dst, room);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, "read from channel");
    }
    if (n == 0) {
      return reader_.mid_frame()
                 ? absl::DataLossError("the channel closed in the middle of a frame")
                 : absl::OutOfRangeError("the channel was closed");
    }
    reader_.Commit(static_cast<size_t>(n));
  }
}

}  // namespace tao
