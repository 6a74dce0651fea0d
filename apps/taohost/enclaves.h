// taohost's enclave factory: made only when the config's `factories` lists
// "enclave" (off by default), so that a host runs manifests as sandboxed
// enclaves only where its administrator asked for them.
#ifndef TAO_APPS_TAOHOST_ENCLAVES_H_
#define TAO_APPS_TAOHOST_ENCLAVES_H_

#include <memory>

#include "absl/status/statusor.h"
#include "apps/taohost/taohost_config.pb.h"
#include "program_factory/enclave/enclave_factory.h"

namespace tao {

// The enclave factory if `config` lists "enclave", else nullptr.
// kInvalidArgument for a factory name this host does not know;
// kFailedPrecondition (with what is missing: Landlock, user namespaces,
// ...) if the machine cannot run enclaves, so the host refuses to start
// rather than run without the factory it was asked for.
absl::StatusOr<std::unique_ptr<EnclaveFactory>> MakeEnclaveFactory(
    const TaohostConfig& config);

}  // namespace tao

#endif  // TAO_APPS_TAOHOST_ENCLAVES_H_
