// What a hosted program runs as, and what it can no longer reach: a dynamic
// uid of its own (no root, no supplementary groups, distinct from its
// siblings'), the host's secrets out of reach, a cgroup its descendants
// cannot leave, a state directory of its own. Real processes, as root.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "program_factory/internal/cgroup.h"
#include "program_factory/internal/identity.h"
#include "program_factory/internal/state_directory.h"
#include "program_factory/process_factory.h"
#include "tao/file_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

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

class ConfinementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to change ids";
    // Like /var/lib: programs must be able to reach their directories.
    ASSERT_EQ(::chmod(state_.path().c_str(), 0755), 0);
  }

  ProcessFactoryOptions Options() {
    ProcessFactoryOptions options;
    options.state_root = state_.Join("programs");
    return options;
  }

  // A started program; its output is read with ReadOutput.
  struct Running {
    std::unique_ptr<HostedProgram> program;
    UniqueFd output;
    std::vector<UniqueFd> channel;
    std::string text;
  };

  Running Start(ProcessFactory& factory, std::vector<std::string> args,
                const std::string& state_directory = "",
                std::optional<uid_t> uid = std::nullopt) {
    Running r;
    ProcessSpec spec;
    spec.path = IDENTITY_CHILD;
    spec.args = std::move(args);
    spec.state_directory = state_directory;
    spec.uid = uid;
    auto program = factory.NewHostedProgram(spec);
    EXPECT_THAT(program, IsOk());
    if (!program.ok()) return r;
    r.program = *std::move(program);
    absl::Status started = r.program->Start(PipeEndpoint(&r.channel));
    EXPECT_THAT(started, IsOk());
    if (started.ok()) r.output = r.program->TakeOutput();
    return r;
  }

  // Reads output until a whole line starting with `marker` shows up or the
  // program's output ends.
  static void ReadUntil(Running& r, absl::string_view marker) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    auto has_line = [&r, marker] {
      size_t at = r.text.find(std::string(marker));
      return at != std::string::npos &&
             r.text.find('\n', at) != std::string::npos;
    };
    while (r.output.valid() && !has_line() &&
           std::chrono::steady_clock::now() < deadline) {
      struct pollfd p = {r.output.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(r.output.get(), buf, sizeof(buf));
      if (n > 0) {
        r.text.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EAGAIN) {
        r.output.Reset();
      }
    }
  }

  // Runs to the end: the output and the exit status. (A descendant may
  // hold the output open: read what is there once the program has exited.)
  static ExitStatus Finish(Running& r) {
    struct pollfd p = {r.program->exit_fd(), POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 10000), 1);
    while (r.output.valid()) {
      char buf[4096];
      ssize_t n = ::read(r.output.get(), buf, sizeof(buf));
      if (n <= 0) break;
      r.text.append(buf, static_cast<size_t>(n));
    }
    auto reaped = r.program->Reap();
    EXPECT_THAT(reaped, IsOk());
    return reaped.value_or(ExitStatus{true, 0});
  }

  std::string RunToEnd(ProcessFactory& factory, std::vector<std::string> args,
                       const std::string& state_directory = "") {
    Running r = Start(factory, std::move(args), state_directory);
    if (r.program == nullptr) return "";
    ExitStatus exit = Finish(r);
    EXPECT_TRUE(exit.success()) << exit.ToString() << r.text;
    return r.text;
  }

  static pid_t EscapedPid(const std::string& text) {
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      pid_t pid = 0;
      if (absl::ConsumePrefix(&line, "escaped ") &&
          absl::SimpleAtoi(line, &pid)) {
        return pid;
      }
    }
    return -1;
  }

  test::TempDir state_;
};

// ---- Identity ---------------------------------------------------------------

TEST_F(ConfinementTest, WithoutAUidAProgramRunsAsADynamicIdentityWithNoGroups) {
  ProcessFactory factory(Options());
  Running r = Start(factory, {"ids"});
  ASSERT_NE(r.program, nullptr);
  Confinement c = r.program->confinement();
  EXPECT_TRUE(c.dynamic_uid);
  ASSERT_TRUE(c.uid.has_value());
  EXPECT_TRUE(kDefaultDynamicUidRange.Contains(*c.uid));
  EXPECT_EQ(c.gid, c.uid);
  EXPECT_TRUE(Finish(r).success());
  const std::string u = absl::StrCat(*c.uid);
  EXPECT_THAT(r.text, HasSubstr(absl::StrCat("Uid:\t", u, "\t", u, "\t", u,
                                             "\t", u, "\n")));
  EXPECT_THAT(r.text, HasSubstr(absl::StrCat("Gid:\t", u, "\t", u, "\t", u,
                                             "\t", u, "\n")));
  EXPECT_THAT(r.text, Not(HasSubstr("Uid:\t0")));
  EXPECT_THAT(r.text, Not(HasSubstr("Gid:\t0")));
  for (absl::string_view line : absl::StrSplit(r.text, '\n')) {
    if (absl::ConsumePrefix(&line, "Groups:")) {
      EXPECT_EQ(absl::StripAsciiWhitespace(line), "") << r.text;
    }
  }
  // Released once it has exited and been reaped.
  EXPECT_EQ(factory.dynamic_uids_in_use(), 0u);
}

TEST_F(ConfinementTest, AUidWithoutAGidDropsGidZeroAndEveryGroup) {
  ProcessFactory factory(Options());
  // nobody: its primary group from /etc/passwd, never root's groups.
  Running r = Start(factory, {"ids"}, "", 65534);
  ASSERT_NE(r.program, nullptr);
  EXPECT_TRUE(Finish(r).success());
  EXPECT_THAT(r.text, HasSubstr("Uid:\t65534\t65534\t65534\t65534\n"));
  EXPECT_THAT(r.text, Not(HasSubstr("Gid:\t0")));
  for (absl::string_view line : absl::StrSplit(r.text, '\n')) {
    if (absl::ConsumePrefix(&line, "Groups:")) {
      EXPECT_EQ(absl::StripAsciiWhitespace(line), "") << r.text;
    }
  }
  EXPECT_FALSE(r.program->confinement().dynamic_uid);
}

TEST_F(ConfinementTest, TwoRunningProgramsNeverShareAUid) {
  ProcessFactory factory(Options());
  std::vector<Running> running;
  std::set<uint32_t> uids;
  for (int i = 0; i < 4; ++i) {
    running.push_back(Start(factory, {"sleep", "30"}));
    ASSERT_NE(running.back().program, nullptr);
    uids.insert(*running.back().program->confinement().uid);
  }
  EXPECT_EQ(uids.size(), 4u);
  EXPECT_EQ(factory.dynamic_uids_in_use(), 4u);
  running.clear();  // killed and reaped
  EXPECT_EQ(factory.dynamic_uids_in_use(), 0u);
}

// ---- What it cannot reach -------------------------------------------------

TEST_F(ConfinementTest, ItCannotReadTheHostsEnvironmentNorItsKeys) {
  test::TempDir keys;  // mode 0700, root: like the host's keys directory
  ASSERT_THAT(WriteFileAtomically(keys.Join("host_key"), "secret", 0600),
              IsOk());
  ProcessFactory factory(Options());
  const std::string environ = absl::StrCat("/proc/", ::getpid(), "/environ");
  std::string out = RunToEnd(factory, {"read", environ});
  EXPECT_THAT(out, HasSubstr(absl::StrCat("read ", environ, ": errno ")));
  EXPECT_THAT(out, Not(HasSubstr(": ok")));
  out = RunToEnd(factory, {"read", keys.Join("host_key")});
  EXPECT_THAT(out, HasSubstr("errno 13"));  // EACCES
}

TEST_F(ConfinementTest, ItCannotPtraceASibling) {
  ProcessFactory factory(Options());
  Running sibling = Start(factory, {"sleep", "30"});
  ASSERT_NE(sibling.program, nullptr);
  ReadUntil(sibling, "ready");
  std::string out =
      RunToEnd(factory, {"ptrace", absl::StrCat(sibling.program->pid())});
  EXPECT_THAT(out, HasSubstr(absl::StrCat("ptrace ", sibling.program->pid(),
                                          ": errno 1\n")));  // EPERM
}

TEST_F(ConfinementTest, ItCannotLeaveItsCgroupNorSignalTheHost) {
  ProcessFactory factory(Options());
  ASSERT_TRUE(factory.cgroups_in_force()) << factory.cgroup_status();
  // The root of the hierarchy, where the host itself may live.
  auto root = internal::FindCgroup2Root("");
  ASSERT_THAT(root, IsOk());
  std::string out = RunToEnd(factory, {"leave", *root + "/cgroup.procs"});
  EXPECT_THAT(out, HasSubstr("leave: errno ")) << out;
  EXPECT_THAT(out, Not(HasSubstr("leave: ok")));
  out = RunToEnd(factory, {"kill", absl::StrCat(::getpid())});
  EXPECT_THAT(out, HasSubstr(absl::StrCat("kill ", ::getpid(), ": errno 1")));
}

// ---- Its tree goes with it --------------------------------------------------

TEST_F(ConfinementTest, ASetsidDescendantIsGoneOnceTheProgramHasExited) {
  ProcessFactory factory(Options());
  ASSERT_TRUE(factory.cgroups_in_force()) << factory.cgroup_status();
  Running r = Start(factory, {"escape"});
  ASSERT_NE(r.program, nullptr);
  EXPECT_THAT(r.program->confinement().cgroup, HasSubstr("/tao/host-"));
  ExitStatus exit = Finish(r);
  EXPECT_TRUE(exit.success()) << r.text;
  pid_t escaped = EscapedPid(r.text);
  ASSERT_GT(escaped, 0) << r.text;
  EXPECT_TRUE(GoneWithin(escaped, absl::Seconds(2)));
}

TEST_F(ConfinementTest, KillTreeTakesASetsidDescendantToo) {
  ProcessFactory factory(Options());
  Running r = Start(factory, {"escape", "stay"});
  ASSERT_NE(r.program, nullptr);
  ReadUntil(r, "escaped ");
  pid_t escaped = EscapedPid(r.text);
  ASSERT_GT(escaped, 0) << r.text;
  ASSERT_TRUE(Alive(escaped));
  // The process group kill of old would miss it: it left the group.
  ASSERT_THAT(r.program->Signal(SIGKILL), IsOk());
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_TRUE(Alive(escaped));
  ASSERT_THAT(r.program->Kill(), IsOk());
  EXPECT_TRUE(GoneWithin(escaped, absl::Seconds(2)));
  Finish(r);
}

TEST_F(ConfinementTest, WithoutCgroupsTheDynamicUidStillTakesTheTree) {
  ProcessFactoryOptions options = Options();
  options.cgroup_root = "none";
  ProcessFactory factory(options);
  EXPECT_FALSE(factory.cgroups_in_force());
  EXPECT_THAT(factory.cgroup_status(), StatusIs(absl::StatusCode::kNotFound));
  Running r = Start(factory, {"escape"});
  ASSERT_NE(r.program, nullptr);
  EXPECT_EQ(r.program->confinement().cgroup, "");
  Finish(r);
  pid_t escaped = EscapedPid(r.text);
  ASSERT_GT(escaped, 0) << r.text;
  EXPECT_TRUE(GoneWithin(escaped, absl::Seconds(2)));
}

// ---- Admin callers: is this pid one of ours?
// ---------------------------------

TEST_F(ConfinementTest, ItsProcessesAreRecognizedAsItsOwn) {
  ProcessFactory factory(Options());
  Running r = Start(factory, {"escape", "stay"});
  ASSERT_NE(r.program, nullptr);
  ReadUntil(r, "escaped ");
  pid_t escaped = EscapedPid(r.text);
  ASSERT_GT(escaped, 0);
  for (pid_t pid : {r.program->pid(), escaped}) {
    auto facts = ReadProcessFacts(pid);
    ASSERT_THAT(facts, IsOk());
    EXPECT_TRUE(r.program->Owns(*facts)) << pid;
    EXPECT_TRUE(factory.Hosts(*facts)) << pid;
  }
  auto mine = ReadProcessFacts(::getpid());
  ASSERT_THAT(mine, IsOk());
  EXPECT_FALSE(r.program->Owns(*mine));
  EXPECT_FALSE(factory.Hosts(*mine));
  EXPECT_THAT(ReadProcessFacts(0x7ffffff0),
              StatusIs(absl::StatusCode::kNotFound));
}

// ---- State directories ----------------------------------------------------

TEST_F(ConfinementTest, AStateDirectoryIsTheProgramsAndSurvivesARestart) {
  ProcessFactory factory(Options());
  Running first = Start(factory, {"state"}, "demo-secret");
  ASSERT_NE(first.program, nullptr);
  const Confinement c = first.program->confinement();
  const std::string dir = state_.Join("programs/demo-secret");
  EXPECT_EQ(c.state_directory, dir);
  EXPECT_TRUE(Finish(first).success()) << first.text;
  EXPECT_THAT(first.text, HasSubstr("state: " + dir + "\n"));
  EXPECT_THAT(first.text, HasSubstr("wrote the marker"));
  struct stat st;
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, *c.uid);
  EXPECT_EQ(st.st_gid, *c.gid);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(state_.Join("programs").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  // Again: the same content.
  EXPECT_THAT(RunToEnd(factory, {"state"}, "demo-secret"),
              HasSubstr("marker: first"));
}

TEST_F(ConfinementTest, AStateDirectoryFollowsTheProgramToANewUid) {
  ProcessFactory factory(Options());
  EXPECT_THAT(RunToEnd(factory, {"state"}, "moving"),
              HasSubstr("wrote the marker"));
  // Hold the uid the name hashes to, so the next run gets another.
  Running holder = Start(factory, {"sleep", "30"}, "moving-holder");
  const std::string dir = state_.Join("programs/moving");
  // A planted link must be changed, never followed.
  const std::string victim = state_.Join("victim");
  ASSERT_THAT(WriteFileAtomically(victim, "root's", 0600), IsOk());
  EXPECT_THAT(RunToEnd(factory, {"plant", victim}, "moving"),
              HasSubstr("planted"));
  struct stat before;
  ASSERT_EQ(::stat(dir.c_str(), &before), 0);
  // Another identity for the same directory: an explicit one.
  Running r = Start(factory, {"state"}, "moving", 65534);
  ASSERT_NE(r.program, nullptr);
  EXPECT_TRUE(Finish(r).success()) << r.text;
  EXPECT_THAT(r.text, HasSubstr("marker: first"));
  struct stat st;
  ASSERT_EQ(::stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u) << "the link was followed";
  ASSERT_EQ(::lstat((dir + "/marker").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  ASSERT_EQ(::lstat((dir + "/sub/link").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_NE(before.st_uid, 65534u);
}

TEST_F(ConfinementTest, TwoRunningProgramsCannotShareAStateDirectory) {
  ProcessFactory factory(Options());
  Running first = Start(factory, {"sleep", "30"}, "shared");
  ASSERT_NE(first.program, nullptr);
  ProcessSpec spec;
  spec.path = IDENTITY_CHILD;
  spec.args = {"state"};
  spec.state_directory = "shared";
  auto second = factory.NewHostedProgram(spec);
  ASSERT_THAT(second, IsOk());
  std::vector<UniqueFd> keep;
  EXPECT_THAT((*second)->Start(PipeEndpoint(&keep)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("still running")));
  // Its failed start gave back what it took.
  EXPECT_EQ(factory.dynamic_uids_in_use(), 1u);
}

TEST_F(ConfinementTest, AStateDirectoryLinkPlantedInItsPlaceIsRefused) {
  ProcessFactory factory(Options());
  EXPECT_THAT(RunToEnd(factory, {"state"}, "other"), HasSubstr("wrote"));
  ASSERT_EQ(::symlink(state_.Join("programs/other").c_str(),
                      state_.Join("programs/linked").c_str()),
            0);
  ProcessSpec spec;
  spec.path = IDENTITY_CHILD;
  spec.args = {"state"};
  spec.state_directory = "linked";
  auto program = factory.NewHostedProgram(spec);
  ASSERT_THAT(program, IsOk());
  std::vector<UniqueFd> keep;
  EXPECT_THAT((*program)->Start(PipeEndpoint(&keep)), Not(IsOk()));
}

TEST_F(ConfinementTest,
       AStateRootProgramsCannotReachIsRefusedAndUmaskIsNoMatter) {
  test::TempDir closed;  // 0700 root, like a host's private directory
  ProcessFactoryOptions options = Options();
  options.state_root = closed.Join("programs");
  EXPECT_THAT(
      ProcessFactory::Create(options),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("mode 0700")));
  // Under the systemd unit's umask (0077) the root is still made 0755.
  mode_t old = ::umask(077);
  ProcessFactory factory(Options());
  std::string out = RunToEnd(factory, {"state"}, "umask");
  ::umask(old);
  EXPECT_THAT(out, HasSubstr("wrote the marker"));
  struct stat st;
  ASSERT_EQ(::stat(state_.Join("programs").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST(StateDirectoryNameTest, OnlyOnePathComponent) {
  for (const char* bad :
       {"", ".", "..", "a/b", "/abs", ".hidden", "a b", "a\nb"}) {
    EXPECT_THAT(internal::ValidateStateDirectoryName(bad),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
  EXPECT_THAT(internal::ValidateStateDirectoryName(std::string(129, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  for (const char* good : {"demo-secret", "a", "db_1.2"}) {
    EXPECT_THAT(internal::ValidateStateDirectoryName(good), IsOk()) << good;
  }
  ProcessFactory factory;
  ProcessSpec spec;
  spec.path = IDENTITY_CHILD;
  spec.state_directory = "../etc";
  EXPECT_THAT(factory.NewHostedProgram(spec),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---- Measurement
// --------------------------------------------------------------

TEST(RunAsMeasurementTest, WorkingDirRunAsAndStateDirChangeTheArgsDigest) {
  ProcessFactory factory;
  ProcessSpec spec;
  spec.path = IDENTITY_CHILD;
  spec.args = {"ids"};
  std::set<std::string> digests;
  auto digest = [&factory](const ProcessSpec& s) {
    auto program = factory.NewHostedProgram(s);
    EXPECT_THAT(program, IsOk());
    return program.ok() ? (*program)->identity().args_digest : "";
  };
  digests.insert(digest(spec));
  ProcessSpec cwd = spec;
  cwd.working_dir = "/tmp";
  EXPECT_TRUE(digests.insert(digest(cwd)).second) << "working_dir";
  ProcessSpec root = spec;
  root.uid = 0;
  EXPECT_TRUE(digests.insert(digest(root)).second) << "uid 0";
  ProcessSpec nobody = spec;
  nobody.uid = 65534;
  EXPECT_TRUE(digests.insert(digest(nobody)).second) << "uid 65534";
  nobody.gid = 0;
  EXPECT_TRUE(digests.insert(digest(nobody)).second) << "gid 0";
  ProcessSpec state = spec;
  state.state_directory = "s";
  EXPECT_TRUE(digests.insert(digest(state)).second) << "state directory";
  // The dynamic number itself is not measured: the same spec, the same name.
  EXPECT_EQ(digest(spec), digest(spec));
  // The default spec's digest is DigestArgsAndEnv's.
  EXPECT_EQ(digest(spec), DigestArgsAndEnv({IDENTITY_CHILD, "ids"}, {}));
  // An explicit uid is measured with its resolved gid.
  auto program = factory.NewHostedProgram(root);
  ASSERT_THAT(program, IsOk());
  EXPECT_EQ((*program)->identity().run_as.ToString(), "uid 0 gid 0");
}

TEST(RunAsMeasurementTest, DuplicateEnvironmentNamesAreRefused) {
  ProcessFactory factory;
  ProcessSpec spec;
  spec.path = IDENTITY_CHILD;
  spec.env = {{"A", "1"}, {"B", "2"}, {"A", "3"}};
  EXPECT_THAT(factory.NewHostedProgram(spec),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("environment variable A")));
  spec.gid = 5;
  spec.env.clear();
  EXPECT_THAT(factory.NewHostedProgram(spec),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("gid")));
}

// ---- The range ------------------------------------------------------------

TEST(UidRangeTest, ParsedCheckedAgainstTheMachinesUsersAndAllocated) {
  auto range = ParseUidRange("100-102");
  ASSERT_THAT(range, IsOk());
  EXPECT_EQ(range->size(), 3u);
  for (const char* bad : {"", "5", "0-10", "10-5", "a-b", "1-4294967295"}) {
    EXPECT_THAT(ParseUidRange(bad),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
  test::TempDir dir;
  ASSERT_THAT(WriteFileAtomically(dir.Join("passwd"),
                                  "root:x:0:0::/root:/bin/sh\n"
                                  "svc:x:101:101::/:/bin/false\n",
                                  0644),
              IsOk());
  EXPECT_THAT(CheckRangeIsUnused(*range, dir.Join("passwd"), dir.Join("none")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("'svc' (id 101)")));
  EXPECT_THAT(CheckRangeIsUnused(kDefaultDynamicUidRange), IsOk());
  ProcessFactoryOptions options;
  options.dynamic_uids = *range;
  options.passwd_file = dir.Join("passwd");
  EXPECT_THAT(ProcessFactory::Create(options),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  options.cgroup_root = dir.path();  // not a cgroup2 mount
  options.dynamic_uids = kDefaultDynamicUidRange;
  EXPECT_THAT(ProcessFactory::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument));

  internal::UidAllocator allocator(*range);
  std::set<uint32_t> got;
  for (int i = 0; i < 3; ++i) {
    auto uid = allocator.Allocate("same hint");
    ASSERT_THAT(uid, IsOk());
    EXPECT_TRUE(range->Contains(*uid));
    got.insert(*uid);
  }
  EXPECT_EQ(got.size(), 3u);
  EXPECT_THAT(allocator.Allocate("x"),
              StatusIs(absl::StatusCode::kResourceExhausted));
  allocator.Release(*got.begin());
  EXPECT_THAT(allocator.Allocate("y"), IsOk());
}

// Two allocators (two hosts) over one range never hand out the same uid:
// the second skips what the first holds, and gets it once it is released.
TEST(UidAllocatorTest, TwoAllocatorsOnOneMachineNeverShareAUid) {
  test::TempDir dir;
  auto range = ParseUidRange("1509949440-1509949441");
  ASSERT_THAT(range, IsOk());
  const std::string locks = dir.Join("locks");
  internal::UidAllocator first(*range, locks);
  internal::UidAllocator second(*range, locks);
  auto a = first.Allocate("");
  ASSERT_THAT(a, IsOk());
  auto b = second.Allocate("");
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(*a, *b);
  EXPECT_THAT(second.Allocate(""),
              StatusIs(absl::StatusCode::kResourceExhausted));
  first.Release(*a);
  auto c = second.Allocate("");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(*c, *a);
}

}  // namespace
}  // namespace tao
