#include "channels/framing.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "tao/byte_reader.h"

namespace tao {

absl::Status AppendFrame(const google::protobuf::MessageLite& message,
                         size_t max_frame_size, std::string* out) {
  size_t size = message.ByteSizeLong();
  if (size > max_frame_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("message of ", size, " bytes exceeds the frame cap of ",
                     max_frame_size));
  }
  AppendU32(static_cast<uint32_t>(size), out);
  size_t at = out->size();
  out->resize(at + size);
  if (!message.SerializeWithCachedSizesToArray(
          reinterpret_cast<uint8_t*>(out->data() + at))) {
    out->resize(at - kFrameHeaderSize);
    return absl::InternalError("cannot serialize message");
  }
  return absl::OkStatus();
}

void FrameReader::Compact() {
  if (start_ == 0) return;
  if (start_ == end_) {
    start_ = end_ = 0;
    return;
  }
  std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
  end_ -= start_;
  start_ = 0;
}

char* FrameReader::WritableSpace(size_t want, size_t* got) {
  if (buffer_.size() - end_ < want) {
    Compact();
    if (buffer_.size() - end_ < want) buffer_.resize(end_ + want);
  }
  *got = buffer_.size() - end_;
  return buffer_.data() + end_;
}

void FrameReader::Commit(size_t n) { end_ += n; }

void FrameReader::Append(absl::string_view data) {
  size_t got = 0;
  char* dst = WritableSpace(data.size(), &got);
  std::memcpy(dst, data.data(), data.size());
  Commit(data.size());
}

size_t FrameReader::BytesWanted() const {
  if (buffered() < kFrameHeaderSize) return kFrameHeaderSize - buffered();
  ByteReader header(
      absl::string_view(buffer_.data() + start_, kFrameHeaderSize));
  uint32_t length = 0;
  header.ReadU32(&length);
  size_t total = kFrameHeaderSize + static_cast<size_t>(length);
  return total > buffered() ? total - buffered() : 1;
}

void FrameReader::ShrinkIfIdle(size_t keep) {
  if (start_ == end_ && buffer_.capacity() > keep) {
    std::string().swap(buffer_);
    start_ = end_ = 0;
  }
}

bool FrameReader::HasFrame() const {
  if (buffered() < kFrameHeaderSize) return false;
  ByteReader header(
      absl::string_view(buffer_.data() + start_, kFrameHeaderSize));
  uint32_t length = 0;
  header.ReadU32(&length);
  return length > max_frame_size_ || buffered() >= kFrameHeaderSize + length;
}

absl::StatusOr<bool> FrameReader::Next(absl::string_view* frame) {
  if (buffered() < kFrameHeaderSize) {
    if (start_ == end_) start_ = end_ = 0;
    return false;
  }
  ByteReader header(
      absl::string_view(buffer_.data() + start_, kFrameHeaderSize));
  uint32_t length = 0;
  header.ReadU32(&length);
  if (length > max_frame_size_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "frame of ", length, " bytes exceeds the cap of ", max_frame_size_));
  }
  if (buffered() < kFrameHeaderSize + length) {
    // The buffer grows with the bytes that actually arrive, never with what
    // a header merely announces.
    return false;
  }
  *frame =
      absl::string_view(buffer_.data() + start_ + kFrameHeaderSize, length);
  start_ += kFrameHeaderSize + length;
  return true;
}

}  // namespace tao
