// Program signature files (<program>.taosig): verification never crashes and
// accepts only a valid signature over the fixed measurement, whose claim
// makes a valid Publisher subprincipal.
#include <cstdint>
#include <cstdlib>

#include "fuzz/fuzz_support.h"
#include "tao/program_signature.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tao::fuzz::QuietProtobufLogs();
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto claim = tao::VerifyProgramSignature(bytes, tao::fuzz::Measurement());
  if (claim.ok() && !tao::PublisherSubprincipal(*claim).ok()) std::abort();
  return 0;
}
