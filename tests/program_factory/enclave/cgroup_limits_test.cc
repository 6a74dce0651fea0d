// The enclave's cgroup limits for real on this machine (cgroup v1 memory
// and pids here): a task limit stops forks past THREADS, a memory limit
// kills a program that allocates past ENCLAVE_SIZE (and says so), nothing
// is left afterwards, and a limit that cannot be enforced is refused.
#include "program_factory/enclave/cgroup_limits.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::IsOkAndHolds;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

std::string Name(absl::string_view what) {
  return absl::StrCat("test-", ::getpid(), "-", what);
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Forks a child that joins `cgroups` (writing "0" to each cgroup.procs, as
// an enclave's child does before exec) and runs `body`, whose result is the
// exit code. Returns the wait status.
template <typename Body>
int RunInCgroups(const EnclaveCgroups& cgroups, Body body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    for (const UniqueFd& fd : cgroups.procs_fds()) {
      if (::write(fd.get(), "0", 1) != 1) _exit(100);
    }
    _exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

// Allocates `n` bytes and writes every page through a volatile pointer (so
// the compiler cannot drop it). 0 if it all fit.
int Touch(size_t n) {
  volatile char* p = static_cast<volatile char*>(std::malloc(n));
  if (p == nullptr) return 2;
  for (size_t i = 0; i < n; i += 4096) p[i] = 1;
  return 0;
}

bool HaveV1(absl::string_view controller) {
  return Exists(absl::StrCat("/sys/fs/cgroup/", controller, "/cgroup.procs"));
}

TEST(EnclaveCgroupsTest, TaskLimitStopsForksPastThreads) {
  if (!HaveV1("pids") && !Exists("/sys/fs/cgroup/cgroup.controllers")) {
    GTEST_SKIP() << "no pids controller";
  }
  EnclaveLimits limits;
  limits.max_tasks = 4;
  auto cgroups = EnclaveCgroups::Create(Name("tasks"), limits);
  ASSERT_THAT(cgroups, IsOk());
  ASSERT_EQ((*cgroups)->paths().size(), 1u);
  std::string path = (*cgroups)->paths()[0];
  EXPECT_TRUE(Exists(path));
  int status = RunInCgroups(**cgroups, [] {
    int started = 0;
    for (int i = 0; i < 10; ++i) {
      pid_t p = ::fork();
      if (p == 0) {
        ::pause();
        _exit(0);
      }
      if (p < 0) {
        return errno == EAGAIN ? started : 50 + errno;
      }
      ++started;
    }
    return 99;  // never refused: the limit did not hold
  });
  ASSERT_TRUE(WIFEXITED(status));
  // The child itself is one task: three more, then EAGAIN.
  EXPECT_EQ(WEXITSTATUS(status), 3);
  // Its children are still in the cgroup; Kill ends them, Remove removes it.
  EXPECT_THAT((*cgroups)->Kill(), IsOk());
  EXPECT_THAT((*cgroups)->Remove(), IsOk());
  EXPECT_FALSE(Exists(path));
}

TEST(EnclaveCgroupsTest, MemoryLimitKillsPastEnclaveSize) {
  if (!HaveV1("memory") && !Exists("/sys/fs/cgroup/cgroup.controllers")) {
    GTEST_SKIP() << "no memory controller";
  }
  EnclaveLimits limits;
  limits.memory_bytes = uint64_t{16} << 20;
  auto cgroups = EnclaveCgroups::Create(Name("memory"), limits);
  ASSERT_THAT(cgroups, IsOk());
  EXPECT_THAT((*cgroups)->OomKilled(), IsOkAndHolds(false));
  // Within the limit: fine.
  int status = RunInCgroups(**cgroups, [] { return Touch(size_t{4} << 20); });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_THAT((*cgroups)->OomKilled(), IsOkAndHolds(false));
  // Past it: killed by the kernel, and the cgroup says why.
  status = RunInCgroups(**cgroups, [] { return Touch(size_t{64} << 20); });
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_THAT((*cgroups)->OomKilled(), IsOkAndHolds(true));
  std::string path = (*cgroups)->paths()[0];
  cgroups->reset();
  EXPECT_FALSE(Exists(path)) << "the destructor removes the cgroup";
}

TEST(EnclaveCgroupsTest, BothLimitsUseOneCgroupPerHierarchy) {
  if (!HaveV1("memory") || !HaveV1("pids")) GTEST_SKIP() << "not v1";
  EnclaveLimits limits;
  limits.memory_bytes = uint64_t{32} << 20;
  limits.max_tasks = 8;
  auto cgroups = EnclaveCgroups::Create(Name("both"), limits);
  ASSERT_THAT(cgroups, IsOk());
  if ((*cgroups)->version() != EnclaveCgroups::Version::kV1) {
    GTEST_SKIP() << "v2 in use";
  }
  ASSERT_EQ((*cgroups)->paths().size(), 2u);
  std::ifstream mem((*cgroups)->paths()[0] + "/memory.limit_in_bytes");
  uint64_t value = 0;
  mem >> value;
  EXPECT_EQ(value, uint64_t{32} << 20);
  std::ifstream pids((*cgroups)->paths()[1] + "/pids.max");
  std::string max;
  pids >> max;
  EXPECT_EQ(max, "8");
  // A second enclave of the same name is refused, not shared.
  EXPECT_THAT(EnclaveCgroups::Create(Name("both"), limits),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST(EnclaveCgroupsTest, RefusesALimitItCannotEnforce) {
  test::TempDir dir;  // no controllers at all
  CgroupLimitOptions options;
  options.v1_root = dir.path();
  options.v2_root = "none";
  EnclaveLimits memory;
  memory.memory_bytes = 1 << 20;
  EXPECT_THAT(EnclaveCgroups::Create("x", memory, options),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("ENCLAVE_SIZE asks for a memory limit, but "
                                 "this machine offers no memory controller")));
  EnclaveLimits tasks;
  tasks.max_tasks = 2;
  EXPECT_THAT(EnclaveCgroups::Create("x", tasks, options),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("THREADS asks for a task limit")));
  // No limit asked: no cgroup needed, none made.
  auto none = EnclaveCgroups::Create("x", EnclaveLimits(), options);
  ASSERT_THAT(none, IsOk());
  EXPECT_EQ((*none)->version(), EnclaveCgroups::Version::kNone);
  EXPECT_TRUE((*none)->paths().empty());
}

TEST(EnclaveCgroupsTest, RefusesBadNames) {
  for (const char* name : {"", ".", "..", "a/b", "a b", "x\n"}) {
    EXPECT_THAT(EnclaveCgroups::Create(name, EnclaveLimits()),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << name;
  }
}

TEST(EnclaveCgroupsTest, PrefersV2WhereItHasTheControllers) {
  // A stand-in cgroup2 tree: the host's own cgroup offers memory and pids.
  test::TempDir dir;
  std::ofstream(dir.Join("cgroup.controllers")) << "cpu memory pids\n";
  std::ofstream(dir.Join("self")) << "0::/\n";
  CgroupLimitOptions options;
  options.v2_root = dir.path();
  options.v1_root = dir.Join("no-v1");
  options.proc_self_cgroup = dir.Join("self");
  EnclaveLimits limits;
  limits.memory_bytes = 1 << 20;
  limits.max_tasks = 3;
  // cgroup.procs does not exist in a plain directory: make it first.
  ASSERT_EQ(::mkdir(dir.Join("tao-enclave").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(dir.Join("tao-enclave/e").c_str(), 0755), 0);
  std::ofstream(dir.Join("tao-enclave/e/cgroup.procs"));
  EXPECT_THAT(EnclaveCgroups::Create("e", limits, options),
              StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_EQ(::unlink(dir.Join("tao-enclave/e/cgroup.procs").c_str()), 0);
  ASSERT_EQ(::rmdir(dir.Join("tao-enclave/e").c_str()), 0);
  auto cgroups = EnclaveCgroups::Create("e", limits, options);
  // Writing the limits works in a plain directory; opening cgroup.procs
  // does not (it is the kernel's file): the failure is reported, not
  // ignored.
  EXPECT_THAT(cgroups,
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("cgroup.procs")));
  std::ifstream max(dir.Join("tao-enclave/e/memory.max"));
  std::string value;
  max >> value;
  EXPECT_EQ(value, "1048576");
  std::ifstream swap(dir.Join("tao-enclave/e/memory.swap.max"));
  swap >> value;
  EXPECT_EQ(value, "0");
  std::ifstream pids(dir.Join("tao-enclave/e/pids.max"));
  pids >> value;
  EXPECT_EQ(value, "3");
  std::ifstream subtree(dir.Join("tao-enclave/cgroup.subtree_control"));
  std::getline(subtree, value);
  EXPECT_EQ(value, "+memory +pids");
}

}  // namespace
}  // namespace tao
