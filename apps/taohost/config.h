// Reading taohost's configuration file. Takes untrusted bytes, returns a
// status; ready for fuzzing.
#ifndef TAO_APPS_TAOHOST_CONFIG_H_
#define TAO_APPS_TAOHOST_CONFIG_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "apps/taohost/taohost_config.pb.h"
#include "channels/shm_transport.h"

namespace tao {

// Parses protobuf text format and checks it: known factories, absolute
// paths, valid restart modes and channels. kInvalidArgument naming the line
// or the field.
absl::StatusOr<TaohostConfig> ParseTaohostConfig(absl::string_view text);

// Fills the defaults that depend on other fields (runtime_dir and what lives
// under it, the factory list, the socket mode, limits).
void ApplyTaohostDefaults(TaohostConfig* config);

// The options of every "shm" channel the host makes: shm_ring_bytes (0:
// the transport's default) and shm_spin.
ShmTransportOptions ShmOptionsOf(const TaohostConfig& config);

}  // namespace tao

#endif  // TAO_APPS_TAOHOST_CONFIG_H_
