// The listen loop with real child processes: start, seal/unseal across
// restarts, denials with reasons.
#include "channels/hosted_program_channel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "program_factory/process_factory.h"
#include "tao/file_util.h"
#include "tao_domain/policy_io.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

class HostedProgramChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto keys = HostKeys::Generate();
    ASSERT_THAT(keys, IsOk());
    Principal name = Principal::ForKey(keys->signing_key.verifying_key());
    auto host = TaoHost::Create(*std::move(keys), name, std::nullopt);
    ASSERT_THAT(host, IsOk());
    host_ = *std::move(host);
    auto policy_key = SigningKey::Generate();
    ASSERT_THAT(policy_key, IsOk());
    policy_key_ = std::make_unique<SigningKey>(*std::move(policy_key));
    auto domain = TaoDomain::Create(policy_key_->verifying_key(),
                                    SignedPolicy(AllowEverything()), nullptr, clock_);
    ASSERT_THAT(domain, IsOk());
    domain_ = *std::move(domain);
    StartLoop();
  }

  void StartLoop() {
    HostedProgramChannelOptions options;
    options.log_dir = dir_.path();
    auto loop = HostedProgramChannel::Create(
        *host_, *domain_,
        {{"process", &factory_, {ChannelKind::kPipe, ChannelKind::kSocketpair}}},
        options);
    ASSERT_THAT(loop, IsOk());
    loop_ = *std::move(loop);
  }

  DomainPolicy AllowEverything() {
    DomainPolicy policy;
    policy.set_domain_name("test");
    Rule* rule = policy.add_rules();
    rule->set_id("all-programs");
    for (const char* op : {"Execute", "Seal", "Unseal", "Attest", "GetSharedSecret"}) {
      rule->add_operations(op);
    }
    rule->add_principals()->set_name_prefix(host_->name().text());
    return policy;
  }

  std::string SignedPolicy(const DomainPolicy& policy) {
    auto signed_policy = SignDomainPolicy(policy, *policy_key_);
    EXPECT_THAT(signed_policy, IsOk());
    return signed_policy.value_or("");
  }

  // Runs `path args...` to completion and returns its log.
  std::string RunToExit(const std::string& path, std::vector<std::string> args,
                        int want_exit, ChannelKind kind = ChannelKind::kPipe) {
    StartRequest request;
    request.channel = kind;
    request.spec.path = path;
    request.spec.args = std::move(args);
    auto started = loop_->StartHostedProgram(request);
    EXPECT_THAT(started, IsOk());
    if (!started.ok()) return "";
    auto done = loop_->WaitHostedProgram(started->id, absl::Seconds(30));
    EXPECT_THAT(done, IsOk());
    if (!done.ok()) return "";
    EXPECT_TRUE(done->exit.has_value());
    std::string log = ReadFileToString(started->log_path).value_or("");
    EXPECT_FALSE(done->exit->signaled) << log;
    EXPECT_EQ(done->exit->code, want_exit) << log;
    return log;
  }

  test::TempDir dir_;
  FixedClock clock_{absl::Now()};
  std::unique_ptr<TaoHost> host_;
  std::unique_ptr<SigningKey> policy_key_;
  std::unique_ptr<TaoDomain> domain_;
  ProcessFactory factory_;
  std::unique_ptr<HostedProgramChannel> loop_;
};

TEST_F(HostedProgramChannelTest, SameProgramUnsealsAfterRestart) {
  std::string state = dir_.Join("state");
  std::string first = RunToExit(DEMO_SECRET, {state}, 0);
  EXPECT_THAT(first, HasSubstr("sealed a new secret: sha256:"));
  size_t at = first.find("sealed a new secret: ");
  ASSERT_NE(at, std::string::npos);
  std::string digest = first.substr(at + 21, 71);
  std::string second = RunToExit(DEMO_SECRET, {state}, 0);
  EXPECT_THAT(second, HasSubstr("unsealed the secret: " + digest));
}

TEST_F(HostedProgramChannelTest, WorksOverASocketpair) {
  std::string state = dir_.Join("state");
  RunToExit(DEMO_SECRET, {state}, 0, ChannelKind::kSocketpair);
  EXPECT_THAT(RunToExit(DEMO_SECRET, {state}, 0, ChannelKind::kSocketpair),
              HasSubstr("unsealed the secret"));
}

TEST_F(HostedProgramChannelTest, DifferentArgsCannotUnsealSameProgram) {
  std::string state = dir_.Join("state");
  RunToExit(DEMO_SECRET, {state}, 0);
  // The same binary with other args has another name.
  std::string log = RunToExit(DEMO_SECRET, {state, "SameProgram"}, 1);
  EXPECT_THAT(log, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(log, HasSubstr("SameProgram: the caller"));
}

TEST_F(HostedProgramChannelTest, SameMeasurementIgnoresArgs) {
  std::string state = dir_.Join("state");
  RunToExit(DEMO_SECRET, {state, "SameMeasurement"}, 0);
  EXPECT_THAT(RunToExit(DEMO_SECRET, {state, "SameMeasurement"}, 0),
              HasSubstr("unsealed the secret"));
}

TEST_F(HostedProgramChannelTest, DemoAttestVerifiesItsChain) {
  std::string out = dir_.Join("att");
  std::string log = RunToExit(DEMO_ATTEST, {out}, 0);
  EXPECT_THAT(log, HasSubstr("verified: "));
  EXPECT_TRUE(PathExists(out));
}

TEST_F(HostedProgramChannelTest, DeniedProgramNeverStarts) {
  DomainPolicy policy = AllowEverything();
  policy.mutable_rules(0)->clear_operations();
  policy.mutable_rules(0)->add_operations("Seal");
  ASSERT_THAT(domain_->Reload(SignedPolicy(policy)), IsOk());
  StartRequest request;
  request.spec.path = DEMO_SECRET;
  request.spec.args = {dir_.Join("state")};
  EXPECT_THAT(loop_->StartHostedProgram(request),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("Execute")));
  EXPECT_TRUE(loop_->ListHostedPrograms().empty());
  EXPECT_FALSE(PathExists(dir_.Join("state")));
}

}  // namespace
}  // namespace tao
