// What a VM's guest says on its admin link (docs/vm.md, "The admin port"),
// read by the host's AdminFrameReader exactly as VmAdminBridge reads it.
// Everything the guest sends is hostile. The input's first byte chooses the
// side (bit 0: whether open frames are allowed, as for the guest reading
// the host) and how the rest is cut into reads (bits 1-7: the read size,
// 1..128 bytes, or whole when 0); after each read the reader is drained.
//
// Checked: every frame is one the format allows (type, session, payload
// size), and writing the frames back with AppendAdminFrame gives exactly
// the bytes consumed, in order; once the reader fails it fails with the
// same kInvalidArgument for good and holds nothing; between reads it never
// holds a whole frame or more than one frame's bytes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "program_factory/vm/admin_port/admin_frame.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool allow_open = (data[0] & 1) != 0;
  const size_t cut = (data[0] >> 1) == 0 ? size : (data[0] >> 1);
  absl::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  tao::AdminFrameReader reader(allow_open);
  std::string rewritten;
  absl::Status broken;
  size_t fed = 0;
  while (fed < input.size()) {
    absl::string_view chunk = input.substr(fed, cut);
    fed += chunk.size();
    reader.Feed(chunk);
    while (true) {
      absl::StatusOr<std::optional<tao::AdminFrame>> frame = reader.Next();
      if (!frame.ok()) {
        Check(frame.status().code() == absl::StatusCode::kInvalidArgument);
        Check(broken.ok() || broken == frame.status());
        broken = frame.status();
        Check(reader.buffered() == 0);
        break;
      }
      Check(broken.ok());
      if (!frame->has_value()) break;
      const tao::AdminFrame& f = **frame;
      Check(f.session != 0);
      Check(allow_open || f.type != tao::AdminFrameType::kOpen);
      if (f.type == tao::AdminFrameType::kData) {
        Check(!f.payload.empty() && f.payload.size() <= tao::kMaxAdminPayload);
      } else {
        Check(f.type == tao::AdminFrameType::kOpen ||
              f.type == tao::AdminFrameType::kClose);
        Check(f.payload.empty());
      }
      tao::AppendAdminFrame(f.type, f.session, f.payload, &rewritten);
    }
    if (!broken.ok()) continue;  // later reads are dropped
    // What it holds is the undecoded rest: less than one frame.
    Check(rewritten.size() + reader.buffered() == fed);
    Check(reader.buffered() < tao::kAdminFrameHeader + tao::kMaxAdminPayload);
  }
  Check(input.substr(0, rewritten.size()) == rewritten);
  return 0;
}
