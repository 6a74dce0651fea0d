// The framing of a VM's admin link: the one byte stream between the host's
// VmAdminBridge and the guest's tao-guest-relay (QEMU carries it over the
// virtio port "org.tao.admin"). Every byte of a host client's connection
// travels in frames that name its session, so that a session's bytes reach
// that session alone however late either side reads: a virtio port has no
// edge a reader could not miss, so sessions cannot be told apart by the
// port opening and closing.
//
// A frame is a 12-byte header and a payload:
//   byte 0      type: 1 open, 2 data, 3 close
//   bytes 1-3   zero
//   bytes 4-7   session, big-endian, never 0 (the host numbers them from 1)
//   bytes 8-11  payload length, big-endian: 1..kMaxAdminPayload for data,
//               0 for open and close
// The host sends open, data and close; the guest sends data and close
// (AdminFrameReader's `allow_open`). Thread-compatible.
#ifndef TAO_PROGRAM_FACTORY_VM_ADMIN_PORT_ADMIN_FRAME_H_
#define TAO_PROGRAM_FACTORY_VM_ADMIN_PORT_ADMIN_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tao {

enum class AdminFrameType : uint8_t { kOpen = 1, kData = 2, kClose = 3 };

inline constexpr size_t kAdminFrameHeader = 12;
inline constexpr size_t kMaxAdminPayload = 64 << 10;

struct AdminFrame {
  AdminFrameType type = AdminFrameType::kData;
  uint32_t session = 0;
  std::string payload;  // data frames only
};

// Appends one frame to `out`. `payload` must be 1..kMaxAdminPayload bytes
// for kData and empty otherwise (checked: a wrong call is a bug, so it
// aborts); `session` must not be 0.
void AppendAdminFrame(AdminFrameType type, uint32_t session,
                      absl::string_view payload, std::string* out);

// Appends data frames for `bytes` (split at kMaxAdminPayload); nothing for
// empty bytes.
void AppendAdminData(uint32_t session, absl::string_view bytes,
                     std::string* out);

// Cuts untrusted bytes into frames. Callers call Next until it returns
// nullopt after each Feed, so that it holds less than one frame between
// reads. The first bad header (unknown type,
// reserved bytes not zero, session 0, a length that does not fit the type)
// breaks the reader: that kInvalidArgument, saying what was wrong, is what
// every later Next returns, since a byte stream cannot be resynchronized.
class AdminFrameReader {
 public:
  // `allow_open`: whether the peer may send open frames (the guest reading
  // the host's frames: yes; the host reading the guest's: no).
  explicit AdminFrameReader(bool allow_open) : allow_open_(allow_open) {}

  // Adds bytes read from the link (dropped once the reader is broken).
  void Feed(absl::string_view bytes) {
    if (broken_.ok()) buffer_.append(bytes.data(), bytes.size());
  }

  // The next whole frame, nullopt while it is not all there, or the error.
  absl::StatusOr<std::optional<AdminFrame>> Next();

  // Bytes held that are not yet a whole frame.
  size_t buffered() const { return buffer_.size() - offset_; }

 private:
  std::optional<AdminFrame> Incomplete();

  bool allow_open_;
  std::string buffer_;
  size_t offset_ = 0;
  absl::Status broken_;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_VM_ADMIN_PORT_ADMIN_FRAME_H_
