// taohost's choice of root (--root, the config's `root`): the only part of
// the host that knows which root it has. docs/stacking.md.
#ifndef TAO_APPS_TAOHOST_ROOT_H_
#define TAO_APPS_TAOHOST_ROOT_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "apps/taohost/taohost_config.pb.h"
#include "tao/host_root.h"

namespace tao {

// For root "stacked": fills the directories left empty from the state
// directory the parent gave (TAO_STATE_DIRECTORY): keys_dir <s>/keys,
// state_dir <s>/state, runtime_dir <s>/run, and cgroup_root "none" unless
// the host runs as root. Call before ApplyTaohostDefaults. kInvalidArgument
// for an unknown root or seal, or a stacked root with neither a
// state directory nor keys_dir.
absl::Status ApplyRootDefaults(TaohostConfig* config);

// The root the config names, not yet open. soft: reads the passphrase
// (passphrase_file or TAO_PASSPHRASE) and scrubs it from the environment.
// stacked: connects to the parent through TAO_CHANNEL (removed from the
// environment) and makes the parent's state directory for it 0711, so that
// its programs reach theirs. kInvalidArgument for a missing passphrase or
// channel.
absl::StatusOr<std::unique_ptr<HostRoot>> MakeHostRoot(
    const TaohostConfig& config, uint64_t scrypt_n);

}  // namespace tao

#endif  // TAO_APPS_TAOHOST_ROOT_H_
