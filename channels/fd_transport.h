// The descriptor transports of the loop: a pair of pipes ("pipe") and one
// stream socket ("socketpair"), each with the child's end as plain data.
#ifndef TAO_CHANNELS_FD_TRANSPORT_H_
#define TAO_CHANNELS_FD_TRANSPORT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "channels/host_transport.h"
#include "program_factory/program_factory.h"
#include "tao/unique_fd.h"

namespace tao {

// The host's end of a new channel and the child's endpoint.
struct TransportPair {
  std::unique_ptr<HostTransport> host;
  ChildEndpoint child;
};

// Two pipes: the child reads requests' answers on fd 3 and writes requests
// on fd 4 (TAO_CHANNEL=pipe:3,4). The host's ends are non-blocking. Its
// writes must run on a thread that blocks SIGPIPE (the loop's does): an
// EPIPE's signal is consumed there. errno statuses if the pipes cannot be
// made.
absl::StatusOr<TransportPair> MakePipeTransport();

// One AF_UNIX stream socketpair: the child's end at fd 3
// (TAO_CHANNEL=socket:3). Written with MSG_NOSIGNAL.
absl::StatusOr<TransportPair> MakeSocketpairTransport();

// A transport over descriptors the caller made: `in` is read, `out` written
// (for a socket, `out` is invalid and `in` serves both ways). Both must be
// non-blocking. For tests and for transports built on a descriptor.
std::unique_ptr<HostTransport> NewFdTransport(UniqueFd in, UniqueFd out);

}  // namespace tao

#endif  // TAO_CHANNELS_FD_TRANSPORT_H_
