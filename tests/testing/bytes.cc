#include "tests/testing/bytes.h"

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tao/byte_reader.h"

namespace tao {
namespace test {

void SetU32(std::string* bytes, size_t offset, uint32_t v) {
  std::string enc;
  AppendU32(v, &enc);
  bytes->replace(offset, 4, enc);
}

std::string Serialize(const google::protobuf::Message& m) {
  std::string out;
  EXPECT_TRUE(m.SerializeToString(&out));
  return out;
}

std::vector<std::string> Lines(absl::string_view contents) {
  std::vector<std::string> lines = absl::StrSplit(contents, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

}  // namespace test
}  // namespace tao
