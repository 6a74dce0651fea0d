#include "apps/taohost/enclaves.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace tao {

absl::StatusOr<std::unique_ptr<EnclaveFactory>> MakeEnclaveFactory(
    const TaohostConfig& config) {
  bool wanted = false;
  for (const std::string& name : config.factories()) {
    if (name == "enclave") {
      wanted = true;
    } else if (name != "process" && name != "vm") {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown factory '", name, "' (available: process, enclave, vm)"));
    }
  }
  if (!wanted) return std::unique_ptr<EnclaveFactory>();
  EnclaveFactoryOptions options;
  options.measurement_cache_bytes = size_t{config.measurement_cache_mib()}
                                    << 20;
  auto factory = EnclaveFactory::Create(options);
  if (!factory.ok()) {
    return absl::Status(
        factory.status().code(),
        absl::StrCat("the enclave factory: ", factory.status().message()));
  }
  return factory;
}

}  // namespace tao
