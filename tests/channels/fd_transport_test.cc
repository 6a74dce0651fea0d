// The descriptor transports: what the loop sees when a program writes,
// closes, or stops reading, over real pipes and sockets.
#include "channels/fd_transport.h"

#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOkAndHolds;
using ::tao::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::SizeIs;

// The child's end numbered `number`.
int ChildFd(const TransportPair& pair, int number) {
  for (const ChildEndpoint::Fd& fd : pair.child.fds) {
    if (fd.child_number == number) return fd.fd.get();
  }
  return -1;
}

class FdTransportTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    // The loop's thread blocks SIGPIPE; so does this one.
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    auto pair = GetParam() ? MakePipeTransport() : MakeSocketpairTransport();
    ASSERT_OK(pair.status());
    pair_ = std::move(*pair);
    // What the child writes requests to, and reads answers from.
    child_out_ = GetParam() ? ChildFd(pair_, 4) : ChildFd(pair_, 3);
    child_in_ = ChildFd(pair_, 3);
  }
  TransportPair pair_;
  int child_out_ = -1;
  int child_in_ = -1;
};

TEST_P(FdTransportTest, ChildEndIsPlainData) {
  if (GetParam()) {
    EXPECT_EQ(pair_.child.channel_env, "pipe:3,4");
    EXPECT_THAT(pair_.child.fds, SizeIs(2));
  } else {
    EXPECT_EQ(pair_.child.channel_env, "socket:3");
    EXPECT_THAT(pair_.child.fds, SizeIs(1));
  }
}

TEST_P(FdTransportTest, ReadsWhatTheChildWroteAndZeroWhenEmpty) {
  char buf[16];
  EXPECT_THAT(pair_.host->Read(absl::MakeSpan(buf)), IsOkAndHolds(0u));
  ASSERT_EQ(::write(child_out_, "abc", 3), 3);
  EXPECT_THAT(pair_.host->Read(absl::MakeSpan(buf)), IsOkAndHolds(3u));
  EXPECT_EQ(std::string(buf, 3), "abc");
}

TEST_P(FdTransportTest, WritesReachTheChild) {
  EXPECT_THAT(pair_.host->Write("answer"), IsOkAndHolds(6u));
  char buf[16];
  ASSERT_EQ(::read(child_in_, buf, sizeof(buf)), 6);
  EXPECT_EQ(std::string(buf, 6), "answer");
}

TEST_P(FdTransportTest, AFullChannelTakesNothingMore) {
  std::string big(1 << 20, 'x');
  size_t total = 0;
  while (true) {
    absl::StatusOr<size_t> n = pair_.host->Write(big);
    ASSERT_OK(n.status());
    if (*n == 0) break;
    total += *n;
  }
  EXPECT_GT(total, 0u);
}

TEST_P(FdTransportTest, AClosedChildIsUnavailableWithoutSigpipe) {
  pair_.child.fds.clear();  // the child's ends close
  char buf[16];
  EXPECT_THAT(pair_.host->Read(absl::MakeSpan(buf)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(pair_.host->Write("late"),
              StatusIs(absl::StatusCode::kUnavailable));
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE)) << "a SIGPIPE was left pending";
}

TEST_P(FdTransportTest, WaitsFollowWhatTheConnectionWants) {
  std::vector<TransportWait> waits = pair_.host->Waits(true, false);
  if (GetParam()) {
    ASSERT_THAT(waits, SizeIs(2));
    EXPECT_EQ(waits[0].events, uint32_t{EPOLLIN});
    EXPECT_EQ(waits[1].events, 0u);
    waits = pair_.host->Waits(false, true);
    EXPECT_EQ(waits[0].events, 0u);
    EXPECT_EQ(waits[1].events, uint32_t{EPOLLOUT});
  } else {
    ASSERT_THAT(waits, SizeIs(1));
    EXPECT_EQ(waits[0].events, uint32_t{EPOLLIN});
    EXPECT_THAT(pair_.host->Waits(true, true),
                ElementsAre(::testing::Field(&TransportWait::events,
                                             uint32_t{EPOLLIN | EPOLLOUT})));
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, FdTransportTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Pipe" : "Socketpair";
                         });

}  // namespace
}  // namespace tao
