// Hostile children against the listen loop: each breaks the protocol in its
// own way (hostile_child.cc) while a well-behaved sibling seals and unseals.
// The hostile child loses at most its own channel; the sibling finishes
// promptly; the loop keeps starting programs afterwards. And a thousand
// launches leave no descriptor and no zombie behind.
#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/channels/loop_fixture.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

// How long a sibling's seal-then-unseal may take while a hostile child runs.
constexpr absl::Duration kSiblingBudget = absl::Seconds(5);

class HostileChildTest : public test::LoopFixture,
                         public ::testing::WithParamInterface<std::string> {
 protected:
  // demo-secret seals, then a second run unseals: both must succeed, with the
  // same secret, within the budget.
  absl::Duration SiblingSealsAndUnseals(const std::string& tag) {
    absl::Time t0 = absl::Now();
    std::string state = dir_.Join("sibling-" + tag);
    std::string first = RunToExit(DEMO_SECRET, {state}, 0, GetParam());
    std::string second = RunToExit(DEMO_SECRET, {state}, 0, GetParam());
    absl::Duration took = absl::Now() - t0;
    std::string digest = After(first, "sealed a new secret: ");
    EXPECT_FALSE(digest.empty()) << first;
    EXPECT_EQ(After(second, "unsealed the secret: "), digest) << second;
    EXPECT_LT(took, kSiblingBudget) << "the sibling was delayed";
    return took;
  }

  // Another program starts and completes after the hostile one.
  void LoopStillWorks() {
    EXPECT_THAT(RunToExit(TOOL, {"name"}, 0, GetParam()),
                HasSubstr("name: key("));
  }

  bool WaitForLog(const ChildInfo& info, const std::string& text,
                  absl::Duration timeout = absl::Seconds(5)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (absl::StrContains(LogOf(info), text)) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  // Runs hostile-child `args` beside a sibling. If `ready` is set, waits for
  // that line first. If `want_exit` is set the hostile child must end by
  // itself with it; otherwise it is killed after the sibling is done.
  // Returns the hostile child's log.
  std::string Hostile(std::vector<std::string> args,
                      std::optional<int> want_exit,
                      const std::string& ready = "") {
    auto hostile = Start(HOSTILE_CHILD, args, GetParam());
    EXPECT_THAT(hostile, IsOk());
    if (!hostile.ok()) return "";
    if (!ready.empty()) {
      EXPECT_TRUE(WaitForLog(*hostile, ready)) << LogOf(*hostile);
    }
    SiblingSealsAndUnseals(args[0]);
    ChildInfo done;
    if (want_exit.has_value()) {
      done = Finish(hostile->id, *want_exit, absl::Seconds(60));
    } else {
      auto still = loop_->GetHostedProgram(hostile->id);
      EXPECT_THAT(still, IsOk());
      if (still.ok()) {
        EXPECT_EQ(still->state, ProgramState::kRunning);
      }
      EXPECT_THAT(loop_->KillHostedProgram(hostile->id), IsOk());
      auto waited = loop_->WaitHostedProgram(hostile->id, absl::Seconds(5));
      EXPECT_THAT(waited, IsOk());
      if (waited.ok()) done = *waited;
    }
    LoopStillWorks();
    return LogOf(done);
  }
};

TEST_P(HostileChildTest, AnOversizedFrameClosesOnlyItsChannel) {
  EXPECT_THAT(Hostile({"oversize"}, 0), HasSubstr("eof"));
}

TEST_P(HostileChildTest, GarbageClosesOnlyItsChannel) {
  EXPECT_THAT(Hostile({"garbage"}, 0), HasSubstr("eof"));
}

TEST_P(HostileChildTest, TextInsteadOfFramesClosesOnlyItsChannel) {
  EXPECT_THAT(Hostile({"text"}, 0), HasSubstr("eof"));
}

TEST_P(HostileChildTest, HalfAFrameThenSilenceStallsOnlyItself) {
  Hostile({"half"}, std::nullopt, "ready");
}

TEST_P(HostileChildTest, HalfAFrameThenCloseIsHarmless) {
  EXPECT_THAT(Hostile({"half-close"}, 0, "ready"), HasSubstr("closed"));
}

// The host answers a request whose asker has already gone: the write fails
// (EPIPE, with SIGPIPE blocked) and only that channel closes.
TEST_P(HostileChildTest, ClosingMidRequestIsHarmless) {
  EXPECT_THAT(Hostile({"close-mid"}, 0), HasSubstr("closed"));
}

TEST_P(HostileChildTest,
       AnUnknownMethodGetsInvalidArgumentAndTheChannelStaysUp) {
  std::string log = Hostile({"unknown"}, 0);
  EXPECT_THAT(log, HasSubstr("unknown method: id 7 INVALID_ARGUMENT"));
  EXPECT_THAT(log, HasSubstr("name still works"));
}

TEST_P(HostileChildTest, HostileArgumentsAreRefusedWithReasons) {
  std::string log = Hostile({"bad-args"}, 0);
  EXPECT_THAT(log, HasSubstr("random-4GiB: INVALID_ARGUMENT"));
  EXPECT_THAT(log, HasSubstr("secret-2GiB: INVALID_ARGUMENT"));
  EXPECT_THAT(log, HasSubstr("extend-program: INVALID_ARGUMENT"));
  EXPECT_THAT(log, HasSubstr("seal-bad-policy: INVALID_ARGUMENT"));
  EXPECT_THAT(log, HasSubstr("name still works"));
  EXPECT_THAT(log, Not(HasSubstr("FAILED")));
}

// Thousands of requests, no reply read: the loop buffers at most
// max_buffered_output of replies, then stops reading the child's requests, so
// the child's writes stall; once it reads, every reply arrives in order.
TEST_P(HostileChildTest, AFloodIsBackpressured) {
  loop_.reset();
  HostedProgramChannelOptions options;
  options.max_buffered_output = 64 * 1024;
  StartLoop(options);
  // 2 MB of requests: far more than a pipe or socket buffer, one read chunk
  // and the output cap together hold.
  std::string log = Hostile({"flood", "seal", "2000", "1024"}, 0);
  EXPECT_THAT(log, HasSubstr("stalled after"));
  EXPECT_THAT(log, HasSubstr("received 2000 replies"));
}

// Unseals answered back to back: while unsealed plaintext waits in the
// program's output buffer, later replies are staged and the buffer grows by
// hand, wiping the old one (std::string's own growth would free the
// plaintext unwiped). Every reply must still arrive whole and in order.
TEST_P(HostileChildTest, PipelinedUnsealsAllArriveWhole) {
  // 64 unseals of 48 KiB: 3 MiB of replies, so the buffer grows several
  // times while it holds plaintext.
  std::string log = Hostile({"flood", "unseal", "64", "49152"}, 0);
  EXPECT_THAT(log, HasSubstr("received 64 replies"));
}

// Shared secrets answered back to back are plaintext in the output buffer
// too: staged and wiped like unsealed data, and every reply still arrives
// whole, in order, and the same.
TEST_P(HostileChildTest, PipelinedSharedSecretsAllArriveWhole) {
  std::string log = Hostile({"flood", "secret", "2000", "8160"}, 0);
  EXPECT_THAT(log, HasSubstr("received 2000 replies"));
}

// A program asks its host to sign statements for names it does not have:
// its name extended by a measurement (which a relying party's `measurement`
// matcher would accept as that program), by Args, after an Ext, the host
// itself, and a delegation for such a name. Every one is refused with the
// reason, nothing is signed, and its own name and Ext(...) still work.
TEST_P(HostileChildTest, ForgedAttestationsAreRefused) {
  const std::string signed_anyway = dir_.Join("signed-anyway");
  std::string log = Hostile({"forge-attest", signed_anyway}, 0);
  for (const char* what : {"forged-program", "forged-args", "forged-after-ext",
                           "forged-host", "forged-delegator"}) {
    EXPECT_THAT(log, HasSubstr(absl::StrCat(what, ": PERMISSION_DENIED")))
        << log;
  }
  EXPECT_THAT(log, HasSubstr("is not the caller or the caller extended by "
                             "Ext(...) only"));
  EXPECT_THAT(log, HasSubstr("own-name: OK"));
  EXPECT_THAT(log, HasSubstr("own-ext: OK"));
  EXPECT_THAT(log, HasSubstr("own-delegation: OK"));
  EXPECT_FALSE(PathExists(signed_anyway)) << "the host signed a forgery";
}

// A flood of requests that are cheap to send but cost the host a signature
// each, all arriving at once. With the default limits the loop must still
// interleave the sibling's calls with the flood's: the sibling finishes
// within the budget and while the flood is still being answered, not after
// the host has worked through every request it had read.
TEST_P(HostileChildTest, AnAttestFloodDoesNotDelayASibling) {
  // Large enough that the host is still answering it when the sibling is
  // done (an Attest costs ~30 us of signing).
  auto hostile = Start(HOSTILE_CHILD, {"flood", "attest", "60000"}, GetParam());
  ASSERT_THAT(hostile, IsOk());
  absl::SleepFor(absl::Milliseconds(100));  // the whole flood is written by now
  absl::Duration took = SiblingSealsAndUnseals("attest-flood");
  auto flood = loop_->GetHostedProgram(hostile->id);
  ASSERT_THAT(flood, IsOk());
  EXPECT_EQ(flood->state, ProgramState::kRunning)
      << "the sibling was served only after the whole flood";
  RecordProperty("sibling_ms",
                 static_cast<int>(absl::ToInt64Milliseconds(took)));
  std::cerr << "sibling beside an attest flood: " << took << " (flood answered "
            << flood->calls << " calls so far)\n";
  EXPECT_THAT(
      loop_->KillHostedProgram(hostile->id),
      testing::AnyOf(IsOk(),
                     test::StatusIs(absl::StatusCode::kFailedPrecondition)));
  EXPECT_THAT(loop_->WaitHostedProgram(hostile->id, absl::Seconds(30)), IsOk());
  LoopStillWorks();
}

// All of them at once, and the sibling still gets through.
TEST_P(HostileChildTest, AllAtOnce) {
  loop_.reset();
  HostedProgramChannelOptions options;
  options.max_buffered_output = 64 * 1024;
  StartLoop(options);
  std::vector<uint64_t> ids;
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"oversize"},
           {"garbage"},
           {"text"},
           {"half"},
           {"half-close"},
           {"close-mid"},
           {"unknown"},
           {"bad-args"},
           {"flood", "random", "20000", "256"},
           {"ignore-term"}}) {
    auto started = Start(HOSTILE_CHILD, args, GetParam());
    ASSERT_THAT(started, IsOk());
    ids.push_back(started->id);
  }
  SiblingSealsAndUnseals("all");
  for (uint64_t id : ids) {
    auto info = loop_->GetHostedProgram(id);
    ASSERT_THAT(info, IsOk());
    if (info->state != ProgramState::kExited) {
      ASSERT_THAT(loop_->StopHostedProgram(id, absl::Milliseconds(100)),
                  IsOk());
    }
    auto done = loop_->WaitHostedProgram(id, absl::Seconds(30));
    ASSERT_THAT(done, IsOk());
    if (!done->exit->signaled) {
      EXPECT_EQ(done->exit->code, 0) << LogOf(*done);
    }
  }
  LoopStillWorks();
}

INSTANTIATE_TEST_SUITE_P(Channels, HostileChildTest,
                         ::testing::Values("pipe", "socketpair", "shm"),
                         test::ChannelKindParamName);

// ---- A thousand launches ----------------------------------------------------

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

// Processes whose parent is this process, as "pid state" strings.
std::vector<std::string> OurChildren() {
  std::vector<std::string> out;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  const int self = static_cast<int>(::getpid());
  while (struct dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::ifstream stat(absl::StrCat("/proc/", entry->d_name, "/stat"));
    std::string line;
    if (!std::getline(stat, line)) continue;
    size_t paren = line.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(line.substr(paren + 2));
    char state = '?';
    int ppid = 0;
    rest >> state >> ppid;
    if (ppid == self)
      out.push_back(absl::StrCat(entry->d_name, " ", std::string(1, state)));
  }
  ::closedir(proc);
  return out;
}

class LaunchLeakTest : public test::LoopFixture {};

TEST_F(LaunchLeakTest, AThousandLaunchesLeaveNoDescriptorsAndNoZombies) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 125;
  loop_.reset();
  HostedProgramChannelOptions options;
  // Bounded, but with room for every launch the other threads make while one
  // thread is between its Start and its Wait (oldest exited are forgotten).
  options.max_exited_programs = 512;
  StartLoop(options);
  // One launch first, so that whatever is set up once (and kept) is there.
  RunToExit(EXIT_CHILD, {}, 0);
  const int fds_before = CountOpenFds();
  ASSERT_GT(fds_before, 0);

  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  absl::Time t0 = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int code = (t + i) % 4;
        static const char* const kKinds[] = {"pipe", "socketpair", "shm"};
        auto started = Start(EXIT_CHILD, {std::to_string(code)}, kKinds[i % 3]);
        if (!started.ok()) {
          ++failed;
          ADD_FAILURE() << started.status();
          continue;
        }
        auto done = loop_->WaitHostedProgram(started->id, absl::Seconds(20));
        if (done.ok() && done->exit.has_value() && !done->exit->signaled &&
            done->exit->code == code) {
          ++ok;
        } else {
          ++failed;
          ADD_FAILURE() << (done.ok() ? done->exit->ToString()
                                      : done.status().ToString());
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  absl::Duration took = absl::Now() - t0;
  std::cerr << kThreads * kPerThread << " launches took " << took << "\n";
  RecordProperty("launches_ms",
                 static_cast<int>(absl::ToInt64Milliseconds(took)));
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_LT(took, absl::Seconds(30));

  EXPECT_EQ(loop_->running(), 0u);
  EXPECT_LE(loop_->ListHostedPrograms().size(), options.max_exited_programs);
  EXPECT_EQ(CountOpenFds(), fds_before);
  EXPECT_THAT(OurChildren(), testing::IsEmpty());
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  // And the loop still works.
  EXPECT_THAT(RunToExit(TOOL, {"name"}, 0), HasSubstr("name: "));
}

}  // namespace
}  // namespace tao
