// The loop over every channel kind: the same conformance calls through the
// client library over pipe, socketpair and shm; and, over shm, programs
// that attack the shared memory itself (hostile_shm.cc) beside a sibling
// that seals and unseals. The hostile one loses at most its own channel;
// the host and the sibling keep working.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "channels/channel_kinds.h"
#include "tests/channels/loop_fixture.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class ChannelConformanceTest
    : public test::LoopFixture,
      public ::testing::WithParamInterface<std::string> {};

TEST_P(ChannelConformanceTest, EveryCallWorks) {
  EXPECT_THAT(RunToExit(TOOL, {"name"}, 0, GetParam()),
              HasSubstr("name: key("));
  EXPECT_THAT(RunToExit(TOOL, {"random", "32"}, 0, GetParam()),
              HasSubstr("random: 32 bytes"));
  EXPECT_THAT(RunToExit(TOOL, {"random", "1048576"}, 0, GetParam()),
              HasSubstr("random: 1048576 bytes"));
  EXPECT_THAT(RunToExit(TOOL, {"attest"}, 0, GetParam()),
              HasSubstr("attested "));
  EXPECT_THAT(RunToExit(TOOL, {"extend", "Ext(role:test)"}, 0, GetParam()),
              HasSubstr("Ext(role:test)"));
  EXPECT_THAT(RunToExit(TOOL, {"secret", "SameProgram"}, 0, GetParam()),
              MatchesRegex("(.|\n)*secret: [0-9a-f]{64}(.|\n)*"));
}

TEST_P(ChannelConformanceTest, SealThenUnseal) {
  const std::string bundle = dir_.Join("bundle-" + GetParam());
  // The same arguments both times: the same program, which may unseal.
  EXPECT_THAT(RunToExit(TOOL, {"keep", bundle}, 0, GetParam()),
              HasSubstr("sealed "));
  Share(bundle);
  EXPECT_THAT(RunToExit(TOOL, {"keep", bundle}, 0, GetParam()),
              HasSubstr("data: tao-client-tool sealed data"));
}

// 4 MiB sealed over a channel whose rings hold 256 KiB (shm): the frame
// streams through; the sealed bundle unseals to the same program.
TEST_P(ChannelConformanceTest, FramesLargerThanARingStreamThrough) {
  const std::string bundle = dir_.Join("big-" + GetParam());
  EXPECT_THAT(RunToExit(TOOL, {"seal-big", "4194304", bundle}, 0, GetParam()),
              HasSubstr("name after: key("));
  std::string state = dir_.Join("secret-" + GetParam());
  std::string first = RunToExit(DEMO_SECRET, {state}, 0, GetParam());
  std::string second = RunToExit(DEMO_SECRET, {state}, 0, GetParam());
  std::string digest = After(first, "sealed a new secret: ");
  EXPECT_FALSE(digest.empty()) << first;
  EXPECT_EQ(After(second, "unsealed the secret: "), digest) << second;
}

// A request over the frame cap is refused by the client library before it
// is sent, and the channel stays usable.
TEST_P(ChannelConformanceTest, OverTheCapIsRefusedCleanly) {
  EXPECT_THAT(
      RunToExit(TOOL, {"seal-big", "16777216", dir_.Join("x")}, 4, GetParam()),
      HasSubstr("name after: key("));
}

INSTANTIATE_TEST_SUITE_P(Channels, ChannelConformanceTest,
                         ::testing::Values("pipe", "socketpair", "shm"),
                         test::ChannelKindParamName);

// taohost's shm_ring_bytes and shm_spin: the smallest ring and a spin
// still carry every call, and a 4 MiB seal streams through a 4 KiB ring.
class ShmConfiguredTest : public test::LoopFixture {
 protected:
  void SetUp() override {
    ShmTransportOptions options;
    options.ring_size = 4096;
    options.spin = 1000;
    ASSERT_THAT(ConfigureShmChannels(options), IsOk());
    LoopFixture::SetUp();
  }
  void TearDown() override {
    LoopFixture::TearDown();
    EXPECT_THAT(ConfigureShmChannels(ShmTransportOptions()), IsOk());
  }
};

TEST_F(ShmConfiguredTest, ASmallRingAndASpinCarryEveryCall) {
  EXPECT_THAT(RunToExit(TOOL, {"random", "1048576"}, 0, "shm"),
              HasSubstr("random: 1048576 bytes"));
  EXPECT_THAT(RunToExit(TOOL, {"attest"}, 0, "shm"), HasSubstr("attested "));
  const std::string bundle = dir_.Join("big-small-ring");
  EXPECT_THAT(RunToExit(TOOL, {"seal-big", "4194304", bundle}, 0, "shm"),
              HasSubstr("name after: key("));
  std::string state = dir_.Join("secret-small-ring");
  std::string first = RunToExit(DEMO_SECRET, {state}, 0, "shm");
  std::string second = RunToExit(DEMO_SECRET, {state}, 0, "shm");
  std::string digest = After(first, "sealed a new secret: ");
  EXPECT_FALSE(digest.empty()) << first;
  EXPECT_EQ(After(second, "unsealed the secret: "), digest) << second;
}

// ---- Hostile shared memory --------------------------------------------------

constexpr absl::Duration kSiblingBudget = absl::Seconds(5);

class ShmHostileTest : public test::LoopFixture {
 protected:
  void SiblingSealsAndUnseals(const std::string& tag) {
    absl::Time t0 = absl::Now();
    std::string state = dir_.Join("sibling-" + tag);
    std::string first = RunToExit(DEMO_SECRET, {state}, 0, "shm");
    std::string second = RunToExit(DEMO_SECRET, {state}, 0, "shm");
    std::string digest = After(first, "sealed a new secret: ");
    EXPECT_FALSE(digest.empty()) << first;
    EXPECT_EQ(After(second, "unsealed the secret: "), digest) << second;
    EXPECT_LT(absl::Now() - t0, kSiblingBudget) << "the sibling was delayed";
  }

  bool WaitForLog(const ChildInfo& info, const std::string& text) {
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (absl::Now() < deadline) {
      if (absl::StrContains(LogOf(info), text)) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  // Runs hostile-shm `args` beside a sibling (after its "ready" line if
  // `ready`); it must exit 0 by itself, or is killed after the sibling if
  // `kill`. Then the loop must still start and serve programs. Returns the
  // hostile program's log.
  std::string Hostile(std::vector<std::string> args, bool ready = false,
                      bool kill = false) {
    auto hostile = Start(HOSTILE_SHM, args, "shm");
    EXPECT_THAT(hostile, IsOk());
    if (!hostile.ok()) return "";
    if (ready) {
      EXPECT_TRUE(WaitForLog(*hostile, "ready")) << LogOf(*hostile);
    }
    SiblingSealsAndUnseals(absl::StrJoin(args, "-"));
    ChildInfo done;
    if (kill) {
      auto still = loop_->GetHostedProgram(hostile->id);
      EXPECT_THAT(still, IsOk());
      if (still.ok()) {
        EXPECT_EQ(still->state, ProgramState::kRunning);
      }
      EXPECT_THAT(loop_->KillHostedProgram(hostile->id), IsOk());
      auto waited = loop_->WaitHostedProgram(hostile->id, absl::Seconds(5));
      EXPECT_THAT(waited, IsOk());
      if (waited.ok()) done = *waited;
    } else {
      done = Finish(hostile->id, 0);
    }
    EXPECT_THAT(RunToExit(TOOL, {"name"}, 0, "shm"), HasSubstr("name: key("));
    return LogOf(done);
  }
};

TEST_F(ShmHostileTest, AHeadBeyondTheRingClosesOnlyItsChannel) {
  EXPECT_THAT(Hostile({"beyond"}), HasSubstr("closed"));
}

TEST_F(ShmHostileTest, AHeadThatRunsBackwardsClosesOnlyItsChannel) {
  EXPECT_THAT(Hostile({"backwards"}), HasSubstr("closed"));
}

TEST_F(ShmHostileTest, ALengthOverTheCapClosesOnlyItsChannel) {
  EXPECT_THAT(Hostile({"over-cap"}), HasSubstr("closed"));
}

// The program rewrites its request while the host copies it: the host
// parses its one private copy and answers what that copy asked, or closes
// the channel; it never crashes and never goes silent.
TEST_F(ShmHostileTest, BytesFlippedWhileTheHostCopiesGiveOneCopyOrAClose) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(Hostile({"flip", absl::StrCat(i)}),
                AnyOf(HasSubstr("answered id "), HasSubstr("closed after")));
  }
}

TEST_F(ShmHostileTest, ResizingTheMemfdIsRefusedBySeals) {
  std::string log = Hostile({"shrink"});
  EXPECT_THAT(log, HasSubstr("resizing and sealing refused: EPERM"));
  EXPECT_THAT(log, HasSubstr("name still works"));
}

TEST_F(ShmHostileTest, AnEventfdFloodDelaysNobody) {
  std::string log = Hostile({"flood", "3"}, true);
  EXPECT_THAT(log, HasSubstr("flooded with "));
  EXPECT_THAT(log, HasSubstr("name still works"));
}

TEST_F(ShmHostileTest, AProgramThatNeverSignalsStallsOnlyItself) {
  Hostile({"never-signal"}, true, true);
}

TEST_F(ShmHostileTest, KilledHalfWayThroughAFrameIsHarmless) {
  Hostile({"half-kill"}, true, true);
}

}  // namespace
}  // namespace tao
