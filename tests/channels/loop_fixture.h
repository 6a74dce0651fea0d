// A listen loop with real child processes for the channels/ tests: a host
// (fresh in-memory keys, or a SoftTao on a keys directory), a TaoDomain with
// a signed policy, a ProcessFactory, and helpers to run programs to the end.
#ifndef TAO_TESTS_CHANNELS_LOOP_FIXTURE_H_
#define TAO_TESTS_CHANNELS_LOOP_FIXTURE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "channels/hosted_program_channel.h"
#include "program_factory/process_factory.h"
#include "tao/clock.h"
#include "tao/file_util.h"
#include "tao/soft_tao.h"
#include "tao_domain/policy_io.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace test {

inline const std::vector<std::string>& AllProgramOperations() {
  static const auto* ops = new std::vector<std::string>{
      "Execute", "Seal", "Unseal", "Attest", "GetSharedSecret"};
  return *ops;
}

class LoopFixture : public ::testing::Test {
 protected:
  // Programs run as dynamic uids of their own (not root): they may create
  // files in the test's directory (sticky, like /tmp), each its own.
  LoopFixture() { ::chmod(dir_.path().c_str(), 01777); }

  void SetUp() override {
    MakeEphemeralHost();
    MakeDomain(AllowEverything());
    StartLoop();
  }

  void TearDown() override {
    loop_.reset();
    domain_.reset();
  }

  // A host with fresh keys in memory.
  void MakeEphemeralHost() {
    auto keys = HostKeys::Generate();
    ASSERT_THAT(keys, IsOk());
    Principal name = Principal::ForKey(keys->signing_key.verifying_key());
    auto host = TaoHost::Create(*std::move(keys), name, std::nullopt);
    ASSERT_THAT(host, IsOk());
    soft_.reset();
    host_ = *std::move(host);
  }

  // A SoftTao on `keys_dir` (created on first use), cheap scrypt.
  void MakeSoftHost(const std::string& keys_dir) {
    SoftTaoOptions options;
    options.keys_dir = keys_dir;
    options.passphrase = "test passphrase";
    options.scrypt = ScryptParams{uint64_t{1} << 10, 8, 1};
    auto soft = SoftTao::Create(options);
    ASSERT_THAT(soft, IsOk());
    host_.reset();
    soft_ = *std::move(soft);
  }

  const TaoHost& host() const {
    return soft_ != nullptr ? soft_->host() : *host_;
  }

  void MakeDomain(const DomainPolicy& policy) {
    if (policy_key_ == nullptr) {
      auto key = SigningKey::Generate();
      ASSERT_THAT(key, IsOk());
      policy_key_ = std::make_unique<SigningKey>(*std::move(key));
    }
    auto domain = TaoDomain::Create(policy_key_->verifying_key(),
                                    SignedPolicy(policy), nullptr, clock_);
    ASSERT_THAT(domain, IsOk());
    domain_ = *std::move(domain);
  }

  void StartLoop(HostedProgramChannelOptions options = {}) {
    if (options.log_dir.empty()) options.log_dir = dir_.path();
    auto loop = HostedProgramChannel::Create(
        host(), *domain_,
        {{"process", &factory_, {"pipe", "shm", "socketpair"}}}, options);
    ASSERT_THAT(loop, IsOk());
    loop_ = *std::move(loop);
  }

  // One rule granting `ops` to every program of this host.
  DomainPolicy AllowEverything(
      const std::vector<std::string>& ops = AllProgramOperations()) const {
    DomainPolicy policy;
    policy.set_domain_name("test");
    Rule* rule = policy.add_rules();
    rule->set_id("all-programs");
    for (const std::string& op : ops) rule->add_operations(op);
    rule->add_principals()->set_name_prefix(host().name().text());
    return policy;
  }

  std::string SignedPolicy(const DomainPolicy& policy) {
    auto signed_policy = SignDomainPolicy(policy, *policy_key_);
    EXPECT_THAT(signed_policy, IsOk());
    return signed_policy.value_or("");
  }

  void SetPolicy(const DomainPolicy& policy) {
    ASSERT_THAT(domain_->Reload(SignedPolicy(policy)), IsOk());
  }

  absl::StatusOr<ChildInfo> Start(const std::string& path,
                                  std::vector<std::string> args,
                                  std::string kind = "pipe") {
    StartRequest request;
    request.channel = kind;
    request.process().path = path;
    request.process().args = std::move(args);
    return loop_->StartHostedProgram(request);
  }

  std::string LogOf(const ChildInfo& info) {
    return ReadFileToString(info.log_path).value_or("");
  }

  // Waits for `id` to exit; the final info, or a failure.
  ChildInfo Finish(uint64_t id, int want_exit,
                   absl::Duration timeout = absl::Seconds(30)) {
    auto done = loop_->WaitHostedProgram(id, timeout);
    EXPECT_THAT(done, IsOk());
    if (!done.ok()) return ChildInfo();
    EXPECT_TRUE(done->exit.has_value());
    if (!done->exit.has_value()) return *done;
    std::string log = LogOf(*done);
    EXPECT_FALSE(done->exit->signaled) << log;
    EXPECT_EQ(done->exit->code, want_exit) << log;
    return *done;
  }

  // Runs `path args...` to completion and returns its log; the final info is
  // in last_.
  std::string RunToExit(const std::string& path, std::vector<std::string> args,
                        int want_exit, std::string kind = "pipe") {
    auto started = Start(path, std::move(args), kind);
    EXPECT_THAT(started, IsOk());
    if (!started.ok()) return "";
    last_ = Finish(started->id, want_exit);
    return LogOf(last_);
  }

  // Makes `path` readable by every program: each runs as a dynamic uid of
  // its own, so a file one program (or the test, as root) wrote with mode
  // 0600 is another's only through this.
  static void Share(const std::string& path) {
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0) << path;
  }

  // The rest of the first line of `text` after `marker` ("" if absent).
  static std::string After(const std::string& text, const std::string& marker) {
    size_t at = text.find(marker);
    if (at == std::string::npos) return "";
    at += marker.size();
    size_t end = text.find('\n', at);
    return text.substr(at,
                       end == std::string::npos ? std::string::npos : end - at);
  }

  TempDir dir_;
  FixedClock clock_{absl::Now()};
  std::unique_ptr<TaoHost> host_;
  std::unique_ptr<SoftTao> soft_;
  std::unique_ptr<SigningKey> policy_key_;
  std::unique_ptr<TaoDomain> domain_;
  ProcessFactory factory_;
  std::unique_ptr<HostedProgramChannel> loop_;
  ChildInfo last_;
};

// Names a test instantiated over the channel kinds: "Pipe", "Shm",
// "Socketpair".
inline std::string ChannelKindParamName(
    const ::testing::TestParamInfo<std::string>& info) {
  if (info.param == "pipe") return "Pipe";
  if (info.param == "shm") return "Shm";
  return "Socketpair";
}

}  // namespace test
}  // namespace tao

#endif  // TAO_TESTS_CHANNELS_LOOP_FIXTURE_H_
