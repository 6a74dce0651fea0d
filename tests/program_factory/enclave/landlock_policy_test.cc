// Landlock for real in children: read and execute only inside the allowed
// trees, write (never execute) in the writable ones, nothing elsewhere; a
// file the program wrote cannot run; a missing rule path or an old kernel
// fails closed.
#include "program_factory/enclave/landlock_policy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

// Runs `body` in a child after applying `policy`; the child's failure text
// comes back through a pipe ("" is success).
std::string UnderPolicy(const LandlockPolicy& policy,
                        const std::function<std::string()>& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return "pipe";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    LandlockFailure failure = policy.Apply();
    std::string error = failure.error != 0 ? policy.Describe(failure) : body();
    if (::write(fds[1], error.data(), error.size()) < 0) _exit(3);
    _exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) return "child died";
  return out;
}

// Runs `path` and returns its exit code, or -errno if exec failed.
int RunProgram(const std::string& path) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -999;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(path.c_str(), path.c_str(), nullptr);
    int err = errno;
    (void)!::write(fds[1], &err, sizeof(err));
    _exit(127);
  }
  ::close(fds[1]);
  int err = 0;
  bool failed = ::read(fds[0], &err, sizeof(err)) == sizeof(err);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (failed) return -err;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1000;
}

std::string ExpectDenied(int rc, const std::string& what) {
  if (rc >= 0) return what + " was allowed";
  if (errno != EACCES) return what + ": " + std::strerror(errno);
  return "";
}

class LandlockPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir(dir_.Join("ro").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(dir_.Join("rw").c_str(), 0755), 0);
    std::ofstream(dir_.Join("ro/file")) << "readable";
    std::ofstream(dir_.Join("outside")) << "secret";
  }

  std::vector<LandlockRule> Rules() {
    return {{"/usr", false},
            {"/lib", false},
            {"/lib64", false},
            {dir_.Join("ro"), false},
            {dir_.Join("rw"), true}};
  }

  test::TempDir dir_;
};

TEST_F(LandlockPolicyTest, ReadExecuteInsideWriteNoExecuteNothingElse) {
  auto policy = LandlockPolicy::Create(Rules());
  if (!policy.ok() &&
      policy.status().code() == absl::StatusCode::kFailedPrecondition) {
    GTEST_SKIP() << policy.status();
  }
  ASSERT_THAT(policy, IsOk());
  EXPECT_GE(policy->abi(), 1);
  const std::string ro = dir_.Join("ro"), rw = dir_.Join("rw");
  const std::string outside = dir_.Join("outside");
  std::string error = UnderPolicy(*policy, [&]() -> std::string {
    std::string e;
    if (RunProgram("/usr/bin/true") != 0) return "cannot run /usr/bin/true";
    std::ifstream in(ro + "/file");
    std::string text;
    in >> text;
    if (text != "readable") return "cannot read the read-only tree";
    if (!(e = ExpectDenied(::open(outside.c_str(), O_RDONLY),
                           "reading a file outside"))
             .empty()) {
      return e;
    }
    if (!(e = ExpectDenied(::open("/etc/hostname", O_RDONLY),
                           "reading /etc/hostname"))
             .empty()) {
      return e;
    }
    if (!(e = ExpectDenied(::open((ro + "/file").c_str(), O_WRONLY),
                           "writing the read-only tree"))
             .empty()) {
      return e;
    }
    if (!(e = ExpectDenied(::mkdir((ro + "/d").c_str(), 0700),
                           "mkdir in the read-only tree"))
             .empty()) {
      return e;
    }
    // Write a program into the writable tree: allowed; running it is not.
    std::ifstream src("/usr/bin/true", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(src)),
                      std::istreambuf_iterator<char>());
    int fd = ::open((rw + "/true").c_str(), O_WRONLY | O_CREAT, 0755);
    if (fd < 0) return absl::StrCat("create in rw: ", std::strerror(errno));
    if (::write(fd, bytes.data(), bytes.size()) !=
        static_cast<ssize_t>(bytes.size())) {
      return "write in rw";
    }
    ::close(fd);
    int rc = RunProgram(rw + "/true");
    if (rc != -EACCES) return absl::StrCat("exec of a written file: ", rc);
    if (!(e = ExpectDenied(::symlink("/etc/shadow", (rw + "/l").c_str()),
                           "a symlink in the writable tree"))
             .empty()) {
      return e;
    }
    if (::unlink((rw + "/true").c_str()) != 0) return "unlink in rw";
    return "";
  });
  EXPECT_EQ(error, "");
}

TEST_F(LandlockPolicyTest, FailsClosed) {
  EXPECT_THAT(LandlockPolicy::Create({{"relative", false}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must be absolute")));
  EXPECT_THAT(LandlockPolicy::Create(Rules(), /*minimum_abi=*/99),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("older than the 99 required")));
  auto policy = LandlockPolicy::Create({{dir_.Join("absent"), false}});
  if (!policy.ok()) GTEST_SKIP() << policy.status();
  std::string error = UnderPolicy(*policy, [] { return std::string(); });
  EXPECT_THAT(error, HasSubstr("Landlock rule for " + dir_.Join("absent") +
                               ": No such file or directory"));
}

}  // namespace
}  // namespace tao
