// A host that dies without closing its channels: each hosted program, asleep
// waiting for a reply, must get the end of its channel and exit, on every
// kind. The "host" is a forked process that makes a real channel pair (the
// registry's kinds), starts the real client tool on the child's end as the
// process factory would (descriptors at their numbers, TAO_CHANNEL), never
// answers, and is SIGKILLed. This test process is a subreaper, so it reaps
// the orphaned program and sees how it ended.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "channels/channel_kinds.h"
#include "gtest/gtest.h"

namespace tao {
namespace {

// Waits up to `timeout` for `pid` (a child of this process); its wait status,
// or -1 if it is still running then.
int WaitFor(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return -1;
}

class HostDeathTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HostDeathTest, AProgramWaitingForAReplyGetsTheEndWhenTheHostDies) {
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int report[2];  // the host tells the program's pid
  ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
  const pid_t host = ::fork();
  ASSERT_GE(host, 0);
  if (host == 0) {
    // The host: a channel pair, the program on its child's end, no answers.
    auto pair = MakeChannel(GetParam());
    if (!pair.ok()) ::_exit(10);
    const pid_t program = ::fork();
    if (program == 0) {
      // Out of the way first, so no target number holds a source.
      std::vector<int> high;
      for (ChildEndpoint::Fd& fd : pair->child.fds) {
        high.push_back(::fcntl(fd.fd.get(), F_DUPFD_CLOEXEC, 100));
      }
      for (size_t i = 0; i < high.size(); ++i) {
        if (::dup2(high[i], pair->child.fds[i].child_number) < 0) ::_exit(11);
      }
      ::setenv("TAO_CHANNEL", pair->child.channel_env.c_str(), 1);
      ::execl(TOOL, TOOL, "random", "16", static_cast<char*>(nullptr));
      ::_exit(12);
    }
    for (ChildEndpoint::Fd& fd : pair->child.fds) fd.fd.Reset();
    if (::write(report[1], &program, sizeof(program)) != sizeof(program)) {
      ::_exit(13);
    }
    ::pause();
    ::_exit(0);
  }
  ::close(report[1]);
  pid_t program = 0;
  ASSERT_EQ(::read(report[0], &program, sizeof(program)),
            static_cast<ssize_t>(sizeof(program)));
  ::close(report[0]);
  // Long enough for the tool to send its request and sleep for the reply;
  // it gets none.
  EXPECT_EQ(WaitFor(program, absl::Milliseconds(300)), -1)
      << "the program ended before the host died";
  ASSERT_EQ(::kill(host, SIGKILL), 0);
  ASSERT_NE(WaitFor(host, absl::Seconds(5)), -1);
  const int status = WaitFor(program, absl::Seconds(5));
  if (status == -1) {
    ::kill(program, SIGKILL);
    WaitFor(program, absl::Seconds(5));
  }
  ASSERT_NE(status, -1) << "the program still waits for a host that is gone";
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_NE(WEXITSTATUS(status), 0) << "the call cannot have succeeded";
}

INSTANTIATE_TEST_SUITE_P(Channels, HostDeathTest,
                         ::testing::Values("pipe", "socketpair", "shm"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace tao
