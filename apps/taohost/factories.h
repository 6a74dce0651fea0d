// taohost's program factories: the process factory always, the enclave
// factory only when the config's `factories` lists "enclave" and the VM
// factory only when it lists "vm" (both off by default), so that a host runs
// manifests as enclaves or boots guests only where its administrator asked
// for them.
#ifndef TAO_APPS_TAOHOST_FACTORIES_H_
#define TAO_APPS_TAOHOST_FACTORIES_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "apps/taohost/taohost_config.pb.h"
#include "channels/hosted_program_channel.h"
#include "program_factory/enclave/enclave_factory.h"
#include "program_factory/process_factory.h"
#include "program_factory/vm/vm_factory.h"

namespace tao {

// The factories of one host run. Owns them; `registrations` points into
// them, so the loop made from it must end before this does. Not thread-safe
// to change; the factories themselves are thread-safe.
struct HostFactories {
  std::unique_ptr<ProcessFactory> process;
  std::unique_ptr<EnclaveFactory> enclave;  // null unless listed
  std::unique_ptr<VmFactory> vm;            // null unless listed
  // What the loop is made with: each factory's name and channel kinds.
  std::vector<FactoryRegistration> registrations;
};

// The enclave factory if `config` lists "enclave", else nullptr.
// kInvalidArgument for a factory name this host does not know;
// kFailedPrecondition (with what is missing: Landlock, user namespaces,
// ...) if the machine cannot run enclaves, so the host refuses to start
// rather than run without the factory it was asked for.
absl::StatusOr<std::unique_ptr<EnclaveFactory>> MakeEnclaveFactory(
    const TaohostConfig& config);

// Makes the factories `config` (defaults applied) asks for. Programs get
// uids from `dynamic_uids`, hashed with `host_name` so that two hosts on a
// machine prefer different ones. Logs what is on, and warns when programs
// get no cgroup. The first factory's error, naming it.
absl::StatusOr<HostFactories> MakeHostFactories(const TaohostConfig& config,
                                                absl::string_view host_name,
                                                const UidRange& dynamic_uids);

}  // namespace tao

#endif  // TAO_APPS_TAOHOST_FACTORIES_H_
