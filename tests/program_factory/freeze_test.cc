// Freeze and Thaw of real processes (the cgroup2 freezer, cgroup.freeze),
// through the factory's program and through the loop: a frozen program's
// cgroup reports it frozen and its CPU time stops advancing; a thaw
// resumes it; a frozen program still stops politely and is killed. Also
// the launch spec's kinds: a factory refuses a spec of another kind.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "channels/hosted_program_channel.h"
#include "program_factory/internal/cgroup.h"
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

// A busy shell loop: its CPU time is the counter that a freeze must stop.
constexpr char kSpin[] = "while :; do :; done";

ChildEndpoint PipeEndpoint(std::vector<UniqueFd>* keep) {
  ChildEndpoint endpoint;
  int a[2], b[2];
  EXPECT_EQ(::pipe2(a, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(b, O_CLOEXEC), 0);
  keep->emplace_back(a[1]);
  keep->emplace_back(b[0]);
  endpoint.fds.push_back({UniqueFd(a[0]), 3});
  endpoint.fds.push_back({UniqueFd(b[1]), 4});
  endpoint.channel_env = "pipe:3,4";
  return endpoint;
}

// utime + stime of `pid` in clock ticks (-1 if unreadable).
long CpuTicks(pid_t pid) {
  std::string stat =
      ReadFileToString(absl::StrCat("/proc/", pid, "/stat")).value_or("");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
  long utime = 0, stime = 0;
  // After the name: state is field 3, utime 14 and stime 15 (1-based).
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return -1;
  }
  return utime + stime;
}

// Whether the cgroup `relative` (as Confinement shows it) reports frozen.
bool CgroupFrozen(const std::string& relative) {
  auto root = internal::FindCgroup2Root("");
  if (!root.ok()) return false;
  std::string events =
      ReadFileToString(absl::StrCat(*root, relative, "/cgroup.events"))
          .value_or("");
  return events.find("frozen 1") != std::string::npos;
}

class FreezeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for cgroups";
    ASSERT_EQ(::chmod(state_.path().c_str(), 0755), 0);
  }

  ProcessFactoryOptions Options() {
    ProcessFactoryOptions options;
    options.state_root = state_.Join("programs");
    return options;
  }

  static ProcessSpec Spin() {
    ProcessSpec spec;
    spec.path = "/bin/sh";
    spec.args = {"-c", kSpin};
    return spec;
  }

  test::TempDir state_;
};

TEST_F(FreezeTest, AFrozenProcessStopsAndAThawedOneRunsAgain) {
  ProcessFactory factory(Options());
  if (!factory.cgroups_in_force()) {
    GTEST_SKIP() << "no cgroups: " << factory.cgroup_status();
  }
  auto program = factory.NewHostedProgram(Spin());
  ASSERT_THAT(program, IsOk());
  HostedProgram& p = **program;
  EXPECT_THAT(p.Freeze(), StatusIs(absl::StatusCode::kFailedPrecondition));
  std::vector<UniqueFd> keep;
  ASSERT_THAT(p.Start(PipeEndpoint(&keep)), IsOk());
  const std::string cgroup = p.confinement().cgroup;
  ASSERT_FALSE(cgroup.empty());
  absl::SleepFor(absl::Milliseconds(200));
  const long running = CpuTicks(p.pid());
  ASSERT_GT(running, 0);

  ASSERT_THAT(p.Freeze(), IsOk());
  EXPECT_TRUE(p.frozen());
  EXPECT_TRUE(CgroupFrozen(cgroup));
  const long at_freeze = CpuTicks(p.pid());
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(CpuTicks(p.pid()), at_freeze) << "it ran while frozen";

  ASSERT_THAT(p.Thaw(), IsOk());
  EXPECT_FALSE(p.frozen());
  EXPECT_FALSE(CgroupFrozen(cgroup));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_GT(CpuTicks(p.pid()), at_freeze) << "it did not run once thawed";

  // Frozen again, a polite stop still reaches it (it is thawed to take
  // the SIGTERM), and the exit record says so.
  ASSERT_THAT(p.Freeze(), IsOk());
  ASSERT_THAT(p.Stop(absl::Seconds(5)), IsOk());
  struct pollfd pfd = {p.exit_fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
  EXPECT_FALSE(p.exit_record().has_value());
  auto reaped = p.Reap();
  ASSERT_THAT(reaped, IsOk());
  EXPECT_TRUE(reaped->signaled);
  EXPECT_EQ(reaped->code, SIGTERM);
  ASSERT_TRUE(p.exit_record().has_value());
  EXPECT_EQ(p.exit_record()->status.ToString(), reaped->ToString());
  EXPECT_EQ(p.exit_record()->confinement.cgroup, cgroup);
  EXPECT_FALSE(p.frozen());
  EXPECT_THAT(p.Freeze(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(p.Stop(absl::Seconds(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(FreezeTest, AFrozenProcessIsStillKilled) {
  ProcessFactory factory(Options());
  if (!factory.cgroups_in_force()) GTEST_SKIP() << factory.cgroup_status();
  auto program = factory.NewHostedProgram(Spin());
  ASSERT_THAT(program, IsOk());
  std::vector<UniqueFd> keep;
  ASSERT_THAT((*program)->Start(PipeEndpoint(&keep)), IsOk());
  ASSERT_THAT((*program)->Freeze(), IsOk());
  ASSERT_THAT((*program)->Kill(), IsOk());
  struct pollfd pfd = {(*program)->exit_fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
  auto reaped = (*program)->Reap();
  ASSERT_THAT(reaped, IsOk());
  EXPECT_TRUE(reaped->signaled);
  EXPECT_EQ(reaped->code, SIGKILL);
}

// A hostile program cannot use the freezer itself: neither freeze its own
// cgroup (to look stopped, or to stall its stop) nor thaw it.
TEST_F(FreezeTest, AProgramCannotWriteItsOwnFreezer) {
  ProcessFactory factory(Options());
  if (!factory.cgroups_in_force()) GTEST_SKIP() << factory.cgroup_status();
  auto root = internal::FindCgroup2Root("");
  ASSERT_THAT(root, IsOk());
  ProcessSpec spec;
  spec.path = "/bin/sh";
  // $0 is the cgroup2 root; exit 7 if a write to the freezer succeeded.
  spec.args = {"-c",
               "cg=$(sed -n 's/^0:://p' /proc/self/cgroup); "
               "for v in 1 0; do "
               "  if (echo $v > \"$0$cg/cgroup.freeze\") 2>/dev/null; then "
               "exit 7; fi; "
               "done; exit 0",
               *root};
  auto program = factory.NewHostedProgram(spec);
  ASSERT_THAT(program, IsOk());
  std::vector<UniqueFd> keep;
  ASSERT_THAT((*program)->Start(PipeEndpoint(&keep)), IsOk());
  struct pollfd pfd = {(*program)->exit_fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 10000), 1);
  auto reaped = (*program)->Reap();
  ASSERT_THAT(reaped, IsOk());
  EXPECT_EQ(reaped->ToString(), "exit 0") << "it wrote its own freezer";
}

TEST_F(FreezeTest, WithoutACgroupThereIsNothingToFreeze) {
  ProcessFactoryOptions options = Options();
  options.cgroup_root = "none";
  ProcessFactory factory(options);
  auto program = factory.NewHostedProgram(Spin());
  ASSERT_THAT(program, IsOk());
  std::vector<UniqueFd> keep;
  ASSERT_THAT((*program)->Start(PipeEndpoint(&keep)), IsOk());
  EXPECT_THAT(
      (*program)->Freeze(),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no cgroup")));
  EXPECT_FALSE((*program)->frozen());
  ASSERT_THAT((*program)->Kill(), IsOk());
}

TEST_F(FreezeTest, AFactoryRefusesASpecOfAnotherKind) {
  ProcessFactory factory(Options());
  EXPECT_THAT(factory.NewHostedProgram(EnclaveSpec{"/etc/enclave.manifest"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a spec of kind 'enclave'")));
  VmSpec vm;
  vm.kernel = "/boot/vmlinuz";
  EXPECT_THAT(
      factory.NewHostedProgram(vm),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kind 'vm'")));
  EXPECT_THAT(
      factory.NewHostedProgram(OtherSpec{"fake", "x"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kind 'fake'")));
  EXPECT_EQ(LaunchKind(Spin()), "process");
  EXPECT_EQ(LaunchTarget(Spin()), "/bin/sh");
  EXPECT_EQ(LaunchTarget(OtherSpec{"fake", "x"}), "fake:x");
}

// Through the loop: FreezeHostedProgram / ThawHostedProgram, the frozen
// flag of its listing, and errors for ids that do not run.
TEST_F(FreezeTest, TheLoopFreezesAndThawsARunningProgram) {
  ProcessFactory factory(Options());
  if (!factory.cgroups_in_force()) GTEST_SKIP() << factory.cgroup_status();
  auto keys = HostKeys::Generate();
  ASSERT_THAT(keys, IsOk());
  Principal name = Principal::ForKey(keys->signing_key.verifying_key());
  auto host = TaoHost::Create(*std::move(keys), name, std::nullopt);
  ASSERT_THAT(host, IsOk());
  auto policy_key = SigningKey::Generate();
  ASSERT_THAT(policy_key, IsOk());
  DomainPolicy policy;
  policy.set_domain_name("test");
  Rule* rule = policy.add_rules();
  rule->set_id("all");
  rule->add_operations("Execute");
  rule->add_principals()->set_name_prefix(name.text());
  auto signed_policy = SignDomainPolicy(policy, *policy_key);
  ASSERT_THAT(signed_policy, IsOk());
  FixedClock clock(absl::Now());
  auto domain = TaoDomain::Create(policy_key->verifying_key(), *signed_policy,
                                  nullptr, clock);
  ASSERT_THAT(domain, IsOk());
  auto loop = HostedProgramChannel::Create(
      **host, **domain, {{"process", &factory, {"pipe"}}}, {});
  ASSERT_THAT(loop, IsOk());
  StartRequest request;
  request.spec = Spin();
  auto started = (*loop)->StartHostedProgram(request);
  ASSERT_THAT(started, IsOk());
  ASSERT_THAT((*loop)->FreezeHostedProgram(started->id), IsOk());
  auto info = (*loop)->GetHostedProgram(started->id);
  ASSERT_THAT(info, IsOk());
  EXPECT_TRUE(info->frozen);
  EXPECT_TRUE(CgroupFrozen(info->confinement.cgroup));
  const long at_freeze = CpuTicks(info->pid);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(CpuTicks(info->pid), at_freeze);
  ASSERT_THAT((*loop)->ThawHostedProgram(started->id), IsOk());
  EXPECT_FALSE((*loop)->GetHostedProgram(started->id)->frozen);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_GT(CpuTicks(info->pid), at_freeze);
  EXPECT_THAT((*loop)->FreezeHostedProgram(started->id + 100),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT((*loop)->FreezeHostedProgram(started->id), IsOk());
  ASSERT_THAT((*loop)->StopHostedProgram(started->id, absl::Seconds(5)),
              IsOk());
  auto done = (*loop)->WaitHostedProgram(started->id, absl::Seconds(10));
  ASSERT_THAT(done, IsOk());
  ASSERT_TRUE(done->exit.has_value());
  EXPECT_EQ(done->exit->code, SIGTERM);
  EXPECT_FALSE(done->frozen);
  EXPECT_THAT((*loop)->ThawHostedProgram(started->id),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace tao
