// Seal policies from their canonical bytes: decoding never crashes; what
// decodes re-encodes to exactly the same bytes; evaluation of any decoded
// policy never crashes and always gives a reason.
#include <cstdint>
#include <cstdlib>

#include "fuzz/fuzz_support.h"
#include "seal_policy/codec.h"
#include "seal_policy/evaluator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tao::fuzz::QuietProtobufLogs();
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto policy = tao::DecodeSealPolicy(bytes);
  if (!policy.ok()) return 0;
  auto encoded = tao::EncodeSealPolicy(*policy);
  if (!encoded.ok() || *encoded != bytes) std::abort();
  const tao::Principal& name = tao::fuzz::ProgramName();
  tao::SealPolicyContext context{name, name, tao::fuzz::Host().name(),
                                 &tao::fuzz::Domain()};
  tao::Decision decision = tao::EvaluateSealPolicy(*policy, context);
  if (decision.reason.empty()) std::abort();
  return 0;
}
