// A made-up kind of program ("fake") on a made-up channel kind
// ("fake-ring"), started, frozen, thawed, stopped and killed through the
// real loop, whose code names neither: the fake's channel answers real Tao
// calls, and the loop reports its exit as the fake's script says.
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "channels/channel_kinds.h"
#include "channels/hosted_program_channel.h"
#include "tests/channels/loop_fixture.h"
#include "tests/testing/fake_factory.h"

namespace tao {
namespace {

using ::tao::test::FakeFactory;
using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FakeKindTest : public test::LoopFixture {
 protected:
  void SetUp() override {
    MakeEphemeralHost();
    MakeDomain(AllowEverything());
    ASSERT_THAT(test::RegisterFakeRingChannel(), IsOk());
    HostedProgramChannelOptions options;
    options.log_dir = dir_.path();
    auto loop = HostedProgramChannel::Create(
        host(), *domain_,
        {{"process", &factory_, {"pipe", "socketpair"}},
         {"fake", &fake_, {test::kFakeRingChannel}}},
        options);
    ASSERT_THAT(loop, IsOk());
    loop_ = *std::move(loop);
  }

  absl::StatusOr<ChildInfo> StartFake(const std::string& script) {
    StartRequest request;
    request.factory = "fake";
    request.channel = test::kFakeRingChannel;
    request.spec = OtherSpec{test::kFakeKind, script};
    return loop_->StartHostedProgram(request);
  }

  FakeFactory fake_;
};

TEST_F(FakeKindTest, StartsAnswersFreezesThawsAndStopsThroughTheLoop) {
  auto started = StartFake("stop=4;output=hello from the fake");
  ASSERT_THAT(started, IsOk());
  EXPECT_EQ(started->factory, "fake");
  EXPECT_EQ(started->channel, "fake-ring");
  EXPECT_EQ(started->path, "fake:stop=4;output=hello from the fake");
  std::shared_ptr<test::FakePeer> peer = fake_.last_peer();
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(peer->channel_env(), "fake-ring:7");

  // The scripted peer writes a frame and the loop's connection answers it:
  // the name it was measured as, under this host.
  TaoRequest request;
  request.set_id(1);
  request.mutable_get_tao_name();
  auto answer = peer->Call(request);
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->id(), 1u);
  EXPECT_EQ(answer->code(), 0) << answer->message();
  EXPECT_EQ(answer->name(), started->name);
  EXPECT_TRUE(absl::StartsWith(answer->name(), host().name().text()));

  ASSERT_THAT(loop_->FreezeHostedProgram(started->id), IsOk());
  auto frozen = loop_->GetHostedProgram(started->id);
  ASSERT_THAT(frozen, IsOk());
  EXPECT_TRUE(frozen->frozen);
  ASSERT_THAT(loop_->ThawHostedProgram(started->id), IsOk());
  EXPECT_FALSE(loop_->GetHostedProgram(started->id)->frozen);

  ASSERT_THAT(loop_->StopHostedProgram(started->id, absl::Seconds(10)), IsOk());
  auto done = loop_->WaitHostedProgram(started->id, absl::Seconds(10));
  ASSERT_THAT(done, IsOk());
  ASSERT_TRUE(done->exit.has_value());
  EXPECT_FALSE(done->exit->signaled);
  EXPECT_EQ(done->exit->code, 4);  // as scripted
  EXPECT_THAT(LogOf(*done), HasSubstr("hello from the fake"));
  EXPECT_THAT(peer->calls(),
              ElementsAre("start", "freeze", "thaw", "stop", "reap"));
  EXPECT_THAT(loop_->FreezeHostedProgram(started->id),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(FakeKindTest, AProgramThatIgnoresStopIsKilledAfterTheGrace) {
  auto started = StartFake("stop=ignore");
  ASSERT_THAT(started, IsOk());
  ASSERT_THAT(loop_->StopHostedProgram(started->id, absl::Milliseconds(100)),
              IsOk());
  auto done = loop_->WaitHostedProgram(started->id, absl::Seconds(10));
  ASSERT_THAT(done, IsOk());
  ASSERT_TRUE(done->exit.has_value());
  EXPECT_TRUE(done->exit->signaled);
  EXPECT_EQ(done->exit->code, 9);
  std::vector<std::string> calls = fake_.last_peer()->calls();
  ASSERT_GE(calls.size(), 3u);
  EXPECT_EQ(calls[1], "stop");
  EXPECT_EQ(calls[2], "kill");
}

TEST_F(FakeKindTest, AnExitOfItsOwnAndAKindThatCannotFreeze) {
  auto started = StartFake("freeze=no");
  ASSERT_THAT(started, IsOk());
  EXPECT_THAT(loop_->FreezeHostedProgram(started->id),
              StatusIs(absl::StatusCode::kUnimplemented));
  EXPECT_THAT(loop_->ThawHostedProgram(started->id),
              StatusIs(absl::StatusCode::kUnimplemented));
  fake_.last_peer()->Exit(3);
  auto done = loop_->WaitHostedProgram(started->id, absl::Seconds(10));
  ASSERT_THAT(done, IsOk());
  ASSERT_TRUE(done->exit.has_value());
  EXPECT_EQ(done->exit->ToString(), "exit 3");
}

TEST_F(FakeKindTest, PairingsAreCheckedForMadeUpKindsToo) {
  // At configuration: the fake cannot serve a pipe, and no factory may be
  // paired with a kind nobody registered.
  EXPECT_THAT(HostedProgramChannel::Create(host(), *domain_,
                                           {{"fake", &fake_, {"pipe"}}}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("factory 'fake' cannot serve channel kind "
                                 "pipe")));
  EXPECT_THAT(HostedProgramChannel::Create(
                  host(), *domain_, {{"fake", &fake_, {"no-such-ring"}}}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown channel 'no-such-ring'")));
  // At start: a kind the registration leaves out, an unknown kind, a spec
  // of another kind.
  StartRequest request;
  request.factory = "fake";
  request.channel = "pipe";
  request.spec = OtherSpec{test::kFakeKind, ""};
  EXPECT_THAT(loop_->StartHostedProgram(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not configured for channel kind pipe")));
  request.channel = "warp-drive";
  EXPECT_THAT(loop_->StartHostedProgram(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown channel 'warp-drive'")));
  request.channel = test::kFakeRingChannel;
  request.process().path = "/bin/true";
  EXPECT_THAT(loop_->StartHostedProgram(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a spec of kind 'process'")));
  // And the process factory refuses the fake's spec.
  request.factory = "process";
  request.channel = "pipe";
  request.spec = OtherSpec{test::kFakeKind, ""};
  EXPECT_THAT(loop_->StartHostedProgram(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("runs processes, not a spec of kind 'fake'")));
  EXPECT_TRUE(loop_->ListHostedPrograms().empty());
}

}  // namespace
}  // namespace tao
