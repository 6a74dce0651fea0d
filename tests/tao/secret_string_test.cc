#include "tao/secret_string.h"

#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace tao {
namespace {

TEST(SecretStringTest, HoldsBytes) {
  SecretString s(std::string("key\0bytes", 9));
  EXPECT_EQ(s.size(), 9u);
  EXPECT_EQ(s.view(), absl::string_view("key\0bytes", 9));
  EXPECT_EQ(s.Copy(), std::string("key\0bytes", 9));
  SecretString zeros(size_t{4});
  EXPECT_EQ(zeros.view(), std::string(4, '\0'));
  EXPECT_TRUE(SecretString().empty());
}

TEST(SecretStringTest, MoveEmptiesTheSource) {
  SecretString a(std::string(64, 's'));
  SecretString b(std::move(a));
  EXPECT_EQ(b.view(), std::string(64, 's'));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented state
  SecretString c;
  c = std::move(b);
  EXPECT_EQ(c.view(), std::string(64, 's'));
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

TEST(SecretStringTest, WipeAndTruncate) {
  SecretString s(std::string("0123456789"));
  s.Truncate(4);
  EXPECT_EQ(s.view(), "0123");
  s.Truncate(10);  // larger: no change
  EXPECT_EQ(s.view(), "0123");
  s.Wipe();
  EXPECT_TRUE(s.empty());
}

}  // namespace
}  // namespace tao
