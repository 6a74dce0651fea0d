// ProcessFactory with real executables: measure-then-exec, the environment
// allow-list, the args digest, and exactly what a started child receives
// (environment, descriptors, session, signal state).
#include "program_factory/process_factory.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/file_util.h"
#include "tao/program_signature.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

// The child's end of a pipe channel, and our ends.
struct TestChannel {
  ChildEndpoint endpoint;
  UniqueFd to_child;    // we write
  UniqueFd from_child;  // we read
};

TestChannel PipeChannel() {
  TestChannel channel;
  int a[2], b[2];
  EXPECT_EQ(::pipe2(a, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(b, O_CLOEXEC), 0);
  channel.to_child.Reset(a[1]);
  channel.from_child.Reset(b[0]);
  channel.endpoint.fds.push_back({UniqueFd(a[0]), 3});
  channel.endpoint.fds.push_back({UniqueFd(b[1]), 4});
  channel.endpoint.channel_env = "pipe:3,4";
  return channel;
}

TestChannel SocketChannel() {
  TestChannel channel;
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  channel.to_child.Reset(sv[0]);
  channel.endpoint.fds.push_back({UniqueFd(sv[1]), 3});
  channel.endpoint.channel_env = "socket:3";
  return channel;
}

struct Finished {
  ExitStatus exit;
  std::string output;
};

// Starts `program`, collects its output to EOF and reaps it.
Finished RunProgram(HostedProgram& program, ChildEndpoint endpoint) {
  Finished out;
  absl::Status started = program.Start(std::move(endpoint));
  EXPECT_THAT(started, IsOk());
  if (!started.ok()) return out;
  UniqueFd output = program.TakeOutput();
  EXPECT_TRUE(output.valid());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (output.valid() && std::chrono::steady_clock::now() < deadline) {
    struct pollfd p = {output.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(output.get(), buf, sizeof(buf));
    if (n > 0) {
      out.output.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EAGAIN) {
      output.Reset();
    }
  }
  struct pollfd p = {program.exit_fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 10000), 1);
  auto reaped = program.Reap();
  EXPECT_THAT(reaped, IsOk());
  if (reaped.ok()) out.exit = *reaped;
  return out;
}

std::vector<std::string> Lines(const std::string& text,
                               absl::string_view prefix) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, prefix)) out.emplace_back(line);
  }
  return out;
}

// Descriptor numbers from probe-child's "fd N -> target" lines.
std::set<int> FdNumbers(const std::string& output) {
  std::set<int> fds;
  for (const std::string& line : Lines(output, "fd "))
    fds.insert(std::atoi(line.c_str()));
  return fds;
}

std::string CopyExecutable(const test::TempDir& dir, const std::string& from,
                           const std::string& name) {
  auto bytes = ReadFileToString(from, 256 << 20);
  EXPECT_THAT(bytes, IsOk());
  std::string to = dir.Join(name);
  EXPECT_THAT(WriteFileAtomically(to, bytes.value_or(""), 0755), IsOk());
  return to;
}

// Holds descriptors 3 and 4 (the channel's numbers in the child) while it
// lives, if they are free, so that the measured copy of a program cannot land
// there. Subprocess bug (see ExecutesAMemfdThatTookAChannelNumber): the
// child's dup2 onto 3 and 4 replaces a memfd numbered 3 or 4 before fexecve.
class LowFdPlaceholders {
 public:
  LowFdPlaceholders() {
    for (int fd : {3, 4}) {
      if (::fcntl(fd, F_GETFD) >= 0) continue;  // in use already
      UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (null.get() == fd) {
        held_.push_back(std::move(null));
      } else if (null.valid() && ::dup3(null.get(), fd, O_CLOEXEC) == fd) {
        held_.emplace_back(fd);
      }
    }
  }
  void Release() { held_.clear(); }

 private:
  std::vector<UniqueFd> held_;
};

class ProcessFactoryTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<HostedProgram>> New(
      const std::string& path, std::vector<std::string> args,
      std::vector<std::pair<std::string, std::string>> env = {}) {
    ProcessSpec spec;
    spec.path = path;
    spec.args = std::move(args);
    spec.env = std::move(env);
    return factory_.NewHostedProgram(spec);
  }

  Finished Run(const std::string& path, std::vector<std::string> args,
               std::vector<std::pair<std::string, std::string>> env = {}) {
    auto program = New(path, std::move(args), std::move(env));
    EXPECT_THAT(program, IsOk());
    if (!program.ok()) return Finished();
    TestChannel channel = PipeChannel();
    return RunProgram(**program, std::move(channel.endpoint));
  }

  LowFdPlaceholders placeholders_;
  test::TempDir dir_;
  ProcessFactory factory_;
};

// ---- MeasureExecutable ----------------------------------------------------

TEST(MeasureExecutableTest, DigestIsSha256OfTheFileBytes) {
  auto bytes = ReadFileToString(PROBE_CHILD, 256 << 20);
  ASSERT_THAT(bytes, IsOk());
  auto measured = MeasureExecutable(PROBE_CHILD, size_t{1} << 30);
  ASSERT_THAT(measured, IsOk());
  EXPECT_EQ(measured->digest, Sha256(*bytes));
  EXPECT_EQ(measured->digest.size(), 32u);
  EXPECT_EQ(measured->size, bytes->size());
  EXPECT_TRUE(measured->memfd.valid());
}

TEST(MeasureExecutableTest, TheMemfdIsSealedAndHoldsTheBytes) {
  auto bytes = ReadFileToString(PROBE_CHILD, 256 << 20);
  ASSERT_THAT(bytes, IsOk());
  auto measured = MeasureExecutable(PROBE_CHILD, size_t{1} << 30);
  ASSERT_THAT(measured, IsOk());
  int fd = measured->memfd.get();
  int seals = ::fcntl(fd, F_GET_SEALS);
  ASSERT_GE(seals, 0);
  EXPECT_EQ(seals & F_SEAL_WRITE, F_SEAL_WRITE);
  EXPECT_EQ(seals & F_SEAL_GROW, F_SEAL_GROW);
  EXPECT_EQ(seals & F_SEAL_SHRINK, F_SEAL_SHRINK);
  EXPECT_EQ(seals & F_SEAL_SEAL, F_SEAL_SEAL);
  // Nothing can change it now.
  EXPECT_EQ(::pwrite(fd, "x", 1, 0), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_NE(::ftruncate(fd, 1), 0);
  EXPECT_NE(::fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0);
  EXPECT_EQ(::fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  std::string copy(measured->size, '\0');
  ASSERT_EQ(::pread(fd, copy.data(), copy.size(), 0),
            static_cast<ssize_t>(copy.size()));
  EXPECT_TRUE(copy == *bytes);
}

TEST(MeasureExecutableTest, RefusesWhatIsNotARegularFile) {
  test::TempDir dir;
  EXPECT_THAT(MeasureExecutable(dir.Join("missing"), 1 << 20),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(
      MeasureExecutable(dir.path(), 1 << 20),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("regular file")));
  EXPECT_THAT(
      MeasureExecutable("/dev/null", 1 << 20),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("regular file")));
  ASSERT_THAT(WriteFileAtomically(dir.Join("empty"), "", 0755), IsOk());
  EXPECT_THAT(MeasureExecutable(dir.Join("empty"), 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(MeasureExecutable(PROBE_CHILD, 100),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
}

// A FIFO must be refused, not waited on: opening one for reading blocks until
// a writer comes, which would hang whoever asked to start it.
TEST(MeasureExecutableTest, RefusesAFifoWithoutBlocking) {
  test::TempDir dir;
  std::string fifo = dir.Join("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto result = std::async(std::launch::async, [&fifo] {
    return MeasureExecutable(fifo, 1 << 20).status();
  });
  if (result.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
    // Unblock it so the test can end, then fail.
    UniqueFd writer(::open(fifo.c_str(), O_WRONLY | O_CLOEXEC));
    ADD_FAILURE() << "MeasureExecutable blocked opening a FIFO";
  }
  EXPECT_THAT(result.get(), StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---- DigestArgsAndEnv ------------------------------------------------------

TEST(DigestArgsAndEnvTest, EveryChangeChangesTheDigest) {
  using Env = std::vector<std::pair<std::string, std::string>>;
  const std::vector<std::string> argv = {"/bin/p", "a", "bc"};
  const Env env = {{"A", "1"}, {"B", "2"}};
  std::set<std::string> digests;
  auto add = [&digests](const std::vector<std::string>& a, const Env& e) {
    std::string d = DigestArgsAndEnv(a, e);
    EXPECT_EQ(d.size(), 32u);
    return digests.insert(d).second;
  };
  EXPECT_TRUE(add(argv, env));
  EXPECT_TRUE(add({"/bin/q", "a", "bc"}, env));      // argv[0]
  EXPECT_TRUE(add({"/bin/p", "a", "bd"}, env));      // an arg's value
  EXPECT_TRUE(add({"/bin/p", "bc", "a"}, env));      // arg order
  EXPECT_TRUE(add({"/bin/p", "ab", "c"}, env));      // arg boundaries
  EXPECT_TRUE(add({"/bin/p", "a", "bc", ""}, env));  // an empty arg
  EXPECT_TRUE(add({"/bin/p", "a"}, env));            // one fewer arg
  EXPECT_TRUE(add(argv, {{"A", "1"}, {"B", "3"}}));  // an env value
  EXPECT_TRUE(add(argv, {{"A", "1"}, {"C", "2"}}));  // an env name
  EXPECT_TRUE(add(argv, {{"A", "1"}}));              // one fewer variable
  EXPECT_TRUE(
      add(argv, {{"A", "1"}, {"B", "2"}, {"C", ""}}));  // an empty one more
  EXPECT_TRUE(add(argv, {{"A", "12"}, {"B", ""}}));     // name/value boundaries
  EXPECT_TRUE(add(argv, {{"A1", ""}, {"B", "2"}}));
  EXPECT_TRUE(add(argv, {}));
  EXPECT_TRUE(
      add({"/bin/p", "a", "bc", "A", "1", "B", "2"}, {}));  // env as args
  EXPECT_TRUE(add({}, {}));
}

TEST(DigestArgsAndEnvTest, EnvOrderDoesNotMatter) {
  const std::vector<std::string> argv = {"/bin/p", "x"};
  EXPECT_EQ(DigestArgsAndEnv(argv, {{"A", "1"}, {"B", "2"}, {"C", "3"}}),
            DigestArgsAndEnv(argv, {{"C", "3"}, {"A", "1"}, {"B", "2"}}));
  EXPECT_EQ(DigestArgsAndEnv(argv, {}), DigestArgsAndEnv(argv, {}));
}

// ---- NewHostedProgram: what is refused ------------------------------------

TEST_F(ProcessFactoryTest, RelativePathsAreRefused) {
  for (const char* path :
       {"", "probe-child", "./probe-child", "bin/probe-child"}) {
    EXPECT_THAT(New(path, {}), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("absolute")))
        << path;
  }
}

TEST_F(ProcessFactoryTest, NonRegularFilesAreRefused) {
  EXPECT_THAT(New(dir_.path(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(New("/dev/null", {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(New(dir_.Join("missing"), {}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ProcessFactoryTest, DefaultEnvRefusesLoaderAndTaoVariables) {
  for (const char* name : {"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT",
                           "TAO_CHANNEL", "TAO_ANYTHING"}) {
    EXPECT_THAT(New(PROBE_CHILD, {}, {{name, "x"}}),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(name)))
        << name;
  }
  EXPECT_THAT(New(PROBE_CHILD, {}, {{"FOO", "bar"}, {"LANG", "C"}}), IsOk());
}

TEST_F(ProcessFactoryTest, MalformedEnvAndArgsAreRefused) {
  EXPECT_THAT(New(PROBE_CHILD, {}, {{"", "x"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(New(PROBE_CHILD, {}, {{"A=B", "x"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(New(PROBE_CHILD, {}, {{std::string("A\0B", 3), "x"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(New(PROBE_CHILD, {}, {{"A", std::string("x\0y", 3)}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(New(PROBE_CHILD, {std::string("a\0b", 3)}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ProcessFactoryAllowlistTest, OnlyListedNamesPass) {
  ProcessFactoryOptions options;
  options.env_allowlist = {"FOO", "LANG"};
  ProcessFactory factory(options);
  ProcessSpec spec;
  spec.path = PROBE_CHILD;
  spec.env = {{"FOO", "1"}, {"LANG", "C"}};
  EXPECT_THAT(factory.NewHostedProgram(spec), IsOk());
  for (const char* name : {"BAR", "LD_PRELOAD", "foo"}) {
    spec.env = {{"FOO", "1"}, {name, "x"}};
    EXPECT_THAT(
        factory.NewHostedProgram(spec),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("allow-list")))
        << name;
  }
  // The host's own variables stay reserved even when an allow-list names them.
  options.env_allowlist.push_back("TAO_CHANNEL");
  ProcessFactory listing_tao(options);
  spec.env = {{"TAO_CHANNEL", "pipe:0,1"}};
  EXPECT_THAT(
      listing_tao.NewHostedProgram(spec),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reserved")));
}

TEST(ProcessFactoryLimitTest, LargerThanTheLimitIsRefused) {
  ProcessFactoryOptions options;
  options.max_program_size = 1000;
  ProcessFactory factory(options);
  ProcessSpec spec;
  spec.path = PROBE_CHILD;
  EXPECT_THAT(factory.NewHostedProgram(spec),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
}

// ---- NewHostedProgram: the identity -----------------------------------------

TEST_F(ProcessFactoryTest, IdentityIsProgramThenArgs) {
  auto bytes = ReadFileToString(PROBE_CHILD, 256 << 20);
  ASSERT_THAT(bytes, IsOk());
  std::vector<std::pair<std::string, std::string>> env = {{"B", "2"},
                                                          {"A", "1"}};
  auto program = New(PROBE_CHILD, {"env", "x"}, env);
  ASSERT_THAT(program, IsOk());
  const ProgramIdentity& id = (*program)->identity();
  EXPECT_EQ(id.measurement, Sha256(*bytes));
  EXPECT_FALSE(id.publisher.has_value());
  EXPECT_EQ(id.args_digest, DigestArgsAndEnv({PROBE_CHILD, "env", "x"}, env));
  ASSERT_EQ(id.subprincipals.size(), 2u);
  EXPECT_EQ(id.subprincipals[0].ToString(),
            absl::StrCat("Program(sha256:", HexEncode(id.measurement), ")"));
  EXPECT_EQ(id.subprincipals[1].ToString(),
            absl::StrCat("Args(sha256:", HexEncode(id.args_digest), ")"));
  EXPECT_EQ((*program)->pid(), -1);
  EXPECT_EQ((*program)->exit_fd(), -1);
}

TEST_F(ProcessFactoryTest, ASignedProgramNamesItsPublisherAfterItsMeasurement) {
  std::string copy = CopyExecutable(dir_, PROBE_CHILD, "signed");
  auto bytes = ReadFileToString(copy, 256 << 20);
  ASSERT_THAT(bytes, IsOk());
  auto publisher = SigningKey::Generate();
  ASSERT_THAT(publisher, IsOk());
  auto signature = SignProgram(*publisher, Sha256(*bytes), "probe", 7);
  ASSERT_THAT(signature, IsOk());
  ASSERT_THAT(WriteFileAtomically(copy + ".taosig", *signature, 0644), IsOk());
  auto program = New(copy, {});
  ASSERT_THAT(program, IsOk());
  const ProgramIdentity& id = (*program)->identity();
  ASSERT_TRUE(id.publisher.has_value());
  EXPECT_EQ(id.publisher->product, "probe");
  EXPECT_EQ(id.publisher->version, 7u);
  ASSERT_EQ(id.subprincipals.size(), 3u);
  EXPECT_EQ(id.subprincipals[0].kind(), "Program");
  EXPECT_EQ(id.subprincipals[1].kind(), "Publisher");
  EXPECT_EQ(id.subprincipals[2].kind(), "Args");
}

TEST_F(ProcessFactoryTest, ABadSignatureIsRefusedNotIgnored) {
  std::string copy = CopyExecutable(dir_, PROBE_CHILD, "signed");
  auto publisher = SigningKey::Generate();
  ASSERT_THAT(publisher, IsOk());
  // A signature for other bytes.
  auto other = SignProgram(*publisher, Sha256("other bytes"), "probe", 1);
  ASSERT_THAT(other, IsOk());
  ASSERT_THAT(WriteFileAtomically(copy + ".taosig", *other, 0644), IsOk());
  EXPECT_THAT(New(copy, {}), StatusIs(absl::StatusCode::kUnauthenticated,
                                      HasSubstr(".taosig")));
  // Garbage.
  ASSERT_THAT(WriteFileAtomically(copy + ".taosig", "garbage", 0644), IsOk());
  EXPECT_THAT(New(copy, {}),
              StatusIs(AnyOf(absl::StatusCode::kInvalidArgument,
                             absl::StatusCode::kUnauthenticated)));
  // Too large to be a signature.
  ASSERT_THAT(
      WriteFileAtomically(copy + ".taosig", std::string(100000, 'x'), 0644),
      IsOk());
  EXPECT_THAT(New(copy, {}), Not(IsOk()));
}

// ---- Start: what runs, and what it gets -------------------------------------

// The name promises the bytes that run: a file replaced after it was measured
// does not change what is executed.
TEST_F(ProcessFactoryTest, AFileChangedAfterMeasurementDoesNotChangeWhatRuns) {
  std::string copy = CopyExecutable(dir_, PROBE_CHILD, "program");
  auto program = New(copy, {"marker"});
  ASSERT_THAT(program, IsOk());
  // Overwrite in place (same inode) with another program, then also replace
  // the directory entry.
  auto other = ReadFileToString(PROBE_CHILD_OTHER, 256 << 20);
  ASSERT_THAT(other, IsOk());
  {
    UniqueFd f(::open(copy.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    ASSERT_TRUE(f.valid());
    ASSERT_EQ(::write(f.get(), other->data(), other->size()),
              static_cast<ssize_t>(other->size()));
  }
  TestChannel channel = PipeChannel();
  Finished done = RunProgram(**program, std::move(channel.endpoint));
  EXPECT_TRUE(done.exit.success()) << done.exit.ToString();
  EXPECT_THAT(done.output, HasSubstr("probe: probe-child\n"));
  EXPECT_THAT(done.output, Not(HasSubstr("other")));
  // The file now measures differently: a new start gets a new name.
  auto again = New(copy, {"marker"});
  ASSERT_THAT(again, IsOk());
  EXPECT_NE((*again)->identity().measurement,
            (*program)->identity().measurement);
  EXPECT_EQ((*again)->identity().measurement, Sha256(*other));
  Finished replaced = RunProgram(**again, PipeChannel().endpoint);
  EXPECT_THAT(replaced.output, HasSubstr("probe: other"));
}

TEST_F(ProcessFactoryTest, ChildGetsExactlyTheSetEnvironmentAndTaoChannel) {
  ASSERT_EQ(::setenv("TAO_TEST_HOST_ONLY", "leak", 1), 0);
  Finished done = Run(PROBE_CHILD, {"env"}, {{"FOO", "bar"}, {"EMPTY", ""}});
  ::unsetenv("TAO_TEST_HOST_ONLY");
  EXPECT_TRUE(done.exit.success()) << done.output;
  EXPECT_THAT(
      Lines(done.output, "env: "),
      UnorderedElementsAre("FOO=bar", "EMPTY=", "TAO_CHANNEL=pipe:3,4"));
}

TEST_F(ProcessFactoryTest, ChildGetsArgvWithItsPathAsArgv0) {
  Finished done = Run(PROBE_CHILD, {"args", "one", "", "two words"});
  EXPECT_THAT(Lines(done.output, "arg "),
              ElementsAre(absl::StrCat("0: ", PROBE_CHILD), "1: args", "2: one",
                          "3: ", "4: two words"));
}

TEST_F(ProcessFactoryTest, ChildFdsAreExactlyStdioAndThePipeChannel) {
  Finished done = Run(PROBE_CHILD, {"fds"});
  EXPECT_TRUE(done.exit.success()) << done.output;
  EXPECT_THAT(FdNumbers(done.output), ElementsAre(0, 1, 2, 3, 4))
      << done.output;
  EXPECT_THAT(done.output, HasSubstr("fd 0 -> /dev/null\n"));
  std::vector<std::string> lines = Lines(done.output, "fd ");
  ASSERT_GE(lines.size(), 3u);
  // stdout and stderr are the same pipe, the host's output capture.
  EXPECT_EQ(lines[1].substr(5), lines[2].substr(5));
  EXPECT_THAT(lines[1], HasSubstr("pipe:"));
}

TEST_F(ProcessFactoryTest, ChildFdsAreExactlyStdioAndTheSocketChannel) {
  auto program = New(PROBE_CHILD, {"fds"});
  ASSERT_THAT(program, IsOk());
  TestChannel channel = SocketChannel();
  Finished done = RunProgram(**program, std::move(channel.endpoint));
  EXPECT_THAT(FdNumbers(done.output), ElementsAre(0, 1, 2, 3)) << done.output;
  EXPECT_THAT(done.output, HasSubstr("fd 3 -> socket:"));
}

// A descriptor the host holds without O_CLOEXEC (inherited from whoever
// started the host, or opened by a library) must not reach hosted programs.
TEST_F(ProcessFactoryTest, ChildDoesNotInheritTheHostsOtherDescriptors) {
  UniqueFd inheritable(::open("/dev/zero", O_RDONLY));  // no O_CLOEXEC
  ASSERT_TRUE(inheritable.valid());
  UniqueFd high(::fcntl(inheritable.get(), F_DUPFD, 100));  // no O_CLOEXEC
  ASSERT_TRUE(high.valid());
  Finished done = Run(PROBE_CHILD, {"fds"});
  EXPECT_THAT(FdNumbers(done.output), ElementsAre(0, 1, 2, 3, 4))
      << done.output;
  EXPECT_THAT(done.output, Not(HasSubstr("/dev/zero")));
}

TEST_F(ProcessFactoryTest, ChildLeadsANewSessionWithResetSignals) {
  // Whatever the host blocks or ignores, the child starts clean.
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &usr1, &old), 0);
  struct sigaction ignore = {}, old_action = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGUSR2, &ignore, &old_action), 0);
  Finished signals = Run(PROBE_CHILD, {"signals"});
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::sigaction(SIGUSR2, &old_action, nullptr);
  EXPECT_THAT(signals.output, HasSubstr("SigBlk:\t0000000000000000"));
  EXPECT_THAT(signals.output, HasSubstr("SigIgn:\t0000000000000000"));

  Finished session = Run(PROBE_CHILD, {"session"});
  std::vector<std::string> line = absl::StrSplit(session.output, ' ');
  ASSERT_GE(line.size(), 6u) << session.output;
  EXPECT_EQ(line[1], line[3]) << "pid == sid";
  EXPECT_EQ(absl::StripTrailingAsciiWhitespace(line[5]), line[1])
      << "pid == pgid";
}

void CountSignal(int) {}

// The child runs in the host's memory until it execs (clone with CLONE_VM),
// with every signal blocked until it has reset the dispositions. What can be
// seen from outside: the child starts with nothing blocked, ignored or
// caught of the host's, and the host's own mask is as it was after the start.
TEST_F(ProcessFactoryTest, HostHandlersAreNotInheritedAndTheHostMaskIsKept) {
  struct sigaction handler = {}, old_action = {};
  handler.sa_handler = CountSignal;
  ASSERT_EQ(::sigaction(SIGUSR1, &handler, &old_action), 0);
  sigset_t before, after, usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &usr2, &before), 0);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &before), 0);
  Finished signals = Run(PROBE_CHILD, {"signals"});
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &after), 0);
  pthread_sigmask(SIG_UNBLOCK, &usr2, nullptr);
  ::sigaction(SIGUSR1, &old_action, nullptr);
  EXPECT_THAT(signals.output, HasSubstr("SigBlk:\t0000000000000000"));
  EXPECT_THAT(signals.output, HasSubstr("SigIgn:\t0000000000000000"));
  // SIGUSR1's handler is not the child's (a sanitizer build of probe-child
  // catches SIGSEGV, SIGBUS and SIGFPE of its own accord).
  std::vector<std::string> caught = Lines(signals.output, "SigCgt:\t");
  ASSERT_EQ(caught.size(), 1u) << signals.output;
  uint64_t mask = std::strtoull(caught[0].c_str(), nullptr, 16);
  EXPECT_EQ(mask & (uint64_t{1} << (SIGUSR1 - 1)), 0u) << signals.output;
  for (int sig = 1; sig < NSIG; ++sig) {
    EXPECT_EQ(sigismember(&before, sig), sigismember(&after, sig)) << sig;
  }
}

TEST_F(ProcessFactoryTest, UidAndGidAreDroppedWithTheSupplementaryGroups) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to change ids";
  ProcessSpec spec;
  spec.path = PROBE_CHILD;
  spec.args = {"ids"};
  spec.uid = 65534;
  spec.gid = 65534;
  auto program = factory_.NewHostedProgram(spec);
  ASSERT_THAT(program, IsOk());
  Finished done = RunProgram(**program, PipeChannel().endpoint);
  EXPECT_TRUE(done.exit.success()) << done.exit.ToString() << done.output;
  EXPECT_THAT(done.output, HasSubstr("Uid:\t65534\t65534\t65534\t65534\n"));
  EXPECT_THAT(done.output, HasSubstr("Gid:\t65534\t65534\t65534\t65534\n"));
  std::vector<std::string> groups = Lines(done.output, "Groups:");
  ASSERT_EQ(groups.size(), 1u) << done.output;
  EXPECT_EQ(absl::StripAsciiWhitespace(groups[0]), "");
  // Only this child changed ids: the host (whose threads share nothing of
  // the child's credentials) is still root.
  EXPECT_EQ(::geteuid(), 0u);
  EXPECT_EQ(::getegid(), 0u);
}

// Several threads starting programs at once, while others keep running:
// each child gets its own descriptors and runs its own program.
TEST_F(ProcessFactoryTest, ConcurrentStartsFromSeveralThreads) {
  constexpr int kThreads = 4;
  constexpr int kEach = 10;
  std::vector<std::thread> threads;
  std::vector<int> good(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &good] {
      for (int i = 0; i < kEach; ++i) {
        ProcessSpec spec;
        spec.path = i % 2 ? PROBE_CHILD_OTHER : PROBE_CHILD;
        spec.args = {"fds"};
        auto program = factory_.NewHostedProgram(spec);
        if (!program.ok()) continue;
        Finished done = RunProgram(**program, PipeChannel().endpoint);
        if (done.exit.success() &&
            FdNumbers(done.output) == std::set<int>{0, 1, 2, 3, 4}) {
          ++good[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(good[t], kEach) << t;
}

TEST_F(ProcessFactoryTest, WorkingDirectoryIsSetAndABadOneFailsWithTheReason) {
  // The program runs as a dynamic uid of its own: it must be able to enter
  // the directory (a TempDir is 0700 root).
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  ProcessSpec spec;
  spec.path = PROBE_CHILD;
  spec.args = {"cwd"};
  spec.working_dir = dir_.path();
  auto program = factory_.NewHostedProgram(spec);
  ASSERT_THAT(program, IsOk());
  Finished done = RunProgram(**program, PipeChannel().endpoint);
  EXPECT_THAT(done.output, HasSubstr("cwd: " + dir_.path() + "\n"));

  spec.working_dir = dir_.Join("missing");
  program = factory_.NewHostedProgram(spec);
  ASSERT_THAT(program, IsOk());
  EXPECT_THAT(
      (*program)->Start(PipeChannel().endpoint),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("working directory")));
  // The failed child was reaped.
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST_F(ProcessFactoryTest, ExitCodesSignalsAndReaping) {
  Finished three = Run(PROBE_CHILD, {"exit", "3"});
  EXPECT_FALSE(three.exit.signaled);
  EXPECT_EQ(three.exit.code, 3);
  EXPECT_EQ(three.exit.ToString(), "exit 3");

  auto program = New(PROBE_CHILD, {"sleep", "30"});
  ASSERT_THAT(program, IsOk());
  HostedProgram& p = **program;
  EXPECT_THAT(p.Reap(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(p.Signal(SIGTERM),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_THAT(p.Start(PipeChannel().endpoint), IsOk());
  EXPECT_GT(p.pid(), 0);
  EXPECT_GE(p.exit_fd(), 0);
  EXPECT_THAT(p.Start(PipeChannel().endpoint),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(p.Reap(), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(p.Signal(SIGTERM), IsOk());
  struct pollfd pfd = {p.exit_fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
  auto reaped = p.Reap();
  ASSERT_THAT(reaped, IsOk());
  EXPECT_TRUE(reaped->signaled);
  EXPECT_EQ(reaped->code, SIGTERM);
  EXPECT_THAT(reaped->ToString(), HasSubstr("signal 15"));
  EXPECT_THAT(p.Signal(SIGKILL),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(p.Start(PipeChannel().endpoint),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(ProcessFactoryTest, DestroyingARunningProgramKillsAndReapsIt) {
  pid_t pid = -1;
  {
    auto program = New(PROBE_CHILD, {"sleep", "30"});
    ASSERT_THAT(program, IsOk());
    ASSERT_THAT((*program)->Start(PipeChannel().endpoint), IsOk());
    pid = (*program)->pid();
    ASSERT_EQ(::kill(pid, 0), 0);
  }
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

// The measured copy is opened wherever the lowest free descriptor is. If
// that is 3 or 4 (a host with few descriptors open, or a hole left by a
// closed one), the child must still execute it, not the channel descriptor
// installed over it.
TEST_F(ProcessFactoryTest, ExecutesAMemfdThatTookAChannelNumber) {
  placeholders_.Release();
  // Move whatever the test runner left at 3 and 4 out of the way for a moment.
  struct Saved {
    int fd, copy, flags;
  };
  std::vector<Saved> saved;
  for (int fd : {3, 4}) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) continue;
    int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 200);
    ASSERT_GE(copy, 0);
    saved.push_back({fd, copy, flags});
    ::close(fd);
  }
  // MeasureExecutable opens the file (3), then the memfd (4).
  auto program = New(PROBE_CHILD, {"marker"});
  Finished done;
  if (program.ok()) {
    TestChannel channel = PipeChannel();
    done = RunProgram(**program, std::move(channel.endpoint));
    program->reset();  // closes the memfd
  }
  for (const Saved& s : saved) {
    ::dup3(s.copy, s.fd, (s.flags & FD_CLOEXEC) ? O_CLOEXEC : 0);
    ::close(s.copy);
  }
  ASSERT_THAT(program, IsOk());
  EXPECT_TRUE(done.exit.success()) << done.exit.ToString();
  EXPECT_THAT(done.output, HasSubstr("probe: probe-child\n"));
}

TEST_F(ProcessFactoryTest, ChannelKindsAreThePipeTheShmAndTheSocketpair) {
  // The names are the kinds (ChannelKindName is gone with the enum).
  EXPECT_THAT(factory_.channel_kinds(),
              ElementsAre("pipe", "shm", "socketpair"));
  EXPECT_EQ(factory_.kind(), "process");
}

}  // namespace
}  // namespace tao
