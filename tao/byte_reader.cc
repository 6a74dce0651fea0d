#include "tao/byte_reader.h"

namespace tao {
namespace {

uint64_t LoadBigEndian(absl::string_view b) {
  uint64_t v = 0;
  for (char c : b) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

void AppendBigEndian(uint64_t v, int bytes, std::string* out) {
  for (int i = bytes - 1; i >= 0; --i) {
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

}  // namespace

void AppendU16(uint16_t v, std::string* out) { AppendBigEndian(v, 2, out); }
void AppendU32(uint32_t v, std::string* out) { AppendBigEndian(v, 4, out); }
void AppendU64(uint64_t v, std::string* out) { AppendBigEndian(v, 8, out); }

bool ByteReader::Take(size_t n, absl::string_view* out) {
  if (remaining() < n) return false;
  *out = data_.substr(offset_, n);
  offset_ += n;
  return true;
}

bool ByteReader::ReadU16(uint16_t* v) {
  absl::string_view b;
  if (!Take(2, &b)) return false;
  *v = static_cast<uint16_t>(LoadBigEndian(b));
  return true;
}

bool ByteReader::ReadU32(uint32_t* v) {
  absl::string_view b;
  if (!Take(4, &b)) return false;
  *v = static_cast<uint32_t>(LoadBigEndian(b));
  return true;
}

bool ByteReader::ReadU64(uint64_t* v) {
  absl::string_view b;
  if (!Take(8, &b)) return false;
  *v = LoadBigEndian(b);
  return true;
}

}  // namespace tao
