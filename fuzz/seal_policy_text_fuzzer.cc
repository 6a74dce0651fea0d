// Seal policies written as protobuf text (as people write them in configs):
// parsing never crashes, and a parsed policy either has no canonical
// encoding (a clear error) or its encoding decodes to the same policy.
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_support.h"
#include "seal_policy/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tao::fuzz::QuietProtobufLogs();
  if (size > (64 << 10)) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  tao::SealPolicy policy;
  google::protobuf::TextFormat::Parser parser;
  parser.AllowPartialMessage(false);
  if (!parser.ParseFromString(text, &policy)) return 0;
  auto encoded = tao::EncodeSealPolicy(policy);
  if (!encoded.ok()) {
    if (encoded.status().message().empty()) std::abort();
    return 0;
  }
  auto decoded = tao::DecodeSealPolicy(*encoded);
  if (!decoded.ok()) std::abort();
  auto again = tao::EncodeSealPolicy(*decoded);
  if (!again.ok() || *again != *encoded) std::abort();
  return 0;
}
