// The "virtio-serial" channel kind: an AF_UNIX stream socketpair whose
// child end QEMU takes as a chardev (`-chardev socket,fd=N`) behind a named
// virtio port; inside the guest the port is /dev/vportNpM, found by its name
// (TAO_CHANNEL=virtio:<name>, client side in rpc_tao.cc). The host's end is
// an ordinary descriptor transport: the same framing, budgets and closing
// of a channel that breaks the protocol as for every other kind. Only the
// VM factory accepts it.
#ifndef TAO_CHANNELS_VIRTIO_SERIAL_TRANSPORT_H_
#define TAO_CHANNELS_VIRTIO_SERIAL_TRANSPORT_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "channels/fd_transport.h"

namespace tao {

// The name of the guest's port, the kind's name, and the TAO_CHANNEL value a
// guest uses to reach it.
inline constexpr absl::string_view kVirtioPortName = "tao";
inline constexpr absl::string_view kVirtioSerialKind = "virtio-serial";
inline constexpr absl::string_view kVirtioChannelEnv = "virtio:tao";

// A new socketpair: the host's end non-blocking, the child's end (for QEMU)
// at number 3 with channel_env kVirtioChannelEnv. errno statuses.
absl::StatusOr<TransportPair> MakeVirtioSerialTransport();

// Registers kVirtioSerialKind (channel_kinds.h) once; later calls are OK.
// Thread-safe. A host that serves VMs calls it at start.
absl::Status RegisterVirtioSerialChannelKind();

}  // namespace tao

#endif  // TAO_CHANNELS_VIRTIO_SERIAL_TRANSPORT_H_
