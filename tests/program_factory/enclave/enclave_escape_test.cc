// A hostile program inside a real enclave tries each way out; each is
// refused with the expected error (or killed by seccomp, the exit record
// naming the refused system call), while a sibling enclave keeps running
// and the host keeps answering.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/base/config.h"
#include "absl/strings/str_cat.h"
#include "tests/program_factory/enclave/enclave_fixture.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::testing::HasSubstr;

class EnclaveEscapeTest : public test::EnclaveFixture {
 protected:
  void SetUp() override {
    EnclaveFixture::SetUp();
    auto sibling = StartEnclave(Manifest("sibling.manifest", {"hold"}));
    ASSERT_THAT(sibling, IsOk());
    sibling_ = sibling->id;
  }

  void TearDown() override {
    // The sibling is unaffected: still running, and the host still
    // answers a new enclave.
    auto sibling = loop_->GetHostedProgram(sibling_);
    ASSERT_THAT(sibling, IsOk());
    EXPECT_EQ(sibling->state, ProgramState::kRunning);
    EXPECT_FALSE(sibling->exit.has_value());
    EXPECT_THAT(ExitedWith(RunEnclave(Manifest("after.manifest", {"name"})), 0),
                HasSubstr("name: "));
    EnclaveFixture::TearDown();
  }

  // Runs `escape <mode> <arg>`; the log of a refusal.
  std::string Refused(const std::string& mode, const std::string& arg = "") {
    std::vector<std::string> args = {"escape", mode};
    if (!arg.empty()) args.push_back(arg);
    return ExitedWith(RunEnclave(Manifest(mode + ".manifest", args,
                                          "MOUNT tmpfs /scratch\n")),
                      0);
  }

  // Runs `escape <mode>`, which seccomp must kill; the exit record.
  std::string Killed(const std::string& mode) {
    ChildInfo info = RunEnclave(Manifest(mode + ".manifest", {"escape", mode}));
    EXPECT_TRUE(info.exit.has_value() && info.exit->signaled &&
                info.exit->code == SIGSYS)
        << mode << ": " << LogOf(info);
    return info.exit_detail;
  }

  uint64_t sibling_ = 0;
};

TEST_F(EnclaveEscapeTest, HostFilesThatAreNotMountedAreNotThere) {
  std::string secret = dir_.Join("host-secret");
  std::ofstream(secret) << "secret";
  EXPECT_THAT(Refused("read-host", secret), HasSubstr("refused ENOENT"));
  EXPECT_THAT(Refused("read-host", "/etc/passwd"), HasSubstr("refused ENOENT"));
}

TEST_F(EnclaveEscapeTest, TheRootAndTheEntryAreReadOnly) {
  EXPECT_THAT(Refused("write-root"), HasSubstr("refused EROFS"));
  EXPECT_THAT(Refused("write-entry", ENCLAVE_PROBE),
              HasSubstr("refused EROFS"));
}

TEST_F(EnclaveEscapeTest, AFileItWroteCannotRun) {
  EXPECT_THAT(Refused("exec-written", ENCLAVE_PROBE),
              HasSubstr("refused EACCES"));
}

TEST_F(EnclaveEscapeTest, NoNetworkAndNoSignalOutside) {
  EXPECT_THAT(Refused("socket"), HasSubstr("refused EACCES"));
  EXPECT_THAT(Refused("signal-host", absl::StrCat(::getpid())),
              HasSubstr("refused ESRCH"));
}

TEST_F(EnclaveEscapeTest, TheChannelsMemfdSealsHold) {
  EXPECT_THAT(Refused("memfd-shrink"), HasSubstr("refused EPERM"));
  EXPECT_THAT(Refused("memfd-grow"), HasSubstr("refused EPERM"));
  EXPECT_THAT(Refused("memfd-seal"), HasSubstr("refused EPERM"));
}

TEST_F(EnclaveEscapeTest, SeccompKillsAndTheRecordNamesTheCall) {
  for (const auto& [mode, call] :
       std::vector<std::pair<std::string, std::string>>{{"ptrace", "ptrace"},
                                                        {"mount", "mount"},
                                                        {"unshare", "unshare"},
                                                        {"keyctl", "keyctl"},
                                                        {"bpf", "bpf"},
                                                        {"tiocsti", "ioctl"}}) {
    EXPECT_THAT(Killed(mode), HasSubstr("seccomp refused system call " + call))
        << mode;
  }
}

TEST_F(EnclaveEscapeTest, ForksStopAtThreads) {
  ChildInfo info =
      RunEnclave(Manifest("forks.manifest", {"forks"}, "THREADS 4\n"));
  // The program and three children: four tasks (the init is not counted).
  EXPECT_THAT(ExitedWith(info, 0), HasSubstr("forked 3 (EAGAIN)"));
  EXPECT_THAT(info.exit_detail, HasSubstr("tasks 4"));
}

// ENCLAVE_SIZE for the memory test: 32 MiB, or 512 in a sanitizer build,
// whose runtime alone (shadow, quarantine, the host's copy-on-write pages
// the init touches) needs more than 32.
#if defined(ABSL_HAVE_ADDRESS_SANITIZER)
constexpr int kEnclaveMib = 512;
#else
constexpr int kEnclaveMib = 32;
#endif

TEST_F(EnclaveEscapeTest, MemoryPastEnclaveSizeIsKilledWithACrashRecord) {
  const std::string size = absl::StrCat("ENCLAVE_SIZE ", kEnclaveMib, "\n");
  ChildInfo fits = RunEnclave(Manifest("fits.manifest", {"alloc", "4"}, size));
  EXPECT_THAT(ExitedWith(fits, 0), HasSubstr("touched 4 MiB"));
  ChildInfo info = RunEnclave(Manifest(
      "alloc.manifest", {"alloc", absl::StrCat(4 * kEnclaveMib)}, size));
  ASSERT_TRUE(info.exit.has_value());
  EXPECT_TRUE(info.exit->signaled);
  EXPECT_EQ(info.exit->code, SIGKILL);
  EXPECT_THAT(info.exit_detail,
              HasSubstr(absl::StrCat("crash: killed at the memory limit (",
                                     kEnclaveMib, " MiB)")));
}

}  // namespace
}  // namespace tao
