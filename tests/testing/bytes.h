// Shared fixtures for byte formats and text: patching a big-endian field of
// an encoded file, a protobuf's bytes, a text's lines. Each fails the
// current test (EXPECT) rather than aborting where it can fail.
#ifndef TAO_TESTS_TESTING_BYTES_H_
#define TAO_TESTS_TESTING_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace tao {
namespace test {

// Rewrites the big-endian u32 at `offset` of `bytes`.
void SetU32(std::string* bytes, size_t offset, uint32_t v);

// `m` serialized (deterministic field order as protobuf writes it).
std::string Serialize(const google::protobuf::Message& m);

// The lines of `contents`, without a trailing empty one.
std::vector<std::string> Lines(absl::string_view contents);

}  // namespace test
}  // namespace tao

#endif  // TAO_TESTS_TESTING_BYTES_H_
