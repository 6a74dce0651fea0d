#include "channels/wire_format.h"

#include "channels/framing.h"
#include "tao/byte_reader.h"

namespace tao {
namespace {

// Wire types and the tags used below (field number << 3 | wire type).
constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t Tag(uint32_t field, uint32_t wire_type) {
  return (field << 3) | wire_type;
}

// Reads a base-128 varint of at most `max_bytes` bytes from the front of
// `in`. Ten bytes hold 64 bits; a tenth byte above 1 would overflow.
bool ReadVarint(absl::string_view* in, int max_bytes, uint64_t* value) {
  uint64_t result = 0;
  for (int i = 0; i < max_bytes && i < static_cast<int>(in->size()); ++i) {
    const uint8_t byte = static_cast<uint8_t>((*in)[i]);
    if (i == 9 && byte > 1) return false;
    result |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      in->remove_prefix(i + 1);
      *value = result;
      return true;
    }
  }
  return false;
}

// Reads a tag; false at a malformed one.
bool ReadTag(absl::string_view* in, uint32_t* tag) {
  uint64_t value = 0;
  if (!ReadVarint(in, 5, &value) || value > 0xffffffffu) return false;
  *tag = static_cast<uint32_t>(value);
  return true;
}

// Reads a length-delimited field's bytes. A length is read as at most five
// bytes and must fit what is left, so it never depends on how a parser
// would truncate a longer one.
bool ReadBytes(absl::string_view* in, absl::string_view* bytes) {
  uint64_t length = 0;
  if (!ReadVarint(in, 5, &length) || length > in->size()) return false;
  *bytes = in->substr(0, static_cast<size_t>(length));
  in->remove_prefix(static_cast<size_t>(length));
  return true;
}

// Parses SealArgs {data = 1, policy = 2} or UnsealArgs {bundle = 1}.
bool ParseArgs(absl::string_view in, bool seal, BulkRequestView* out) {
  bool seen_data = false, seen_policy = false;
  while (!in.empty()) {
    uint32_t tag = 0;
    if (!ReadTag(&in, &tag)) return false;
    if (tag == Tag(1, kLengthDelimited) && !seen_data) {
      seen_data = true;
      if (!ReadBytes(&in, &out->data)) return false;
    } else if (seal && tag == Tag(2, kLengthDelimited) && !seen_policy) {
      seen_policy = true;
      if (!ReadBytes(&in, &out->policy)) return false;
    } else {
      return false;
    }
  }
  return true;
}

size_t VarintSize(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// The size of a length-delimited field holding `size` bytes, tag included
// (every tag here is one byte).
size_t LengthDelimitedSize(size_t size) { return 1 + VarintSize(size) + size; }

void AppendLengthPrefix(uint32_t field, size_t size, std::string* out) {
  out->push_back(static_cast<char>(Tag(field, kLengthDelimited)));
  AppendVarint(size, out);
}

// The id field, which proto3 leaves out when it is zero.
size_t IdSize(uint64_t id) { return id == 0 ? 0 : 1 + VarintSize(id); }

void AppendId(uint64_t id, std::string* out) {
  if (id == 0) return;
  out->push_back(static_cast<char>(Tag(1, kVarint)));
  AppendVarint(id, out);
}

// UnsealResult {data = 1, policy = 2, sealer = 3}, proto3: empty fields are
// left out.
size_t UnsealResultSize(size_t policy_size, size_t sealer_size,
                        size_t data_size) {
  auto optional = [](size_t size) {
    return size == 0 ? 0 : LengthDelimitedSize(size);
  };
  return optional(policy_size) + optional(sealer_size) + optional(data_size);
}

}  // namespace

std::optional<BulkRequestView> ParseBulkRequest(absl::string_view frame) {
  BulkRequestView out;
  bool seen_id = false, seen_args = false;
  while (!frame.empty()) {
    uint32_t tag = 0;
    if (!ReadTag(&frame, &tag)) return std::nullopt;
    if (tag == Tag(1, kVarint) && !seen_id) {
      seen_id = true;
      if (!ReadVarint(&frame, 10, &out.id)) return std::nullopt;
    } else if ((tag == Tag(7, kLengthDelimited) ||
                tag == Tag(8, kLengthDelimited)) &&
               !seen_args) {
      seen_args = true;
      const bool seal = tag == Tag(7, kLengthDelimited);
      out.kind =
          seal ? BulkRequestView::Kind::kSeal : BulkRequestView::Kind::kUnseal;
      absl::string_view args;
      if (!ReadBytes(&frame, &args) || !ParseArgs(args, seal, &out))
        return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  if (!seen_args) return std::nullopt;
  return out;
}

std::string SealRequestHead(uint64_t id, absl::string_view policy,
                            size_t data_size) {
  const size_t args_size =
      (policy.empty() ? 0 : LengthDelimitedSize(policy.size())) +
      (data_size == 0 ? 0 : LengthDelimitedSize(data_size));
  const size_t frame_size = IdSize(id) + LengthDelimitedSize(args_size);
  std::string out;
  out.reserve(kFrameHeaderSize + frame_size - data_size);
  AppendU32(static_cast<uint32_t>(frame_size), &out);
  AppendId(id, &out);
  AppendLengthPrefix(7, args_size, &out);
  if (!policy.empty()) {
    AppendLengthPrefix(2, policy.size(), &out);
    out.append(policy.data(), policy.size());
  }
  if (data_size != 0) AppendLengthPrefix(1, data_size, &out);
  return out;
}

std::string UnsealRequestHead(uint64_t id, size_t bundle_size) {
  const size_t args_size =
      bundle_size == 0 ? 0 : LengthDelimitedSize(bundle_size);
  const size_t frame_size = IdSize(id) + LengthDelimitedSize(args_size);
  std::string out;
  AppendU32(static_cast<uint32_t>(frame_size), &out);
  AppendId(id, &out);
  AppendLengthPrefix(8, args_size, &out);
  if (bundle_size != 0) AppendLengthPrefix(1, bundle_size, &out);
  return out;
}

size_t DataResponseSize(uint64_t id, size_t data_size) {
  // data is a oneof member: present (and serialized) even when empty.
  return IdSize(id) + LengthDelimitedSize(data_size);
}

void AppendDataResponseHead(uint64_t id, size_t data_size, std::string* out) {
  AppendU32(static_cast<uint32_t>(DataResponseSize(id, data_size)), out);
  AppendId(id, out);
  AppendLengthPrefix(5, data_size, out);
}

size_t UnsealResponseSize(uint64_t id, size_t policy_size, size_t sealer_size,
                          size_t data_size) {
  return IdSize(id) + LengthDelimitedSize(UnsealResultSize(
                          policy_size, sealer_size, data_size));
}

void AppendUnsealResponseHead(uint64_t id, absl::string_view policy,
                              absl::string_view sealer, size_t data_size,
                              std::string* out) {
  AppendU32(static_cast<uint32_t>(UnsealResponseSize(id, policy.size(),
                                                     sealer.size(), data_size)),
            out);
  AppendId(id, out);
  AppendLengthPrefix(
      7, UnsealResultSize(policy.size(), sealer.size(), data_size), out);
  if (!policy.empty()) {
    AppendLengthPrefix(2, policy.size(), out);
    out->append(policy.data(), policy.size());
  }
  if (!sealer.empty()) {
    AppendLengthPrefix(3, sealer.size(), out);
    out->append(sealer.data(), sealer.size());
  }
  if (data_size != 0) AppendLengthPrefix(1, data_size, out);
}

}  // namespace tao
