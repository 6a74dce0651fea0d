#include "channels/fd_channel.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace tao {
namespace {

// Buffers the channel keeps between calls: reused, so a series of large
// calls does not allocate (and fault in) fresh memory every time.
constexpr size_t kKeptSendBuffer = 4 << 20;

// Drops the first `n` bytes of `parts` (a short write).
void Advance(std::vector<struct iovec>* parts, size_t n) {
  size_t i = 0;
  while (i < parts->size() && n >= (*parts)[i].iov_len)
    n -= (*parts)[i++].iov_len;
  parts->erase(parts->begin(), parts->begin() + static_cast<std::ptrdiff_t>(i));
  if (!parts->empty()) {
    (*parts)[0].iov_base = static_cast<char*>((*parts)[0].iov_base) + n;
    (*parts)[0].iov_len -= n;
  }
}

std::vector<struct iovec> ToIovecs(absl::Span<const absl::string_view> parts) {
  std::vector<struct iovec> iov;
  for (absl::string_view p : parts) {
    if (!p.empty()) iov.push_back({const_cast<char*>(p.data()), p.size()});
  }
  return iov;
}

// Writes every byte of `iov` to a socket: MSG_NOSIGNAL keeps SIGPIPE away
// without touching the signal mask.
absl::Status SendAllToSocket(int fd, std::vector<struct iovec> iov) {
  while (!iov.empty()) {
    struct msghdr msg = {};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = iov.size();
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE)
        return absl::UnavailableError("the peer closed the channel");
      return absl::ErrnoToStatus(errno, "write to channel");
    }
    Advance(&iov, static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteAllNoSigpipe(int fd,
                               absl::Span<const absl::string_view> parts) {
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
  std::vector<struct iovec> iov = ToIovecs(parts);
  while (!iov.empty()) {
    ssize_t n =
        ::writev(fd, iov.data(),
                 static_cast<int>(std::min<size_t>(iov.size(), IOV_MAX)));
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
    Advance(&iov, static_cast<size_t>(n));
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  return status;
}

FdChannel::FdChannel(UniqueFd read_fd, UniqueFd write_fd, size_t max_frame_size)
    : read_fd_(std::move(read_fd)),
      write_fd_(std::move(write_fd)),
      max_frame_size_(max_frame_size),
      reader_(max_frame_size) {
  struct stat st;
  write_is_socket_ = ::fstat(write_fd_.get(), &st) == 0 && S_ISSOCK(st.st_mode);
}

absl::Status FdChannel::Send(const google::protobuf::MessageLite& message) {
  out_.clear();
  absl::Status framed = AppendFrame(message, max_frame_size_, &out_);
  if (!framed.ok()) return framed;
  absl::string_view parts[] = {out_};
  absl::Status sent = SendParts(parts);
  if (out_.capacity() > kKeptSendBuffer) std::string().swap(out_);
  return sent;
}

absl::Status FdChannel::SendParts(absl::Span<const absl::string_view> parts) {
  if (write_is_socket_)
    return SendAllToSocket(write_fd_.get(), ToIovecs(parts));
  return WriteAllNoSigpipe(write_fd_.get(), parts);
}

absl::Status FdChannel::Receive(google::protobuf::MessageLite* message) {
  while (true) {
    absl::string_view frame;
    absl::StatusOr<bool> ready = reader_.Next(&frame);
    if (!ready.ok()) return ready.status();
    if (*ready) {
      if (!message->ParseFromArray(frame.data(),
                                   static_cast<int>(frame.size()))) {
        return absl::InvalidArgumentError(
            "a frame from the channel does not parse");
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
                 ? absl::DataLossError(
                       "the channel closed in the middle of a frame")
                 : absl::OutOfRangeError("the channel was closed");
    }
    reader_.Commit(static_cast<size_t>(n));
  }
}

}  // namespace tao
