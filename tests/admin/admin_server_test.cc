// The admin server's acceptor under abuse: connection limits per uid with a
// share kept for root, no spinning when descriptors run out, and the
// callers' groups as the kernel recorded them (SO_PEERGROUPS). Real unix
// sockets, real forked callers that setuid().
#include "admin/admin_server.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "admin/peer_credentials.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "gtest/gtest.h"
#include "tao/unique_fd.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::TempDir;
using ::testing::Contains;

// A service with no methods: the acceptor is what is under test.
class NoService : public grpc::Service {};

UniqueFd Connect(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::connect(fd.get(), reinterpret_cast<struct sockaddr*>(&addr),
                sizeof(addr)) != 0) {
    return UniqueFd();
  }
  return fd;
}

// True if the server closed `fd` (it reads EOF or an error).
bool ClosedByServer(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

// Forks a caller that drops to `uid` (and `groups`), connects `count` times
// (at most 128), waits `hold_ms`, then exits with how many connections are
// still open. The child allocates nothing: the parent has threads.
pid_t ForkCaller(const std::string& path, uid_t uid,
                 const std::vector<gid_t>& groups, int count, int hold_ms) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  // The server runs in the parent, so the fork copied whatever connection
  // its acceptor was refusing at that instant; holding that copy would keep
  // an earlier caller's refused connection open. Only 0-2 are needed here.
  ::syscall(SYS_close_range, 3U, ~0U, 0U);
  if (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(uid) != 0 ||
      ::setuid(uid) != 0) {
    ::_exit(255);
  }
  int fds[128];
  int made = 0;
  for (int i = 0; i < count && i < 128; ++i) {
    UniqueFd fd = Connect(path);
    if (fd.valid()) fds[made++] = fd.Release();
  }
  ::usleep(hold_ms * 1000);
  int open = 0;
  for (int i = 0; i < made; ++i) open += ClosedByServer(fds[i]) ? 0 : 1;
  ::_exit(std::min(open, 250));
}

int ExitCode(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

double CpuSeconds() {
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

class AdminServerTest : public ::testing::Test {
 protected:
  void StartServer(AdminServerOptions options) {
    options.socket_path = tmp_.Join("admin.sock");
    options.socket_mode = 0666;
    ASSERT_EQ(::chmod(tmp_.path().c_str(), 0755), 0);
    auto server = AdminServer::Start(options, &service_, &peers_);
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
  }
  std::string path() const { return server_->socket_path(); }

  TempDir tmp_;
  NoService service_;
  PeerCredentialRegistry peers_;
  std::unique_ptr<AdminServer> server_;
};

TEST_F(AdminServerTest, AUidKeepsOnlyItsShareAndRootStillGetsIn) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to setuid the callers";
  AdminServerOptions options;
  options.max_connections_per_uid = 5;
  options.max_connections = 40;
  options.root_reserved_connections = 10;
  StartServer(options);
  const std::string sock = path();
  const std::vector<gid_t> none;
  pid_t nobody = ForkCaller(sock, 65534, none, 60, 700);
  EXPECT_EQ(ExitCode(nobody), 5) << "connections nobody kept open";
  // Many uids at once fill the unreserved share, never root's.
  std::vector<pid_t> flood;
  for (uid_t uid = 70000; uid < 70010; ++uid) {
    flood.push_back(ForkCaller(sock, uid, none, 10, 1500));
  }
  ::usleep(700 * 1000);
  std::vector<UniqueFd> root;
  for (int i = 0; i < 10; ++i) root.push_back(Connect(path()));
  ::usleep(200 * 1000);
  for (const UniqueFd& fd : root) {
    ASSERT_TRUE(fd.valid());
    EXPECT_FALSE(ClosedByServer(fd.get())) << "root was locked out";
  }
  int others = 0;
  for (pid_t pid : flood) others += ExitCode(pid);
  EXPECT_LE(others, 30) << "the other uids took root's reserve";
  EXPECT_GE(others, 20);
}

// Out of descriptors, the acceptor backs off instead of spinning on a
// listener that stays readable.
TEST_F(AdminServerTest, NoDescriptorsLeftBacksOffInsteadOfSpinning) {
  AdminServerOptions options;
  StartServer(options);
  const std::string sock = path();
  int sync[2];
  ASSERT_EQ(::pipe2(sync, O_CLOEXEC), 0);
  pid_t caller = ::fork();
  if (caller == 0) {
    char go;
    if (::read(sync[0], &go, 1) != 1) ::_exit(1);
    for (int i = 0; i < 50; ++i) (void)Connect(sock).Release();
    ::usleep(1500 * 1000);
    ::_exit(0);
  }
  // No descriptor above the ones open now: accept gets EMFILE.
  struct rlimit saved;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  UniqueFd probe(::dup(0));
  struct rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(probe.get());
  probe.Reset();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  double cpu_before = CpuSeconds();
  ASSERT_EQ(::write(sync[1], "g", 1), 1);
  ::usleep(1200 * 1000);
  double cpu = CpuSeconds() - cpu_before;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_LT(cpu, 0.3) << "the acceptor spun for " << cpu << " s of CPU";
  EXPECT_EQ(ExitCode(caller), 0);
  ::close(sync[0]);
  ::close(sync[1]);
  // Descriptors again: the server serves on.
  UniqueFd after = Connect(path());
  ASSERT_TRUE(after.valid());
  ::usleep(200 * 1000);
  EXPECT_FALSE(ClosedByServer(after.get()));
}

TEST(PeerGroupsTest, SupplementaryGroupsAreTheOnesAtConnectTime) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to set the groups";
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd ours(pair[0]);
  pid_t child = ::fork();
  if (child == 0) {
    // A process whose groups are 4242 and 4343 makes a connection...
    ::close(pair[0]);
    gid_t groups[] = {4242, 4343};
    if (::setgroups(2, groups) != 0) ::_exit(2);
    int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr;
    std::memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    if (::read(pair[1], addr.sun_path, sizeof(addr.sun_path) - 1) <= 0)
      ::_exit(3);
    if (::connect(sock, reinterpret_cast<struct sockaddr*>(&addr),
                  sizeof(addr)) != 0) {
      ::_exit(4);
    }
    // ...then drops them: what counts is what it had when it connected.
    if (::setgroups(0, nullptr) != 0) ::_exit(5);
    char done;
    if (::read(pair[1], &done, 1) < 0) ::_exit(6);
    ::_exit(0);
  }
  ::close(pair[1]);
  TempDir tmp;
  const std::string path = tmp.Join("g.sock");
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<struct sockaddr*>(&addr),
                   sizeof(addr)),
            0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  ASSERT_EQ(::write(ours.get(), path.c_str(), path.size()),
            static_cast<ssize_t>(path.size()));
  UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn.valid());
  ::usleep(200 * 1000);  // the child has dropped its groups by now
  std::vector<gid_t> groups = GroupsOfPeer(conn.get(), child, 1234);
  EXPECT_EQ(groups.front(), 1234u);
  EXPECT_THAT(groups, Contains(4242u));
  EXPECT_THAT(groups, Contains(4343u));
  ASSERT_EQ(::write(ours.get(), "x", 1), 1);
  EXPECT_EQ(ExitCode(child), 0);
}

}  // namespace
}  // namespace tao
