// The enclave factory with real enclaves through the listen loop: the name
// is the plan's, sealed data survives the enclave's and the host's
// restarts, another manifest is another name that cannot unseal, and the
// Execute rule written from the measurement admits it.
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "tests/program_factory/enclave/enclave_fixture.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

class EnclaveFactoryTest : public test::EnclaveFixture {};

TEST_F(EnclaveFactoryTest, NameIsTheHostsExtendedByThePlan) {
  std::string manifest = Manifest("name.manifest", {"name"});
  auto plan = enclaves_->Plan(manifest);
  ASSERT_THAT(plan, IsOk());
  ChildInfo info = RunEnclave(manifest);
  std::string log = ExitedWith(info, 0);
  std::string want = host().name().text();
  for (const Subprincipal& sub : plan->subprincipals()) {
    want = absl::StrCat(want, ".", sub.ToString());
  }
  EXPECT_THAT(log, HasSubstr("name: " + want));
  EXPECT_THAT(want, HasSubstr(".Enclave(sha256:"));
  EXPECT_EQ(info.factory, "enclave");
  EXPECT_EQ(info.channel, "shm");
  EXPECT_THAT(info.exit_detail, HasSubstr("landlock abi"));
  EXPECT_THAT(info.exit_detail, HasSubstr("seccomp"));
}

// The host's ignored signals and its mask never reach the program: the
// host blocks every signal around clone(), and the enclave's init resets
// every disposition and unblocks before anything else (exec alone would
// keep both an ignored signal and the blocked mask).
TEST_F(EnclaveFactoryTest, TheProgramStartsWithDefaultSignals) {
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old_usr1 = {}, old_term = {};
  ASSERT_EQ(::sigaction(SIGUSR1, &ignore, &old_usr1), 0);
  ASSERT_EQ(::sigaction(SIGTERM, &ignore, &old_term), 0);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &old_mask), 0);
  std::string log =
      ExitedWith(RunEnclave(Manifest("signals.manifest", {"signals"})), 0);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGUSR1, &old_usr1, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  EXPECT_THAT(log, HasSubstr("signals: 0 ignored, 0 blocked"));
}

TEST_F(EnclaveFactoryTest, SealedDataSurvivesTheEnclavesAndTheHostsRestart) {
  const std::string keys = dir_.Join("keys");
  loop_.reset();
  MakeSoftHost(keys);
  MakeDomain(AllowEverything());
  StartEnclaveLoop();
  const std::string manifest = Manifest("keep.manifest", {"keep", "/data/b"});
  EXPECT_THAT(ExitedWith(RunEnclave(manifest), 0), HasSubstr("sealed "));
  EXPECT_THAT(ExitedWith(RunEnclave(manifest), 0),
              HasSubstr("data: enclave-probe sealed data"));
  // The host restarts on its keys: the same name, the same sealing key.
  loop_.reset();
  MakeSoftHost(keys);
  MakeDomain(AllowEverything());
  StartEnclaveLoop();
  EXPECT_THAT(ExitedWith(RunEnclave(manifest), 0),
              HasSubstr("data: enclave-probe sealed data"));

  // Another MODULE, mount or limit is another enclave: another name, and
  // SameProgram data is not its to unseal.
  auto name_of = [&](const std::string& m) {
    auto plan = enclaves_->Plan(m);
    EXPECT_THAT(plan, IsOk());
    return plan.ok() ? plan->subprincipals()[0].ToString() : "";
  };
  const std::string base = name_of(manifest);
  for (const std::string& extra :
       {std::string("THREADS 16\n"), std::string("MOUNT tmpfs /scratch\n"),
        absl::StrCat("MODULE ", ENCLAVE_PROBE_LIB, "\n"),
        std::string("DEBUG on\n")}) {
    std::string other = Manifest("other.manifest", {"keep", "/data/b"}, extra);
    EXPECT_NE(name_of(other), base) << extra;
    std::string log = ExitedWith(RunEnclave(other), 3);
    EXPECT_THAT(log, HasSubstr("error: ")) << extra;
    EXPECT_THAT(log, Not(HasSubstr("data: "))) << extra;
  }
}

// `tao-enclave measure` prints Enclave(sha256:...) before the first start;
// an Execute rule for that measurement admits exactly that enclave.
TEST_F(EnclaveFactoryTest, TheExecuteRuleFromTheToolsMeasurementAdmitsIt) {
  const std::string manifest = Manifest("ruled.manifest", {"name"});
  FILE* tool =
      ::popen(absl::StrCat(TAO_ENCLAVE, " measure ", manifest).c_str(), "r");
  ASSERT_NE(tool, nullptr);
  char line[512] = {};
  ASSERT_NE(::fgets(line, sizeof(line), tool), nullptr);
  ::pclose(tool);
  absl::string_view enclave = absl::StripAsciiWhitespace(line);
  ASSERT_TRUE(absl::ConsumePrefix(&enclave, "Enclave("));
  ASSERT_TRUE(absl::ConsumeSuffix(&enclave, ")"));
  DomainPolicy policy = AllowEverything({"Seal", "Unseal", "Attest"});
  Rule* rule = policy.add_rules();
  rule->set_id("the-enclave");
  rule->add_operations("Execute");
  rule->add_principals()->set_measurement(std::string(enclave));
  SetPolicy(policy);
  EXPECT_THAT(ExitedWith(RunEnclave(manifest), 0), HasSubstr("name: "));
  auto other =
      StartEnclave(Manifest("unruled.manifest", {"name"}, "THREADS 2\n"));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kPermissionDenied)
      << other.status();
}

// The factory without the loop: a trusted file replaced on disk after
// measuring changes nothing that runs; freeze, thaw and stop; nothing of
// the enclave is left after it.
class EnclaveProgramTest : public test::EnclaveFixture {
 protected:
  std::string Output(HostedProgram& program) {
    UniqueFd out = program.TakeOutput();
    std::string text;
    char buf[4096];
    for (int i = 0; i < 500; ++i) {
      ssize_t n = ::read(out.get(), buf, sizeof(buf));
      if (n > 0) {
        text.append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        break;
      } else {
        ::usleep(10000);
      }
    }
    return text;
  }

  ExitStatus WaitExit(HostedProgram& program) {
    for (int i = 0; i < 1000; ++i) {
      auto status = program.Reap();
      if (status.ok()) return *status;
      ::usleep(5000);
    }
    ADD_FAILURE() << "the enclave did not end";
    return ExitStatus();
  }
};

TEST_F(EnclaveProgramTest, AReplacedTrustedFileRunsTheMeasuredBytes) {
  const std::string copy = dir_.Join("probe-copy");
  {
    std::ifstream in(ENCLAVE_PROBE, std::ios::binary);
    std::ofstream out(copy, std::ios::binary);
    out << in.rdbuf();
  }
  ASSERT_EQ(::chmod(copy.c_str(), 0755), 0);
  std::ofstream(dir_.Join("m"))
      << "EXEC " << copy << "\nARG escape\nARG socket\n";
  auto program = enclaves_->NewHostedProgram(EnclaveSpec{dir_.Join("m")});
  ASSERT_THAT(program, IsOk());
  // Replaced after measuring: a shell script that would say otherwise.
  ASSERT_EQ(::unlink(copy.c_str()), 0);
  std::ofstream(copy) << "#!/bin/sh\necho replaced\n";
  ASSERT_THAT((*program)->Start(ChildEndpoint()), IsOk());
  std::string out = Output(**program);
  EXPECT_TRUE(WaitExit(**program).success()) << out;
  EXPECT_THAT(out, HasSubstr("socket: refused EACCES"));
  EXPECT_THAT(out, Not(HasSubstr("replaced")));
}

// What an enclave could leave behind: descriptors, cgroups, mount points.
struct Leftovers {
  int fds = 0;
  int cgroups = 0;
  int run_entries = 0;
  bool operator==(const Leftovers& o) const {
    return fds == o.fds && cgroups == o.cgroups && run_entries == o.run_entries;
  }
};

int CountEntries(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return 0;
  int n = 0;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

Leftovers Count(const std::string& run_dir) {
  Leftovers l;
  l.fds = CountEntries("/proc/self/fd");
  for (const char* root : {"/sys/fs/cgroup/unified/tao-enclave",
                           "/sys/fs/cgroup/freezer/tao-enclave",
                           "/sys/fs/cgroup/pids/tao-enclave"}) {
    std::string prefix = absl::StrCat("e", ::getpid(), "-");
    DIR* d = ::opendir(root);
    if (d == nullptr) continue;
    while (struct dirent* e = ::readdir(d)) {
      if (absl::StartsWith(e->d_name, prefix)) ++l.cgroups;
    }
    ::closedir(d);
  }
  l.run_entries = CountEntries(run_dir);
  return l;
}

// After an enclave nothing of it is left; the factory keeps its plan's one
// prepared root (a directory in the run directory) until it goes itself
// (enclave_leak_test checks that it does).
void ExpectOnlyThePreparedRootLeft(
    const std::unique_ptr<EnclaveFactory>& factory, const std::string& run_dir,
    const Leftovers& before) {
  EXPECT_EQ(factory->prepared_roots().size(), 1u);
  Leftovers after = Count(run_dir);
  EXPECT_EQ(after.run_entries, before.run_entries + 1);
  after.run_entries = before.run_entries;
  EXPECT_EQ(after, before);
}

TEST_F(EnclaveProgramTest, FreezeThawStopAndNothingIsLeft) {
  const Leftovers before = Count(dir_.Join("run"));
  std::ofstream(dir_.Join("m"))
      << "EXEC " << ENCLAVE_PROBE << "\nTHREADS 8\nARG sleep\n";
  auto program = enclaves_->NewHostedProgram(EnclaveSpec{dir_.Join("m")});
  ASSERT_THAT(program, IsOk());
  ASSERT_THAT((*program)->Start(ChildEndpoint()), IsOk());
  HostedProgram& p = **program;
  // Three processes wait in pause(): the enclave runs until stopped.
  ASSERT_THAT(p.Freeze(), IsOk());
  EXPECT_TRUE(p.frozen());
  ASSERT_THAT(p.Thaw(), IsOk());
  EXPECT_FALSE(p.frozen());
  ASSERT_THAT(p.Freeze(), IsOk());
  // Stop thaws first; SIGTERM reaches the program through the init.
  ASSERT_THAT(p.Stop(absl::Seconds(5)), IsOk());
  ExitStatus status = WaitExit(p);
  EXPECT_TRUE(status.signaled);
  EXPECT_EQ(status.code, SIGTERM);
  program->reset();
  ExpectOnlyThePreparedRootLeft(enclaves_, dir_.Join("run"), before);
}

TEST_F(EnclaveProgramTest, KillEndsTheWholeEnclave) {
  const Leftovers before = Count(dir_.Join("run"));
  std::ofstream(dir_.Join("m"))
      << "EXEC " << ENCLAVE_PROBE << "\nTHREADS 8\nARG sleep\n";
  auto program = enclaves_->NewHostedProgram(EnclaveSpec{dir_.Join("m")});
  ASSERT_THAT(program, IsOk());
  ASSERT_THAT((*program)->Start(ChildEndpoint()), IsOk());
  ASSERT_THAT((*program)->Kill(), IsOk());
  ExitStatus status = WaitExit(**program);
  EXPECT_TRUE(status.signaled);
  EXPECT_EQ(status.code, SIGKILL);
  program->reset();
  ExpectOnlyThePreparedRootLeft(enclaves_, dir_.Join("run"), before);
}

// With the cache on, a second plan of unchanged files reads nothing again:
// the same measurement from the same sealed bytes, and the enclave runs.
TEST_F(EnclaveProgramTest, TheCacheServesUnchangedFilesAgain) {
  EnclaveFactoryOptions options;
  options.run_dir = dir_.Join("run");
  options.crash_root = dir_.Join("crash");
  options.measurement_cache_bytes = size_t{256} << 20;
  auto cached = EnclaveFactory::Create(options);
  ASSERT_THAT(cached, IsOk());
  std::ofstream(dir_.Join("m"))
      << "EXEC " << ENCLAVE_PROBE << "\nARG escape\nARG socket\n";
  auto first = (*cached)->Plan(dir_.Join("m"));
  ASSERT_THAT(first, IsOk());
  const uint64_t hits = (*cached)->measurement_cache()->stats().hits;
  auto second = (*cached)->Plan(dir_.Join("m"));
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->digest(), first->digest());
  // libc, libstdc++ and the loader at least are old, settled files.
  EXPECT_GE((*cached)->measurement_cache()->stats().hits, hits + 3);
  auto program = (*cached)->NewHostedProgram(EnclaveSpec{dir_.Join("m")});
  ASSERT_THAT(program, IsOk());
  ASSERT_THAT((*program)->Start(ChildEndpoint()), IsOk());
  std::string out = Output(**program);
  EXPECT_TRUE(WaitExit(**program).success()) << out;
  EXPECT_THAT(out, HasSubstr("socket: refused EACCES"));
}

// DEBUG is measured (another name) and is what allows a core dump, into
// the run's own crash directory; a production enclave dumps nothing.
TEST_F(EnclaveProgramTest, OnlyDebugDumpsCoreIntoItsCrashDirectory) {
  std::string pattern =
      ReadFileToString("/proc/sys/kernel/core_pattern", 4096).value_or("");
  const bool to_file = !pattern.empty() && pattern[0] != '|';
  for (bool debug : {false, true}) {
    const std::string m = dir_.Join(debug ? "debug.m" : "prod.m");
    std::ofstream(m) << "EXEC " << ENCLAVE_PROBE << "\nARG abort\n"
                     << (debug ? "DEBUG on\n" : "");
    auto program = enclaves_->NewHostedProgram(EnclaveSpec{m});
    ASSERT_THAT(program, IsOk());
    ASSERT_THAT((*program)->Start(ChildEndpoint()), IsOk());
    ExitStatus status = WaitExit(**program);
    EXPECT_TRUE(status.signaled);
    EXPECT_EQ(status.code, SIGABRT);
    std::string detail = (*program)->exit_record()->detail;
    const std::string crash = dir_.Join("crash");
    if (!debug) {
      EXPECT_THAT(detail, HasSubstr("no core dumps"));
      EXPECT_THAT(detail, Not(HasSubstr("core dumped")));
      EXPECT_EQ(CountEntries(crash), 0);
      continue;
    }
    EXPECT_THAT(detail, HasSubstr("DEBUG: core dumps into " + crash + "/e"));
    ASSERT_EQ(CountEntries(crash), 1);
    DIR* d = ::opendir(crash.c_str());
    std::string run;
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') run = crash + "/" + e->d_name;
    }
    ::closedir(d);
    // With a file pattern the kernel writes the dump there; with a pipe
    // ("|...") it goes to the machine's helper instead.
    EXPECT_EQ(CountEntries(run) > 0, to_file) << pattern;
    if (to_file) {
      EXPECT_THAT(detail, HasSubstr("core dumped in " + run));
    }
  }
}

}  // namespace
}  // namespace tao
