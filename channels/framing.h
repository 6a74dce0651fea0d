// One framing for every byte transport: a 4-byte big-endian length, then a
// serialized protobuf message of that many bytes. Frames longer than the
// reader's cap are refused before any of them is buffered.
#ifndef TAO_CHANNELS_FRAMING_H_
#define TAO_CHANNELS_FRAMING_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"

namespace tao {

inline constexpr size_t kFrameHeaderSize = 4;
inline constexpr size_t kDefaultMaxFrameSize = 16 << 20;

// Appends the frame of `message` to `out`. kInvalidArgument if it would
// exceed `max_frame_size`.
absl::Status AppendFrame(const google::protobuf::MessageLite& message,
                         size_t max_frame_size, std::string* out);

// Accumulates bytes from a stream and cuts them into frames. Holds at most
// one frame plus what arrived after it. Requests may carry plaintext (a
// Seal's data), so the buffer never frees or leaves behind an unwiped copy:
// growing it, compacting it and destroying it wipe what it leaves, and Wipe
// clears a frame once it is answered. Thread-compatible.
class FrameReader {
 public:
  explicit FrameReader(size_t max_frame_size = kDefaultMaxFrameSize)
      : max_frame_size_(max_frame_size) {}
  ~FrameReader();
  FrameReader(FrameReader&& other) noexcept;
  FrameReader& operator=(FrameReader&& other) noexcept;

  // Where to read the next bytes into, and how many fit; call Commit(n)
  // after writing n of them. Lets callers read(2) straight into the buffer.
  char* WritableSpace(size_t want, size_t* got);
  void Commit(size_t n);
  // Copies `data` in (for callers that already hold the bytes).
  void Append(absl::string_view data);

  // The next complete frame's body, or an empty optional-like false if more
  // bytes are needed. kInvalidArgument if the announced length exceeds the
  // cap: the stream cannot be trusted any further.
  absl::StatusOr<bool> Next(absl::string_view* frame);

  // Overwrites with zeros the bytes of `frame`, a view the last Next
  // returned (valid until the next WritableSpace or Append): for a request
  // that carried plaintext, once it is answered. Ignores a view that does
  // not lie in the buffer.
  void Wipe(absl::string_view frame);

  // How many more bytes would complete the header or the frame in progress
  // (at least 1).
  size_t BytesWanted() const;
  // Frees the buffer's memory if it is empty and larger than `keep` bytes
  // (after a big frame), so an idle channel holds little.
  void ShrinkIfIdle(size_t keep);
  // True if a complete frame (or a refusable header) is buffered.
  bool HasFrame() const;
  // Bytes received but not yet returned in a frame.
  size_t buffered() const { return end_ - start_; }
  // True if a frame has started but not finished.
  bool mid_frame() const { return buffered() > 0; }

 private:
  void Compact();
  // Wipes the whole buffer (its bytes, consumed or not).
  void WipeBuffer();

  size_t max_frame_size_;
  std::string buffer_;
  size_t start_ = 0;  // first unconsumed byte
  size_t end_ = 0;    // one past the last received byte
};

}  // namespace tao

#endif  // TAO_CHANNELS_FRAMING_H_
