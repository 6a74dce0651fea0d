// Run-as through the listen loop with real processes: root only by an
// explicit run_as_uids grant, Admin:Start limited by `programs` and
// `run_as_uids`, a program's tree killed as a whole, and the processes of
// the host's programs recognized as theirs (for admin callers).
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "tao/encoding.h"
#include "tests/channels/loop_fixture.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

std::string Measurement(const std::string& path) {
  auto bytes = ReadFileToString(path, 256 << 20);
  EXPECT_THAT(bytes, IsOk());
  return absl::StrCat("sha256:", HexEncode(Sha256(bytes.value_or(""))));
}

bool Alive(pid_t pid) {
  std::string stat =
      ReadFileToString(absl::StrCat("/proc/", pid, "/stat")).value_or("");
  size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() &&
         stat[close + 2] != 'Z';
}

bool GoneWithin(pid_t pid, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (Alive(pid)) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

class RunAsLoopTest : public test::LoopFixture {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to change ids";
    LoopFixture::SetUp();
  }

  StartRequest Request(const std::string& path, std::vector<std::string> args,
                       std::optional<uid_t> uid = std::nullopt) {
    StartRequest request;
    request.process().path = path;
    request.process().args = std::move(args);
    request.process().uid = uid;
    return request;
  }

  // The pid after "escaped " in the program's log, once it is there.
  pid_t EscapedPid(const ChildInfo& info) {
    for (int i = 0; i < 400; ++i) {
      std::string log = LogOf(info);
      log.erase(log.rfind('\n') == std::string::npos ? 0 : log.rfind('\n'));
      for (absl::string_view line : absl::StrSplit(log, '\n')) {
        pid_t pid = 0;
        if (absl::ConsumePrefix(&line, "escaped ") &&
            absl::SimpleAtoi(line, &pid)) {
          return pid;
        }
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return -1;
  }
};

TEST_F(RunAsLoopTest, RootOnlyByAnExplicitRunAsUidsGrant) {
  // Execute for every program of the host, but no run_as_uids.
  auto denied = loop_->StartHostedProgram(Request(IDENTITY_CHILD, {"ids"}, 0));
  EXPECT_THAT(denied, StatusIs(absl::StatusCode::kPermissionDenied,
                               HasSubstr("not as uid 0")));
  EXPECT_EQ(loop_->running(), 0u);
  // A dynamic identity needs nothing more than Execute.
  EXPECT_THAT(RunToExit(IDENTITY_CHILD, {"ids"}, 0),
              testing::Not(HasSubstr("Uid:\t0")));
  EXPECT_TRUE(last_.confinement.dynamic_uid);

  DomainPolicy policy = AllowEverything();
  policy.mutable_rules(0)->add_run_as_uids(0);
  SetPolicy(policy);
  auto root = loop_->StartHostedProgram(Request(IDENTITY_CHILD, {"ids"}, 0));
  ASSERT_THAT(root, IsOk());
  ChildInfo done = Finish(root->id, 0);
  EXPECT_THAT(LogOf(done), HasSubstr("Uid:\t0\t0\t0\t0\n"));
  EXPECT_FALSE(done.confinement.dynamic_uid);
  // Another explicit uid is still refused: only the listed ones.
  EXPECT_THAT(
      loop_->StartHostedProgram(Request(IDENTITY_CHILD, {"ids"}, 65534)),
      StatusIs(absl::StatusCode::kPermissionDenied,
               HasSubstr("not as uid 65534 (it lists run_as_uids [0])")));
}

TEST_F(RunAsLoopTest, AdminStartIsLimitedByProgramsAndRunAsUids) {
  DomainPolicy policy = AllowEverything();
  policy.mutable_rules(0)->add_run_as_uids(0);
  policy.mutable_rules(0)->add_run_as_uids(65534);
  Rule* op = policy.add_rules();
  op->set_id("operator");
  op->add_operations("Admin:Start");
  op->add_principals()->set_uid(1000);
  op->add_programs()->set_measurement(Measurement(IDENTITY_CHILD));
  op->add_run_as_uids(65534);
  SetPolicy(policy);
  const Caller operator_1000 = Caller::User(1000);

  auto allowed = loop_->StartHostedProgram(Request(IDENTITY_CHILD, {"ids"}),
                                           operator_1000);
  ASSERT_THAT(allowed, IsOk());
  Finish(allowed->id, 0);
  // Another program: not in the rule's programs.
  EXPECT_THAT(loop_->StartHostedProgram(Request(PROBE_CHILD, {"marker"}),
                                        operator_1000),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("no matcher of its programs matches")));
  // As root: Execute would allow it, the operator's rule does not.
  EXPECT_THAT(
      loop_->StartHostedProgram(Request(IDENTITY_CHILD, {"ids"}, 0),
                                operator_1000),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("not as uid 0")));
  auto nobody = loop_->StartHostedProgram(
      Request(IDENTITY_CHILD, {"ids"}, 65534), operator_1000);
  ASSERT_THAT(nobody, IsOk());
  Finish(nobody->id, 0);
  // Another uid may not start anything.
  EXPECT_THAT(loop_->StartHostedProgram(Request(IDENTITY_CHILD, {"ids"}),
                                        Caller::User(1001)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // The host's own boot programs have no admin caller.
  auto boot = loop_->StartHostedProgram(Request(PROBE_CHILD, {"marker"}));
  ASSERT_THAT(boot, IsOk());
  Finish(boot->id, 0);
}

TEST_F(RunAsLoopTest, ASetsidDescendantDiesWithTheProgram) {
  auto started = loop_->StartHostedProgram(Request(IDENTITY_CHILD, {"escape"}));
  ASSERT_THAT(started, IsOk());
  EXPECT_THAT(started->confinement.cgroup, HasSubstr("/tao/host-"));
  ChildInfo done = Finish(started->id, 0);
  pid_t escaped = EscapedPid(done);
  ASSERT_GT(escaped, 0) << LogOf(done);
  EXPECT_TRUE(GoneWithin(escaped, absl::Seconds(2)));
  // The exit record says a cgroup was in force.
  EXPECT_THAT(done.confinement.cgroup, HasSubstr("/tao/host-"));
}

TEST_F(RunAsLoopTest, KillAndStopTakeASetsidDescendant) {
  for (bool kill : {true, false}) {
    auto started =
        loop_->StartHostedProgram(Request(IDENTITY_CHILD, {"escape", "stay"}));
    ASSERT_THAT(started, IsOk());
    pid_t escaped = EscapedPid(*started);
    ASSERT_GT(escaped, 0);
    ASSERT_TRUE(Alive(escaped));
    if (kill) {
      ASSERT_THAT(loop_->KillHostedProgram(started->id), IsOk());
    } else {
      ASSERT_THAT(
          loop_->StopHostedProgram(started->id, absl::Milliseconds(200)),
          IsOk());
    }
    auto done = loop_->WaitHostedProgram(started->id, absl::Seconds(10));
    ASSERT_THAT(done, IsOk());
    EXPECT_TRUE(GoneWithin(escaped, absl::Seconds(2))) << kill;
  }
}

TEST_F(RunAsLoopTest, TheProcessesOfAProgramAreKnownAsItsOwn) {
  auto started =
      loop_->StartHostedProgram(Request(IDENTITY_CHILD, {"escape", "stay"}));
  ASSERT_THAT(started, IsOk());
  pid_t escaped = EscapedPid(*started);
  ASSERT_GT(escaped, 0);
  for (pid_t pid : {started->pid, escaped}) {
    std::optional<HostedProcess> hosted = loop_->ProgramOfPid(pid);
    ASSERT_TRUE(hosted.has_value()) << pid;
    EXPECT_EQ(hosted->id, started->id);
    EXPECT_EQ(hosted->name, started->name);
  }
  EXPECT_FALSE(loop_->ProgramOfPid(::getpid()).has_value());
  // A process that is gone is never taken for an outsider.
  std::optional<HostedProcess> gone = loop_->ProgramOfPid(0x7ffffff0);
  ASSERT_TRUE(gone.has_value());
  EXPECT_FALSE(gone->id.has_value());
  ASSERT_THAT(loop_->KillHostedProgram(started->id), IsOk());
}

}  // namespace
}  // namespace tao
