#include "tao/byte_reader.h"

#include <string>

#include "gtest/gtest.h"

namespace tao {
namespace {

TEST(ByteReaderTest, AppendsBigEndian) {
  std::string out;
  AppendU16(0x0102, &out);
  AppendU32(0x03040506, &out);
  AppendU64(0x0708090a0b0c0d0eULL, &out);
  EXPECT_EQ(
      out, std::string(
               "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e", 14));
}

TEST(ByteReaderTest, ReadsWhatWasAppended) {
  std::string data;
  AppendU16(0xfffe, &data);
  AppendU32(0xdeadbeef, &data);
  AppendU64(~uint64_t{0} - 1, &data);
  data += "tail";
  ByteReader r(data);
  uint16_t a = 0;
  uint32_t b = 0;
  uint64_t c = 0;
  absl::string_view tail;
  ASSERT_TRUE(r.ReadU16(&a));
  ASSERT_TRUE(r.ReadU32(&b));
  ASSERT_TRUE(r.ReadU64(&c));
  EXPECT_EQ(r.consumed(), absl::string_view(data).substr(0, 14));
  ASSERT_TRUE(r.Take(4, &tail));
  EXPECT_EQ(a, 0xfffe);
  EXPECT_EQ(b, 0xdeadbeefu);
  EXPECT_EQ(c, ~uint64_t{0} - 1);
  EXPECT_EQ(tail, "tail");
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(r.offset(), data.size());
}

TEST(ByteReaderTest, NeverReadsPastTheEndAndConsumesNothingOnFailure) {
  const std::string data("\x01\x02\x03", 3);
  ByteReader r(data);
  uint32_t v32 = 7;
  uint64_t v64 = 7;
  absl::string_view out = "unchanged";
  EXPECT_FALSE(r.ReadU32(&v32));
  EXPECT_FALSE(r.ReadU64(&v64));
  EXPECT_FALSE(r.Take(4, &out));
  EXPECT_EQ(v32, 7u);
  EXPECT_EQ(v64, 7u);
  EXPECT_EQ(out, "unchanged");
  EXPECT_EQ(r.offset(), 0u);
  uint16_t v16 = 0;
  ASSERT_TRUE(r.ReadU16(&v16));
  EXPECT_EQ(v16, 0x0102);
  EXPECT_FALSE(r.ReadU16(&v16));
  EXPECT_EQ(r.offset(), 2u);
  EXPECT_TRUE(r.Take(1, &out));
  EXPECT_TRUE(r.Take(0, &out));
  EXPECT_FALSE(r.Take(1, &out));
  EXPECT_FALSE(r.Take(~size_t{0}, &out));
}

}  // namespace
}  // namespace tao
