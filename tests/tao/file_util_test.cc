#include "tao/file_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::IsOkAndHolds;
using ::tao::test::ListDirectory;
using ::tao::test::StatusIs;
using ::tao::test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

class FileUtilTest : public ::testing::Test {
 protected:
  TempDir tmp_;
};

TEST_F(FileUtilTest, WriteCreatesAFileWithContentsAndMode) {
  const std::string path = tmp_.Join("f");
  ASSERT_THAT(WriteFileAtomically(path, "hello"), IsOk());
  EXPECT_THAT(ReadFileToString(path), IsOkAndHolds(std::string("hello")));
  EXPECT_EQ(ModeOf(path), 0600u);  // the default
  EXPECT_THAT(ListDirectory(tmp_.path()), ElementsAre("f"));
}

TEST_F(FileUtilTest, WriteSetsTheModeAskedRegardlessOfUmask) {
  const mode_t old_umask = ::umask(077);
  for (mode_t mode : {mode_t{0600}, mode_t{0644}, mode_t{0640}, mode_t{0400}}) {
    const std::string path = tmp_.Join("mode");
    ASSERT_THAT(WriteFileAtomically(path, "x", mode), IsOk());
    EXPECT_EQ(ModeOf(path), mode);
  }
  ::umask(old_umask);
}

TEST_F(FileUtilTest, WriteReplacesContentsAndMode) {
  const std::string path = tmp_.Join("f");
  ASSERT_THAT(WriteFileAtomically(path, std::string(10000, 'a'), 0644), IsOk());
  struct stat before;
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  ASSERT_THAT(WriteFileAtomically(path, "short", 0600), IsOk());
  EXPECT_THAT(ReadFileToString(path), IsOkAndHolds(std::string("short")));
  EXPECT_EQ(ModeOf(path), 0600u);
  struct stat after;
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_NE(after.st_ino, before.st_ino)
      << "replaced by rename, not rewritten in place";
  ASSERT_THAT(WriteFileAtomically(path, ""), IsOk());
  EXPECT_THAT(ReadFileToString(path), IsOkAndHolds(std::string()));
  EXPECT_THAT(ListDirectory(tmp_.path()), ElementsAre("f"));
}

TEST_F(FileUtilTest, WriteKeepsBinaryContents) {
  const std::string path = tmp_.Join("bin");
  std::string data;
  for (int i = 0; i < 256 * 1024; ++i) data += static_cast<char>(i * 31);
  ASSERT_THAT(WriteFileAtomically(path, data), IsOk());
  EXPECT_THAT(ReadFileToString(path), IsOkAndHolds(data));
}

TEST_F(FileUtilTest, WriteLeavesNoTemporaryFiles) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(WriteFileAtomically(tmp_.Join("a"), std::to_string(i)), IsOk());
    ASSERT_THAT(WriteFileAtomically(tmp_.Join("b"), std::to_string(i)), IsOk());
  }
  EXPECT_THAT(ListDirectory(tmp_.path()), ElementsAre("a", "b"));
}

TEST_F(FileUtilTest, WriteIntoAMissingDirectoryFails) {
  EXPECT_THAT(WriteFileAtomically(tmp_.Join("missing/f"), "x"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ListDirectory(tmp_.path()), IsEmpty());
}

TEST_F(FileUtilTest, FailedRenameRemovesTheTemporary) {
  // The target is a non-empty directory, so rename() fails after the
  // temporary was written.
  const std::string dir = tmp_.Join("d");
  ASSERT_THAT(EnsureDirectory(dir), IsOk());
  ASSERT_THAT(WriteFileAtomically(tmp_.Join("d/inside"), "x"), IsOk());
  EXPECT_THAT(WriteFileAtomically(dir, "x"), testing::Not(IsOk()));
  EXPECT_THAT(ListDirectory(tmp_.path()), ElementsAre("d"));
  EXPECT_THAT(ListDirectory(dir), ElementsAre("inside"));
}

TEST_F(FileUtilTest, CreateMakesANewFile) {
  const std::string path = tmp_.Join("new");
  ASSERT_THAT(CreateFileAtomically(path, "first", 0640), IsOk());
  EXPECT_THAT(ReadFileToString(path), IsOkAndHolds(std::string("first")));
  EXPECT_EQ(ModeOf(path), 0640u);
  EXPECT_THAT(ListDirectory(tmp_.path()), ElementsAre("new"));
}

TEST_F(FileUtilTest, CreateNeverReplaces) {
  const std::string path = tmp_.Join("existing");
  ASSERT_THAT(WriteFileAtomically(path, "original", 0644), IsOk());
  struct stat before;
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  EXPECT_THAT(CreateFileAtomically(path, "replacement", 0600),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(ReadFileToString(path), IsOkAndHolds(std::string("original")));
  EXPECT_EQ(ModeOf(path), 0644u);
  struct stat after;
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_nlink, 1u) << "the temporary must not stay linked to it";
  EXPECT_THAT(ListDirectory(tmp_.path()), ElementsAre("existing"));
  // A directory (or anything else) in the way counts as existing too.
  ASSERT_THAT(EnsureDirectory(tmp_.Join("d")), IsOk());
  EXPECT_THAT(CreateFileAtomically(tmp_.Join("d"), "x"),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(ListDirectory(tmp_.path()), ElementsAre("d", "existing"));
}

TEST_F(FileUtilTest, CreateLeavesNoTemporaryOnSuccess) {
  ASSERT_THAT(CreateFileAtomically(tmp_.Join("a"), "x"), IsOk());
  struct stat st;
  ASSERT_EQ(::stat(tmp_.Join("a").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_THAT(ListDirectory(tmp_.path()), ElementsAre("a"));
  EXPECT_THAT(CreateFileAtomically(tmp_.Join("missing/a"), "x"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(FileUtilTest, ReadMissingFileIsNotFound) {
  EXPECT_THAT(ReadFileToString(tmp_.Join("nope")),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(FileUtilTest, ReadEnforcesTheLimit) {
  const std::string path = tmp_.Join("f");
  ASSERT_THAT(WriteFileAtomically(path, std::string(100, 'x')), IsOk());
  EXPECT_THAT(ReadFileToString(path, 100), IsOkAndHolds(std::string(100, 'x')));
  EXPECT_THAT(ReadFileToString(path, 1000),
              IsOkAndHolds(std::string(100, 'x')));
  EXPECT_THAT(
      ReadFileToString(path, 99),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("limit")));
  EXPECT_THAT(ReadFileToString(path, 0),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Larger than one read() chunk.
  const std::string big(200000, 'b');
  ASSERT_THAT(WriteFileAtomically(path, big), IsOk());
  EXPECT_THAT(ReadFileToString(path, big.size()), IsOkAndHolds(big));
  EXPECT_THAT(ReadFileToString(path, big.size() - 1),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // An empty file under a zero limit.
  ASSERT_THAT(WriteFileAtomically(path, ""), IsOk());
  EXPECT_THAT(ReadFileToString(path, 0), IsOkAndHolds(std::string()));
}

TEST_F(FileUtilTest, ReadADirectoryIsFailedPrecondition) {
  EXPECT_THAT(ReadFileToString(tmp_.path()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(FileUtilTest, EnsureDirectory) {
  const std::string dir = tmp_.Join("d");
  ASSERT_THAT(EnsureDirectory(dir, 0700), IsOk());
  EXPECT_EQ(ModeOf(dir), 0700u);
  EXPECT_THAT(EnsureDirectory(dir, 0700), IsOk());  // already there
  ASSERT_THAT(WriteFileAtomically(tmp_.Join("file"), "x"), IsOk());
  EXPECT_THAT(EnsureDirectory(tmp_.Join("file")),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(EnsureDirectory(tmp_.Join("a/b")),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(FileUtilTest, PathExists) {
  EXPECT_TRUE(PathExists(tmp_.path()));
  EXPECT_FALSE(PathExists(tmp_.Join("nope")));
  ASSERT_THAT(WriteFileAtomically(tmp_.Join("f"), "x"), IsOk());
  EXPECT_TRUE(PathExists(tmp_.Join("f")));
  ASSERT_EQ(::symlink("nowhere", tmp_.Join("dangling").c_str()), 0);
  EXPECT_FALSE(PathExists(tmp_.Join("dangling")));  // stat follows links
}

TEST(TempDirTest, IsRemovedWithItsContents) {
  std::string path;
  {
    TempDir tmp;
    path = tmp.path();
    ASSERT_FALSE(path.empty());
    EXPECT_EQ(ModeOf(path), 0700u);
    ASSERT_THAT(EnsureDirectory(tmp.Join("sub")), IsOk());
    ASSERT_THAT(WriteFileAtomically(tmp.Join("sub/f"), "x"), IsOk());
    ASSERT_EQ(::symlink("/", tmp.Join("root-link").c_str()), 0);
  }
  EXPECT_FALSE(PathExists(path));
  EXPECT_TRUE(PathExists("/tmp") || PathExists("/"));
}

}  // namespace
}  // namespace tao
