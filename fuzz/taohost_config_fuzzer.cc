// taohost's configuration file: parsing never crashes, and a config that
// parses still parses after the defaults are applied.
#include <google/protobuf/text_format.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "apps/taohost/config.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tao::fuzz::QuietProtobufLogs();
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = tao::ParseTaohostConfig(text);
  if (!config.ok()) return 0;
  tao::ApplyTaohostDefaults(&*config);
  std::string printed;
  google::protobuf::TextFormat::PrintToString(*config, &printed);
  if (!tao::ParseTaohostConfig(printed).ok()) std::abort();
  return 0;
}
