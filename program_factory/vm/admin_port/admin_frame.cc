#include "program_factory/vm/admin_port/admin_frame.h"

#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tao/byte_reader.h"

namespace tao {

void AppendAdminFrame(AdminFrameType type, uint32_t session,
                      absl::string_view payload, std::string* out) {
  const bool data = type == AdminFrameType::kData;
  if (session == 0 ||
      (data && (payload.empty() || payload.size() > kMaxAdminPayload)) ||
      (!data && !payload.empty())) {
    std::abort();  // a caller's bug, never input
  }
  out->push_back(static_cast<char>(type));
  out->append(3, '\0');
  AppendU32(session, out);
  AppendU32(static_cast<uint32_t>(payload.size()), out);
  out->append(payload.data(), payload.size());
}

void AppendAdminData(uint32_t session, absl::string_view bytes,
                     std::string* out) {
  while (!bytes.empty()) {
    absl::string_view chunk = bytes.substr(0, kMaxAdminPayload);
    AppendAdminFrame(AdminFrameType::kData, session, chunk, out);
    bytes.remove_prefix(chunk.size());
  }
}

std::optional<AdminFrame> AdminFrameReader::Incomplete() {
  // What was consumed goes, so the buffer holds less than one frame.
  buffer_.erase(0, offset_);
  offset_ = 0;
  return std::nullopt;
}

absl::StatusOr<std::optional<AdminFrame>> AdminFrameReader::Next() {
  if (!broken_.ok()) return broken_;
  absl::string_view rest(buffer_);
  rest.remove_prefix(offset_);
  if (rest.size() < kAdminFrameHeader) return Incomplete();
  const uint8_t type = static_cast<uint8_t>(rest[0]);
  ByteReader reader(rest.substr(4, 8));
  uint32_t session = 0, length = 0;
  reader.ReadU32(&session);
  reader.ReadU32(&length);
  std::string wrong;
  if (type < 1 || type > 3) {
    wrong = absl::StrFormat("unknown frame type %u", type);
  } else if (type == 1 && !allow_open_) {
    wrong = "an open frame from the side that may not open sessions";
  } else if (rest[1] != 0 || rest[2] != 0 || rest[3] != 0) {
    wrong = "reserved header bytes are not zero";
  } else if (session == 0) {
    wrong = "session 0";
  } else if (type == 2 && (length == 0 || length > kMaxAdminPayload)) {
    wrong = absl::StrFormat("a data frame of %u bytes (1..%u)", length,
                            kMaxAdminPayload);
  } else if (type != 2 && length != 0) {
    wrong =
        absl::StrFormat("an open or close frame with %u payload bytes", length);
  }
  if (!wrong.empty()) {
    broken_ = absl::InvalidArgumentError(
        absl::StrCat("bad admin-link frame: ", wrong));
    buffer_.clear();
    offset_ = 0;
    return broken_;
  }
  if (rest.size() < kAdminFrameHeader + length) return Incomplete();
  AdminFrame frame;
  frame.type = static_cast<AdminFrameType>(type);
  frame.session = session;
  frame.payload = std::string(rest.substr(kAdminFrameHeader, length));
  offset_ += kAdminFrameHeader + length;
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  }
  return frame;
}

}  // namespace tao
