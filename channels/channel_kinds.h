// The channel kinds, registered by name: each name makes a transport (the
// host's end, a HostTransport) and the child's end as plain data (a
// ChildEndpoint). "pipe", "shm" and "socketpair" are always there; other
// kinds (virtio-serial, a test's made-up kind) register themselves. Every name
// that reaches the host (the admin API, taohost's config, a factory's
// registration) is parsed here and nowhere else, and the loop makes its
// channels through MakeChannel without naming a kind.
#ifndef TAO_CHANNELS_CHANNEL_KINDS_H_
#define TAO_CHANNELS_CHANNEL_KINDS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "channels/fd_transport.h"
#include "channels/shm_transport.h"

namespace tao {

// The kind a request that names none gets.
inline constexpr absl::string_view kDefaultChannelKind = "pipe";

// Makes one new channel of a kind: called on any thread, at every start.
using ChannelMaker = std::function<absl::StatusOr<TransportPair>()>;

// Registers the kind `name` for the life of the process. Thread-safe.
// kAlreadyExists if the name is taken; kInvalidArgument for a name that is
// empty, longer than 32 bytes or not made of [a-z0-9-], or a null maker.
absl::Status RegisterChannelKind(std::string name, ChannelMaker maker);

// Makes every later "shm" channel with `options` (taohost's shm_ring_bytes
// and shm_spin); channels made before keep theirs. Thread-safe.
// kInvalidArgument for options MakeShmTransport refuses, and nothing
// changes.
absl::Status ConfigureShmChannels(const ShmTransportOptions& options);

// The registered names, sorted. Thread-safe.
std::vector<std::string> ChannelKindNames();

// The kind `name` names ("" is kDefaultChannelKind). kInvalidArgument for
// a name that is not registered: "unknown channel '<name>' (pipe, shm or
// socketpair)", listing what is.
absl::StatusOr<std::string> ParseChannelKind(absl::string_view name);

// A new channel of kind `name`. kInvalidArgument as ParseChannelKind; the
// maker's errors pass through.
absl::StatusOr<TransportPair> MakeChannel(absl::string_view name);

// Checks that factory `factory`, which can serve the kinds `accepted`, may
// be paired with each of `kinds`: kInvalidArgument if one is not registered
// ("unknown channel ...") or not among `accepted` ("factory '<factory>'
// cannot serve channel kind <kind>").
absl::Status CheckChannelPairing(absl::string_view factory,
                                 const std::vector<std::string>& kinds,
                                 const std::vector<std::string>& accepted);

}  // namespace tao

#endif  // TAO_CHANNELS_CHANNEL_KINDS_H_
