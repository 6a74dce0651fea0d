// The host's end of the shared-memory channel kind "shm": one sealed memfd
// holding two byte rings (shm_ring.h, laid out as docs/channel-protocol.md
// says) and one eventfd each way. The program's end is the memfd and both
// eventfds at fds 3, 4 and 5, and at fd 6 the read end of a pipe that only
// the host holds open, so the program learns of the host's death however it
// dies (TAO_CHANNEL=shm:3,4,5,6; the client library's ShmChannel speaks it).
//
// The host treats the memory as hostile: indices are read once and checked
// (shm_ring.h), bytes are copied out into the connection's private frame
// buffer before anything parses them, and any inconsistency fails the call,
// so the loop closes that one channel. The memfd is sealed against shrinking,
// growing and further sealing before the program gets it, so the mapping can
// never fault. The host never blocks on the ring, never spins unless asked,
// and writes the program's eventfd only when the program said it sleeps.
#ifndef TAO_CHANNELS_SHM_TRANSPORT_H_
#define TAO_CHANNELS_SHM_TRANSPORT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "channels/fd_transport.h"

namespace tao {

// The largest spin a transport accepts (about a millisecond of re-checks).
inline constexpr int kShmMaxSpin = 100000;

struct ShmTransportOptions {
  // Bytes of each ring (a power of two in [4 KiB, 64 MiB]). Frames larger
  // than a ring stream through it.
  uint64_t ring_size = 256 * 1024;
  // Times the host re-checks an empty ring before it arms its wake-up;
  // 0 (the default) never spins, at most kShmMaxSpin. The loop's thread
  // spends it on every empty read of every shm program, so keep it small.
  int spin = 0;
};

// OK if MakeShmTransport accepts `options`; kInvalidArgument naming what is
// wrong otherwise. Makes nothing.
absl::Status CheckShmTransportOptions(const ShmTransportOptions& options);

// A new shm channel: the host's transport and the program's endpoint (the
// memfd at fd 3, the eventfd the program waits on at fd 4, the one it
// signals at fd 5, the liveness pipe's read end at fd 6). kInvalidArgument for
// bad options (a ring size that is not a power of two in [4 KiB, 64 MiB], a
// spin outside [0, kShmMaxSpin]); errno statuses if the memfd, its seals, the
// mapping or the eventfds cannot be made.
absl::StatusOr<TransportPair> MakeShmTransport(
    const ShmTransportOptions& options = {});

}  // namespace tao

#endif  // TAO_CHANNELS_SHM_TRANSPORT_H_
