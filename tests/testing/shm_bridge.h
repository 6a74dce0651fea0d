// For test programs that speak a channel through raw descriptors
// (raw_channel.h): over a shm channel, a thread moves bytes between the
// shared rings (the client library's ShmStream) and one end of a
// socketpair, and read_fd/write_fd become the other end. The program then
// sends and reads exactly what it would over a socket, byte for byte, and
// the host sees the same bytes in its ring; the host closing the channel is
// an EOF on the socket, and closing the socket closes the program's end.
// Header-only; one program each; links tao_client.
#ifndef TAO_TESTS_TESTING_SHM_BRIDGE_H_
#define TAO_TESTS_TESTING_SHM_BRIDGE_H_

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "channels/shm_channel.h"
#include "tests/testing/raw_channel.h"

namespace tao {
namespace test {

// Moves bytes both ways until either side has gone. Runs on its own thread.
inline void RunShmBridge(std::unique_ptr<ShmStream> stream, int sock) {
  constexpr size_t kBuffer = 64 * 1024;
  std::string to_host, to_program;
  bool program_eof = false;
  char buf[kBuffer];
  while (true) {
    bool progress = false;
    if (!program_eof && to_host.size() < kBuffer) {
      ssize_t n = ::recv(sock, buf, kBuffer - to_host.size(), MSG_DONTWAIT);
      if (n > 0) {
        to_host.append(buf, static_cast<size_t>(n));
        progress = true;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        program_eof = true;
        progress = true;
      }
    }
    if (!to_host.empty()) {
      absl::StatusOr<size_t> n = stream->TryWrite(to_host);
      if (!n.ok() || stream->host_closed()) break;
      to_host.erase(0, *n);
      progress = progress || *n > 0;
    }
    if (program_eof && to_host.empty()) {
      stream->Close();
      break;
    }
    if (to_program.size() < kBuffer) {
      absl::StatusOr<size_t> n =
          stream->TryRead(absl::MakeSpan(buf, kBuffer - to_program.size()));
      if (!n.ok()) break;
      to_program.append(buf, *n);
      progress = progress || *n > 0;
    }
    if (!to_program.empty()) {
      ssize_t n = ::send(sock, to_program.data(), to_program.size(),
                         MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        to_program.erase(0, static_cast<size_t>(n));
        progress = true;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        stream->Close();
        break;
      }
    }
    if (to_program.empty() && stream->host_closed()) {
      absl::StatusOr<uint64_t> more = stream->TryRead(absl::MakeSpan(buf, 1));
      if (!more.ok() || *more == 0) break;
      to_program.append(buf, 1);
      continue;
    }
    if (progress) continue;
    absl::StatusOr<bool> ready =
        stream->PrepareToSleep(to_program.size() < kBuffer, !to_host.empty());
    if (!ready.ok()) break;
    if (*ready) {
      stream->Awake();
      continue;
    }
    struct pollfd p[3] = {{sock, 0, 0},
                          {stream->wait_fd(), POLLIN, 0},
                          {stream->host_alive_fd(), POLLIN, 0}};
    if (!program_eof && to_host.size() < kBuffer) p[0].events |= POLLIN;
    if (!to_program.empty()) p[0].events |= POLLOUT;
    ::poll(p, stream->host_alive_fd() >= 0 ? 3 : 2, -1);
    if (stream->host_alive_fd() >= 0 && p[2].revents != 0) stream->HostGone();
    if (p[1].revents & POLLIN) {
      stream->Woken();
    } else {
      stream->Awake();
    }
  }
  // The host has gone (or the program has): the program sees EOF.
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
}

// Like ParseChannel, and for "shm:M,I,O[,A]" starts the bridge: read_fd and
// write_fd are then the program's end of the socketpair.
inline bool ParseChannelOrBridge() {
  const char* spec = std::getenv("TAO_CHANNEL");
  if (spec == nullptr) return false;
  absl::string_view s = spec;
  if (!absl::ConsumePrefix(&s, "shm:")) return ParseChannel();
  std::vector<std::string> parts = absl::StrSplit(s, ',');
  int fds[4] = {-1, -1, -1, -1};
  if (parts.size() != 3 && parts.size() != 4) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!absl::SimpleAtoi(parts[i], &fds[i])) return false;
  }
  absl::StatusOr<std::unique_ptr<ShmStream>> stream =
      ShmStream::Open(UniqueFd(fds[0]), UniqueFd(fds[1]), UniqueFd(fds[2]),
                      /*spin=*/0, UniqueFd(fds[3]));
  if (!stream.ok()) return false;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return false;
  }
  read_fd = write_fd = sv[0];
  std::thread(RunShmBridge, *std::move(stream), sv[1]).detach();
  return true;
}

}  // namespace test
}  // namespace tao

#endif  // TAO_TESTS_TESTING_SHM_BRIDGE_H_
