#include "apps/taohost/factories.h"

#include <glog/logging.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tao {
namespace {

bool Lists(const TaohostConfig& config, absl::string_view factory) {
  return std::find(config.factories().begin(), config.factories().end(),
                   factory) != config.factories().end();
}

absl::Status Naming(absl::string_view factory, const absl::Status& status) {
  return absl::Status(
      status.code(),
      absl::StrCat("the ", factory, " factory: ", status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<EnclaveFactory>> MakeEnclaveFactory(
    const TaohostConfig& config) {
  for (const std::string& name : config.factories()) {
    if (name != "process" && name != "enclave" && name != "vm") {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown factory '", name, "' (available: process, enclave, vm)"));
    }
  }
  if (!Lists(config, "enclave")) return std::unique_ptr<EnclaveFactory>();
  EnclaveFactoryOptions options;
  options.measurement_cache_bytes = size_t{config.measurement_cache_mib()}
                                    << 20;
  auto factory = EnclaveFactory::Create(options);
  if (!factory.ok()) return Naming("enclave", factory.status());
  return factory;
}

absl::StatusOr<HostFactories> MakeHostFactories(const TaohostConfig& config,
                                                absl::string_view host_name,
                                                const UidRange& dynamic_uids) {
  HostFactories made;
  // Hosted programs' identities, state directories and cgroups.
  ProcessFactoryOptions process_options;
  process_options.dynamic_uid_salt = std::string(host_name);
  process_options.measurement_cache_bytes =
      size_t{config.measurement_cache_mib()} << 20;
  process_options.dynamic_uids = dynamic_uids;
  process_options.state_root = config.state_root();
  process_options.cgroup_root = config.cgroup_root();
  auto process = ProcessFactory::Create(process_options);
  if (!process.ok()) return process.status();
  made.process = *std::move(process);
  if (!made.process->cgroups_in_force()) {
    LOG(WARNING) << "no cgroup per program ("
                 << made.process->cgroup_status().message()
                 << "): a program's descendants that call setsid() can "
                    "outlive it unless it runs as a dynamic uid; see "
                    "docs/taohost.md";
  }
  made.registrations.push_back(
      {"process", made.process.get(), made.process->channel_kinds()});

  auto enclave = MakeEnclaveFactory(config);
  if (!enclave.ok()) return enclave.status();
  made.enclave = *std::move(enclave);
  if (made.enclave != nullptr) {
    made.registrations.push_back(
        {"enclave", made.enclave.get(), made.enclave->channel_kinds()});
    LOG(INFO) << "enclave factory on (" << made.enclave->options().run_dir
              << ")";
  }

  // The VM factory, only where the config lists it (docs/vm.md).
  if (Lists(config, "vm")) {
    VmFactoryOptions vm_options;
    vm_options.accel = config.vm_accel();
    vm_options.qemu = config.vm_qemu();
    // QEMU runs as a dynamic uid of the same range as the programs, with
    // the same salt; the machine-wide locks keep the two apart.
    vm_options.dynamic_uids = dynamic_uids;
    vm_options.dynamic_uid_salt = std::string(host_name);
    // Each VM's admin port, for `taoctl tree` and `taoctl --socket`: root's
    // alone, like the host's own keys (docs/vm.md).
    vm_options.admin_socket_dir = absl::StrCat(config.runtime_dir(), "/vm");
    auto vm = VmFactory::Create(vm_options);
    if (!vm.ok()) return vm.status();
    made.vm = *std::move(vm);
    LOG(INFO) << "vm factory: " << made.vm->description() << ", QEMU "
              << config.vm_qemu();
    made.registrations.push_back(
        {"vm", made.vm.get(), made.vm->channel_kinds()});
  }
  return made;
}

}  // namespace tao
