// HostTransport: the host's end of one hosted program's channel. It moves
// bytes and nothing else: framing, budgets, backpressure and the wiping of
// plaintext stay in the connection above it, so every kind of channel (pipe,
// socketpair, shared memory, virtio-serial) is served by the same code.
//
// The loop waits on the transport's descriptors (level-triggered epoll) and
// then calls Read or Write; a transport never blocks and never spins unless
// it was configured to. Everything the program sends is untrusted: a
// transport that finds its peer's state inconsistent (a shared ring with an
// impossible index, say) fails the call, and the loop closes that one
// channel.
#ifndef TAO_CHANNELS_HOST_TRANSPORT_H_
#define TAO_CHANNELS_HOST_TRANSPORT_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tao {

// One descriptor the loop waits on for a transport, and the epoll events it
// wants there for what the connection wants now.
struct TransportWait {
  int fd = -1;
  uint32_t events = 0;  // EPOLLIN / EPOLLOUT; 0: do not wait on it now
};

// Not thread-safe: only the loop's thread calls it. Owns its descriptors and
// any shared memory; destroying it closes them.
class HostTransport {
 public:
  virtual ~HostTransport() = default;

  // The descriptors to wait on (one or two, fixed for the transport's life)
  // with the events each needs when the connection wants to read
  // (`want_read`: it has room for more requests) and/or to write
  // (`want_write`: answers are waiting to be sent). A transport whose peer
  // signals both "data ready" and "space freed" on one descriptor (an
  // eventfd) asks for EPOLLIN there in both cases.
  virtual std::vector<TransportWait> Waits(bool want_read,
                                           bool want_write) const = 0;

  // Reads up to `buf.size()` bytes the program sent. 0: nothing now (the
  // loop waits again; a transport that was woken must have consumed its
  // wake-up, e.g. drained its eventfd, before it returns 0). kUnavailable:
  // the program closed its end. Any other error: the channel is broken or
  // the peer broke the protocol (the message says how); the loop closes it.
  virtual absl::StatusOr<size_t> Read(absl::Span<char> buf) = 0;

  // Writes a prefix of `data`; returns how much (0: no room now, the loop
  // waits for Waits(.., true)). Never raises SIGPIPE. kUnavailable: the
  // program closed its end. Other errors as for Read.
  virtual absl::StatusOr<size_t> Write(absl::string_view data) = 0;

  // Called once at the end of each of the loop's turns that read or wrote
  // this transport: a transport that batches its wake-ups of the peer sends
  // them here. Must not block.
  virtual void EndOfTurn() {}
};

}  // namespace tao

#endif  // TAO_CHANNELS_HOST_TRANSPORT_H_
