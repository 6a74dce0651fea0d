// 500 enclaves started and ended one after another leave nothing behind:
// no descriptor, cgroup, mount, mount point or zombie; the one prepared
// root the factory keeps for their plan goes with the factory.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/base/config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "program_factory/enclave/enclave_factory.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;

int CountEntries(const std::string& dir, const std::string& prefix = "") {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return 0;
  int n = 0;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.' && absl::StartsWith(e->d_name, prefix)) ++n;
  }
  ::closedir(d);
  return n;
}

int CountMounts() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) ++n;
  return n;
}

int CountCgroups() {
  const std::string prefix = absl::StrCat("e", ::getpid(), "-");
  int n = 0;
  for (const char* root :
       {"/sys/fs/cgroup/unified/tao-enclave",
        "/sys/fs/cgroup/freezer/tao-enclave", "/sys/fs/cgroup/pids/tao-enclave",
        "/sys/fs/cgroup/memory/tao-enclave"}) {
    n += CountEntries(root, prefix);
  }
  return n;
}

TEST(EnclaveLeakTest, FiveHundredStartsLeaveNothing) {
  test::TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  EnclaveFactoryOptions options;
  options.run_dir = dir.Join("run");
  auto factory = EnclaveFactory::Create(options);
  ASSERT_THAT(factory, IsOk());
  // Limits too, so that every kind of cgroup is made and removed.
  // A sanitizer build's runtime needs more than 32 MiB (enclave_escape_test).
#if defined(ABSL_HAVE_ADDRESS_SANITIZER)
  const char* size = "512";
#else
  const char* size = "32";
#endif
  std::ofstream(dir.Join("m"))
      << "EXEC " << ENCLAVE_PROBE << "\nTHREADS 4\nENCLAVE_SIZE " << size
      << "\nARG escape\nARG socket\n";
  const int fds = CountEntries("/proc/self/fd");
  const int mounts = CountMounts();
  const int cgroups = CountCgroups();
  absl::Time start = absl::Now();
  for (int i = 0; i < 500; ++i) {
    auto program = (*factory)->NewHostedProgram(EnclaveSpec{dir.Join("m")});
    ASSERT_THAT(program, IsOk());
    ASSERT_THAT((*program)->Start(ChildEndpoint()), IsOk()) << "run " << i;
    absl::StatusOr<ExitStatus> status;
    for (int tries = 0; tries < 2000; ++tries) {
      status = (*program)->Reap();
      if (status.ok()) break;
      ::usleep(1000);
    }
    ASSERT_THAT(status, IsOk()) << "run " << i;
    ASSERT_TRUE(status->success()) << "run " << i << ": " << status->ToString();
  }
  std::cout << "500 enclaves in " << absl::Now() - start << std::endl;
  EXPECT_EQ(CountEntries("/proc/self/fd"), fds);
  EXPECT_EQ(CountCgroups(), cgroups);
  // While the factory lives it keeps the plan's one prepared root: one
  // mount, one directory in the run directory, nothing else.
  EXPECT_EQ((*factory)->prepared_roots().size(), 1u);
  EXPECT_EQ(CountMounts(), mounts + 1);
  EXPECT_EQ(CountEntries(dir.Join("run")), 1);
  EXPECT_EQ(CountEntries(dir.Join("run"), absl::StrCat("r", ::getpid(), "-")),
            1);
  // Gone with the factory.
  factory->reset();
  EXPECT_EQ(CountEntries("/proc/self/fd"), fds);
  EXPECT_EQ(CountMounts(), mounts);
  EXPECT_EQ(CountEntries(dir.Join("run")), 0);
  int status;
  EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1);  // no child, no zombie
  EXPECT_EQ(errno, ECHILD);
}

}  // namespace
}  // namespace tao
