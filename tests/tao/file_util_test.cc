#include "tao/file_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::IsOkAndHolds;
using ::tao::test::ListDirectory;
using ::tao::test::ModeOf;
using ::tao::test::StatusIs;
using ::tao::test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

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

// A FIFO planted where a file is expected is refused at once: before, the
// open blocked until a writer came (forever, for the host).
TEST_F(FileUtilTest, ReadAFifoIsRefusedAtOnce) {
  const std::string fifo = tmp_.Join("policy.signed");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(ReadFileToString(fifo),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a regular file")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST_F(FileUtilTest, ReadThroughASymlinkIsRefused) {
  const std::string target = tmp_.Join("real");
  ASSERT_THAT(WriteFileAtomically(target, "secret"), IsOk());
  const std::string link = tmp_.Join("link");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_THAT(ReadFileToString(link),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a regular file")));
  EXPECT_THAT(ReadFileToString(target), IsOkAndHolds(std::string("secret")));
}

TEST_F(FileUtilTest, ReadADeviceOrSocketIsRefused) {
  EXPECT_THAT(ReadFileToString("/dev/zero", 16),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a regular file")));
}

TEST(AtomicTemporaryTest, NamesAsMkostempMakesThem) {
  EXPECT_TRUE(IsAtomicWriteTemporary("host_keys.tmp.aB3xYz"));
  EXPECT_FALSE(IsAtomicWriteTemporary("host_keys"));
  EXPECT_FALSE(IsAtomicWriteTemporary(".tmp.aB3xYz"));
  EXPECT_FALSE(IsAtomicWriteTemporary("a.tmp.short"));
  EXPECT_FALSE(IsAtomicWriteTemporary("a.tmp.aB3x-z"));
}

TEST_F(FileUtilTest, SweepRemovesOnlyTemporaries) {
  ASSERT_THAT(WriteFileAtomically(tmp_.Join("host_keys"), "k"), IsOk());
  ASSERT_THAT(WriteFileAtomically(tmp_.Join("host_keys.tmp.Ab12Cd"), "x"),
              IsOk());
  ASSERT_THAT(WriteFileAtomically(tmp_.Join("policy_serial.tmp.zzzzzz"), "y"),
              IsOk());
  ASSERT_THAT(EnsureDirectory(tmp_.Join("dir.tmp.Ab12Cd")), IsOk());
  EXPECT_THAT(SweepTemporaries(tmp_.path()), IsOkAndHolds(2));
  EXPECT_THAT(ListDirectory(tmp_.path()),
              ElementsAre("dir.tmp.Ab12Cd", "host_keys"));
}

// The sweeper waits for a writer that holds the directory's shared lock,
// so a temporary that is being written is never removed under it.
TEST_F(FileUtilTest, SweepWaitsForAWriterAtWork) {
  const std::string tmp_file = tmp_.Join("state.tmp.Wr1ter");
  UniqueFd writer(::open(tmp_.path().c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_TRUE(writer.valid());
  ASSERT_EQ(::flock(writer.get(), LOCK_SH), 0);
  ASSERT_THAT(WriteFileAtomically(tmp_file, "half"), IsOk());
  std::atomic<bool> swept{false};
  std::thread sweeper([&] {
    ASSERT_THAT(SweepTemporaries(tmp_.path()), IsOk());
    swept = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(swept);
  EXPECT_TRUE(PathExists(tmp_file)) << "swept while a writer held the lock";
  // Another atomic writer may still work meanwhile (its lock is shared)...
  EXPECT_THAT(WriteFileAtomically(tmp_.Join("other"), "x"), IsOk());
  writer.Reset();  // ...and once the writer is done, the sweep runs.
  sweeper.join();
  EXPECT_TRUE(swept);
  EXPECT_FALSE(PathExists(tmp_file));
}

TEST_F(FileUtilTest, DirectoryChecksNameThePathAndTheFix) {
  const std::string dir = tmp_.Join("keys");
  ASSERT_THAT(EnsureDirectory(dir, 0700), IsOk());
  EXPECT_THAT(CheckDirectoryAccess(dir, ::geteuid(), 0077), IsOk());
  ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
  EXPECT_THAT(CheckDirectoryAccess(dir, ::geteuid(), 0022),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(absl::StrCat("chmod 0755 ", dir))));
  ASSERT_EQ(::chmod(dir.c_str(), 0750), 0);
  EXPECT_THAT(CheckDirectoryAccess(dir, ::geteuid(), 0022), IsOk());
  EXPECT_THAT(CheckDirectoryAccess(dir, ::geteuid(), 0077),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(absl::StrCat("chmod 0700 ", dir))));
  const std::string link = tmp_.Join("link");
  ASSERT_EQ(::symlink(dir.c_str(), link.c_str()), 0);
  EXPECT_THAT(CheckDirectoryAccess(link, ::geteuid(), 0022),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckDirectoryAccess(tmp_.Join("none"), ::geteuid(), 0022),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(FileUtilTest, FileChecksCoverTheFileAndItsDirectory) {
  const std::string dir = tmp_.Join("etc");
  ASSERT_THAT(EnsureDirectory(dir, 0755), IsOk());
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  const std::string key = dir + "/policy_key";
  ASSERT_THAT(WriteFileAtomically(key, "key(...)\n", 0644), IsOk());
  EXPECT_THAT(CheckFileAccess(key, ::geteuid()), IsOk());
  ASSERT_EQ(::chmod(key.c_str(), 0666), 0);
  EXPECT_THAT(CheckFileAccess(key, ::geteuid()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("writable by group or others")));
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
  EXPECT_THAT(CheckFileAccess(key, ::geteuid()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(absl::StrCat("chmod 0755 ", dir))));
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  const std::string link = dir + "/link";
  ASSERT_EQ(::symlink(key.c_str(), link.c_str()), 0);
  EXPECT_THAT(CheckFileAccess(link, ::geteuid()),
              StatusIs(absl::StatusCode::kInvalidArgument));
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
