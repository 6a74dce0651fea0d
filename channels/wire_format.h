// The two Tao requests that carry bulk data, Seal and Unseal, encoded and
// decoded without copying the data through protobuf messages. Everything
// here produces or accepts ordinary TaoRequest / TaoResponse wire bytes
// (channels/tao_rpc.proto); it only saves the copies and allocations of a
// megabyte-sized field. Internal to the client library and the listen loop.
#ifndef TAO_CHANNELS_WIRE_FORMAT_H_
#define TAO_CHANNELS_WIRE_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace tao {

// A Seal or Unseal request, as views into the frame it was parsed from.
struct BulkRequestView {
  enum class Kind { kSeal, kUnseal };
  uint64_t id = 0;
  Kind kind = Kind::kSeal;
  absl::string_view data;    // Seal: the plaintext; Unseal: the bundle
  absl::string_view policy;  // Seal only: the requested policy bytes
};

// Parses `frame` (a TaoRequest's bytes) if it is a Seal or Unseal request in
// which every field appears at most once, with the wire type the schema
// gives, and no unknown field is present. Returns nullopt for anything else,
// including malformed bytes: the caller then parses the frame as a
// TaoRequest, so what this accepts means exactly what protobuf reads.
std::optional<BulkRequestView> ParseBulkRequest(absl::string_view frame);

// The frame header and the TaoRequest bytes of a Seal (policy, then data) or
// an Unseal (bundle) up to the bulk bytes themselves, which the caller sends
// right after: head + data is one complete frame.
std::string SealRequestHead(uint64_t id, absl::string_view policy,
                            size_t data_size);
std::string UnsealRequestHead(uint64_t id, size_t bundle_size);

// Appends to `out` the frame header and the start of a successful
// TaoResponse{id, data}; the caller appends exactly `data_size` bytes.
void AppendDataResponseHead(uint64_t id, size_t data_size, std::string* out);

// Appends to `out` the frame header and the start of a successful
// TaoResponse{id, unsealed{policy, sealer, data}}; the caller appends exactly
// `data_size` bytes of plaintext.
void AppendUnsealResponseHead(uint64_t id, absl::string_view policy,
                              absl::string_view sealer, size_t data_size,
                              std::string* out);

// The frame size (without its 4-byte header) of the responses above, for
// the caller's frame cap.
size_t DataResponseSize(uint64_t id, size_t data_size);
size_t UnsealResponseSize(uint64_t id, size_t policy_size, size_t sealer_size,
                          size_t data_size);

}  // namespace tao

#endif  // TAO_CHANNELS_WIRE_FORMAT_H_
