#include "channels/virtio_serial_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "channels/channel_kinds.h"
#include "tao/status_macros.h"

namespace tao {

absl::StatusOr<TransportPair> MakeVirtioSerialTransport() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return absl::ErrnoToStatus(errno, "socketpair");
  }
  UniqueFd host(sv[0]), child(sv[1]);
  int flags = ::fcntl(host.get(), F_GETFL);
  if (flags < 0 || ::fcntl(host.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return absl::ErrnoToStatus(errno, "make the channel non-blocking");
  }
  TransportPair pair;
  pair.host = NewFdTransport(std::move(host), UniqueFd());
  pair.child.fds.push_back({std::move(child), 3});
  pair.child.channel_env = std::string(kVirtioChannelEnv);
  return pair;
}

absl::Status RegisterVirtioSerialChannelKind() {
  static absl::Mutex mu(absl::kConstInit);
  static bool done ABSL_GUARDED_BY(mu) = false;
  absl::MutexLock lock(&mu);
  if (done) return absl::OkStatus();
  TAO_RETURN_IF_ERROR(RegisterChannelKind(std::string(kVirtioSerialKind), [] {
    return MakeVirtioSerialTransport();
  }));
  done = true;
  return absl::OkStatus();
}

}  // namespace tao
