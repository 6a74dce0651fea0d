#include "channels/fd_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

absl::Status SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return absl::ErrnoToStatus(errno, "set O_NONBLOCK");
  }
  return absl::OkStatus();
}

// Consumes the SIGPIPE a failed write to a pipe raised on this thread (which
// blocks it), so that it is never delivered later.
void ConsumeSigpipe() {
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  struct timespec zero = {0, 0};
  while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
  }
}

class FdTransport final : public HostTransport {
 public:
  FdTransport(UniqueFd in, UniqueFd out)
      : in_(std::move(in)), out_(std::move(out)) {}

  std::vector<TransportWait> Waits(bool want_read,
                                   bool want_write) const override {
    const uint32_t in = want_read ? uint32_t{EPOLLIN} : 0u;
    const uint32_t out = want_write ? uint32_t{EPOLLOUT} : 0u;
    if (!out_.valid()) return {{in_.get(), in | out}};
    return {{in_.get(), in}, {out_.get(), out}};
  }

  absl::StatusOr<size_t> Read(absl::Span<char> buf) override {
    while (true) {
      ssize_t n = ::read(in_.get(), buf.data(), buf.size());
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) {
        if (buf.empty()) return 0;
        return absl::UnavailableError("the program closed it");
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 0;
      if (errno == ECONNRESET) {
        return absl::UnavailableError("the program closed it");
      }
      return absl::UnavailableError(absl::StrCat("read: ", strerror(errno)));
    }
  }

  absl::StatusOr<size_t> Write(absl::string_view data) override {
    while (true) {
      ssize_t n;
      if (out_.valid()) {
        n = ::write(out_.get(), data.data(), data.size());
      } else {
        n = ::send(in_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      }
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 0;
      if (errno == EPIPE && out_.valid()) ConsumeSigpipe();
      return absl::UnavailableError(absl::StrCat("write: ", strerror(errno)));
    }
  }

 private:
  UniqueFd in_;
  UniqueFd out_;  // invalid for a socket: in_ serves both ways
};

}  // namespace

std::unique_ptr<HostTransport> NewFdTransport(UniqueFd in, UniqueFd out) {
  return std::make_unique<FdTransport>(std::move(in), std::move(out));
}

absl::StatusOr<TransportPair> MakePipeTransport() {
  int to_child[2], from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0) {
    return absl::ErrnoToStatus(errno, "pipe2");
  }
  UniqueFd to_child_read(to_child[0]), to_child_write(to_child[1]);
  if (::pipe2(from_child, O_CLOEXEC) != 0) {
    return absl::ErrnoToStatus(errno, "pipe2");
  }
  UniqueFd from_child_read(from_child[0]), from_child_write(from_child[1]);
  TAO_RETURN_IF_ERROR(SetNonBlocking(from_child_read.get()));
  TAO_RETURN_IF_ERROR(SetNonBlocking(to_child_write.get()));
  TransportPair pair;
  pair.host =
      NewFdTransport(std::move(from_child_read), std::move(to_child_write));
  pair.child.fds.push_back({std::move(to_child_read), 3});
  pair.child.fds.push_back({std::move(from_child_write), 4});
  pair.child.channel_env = "pipe:3,4";
  return pair;
}

absl::StatusOr<TransportPair> MakeSocketpairTransport() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return absl::ErrnoToStatus(errno, "socketpair");
  }
  UniqueFd host(sv[0]), child(sv[1]);
  TAO_RETURN_IF_ERROR(SetNonBlocking(host.get()));
  TransportPair pair;
  pair.host = NewFdTransport(std::move(host), UniqueFd());
  pair.child.fds.push_back({std::move(child), 3});
  pair.child.channel_env = "socket:3";
  return pair;
}

}  // namespace tao
