// Big-endian integer encoding and a bounds-checked reader for the project's
// fixed binary formats (sealed bundles, keys at rest). Thread-compatible.
#ifndef TAO_TAO_BYTE_READER_H_
#define TAO_TAO_BYTE_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace tao {

// Appends `v` to `out`, most significant byte first.
void AppendU16(uint16_t v, std::string* out);
void AppendU32(uint32_t v, std::string* out);
void AppendU64(uint64_t v, std::string* out);

// Reads fields in order from untrusted bytes; every call fails (returns
// false, consuming nothing) rather than read past the end.
class ByteReader {
 public:
  explicit ByteReader(absl::string_view data) : data_(data) {}

  size_t offset() const { return offset_; }
  size_t remaining() const { return data_.size() - offset_; }
  // The bytes consumed so far.
  absl::string_view consumed() const { return data_.substr(0, offset_); }

  bool Take(size_t n, absl::string_view* out);
  bool ReadU16(uint16_t* v);
  bool ReadU32(uint32_t* v);
  bool ReadU64(uint64_t* v);

 private:
  absl::string_view data_;
  size_t offset_ = 0;
};

}  // namespace tao

#endif  // TAO_TAO_BYTE_READER_H_
