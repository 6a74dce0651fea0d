// The admin link's framing: what each side writes is what the other reads,
// however the bytes are cut, and every header that does not fit the format
// breaks the reader for good.
#include "program_factory/vm/admin_port/admin_frame.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

std::string Frame(AdminFrameType type, uint32_t session,
                  const std::string& payload = "") {
  std::string out;
  AppendAdminFrame(type, session, payload, &out);
  return out;
}

TEST(AdminFrameTest, TheHeaderIsTypeZerosSessionLengthBigEndian) {
  EXPECT_EQ(Frame(AdminFrameType::kData, 0x01020304, "hi"),
            std::string("\x02\0\0\0\x01\x02\x03\x04\0\0\0\x02hi", 14));
  EXPECT_EQ(Frame(AdminFrameType::kOpen, 7),
            std::string("\x01\0\0\0\0\0\0\x07\0\0\0\0", 12));
}

TEST(AdminFrameTest, FramesComeBackWholeHoweverTheBytesAreCut) {
  std::string stream = Frame(AdminFrameType::kOpen, 1);
  AppendAdminData(1, std::string(kMaxAdminPayload + 10, 'x'), &stream);
  stream += Frame(AdminFrameType::kClose, 1);
  for (size_t cut : {size_t{1}, size_t{5}, size_t{12}, size_t{4096}}) {
    AdminFrameReader reader(/*allow_open=*/true);
    std::string types, data;
    for (size_t at = 0; at < stream.size(); at += cut) {
      reader.Feed(absl::string_view(stream).substr(at, cut));
      while (true) {
        auto frame = reader.Next();
        ASSERT_THAT(frame, IsOk());
        if (!frame->has_value()) break;
        EXPECT_EQ((*frame)->session, 1u);
        types += std::to_string(static_cast<int>((*frame)->type));
        data += (*frame)->payload;
      }
      EXPECT_LT(reader.buffered(), kAdminFrameHeader + kMaxAdminPayload);
    }
    // Data longer than one frame's payload is split in two.
    EXPECT_EQ(types, "1223") << "cut " << cut;
    EXPECT_EQ(data, std::string(kMaxAdminPayload + 10, 'x'));
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(AdminFrameTest, NoDataNoFrames) {
  std::string out;
  AppendAdminData(3, "", &out);
  EXPECT_EQ(out, "");
}

// A header the format does not allow: the reason, then the same error for
// every later call, even when good frames follow.
void ExpectBroken(const std::string& bytes, bool allow_open,
                  const std::string& reason) {
  AdminFrameReader reader(allow_open);
  reader.Feed(bytes);
  EXPECT_THAT(reader.Next(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(reason)))
      << reason;
  reader.Feed(Frame(AdminFrameType::kClose, 1));
  EXPECT_THAT(reader.Next(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(reason)));
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(AdminFrameTest, EveryHeaderOutsideTheFormatBreaksTheReader) {
  ExpectBroken(std::string("\x04\0\0\0\0\0\0\x01\0\0\0\0", 12), true,
               "unknown frame type 4");
  ExpectBroken(std::string("\0\0\0\0\0\0\0\x01\0\0\0\0", 12), true,
               "unknown frame type 0");
  ExpectBroken(Frame(AdminFrameType::kOpen, 1), false, "an open frame");
  ExpectBroken(std::string("\x03\0\x01\0\0\0\0\x01\0\0\0\0", 12), true,
               "reserved header bytes");
  ExpectBroken(std::string("\x03\0\0\0\0\0\0\0\0\0\0\0", 12), true,
               "session 0");
  ExpectBroken(std::string("\x02\0\0\0\0\0\0\x01\0\0\0\0", 12), true,
               "a data frame of 0 bytes");
  // Over the cap: refused from the header, before any payload is held.
  ExpectBroken(std::string("\x02\0\0\0\0\0\0\x01\0\x01\0\x01", 12), true,
               "a data frame of 65537 bytes");
  ExpectBroken(std::string("\x02\0\0\0\0\0\0\x01\xff\xff\xff\xff", 12), true,
               "a data frame of 4294967295 bytes");
  ExpectBroken(std::string("\x03\0\0\0\0\0\0\x01\0\0\0\x01", 12), true,
               "close frame with 1 payload bytes");
}

TEST(AdminFrameTest, RandomBytesNeverCrashAndStopAtTheFirstBadHeader) {
  // A hostile guest writes urandom to its port: a deterministic stand-in.
  uint32_t x = 12345;
  std::string noise;
  for (int i = 0; i < 1 << 16; ++i) {
    x = x * 1103515245 + 12345;
    noise.push_back(static_cast<char>(x >> 24));
  }
  AdminFrameReader reader(/*allow_open=*/false);
  reader.Feed(noise);
  absl::StatusOr<std::optional<AdminFrame>> frame;
  int frames = 0;
  while ((frame = reader.Next()).ok() && frame->has_value()) ++frames;
  EXPECT_THAT(frame, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(frames, 0);
}

}  // namespace
}  // namespace tao
