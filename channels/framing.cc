#include "channels/framing.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <utility>

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

FrameReader::~FrameReader() { WipeBuffer(); }

// Moves swap buffers, so no copy is left behind unwiped (a short string's
// bytes live inside the object itself).
FrameReader::FrameReader(FrameReader&& other) noexcept
    : max_frame_size_(other.max_frame_size_),
      start_(other.start_),
      end_(other.end_) {
  buffer_.swap(other.buffer_);
  other.start_ = other.end_ = 0;
}

FrameReader& FrameReader::operator=(FrameReader&& other) noexcept {
  if (this != &other) {
    max_frame_size_ = other.max_frame_size_;
    buffer_.swap(other.buffer_);
    start_ = other.start_;
    end_ = other.end_;
    // `other` now holds this reader's old bytes: wipe them.
    other.WipeBuffer();
    other.buffer_.clear();
    other.start_ = other.end_ = 0;
  }
  return *this;
}

void FrameReader::WipeBuffer() {
  if (!buffer_.empty()) OPENSSL_cleanse(buffer_.data(), buffer_.size());
}

void FrameReader::Wipe(absl::string_view frame) {
  const char* begin = buffer_.data();
  if (frame.empty() || frame.data() < begin ||
      frame.data() + frame.size() > begin + buffer_.size()) {
    return;
  }
  OPENSSL_cleanse(buffer_.data() + (frame.data() - begin), frame.size());
}

void FrameReader::Compact() {
  if (start_ == 0) return;
  if (start_ == end_) {
    start_ = end_ = 0;
    return;
  }
  const size_t kept = end_ - start_;
  std::memmove(buffer_.data(), buffer_.data() + start_, kept);
  // The bytes past the moved ones are a stale copy of them; wipe it.
  const size_t stale = std::max(kept, start_);
  OPENSSL_cleanse(buffer_.data() + stale, end_ - stale);
  end_ = kept;
  start_ = 0;
}

char* FrameReader::WritableSpace(size_t want, size_t* got) {
  if (buffer_.size() - end_ < want) {
    Compact();
    if (buffer_.capacity() >= end_ + want) {
      buffer_.resize(end_ + want);  // within its memory: nothing is freed
    } else if (buffer_.size() - end_ < want) {
      // Grow by hand: std::string's own growth would free the old bytes
      // unwiped.
      std::string grown;
      grown.reserve(std::max(2 * buffer_.capacity(), end_ + want));
      grown.append(buffer_.data(), end_);
      grown.resize(end_ + want);
      WipeBuffer();
      buffer_.swap(grown);
    }
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
    WipeBuffer();
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
