// The output capture without a child process: a real pipe stands for the
// program's stdout, the test drains it as the loop would, and readers read
// and follow from offsets, across rotations, until the output ends.
#include "channels/output_capture.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/file_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::StatusIs;
using ::testing::IsEmpty;

constexpr uint64_t kId = 7;

class OutputCaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dispatcher = EventDispatcher::Create();
    ASSERT_OK(dispatcher.status());
    dispatcher_ = *std::move(dispatcher);
  }

  // Starts capturing a pipe as program kId's output; writes go to write_.
  void Open(OutputCaptureOptions options) {
    capture_ = std::make_unique<OutputCapture>(*dispatcher_, options);
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    write_.Reset(fds[1]);
    path_ = capture_->Open(kId, UniqueFd(fds[0]), /*tag=*/1);
  }

  // The program writes `data`, and the loop drains it.
  void Emit(const std::string& data) {
    ASSERT_EQ(::write(write_.get(), data.data(), data.size()),
              static_cast<ssize_t>(data.size()));
    capture_->Drain(kId);
  }

  // Reads everything from `*offset` on without waiting.
  std::string ReadAll(uint64_t* offset) {
    std::string all;
    while (true) {
      auto chunk = capture_->Read(kId, *offset, 5, absl::InfinitePast());
      EXPECT_OK(chunk.status());
      if (!chunk.ok() || chunk->data.empty()) return all;
      EXPECT_GE(chunk->offset, *offset);
      all += chunk->data;
      *offset = chunk->offset + chunk->data.size();
    }
  }

  test::TempDir dir_;
  std::unique_ptr<EventDispatcher> dispatcher_;
  std::unique_ptr<OutputCapture> capture_;
  UniqueFd write_;
  std::string path_;
};

TEST_F(OutputCaptureTest, ReadsFromAnOffsetWhatWasWritten) {
  Open({dir_.path(), 1 << 20});
  EXPECT_EQ(path_, dir_.Join("7.log"));
  Emit("hello, ");
  Emit("world\n");
  uint64_t offset = 0;
  EXPECT_EQ(ReadAll(&offset), "hello, world\n");
  EXPECT_EQ(offset, 13u);
  auto from_seven = capture_->Read(kId, 7, 100, absl::InfinitePast());
  ASSERT_OK(from_seven.status());
  EXPECT_EQ(from_seven->data, "world\n");
  EXPECT_EQ(from_seven->offset, 7u);
  EXPECT_FALSE(from_seven->end);  // the program still runs
  EXPECT_EQ(ReadFileToString(path_).value_or(""), "hello, world\n");
}

TEST_F(OutputCaptureTest, ARotationKeepsOffsetsAndSkipsOnlyWhatItDropped) {
  // Files of 10 bytes: 25 bytes end up as [0,10) dropped, [10,20) in
  // 7.log.1, [20,25) in 7.log.
  Open({dir_.path(), 10});
  Emit("0123456789");
  Emit("abcdefghij");
  Emit("ABCDE");
  EXPECT_EQ(ReadFileToString(path_ + ".1").value_or(""), "abcdefghij");
  EXPECT_EQ(ReadFileToString(path_).value_or(""), "ABCDE");
  auto oldest = capture_->Read(kId, 0, 100, absl::InfinitePast());
  ASSERT_OK(oldest.status());
  EXPECT_EQ(oldest->offset, 10u);  // what the rotation dropped is skipped
  EXPECT_EQ(oldest->data, "abcdefghij");  // up to the end of 7.log.1
  uint64_t offset = 0;
  EXPECT_EQ(ReadAll(&offset), "abcdefghijABCDE");
  EXPECT_EQ(offset, 25u);
  EXPECT_EQ(capture_->written(kId), 25u);
}

TEST_F(OutputCaptureTest, AFollowerSeesEveryByteInOrderAcrossRotations) {
  // Files of 16 bytes: the 40 lines rotate about 20 times under the
  // follower, which keeps up (each line waits until it caught up).
  Open({dir_.path(), 16});
  std::string expected;
  std::string followed;
  std::atomic<uint64_t> caught_up{0};
  std::thread follower([&] {
    uint64_t offset = 0;
    while (true) {
      auto chunk =
          capture_->Read(kId, offset, 7, absl::Now() + absl::Seconds(30));
      ASSERT_OK(chunk.status());
      ASSERT_EQ(chunk->offset, offset) << "the follower fell behind";
      followed += chunk->data;
      offset += chunk->data.size();
      caught_up = offset;
      if (chunk->end) return;
      ASSERT_FALSE(chunk->data.empty()) << "woke without data or the end";
    }
  });
  for (int i = 0; i < 40; ++i) {
    std::string line = absl::StrCat("line ", i, "\n");
    expected += line;
    Emit(line);
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (caught_up < expected.size() && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  capture_->Finish(kId);
  follower.join();
  EXPECT_EQ(followed, expected);
}

TEST_F(OutputCaptureTest, AWaitingFollowerWakesWithTheDataNotAfterAPoll) {
  Open({dir_.path(), 1 << 20});
  absl::Time woke;
  std::string got;
  std::thread follower([&] {
    auto chunk = capture_->Read(kId, 0, 100, absl::Now() + absl::Seconds(30));
    woke = absl::Now();
    ASSERT_OK(chunk.status());
    got = chunk->data;
  });
  absl::SleepFor(absl::Milliseconds(50));
  const absl::Time written = absl::Now();
  Emit("now\n");
  follower.join();
  EXPECT_EQ(got, "now\n");
  EXPECT_LT(woke - written, absl::Seconds(5));
}

TEST_F(OutputCaptureTest, TheEndWakesAFollowerAndSaysSo) {
  Open({dir_.path(), 1 << 20});
  Emit("last words");
  bool ended = false;
  std::string got = "unset";
  std::thread follower([&] {
    auto chunk = capture_->Read(kId, 10, 100, absl::Now() + absl::Seconds(30));
    ASSERT_OK(chunk.status());
    got = chunk->data;
    ended = chunk->end;
  });
  absl::SleepFor(absl::Milliseconds(20));
  capture_->Finish(kId);
  follower.join();
  EXPECT_THAT(got, IsEmpty());
  EXPECT_TRUE(ended);
  // Everything before the end is still there, and says it is all.
  auto all = capture_->Read(kId, 0, 100, absl::InfinitePast());
  ASSERT_OK(all.status());
  EXPECT_EQ(all->data, "last words");
  EXPECT_TRUE(all->end);
}

TEST_F(OutputCaptureTest, WhatIsLeftInThePipeAtExitIsKept) {
  Open({dir_.path(), 1 << 20});
  Emit("drained, ");
  // Written, but the loop has not drained it when the program exits.
  ASSERT_EQ(::write(write_.get(), "then the rest", 13), 13);
  capture_->Finish(kId);
  auto all = capture_->Read(kId, 0, 100, absl::InfinitePast());
  ASSERT_OK(all.status());
  EXPECT_EQ(all->data, "drained, then the rest");
  EXPECT_TRUE(all->end);
}

TEST_F(OutputCaptureTest, AReadWithADeadlineReturnsEmptyWhenNothingComes) {
  Open({dir_.path(), 1 << 20});
  const absl::Time start = absl::Now();
  auto chunk =
      capture_->Read(kId, 0, 100, absl::Now() + absl::Milliseconds(50));
  ASSERT_OK(chunk.status());
  EXPECT_THAT(chunk->data, IsEmpty());
  EXPECT_FALSE(chunk->end);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(45));
}

TEST_F(OutputCaptureTest, WithoutALogDirOutputIsDrainedAndNotReadable) {
  Open({"", 1 << 20});
  EXPECT_THAT(path_, IsEmpty());
  Emit("dropped");
  int queued = -1;
  ASSERT_EQ(::ioctl(write_.get(), FIONREAD, &queued), 0);
  EXPECT_EQ(queued, 0);  // read from the pipe all the same
  EXPECT_THAT(capture_->Read(kId, 0, 100, absl::InfinitePast()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(OutputCaptureTest, UnknownAndForgottenProgramsAreNotFound) {
  Open({dir_.path(), 1 << 20});
  EXPECT_THAT(capture_->Read(kId + 1, 0, 100, absl::InfinitePast()),
              StatusIs(absl::StatusCode::kNotFound));
  capture_->Finish(kId);
  capture_->Forget(kId);
  EXPECT_THAT(capture_->Read(kId, 0, 100, absl::InfinitePast()),
              StatusIs(absl::StatusCode::kNotFound));
  // Its log stays on disk.
  struct stat st;
  EXPECT_EQ(::stat(path_.c_str(), &st), 0);
}

TEST_F(OutputCaptureTest, AProgramWithoutOutputEndsAtOnce) {
  capture_ = std::make_unique<OutputCapture>(
      *dispatcher_, OutputCaptureOptions{dir_.path(), 1 << 20});
  capture_->Open(kId, UniqueFd(), /*tag=*/1);
  auto chunk = capture_->Read(kId, 0, 100, absl::Now() + absl::Seconds(30));
  ASSERT_OK(chunk.status());
  EXPECT_TRUE(chunk->end);
}

}  // namespace
}  // namespace tao
