// Hosted programs that fail with the real loop (tests/channels/loop_fixture.h):
// one SIGKILLed in the middle of a call, one that forks and leaves, one that
// closes its channel and keeps running (fault_child.cc). The host notes what
// happened, cleans up (no descriptor, no zombie, no process of the program's
// group left), and keeps serving a sibling throughout.
#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/channels/loop_fixture.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

int CountOpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (struct dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the directory's own descriptor
}

// A process as /proc/PID/stat shows it; nullopt once it is gone (reaped).
struct ProcState {
  char state = '?';
  int ppid = 0;
  int pgid = 0;
};
std::optional<ProcState> StateOf(int pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  size_t paren = line.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(paren + 2));
  ProcState out;
  rest >> out.state >> out.ppid >> out.pgid;
  return out;
}

bool Dead(int pid) {
  auto state = StateOf(pid);
  return !state.has_value() || state->state == 'Z' || state->state == 'X';
}

// Processes whose parent is this process, as "pid state".
std::vector<std::string> OurChildren() {
  std::vector<std::string> out;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  const int self = static_cast<int>(::getpid());
  while (struct dirent* entry = ::readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    auto state = StateOf(pid);
    if (state.has_value() && state->ppid == self) {
      out.push_back(absl::StrCat(pid, " ", std::string(1, state->state)));
    }
  }
  ::closedir(proc);
  return out;
}

std::vector<std::string> OurZombies() {
  std::vector<std::string> out;
  for (const std::string& child : OurChildren()) {
    if (absl::EndsWith(child, " Z")) out.push_back(child);
  }
  return out;
}

class ProgramFaultsTest : public test::LoopFixture,
                          public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    test::LoopFixture::SetUp();
    // One run first, so what the loop sets up once is counted in the baseline.
    SiblingSealsAndUnseals("warm-up");
    fds_before_ = CountOpenFds();
  }

  // demo-secret seals, then a second run unseals the same secret.
  void SiblingSealsAndUnseals(const std::string& tag) {
    std::string state = dir_.Join("sibling-" + tag);
    std::string first = RunToExit(DEMO_SECRET, {state}, 0, GetParam());
    std::string second = RunToExit(DEMO_SECRET, {state}, 0, GetParam());
    std::string digest = After(first, "sealed a new secret: ");
    EXPECT_FALSE(digest.empty()) << first;
    EXPECT_EQ(After(second, "unsealed the secret: "), digest) << second;
  }

  bool WaitFor(const std::function<bool()>& done,
               absl::Duration timeout = absl::Seconds(5)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return done();
  }

  bool WaitForLog(const ChildInfo& info, const std::string& text) {
    return WaitFor([&] { return absl::StrContains(LogOf(info), text); });
  }

  // The exit the list shows for `id`.
  std::string ListedExit(uint64_t id) {
    for (const ChildInfo& info : loop_->ListHostedPrograms()) {
      if (info.id == id && info.exit.has_value()) return info.exit->ToString();
    }
    return "(not listed as exited)";
  }

  // Everything the program had is gone: no descriptor, no zombie, nothing
  // running.
  void ExpectCleanedUp() {
    EXPECT_EQ(loop_->running(), 0u);
    EXPECT_TRUE(WaitFor([&] { return CountOpenFds() == fds_before_; },
                        absl::Seconds(2)))
        << CountOpenFds() << " descriptors open, " << fds_before_ << " before";
    EXPECT_THAT(OurZombies(), IsEmpty());
  }

  // The grandchild pid from a fault-child line "grandchild PID ...".
  static int GrandchildOf(const std::string& log) {
    int pid = 0;
    std::string text = After(log, "grandchild ");
    std::vector<std::string> words = absl::StrSplit(text, ' ');
    if (words.empty() || !absl::SimpleAtoi(words[0], &pid)) return 0;
    return pid;
  }

  int fds_before_ = 0;
};

// ---- (a) killed in the middle of a call -------------------------------------

// Half of a 1 MiB Seal request has arrived when the program is SIGKILLed (by
// someone else, as the OOM killer would): the loop notes the exit, drops the
// half frame, and keeps serving.
TEST_P(ProgramFaultsTest, KilledHalfWayThroughSendingARequest) {
  auto child = Start(FAULT_CHILD, {"slow-seal"}, GetParam());
  ASSERT_THAT(child, IsOk());
  ASSERT_TRUE(WaitForLog(*child, "half")) << LogOf(*child);
  SiblingSealsAndUnseals("during");
  ASSERT_EQ(::kill(child->pid, SIGKILL), 0);

  auto done = loop_->WaitHostedProgram(child->id, absl::Seconds(5));
  ASSERT_THAT(done, IsOk());
  ASSERT_TRUE(done->exit.has_value());
  EXPECT_TRUE(done->exit->signaled);
  EXPECT_EQ(done->exit->code, SIGKILL);
  EXPECT_EQ(done->calls, 0u) << "half a request was answered";
  EXPECT_THAT(ListedExit(child->id), HasSubstr("signal 9"));
  std::cout << "killed half way through a request: " << ListedExit(child->id)
            << "\n";

  SiblingSealsAndUnseals("after");
  ExpectCleanedUp();
}

// The program sent a 1 MiB Seal request and is killed without reading the
// reply, which is larger than any pipe or socket buffer: the loop holds the
// rest of the reply when the program dies, and lets it go.
TEST_P(ProgramFaultsTest, KilledBeforeReadingTheReply) {
  auto child = Start(FAULT_CHILD, {"no-read"}, GetParam());
  ASSERT_THAT(child, IsOk());
  ASSERT_TRUE(WaitForLog(*child, "sent")) << LogOf(*child);
  ASSERT_TRUE(WaitFor([&] {
    auto info = loop_->GetHostedProgram(child->id);
    return info.ok() && info->calls == 1;
  })) << "the request was not answered";
  SiblingSealsAndUnseals("during");
  ASSERT_EQ(::kill(child->pid, SIGKILL), 0);

  auto done = loop_->WaitHostedProgram(child->id, absl::Seconds(5));
  ASSERT_THAT(done, IsOk());
  ASSERT_TRUE(done->exit.has_value());
  EXPECT_TRUE(done->exit->signaled);
  EXPECT_EQ(done->exit->code, SIGKILL);
  EXPECT_THAT(ListedExit(child->id), HasSubstr("signal 9"));

  SiblingSealsAndUnseals("after");
  ExpectCleanedUp();
}

// ---- (b) a program that forks and leaves ------------------------------------

// The grandchild is in the program's process group, which the loop kills
// when the program exits: it is dead within a second, and the host is left
// with no zombie. (Reparented to init, which reaps it.)
TEST_P(ProgramFaultsTest, AForkedGrandchildGoesWithTheProgram) {
  auto child = Start(FAULT_CHILD, {"fork-exit"}, GetParam());
  ASSERT_THAT(child, IsOk());
  Finish(child->id, 0);
  absl::Time exited = absl::Now();
  std::string log = LogOf(*child);
  int grandchild = GrandchildOf(log);
  ASSERT_GT(grandchild, 0) << log;
  EXPECT_THAT(log, HasSubstr(absl::StrCat("pgid ", child->pid)))
      << "the grandchild was not in the program's group";
  EXPECT_TRUE(WaitFor([&] { return Dead(grandchild); }, absl::Seconds(1)))
      << "grandchild " << grandchild << " outlived the program";
  std::cout << "grandchild " << grandchild << " dead " << absl::Now() - exited
            << " after its parent's exit was noted; "
            << (StateOf(grandchild).has_value() ? "a zombie of its new parent"
                                                : "reaped by its new parent")
            << "\n";
  SiblingSealsAndUnseals("after");
  ExpectCleanedUp();
}

// A grandchild that calls setsid() leaves the program's process group, so the
// group kill does not reach it: it is reparented (to init, or the nearest
// subreaper) and the host can no longer see it. The loop promises only to
// kill the group; this test records what happens and asserts only that the
// program itself is cleaned up. (Containing such a grandchild takes a cgroup
// or a PID namespace per program.)
TEST_P(ProgramFaultsTest, ASetsidGrandchildEscapesTheGroup) {
  auto child = Start(FAULT_CHILD, {"setsid-exit", "3"}, GetParam());
  ASSERT_THAT(child, IsOk());
  Finish(child->id, 0);
  std::string log = LogOf(*child);
  int grandchild = GrandchildOf(log);
  ASSERT_GT(grandchild, 0) << log;
  absl::SleepFor(absl::Milliseconds(300));
  auto state = StateOf(grandchild);
  bool alive = !Dead(grandchild);
  std::cout << "setsid grandchild " << grandchild
            << " 300 ms after the program's exit: "
            << (alive ? absl::StrCat("still running (state ",
                                     std::string(1, state->state), ", parent ",
                                     state->ppid, ", group ", state->pgid, ")")
                      : "gone")
            << "\n";
  RecordProperty("setsid_grandchild_escaped", alive ? 1 : 0);
  if (alive)
    ::kill(grandchild, SIGKILL);  // the test cleans up what the host cannot see
  SiblingSealsAndUnseals("after");
  ExpectCleanedUp();
}

// DESIGN.md lets taohost be PID 1 of a container or the init of a VM; PID 1,
// like any child subreaper, adopts orphans, so the grandchildren the loop
// kills with the program's group are reparented to the host itself, and the
// loop must reap them. The test makes this process a subreaper to stand in
// for PID 1.
TEST_P(ProgramFaultsTest, AsSubreaperTheHostReapsTheGrandchildrenItKills) {
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  auto child = Start(FAULT_CHILD, {"fork-exit"}, GetParam());
  ASSERT_THAT(child, IsOk());
  Finish(child->id, 0);
  int grandchild = GrandchildOf(LogOf(*child));
  ASSERT_GT(grandchild, 0) << LogOf(*child);
  EXPECT_TRUE(WaitFor([&] { return Dead(grandchild); }, absl::Seconds(1)));
  EXPECT_TRUE(WaitFor([&] { return !StateOf(grandchild).has_value(); },
                      absl::Seconds(2)))
      << "grandchild " << grandchild
      << " is a zombie of the host, and nothing reaps it";
  EXPECT_THAT(OurZombies(), IsEmpty());
  // Leave this process as it was: reap what the host did not, stop adopting.
  ::waitpid(grandchild, nullptr, WNOHANG);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

// ---- (c) a program that closes its channel ----------------------------------

TEST_P(ProgramFaultsTest, AProgramThatClosesItsChannelKeepsRunningWithout) {
  // Counted before the start: the program may close its channel (and the
  // host its end) before Start even returns.
  const int fds_before = CountOpenFds();
  auto child = Start(FAULT_CHILD, {"close-channel"}, GetParam());
  ASSERT_THAT(child, IsOk());
  ASSERT_TRUE(WaitForLog(*child, "closed")) << LogOf(*child);
  // The host sees EOF and closes its end of the channel; the rest (pidfd,
  // output pipe, log, and the flock that claims its dynamic uid on the
  // machine) stays while the program runs.
  constexpr int kProgramFdsWithoutChannel = 4;
  EXPECT_TRUE(WaitFor([&] {
    return CountOpenFds() == fds_before + kProgramFdsWithoutChannel;
  })) << "the host kept the closed channel: "
      << CountOpenFds() << " descriptors, " << fds_before
      << " before the start";
  auto info = loop_->GetHostedProgram(child->id);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->state, ProgramState::kRunning);

  SiblingSealsAndUnseals("during");

  ASSERT_THAT(loop_->StopHostedProgram(child->id, absl::Seconds(2)), IsOk());
  auto done = loop_->WaitHostedProgram(child->id, absl::Seconds(5));
  ASSERT_THAT(done, IsOk());
  ASSERT_TRUE(done->exit.has_value());
  EXPECT_TRUE(done->exit->signaled);
  EXPECT_EQ(done->exit->code, SIGTERM);
  EXPECT_THAT(ListedExit(child->id), HasSubstr("signal 15"));
  SiblingSealsAndUnseals("after");
  ExpectCleanedUp();
}

INSTANTIATE_TEST_SUITE_P(Channels, ProgramFaultsTest,
                         ::testing::Values("pipe", "socketpair", "shm"),
                         test::ChannelKindParamName);

}  // namespace
}  // namespace tao
