// The channel from a hosted program: a byte stream cut into frames, each
// parsed as a TaoRequest and answered by the same handler the listen loop
// uses (with the fixed host and an allow-all domain). Nothing crashes, every
// response answers its request's id, and an oversized frame is refused.
#include <cstdint>
#include <cstdlib>

#include "channels/framing.h"
#include "channels/tao_request_handler.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tao::fuzz::QuietProtobufLogs();
  static const tao::TaoRequestHandler* handler =
      new tao::TaoRequestHandler(tao::fuzz::Host(), tao::fuzz::Domain());
  tao::FrameReader reader(1 << 20);
  reader.Append(absl::string_view(reinterpret_cast<const char*>(data), size));
  tao::Principal name = tao::fuzz::ProgramName();
  for (int frames = 0; frames < 64; ++frames) {
    absl::string_view frame;
    auto ready = reader.Next(&frame);
    if (!ready.ok() || !*ready) break;
    tao::TaoRequest request;
    if (!request.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) break;
    tao::TaoResponse response = handler->Handle(request, &name);
    if (response.id() != request.id()) std::abort();
    if (response.code() != 0 && response.message().empty()) std::abort();
    std::string out;
    if (!tao::AppendFrame(response, 2 << 20, &out).ok()) std::abort();
  }
  if (!name.IsSelfOrSubprincipalOf(tao::fuzz::ProgramName())) std::abort();
  return 0;
}
