// Sealed bundles read back from disk: parsing and decryption never crash;
// a bundle opens only if it authenticates under the fixed host's secret,
// and what opens re-seals and opens to the same data.
#include <cstdint>
#include <cstdlib>

#include "fuzz/fuzz_support.h"
#include "tao/sealed_bundle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tao::fuzz::QuietProtobufLogs();
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto view = tao::ParseSealedBundle(bytes);
  auto opened = tao::fuzz::Host().Decrypt(bytes);
  if (opened.ok() && !view.ok()) std::abort();
  if (opened.ok()) {
    auto again = tao::fuzz::Host().Encrypt(opened->data.view(), opened->policy,
                                           opened->sealer);
    if (!again.ok()) std::abort();
    auto reopened = tao::fuzz::Host().Decrypt(*again);
    if (!reopened.ok() || reopened->data.view() != opened->data.view())
      std::abort();
  }
  return 0;
}
