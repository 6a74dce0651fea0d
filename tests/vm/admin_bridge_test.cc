// VmAdminBridge against a fake guest on the link's other end (real unix
// sockets, real threads): sessions stay apart however late the guest
// answers, and nothing the guest sends or withholds hurts the host.
#include "program_factory/vm/admin_port/admin_bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "program_factory/vm/admin_port/admin_frame.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

class AdminBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.Join("vm-1.sock");
    UniqueFd listening(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    path_.copy(address.sun_path, path_.size());
    ASSERT_EQ(
        ::bind(listening.get(), reinterpret_cast<struct sockaddr*>(&address),
               sizeof(address)),
        0);
    ASSERT_EQ(::listen(listening.get(), 4), 0);
    int link[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, link), 0);
    guest_.Reset(link[1]);
    int notice[2];
    ASSERT_EQ(::pipe2(notice, O_CLOEXEC | O_NONBLOCK), 0);
    notice_read_.Reset(notice[0]);
    UniqueFd notice_write(notice[1]);
    if (small_link_buffer_) {
      // The kernel's smallest send buffer on the host's end: what the guest
      // does not read stays in the bridge's own queue.
      const int size = 1;
      ASSERT_EQ(
          ::setsockopt(link[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
    }
    auto bridge = VmAdminBridge::Start(std::move(listening), UniqueFd(link[0]),
                                       notice_write.get(), limits_);
    ASSERT_THAT(bridge, IsOk());
    bridge_ = *std::move(bridge);
  }

  // A host client: connected, or invalid with errno set.
  UniqueFd Connect() {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    path_.copy(address.sun_path, path_.size());
    if (::connect(fd.get(), reinterpret_cast<struct sockaddr*>(&address),
                  sizeof(address)) != 0) {
      return UniqueFd();
    }
    return fd;
  }

  // Up to `want` bytes from `fd` within `timeout`; stops early at the end.
  static std::string ReadFor(int fd, size_t want, absl::Duration timeout,
                             bool* ended = nullptr) {
    std::string got;
    const absl::Time deadline = absl::Now() + timeout;
    while (got.size() < want) {
      struct pollfd p = {fd, POLLIN, 0};
      const int ms =
          static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (ms <= 0 || ::poll(&p, 1, ms) <= 0) break;
      char buf[4096];
      ssize_t n = ::read(fd, buf, std::min(sizeof(buf), want - got.size()));
      if (n <= 0) {
        if (ended != nullptr) *ended = true;
        break;
      }
      got.append(buf, n);
    }
    return got;
  }

  // The guest's next frame from the host within 5 s.
  std::optional<AdminFrame> GuestReads() {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (true) {
      auto frame = guest_reader_.Next();
      EXPECT_THAT(frame, IsOk());
      if (!frame.ok()) return std::nullopt;
      if (frame->has_value()) return std::move(**frame);
      struct pollfd p = {guest_.get(), POLLIN, 0};
      const int ms =
          static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (ms <= 0 || ::poll(&p, 1, ms) <= 0) return std::nullopt;
      char buf[1 << 16];
      ssize_t n = ::read(guest_.get(), buf, sizeof(buf));
      if (n <= 0) return std::nullopt;
      guest_reader_.Feed(absl::string_view(buf, static_cast<size_t>(n)));
    }
  }

  void GuestSends(AdminFrameType type, uint32_t session,
                  const std::string& payload = "") {
    std::string frame;
    AppendAdminFrame(type, session, payload, &frame);
    ASSERT_EQ(::write(guest_.get(), frame.data(), frame.size()),
              static_cast<ssize_t>(frame.size()));
  }

  // Waits up to 5 s for the bridge to stop.
  absl::Status StoppedWith() {
    for (int i = 0; i < 500 && bridge_->status().ok(); ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    return bridge_->status();
  }

  void ExpectFrame(AdminFrameType type, uint32_t session,
                   const std::string& payload = "") {
    std::optional<AdminFrame> f = GuestReads();
    ASSERT_TRUE(f.has_value()) << "no frame " << static_cast<int>(type);
    EXPECT_EQ(f->type, type);
    EXPECT_EQ(f->session, session);
    EXPECT_EQ(f->payload, payload);
  }

  bool small_link_buffer_ = false;
  test::TempDir dir_;
  std::string path_;
  VmAdminBridge::Limits limits_;
  UniqueFd guest_;
  UniqueFd notice_read_;
  AdminFrameReader guest_reader_{/*allow_open=*/true};
  std::unique_ptr<VmAdminBridge> bridge_;
};

TEST_F(AdminBridgeTest, ASessionsBytesTravelInItsFramesBothWays) {
  UniqueFd client = Connect();
  ASSERT_TRUE(client.valid());
  ASSERT_EQ(::write(client.get(), "ping", 4), 4);
  ExpectFrame(AdminFrameType::kOpen, 1);
  ExpectFrame(AdminFrameType::kData, 1, "ping");
  GuestSends(AdminFrameType::kData, 1, "pong");
  EXPECT_EQ(ReadFor(client.get(), 4, absl::Seconds(5)), "pong");
  // The guest ends the session: the client reads what was sent, then EOF.
  GuestSends(AdminFrameType::kData, 1, "bye");
  GuestSends(AdminFrameType::kClose, 1);
  bool ended = false;
  EXPECT_EQ(ReadFor(client.get(), 100, absl::Seconds(5), &ended), "bye");
  EXPECT_TRUE(ended);
  EXPECT_EQ(bridge_->sessions(), 1u);
  EXPECT_THAT(bridge_->status(), IsOk());
}

TEST_F(AdminBridgeTest, TheClientClosingClosesTheSession) {
  UniqueFd client = Connect();
  ASSERT_EQ(::write(client.get(), "x", 1), 1);
  ExpectFrame(AdminFrameType::kOpen, 1);
  ExpectFrame(AdminFrameType::kData, 1, "x");
  client.Reset();
  ExpectFrame(AdminFrameType::kClose, 1);
}

// The race this framing exists for: the guest answers an ended session
// after the next one began. Its late bytes reach nobody.
TEST_F(AdminBridgeTest, AnEarlierSessionsLateAnswerNeverReachesTheNext) {
  UniqueFd first = Connect();
  ASSERT_EQ(::write(first.get(), "a", 1), 1);
  first.Reset();
  UniqueFd second = Connect();
  ASSERT_TRUE(second.valid());
  ASSERT_EQ(::write(second.get(), "b", 1), 1);
  ExpectFrame(AdminFrameType::kOpen, 1);
  ExpectFrame(AdminFrameType::kData, 1, "a");
  ExpectFrame(AdminFrameType::kClose, 1);
  ExpectFrame(AdminFrameType::kOpen, 2);
  ExpectFrame(AdminFrameType::kData, 2, "b");
  GuestSends(AdminFrameType::kData, 1, "stale answer");
  GuestSends(AdminFrameType::kClose, 1);  // nor does its close end this one
  GuestSends(AdminFrameType::kData, 2, "fresh");
  EXPECT_EQ(ReadFor(second.get(), 100, absl::Milliseconds(500)), "fresh");
  // A session number the host never gave is as late as any other.
  GuestSends(AdminFrameType::kData, 99, "made up");
  EXPECT_EQ(ReadFor(second.get(), 100, absl::Milliseconds(300)), "");
  EXPECT_THAT(bridge_->status(), IsOk());
}

TEST_F(AdminBridgeTest, OneClientAtATimeTheNextWaitsItsTurn) {
  UniqueFd first = Connect();
  UniqueFd second = Connect();  // in the listen backlog
  ASSERT_TRUE(first.valid());
  ASSERT_TRUE(second.valid());
  ExpectFrame(AdminFrameType::kOpen, 1);
  ASSERT_EQ(::write(second.get(), "2", 1), 1);
  // Nothing of the second while the first is served.
  EXPECT_EQ(ReadFor(guest_.get(), 1, absl::Milliseconds(300)), "");
  first.Reset();
  ExpectFrame(AdminFrameType::kClose, 1);
  ExpectFrame(AdminFrameType::kOpen, 2);
  ExpectFrame(AdminFrameType::kData, 2, "2");
}

TEST_F(AdminBridgeTest, FiftySessionsBackToBackEachGetsItsOwnAnswer) {
  for (uint32_t s = 1; s <= 50; ++s) {
    UniqueFd client = Connect();
    ASSERT_TRUE(client.valid()) << s;
    const std::string ask = absl::StrCat("ask ", s);
    ASSERT_EQ(::write(client.get(), ask.data(), ask.size()),
              static_cast<ssize_t>(ask.size()));
    if (s > 1) ExpectFrame(AdminFrameType::kClose, s - 1);
    ExpectFrame(AdminFrameType::kOpen, s);
    ExpectFrame(AdminFrameType::kData, s, ask);
    const std::string answer = absl::StrCat("answer ", s);
    GuestSends(AdminFrameType::kData, s, answer);
    ASSERT_EQ(ReadFor(client.get(), answer.size(), absl::Seconds(5)), answer);
  }
  EXPECT_EQ(bridge_->sessions(), 50u);
}

TEST_F(AdminBridgeTest, GarbageFromTheGuestStopsTheBridgeAndRefusesClients) {
  UniqueFd client = Connect();
  ExpectFrame(AdminFrameType::kOpen, 1);
  const std::string garbage = "\x7a\x01garbage from a hostile guest";
  ASSERT_EQ(::write(guest_.get(), garbage.data(), garbage.size()),
            static_cast<ssize_t>(garbage.size()));
  EXPECT_THAT(StoppedWith(), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr("unknown frame type 122")));
  bool ended = false;
  ReadFor(client.get(), 1, absl::Seconds(5), &ended);
  EXPECT_TRUE(ended) << "the session's client is closed";
  EXPECT_FALSE(Connect().valid());
  EXPECT_EQ(errno, ECONNREFUSED);
  EXPECT_THAT(ReadFor(notice_read_.get(), 4096, absl::Seconds(1)),
              HasSubstr("taohost: this VM's admin port is closed: the guest "
                        "sent a bad admin-link frame: unknown frame type"));
}

TEST_F(AdminBridgeTest, AGuestMayNotOpenASession) {
  GuestSends(AdminFrameType::kOpen, 1);
  EXPECT_THAT(StoppedWith(), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr("open frame")));
}

TEST_F(AdminBridgeTest, QemuGoneStopsTheBridge) {
  guest_.Reset();
  EXPECT_THAT(StoppedWith(), StatusIs(absl::StatusCode::kUnavailable,
                                      HasSubstr("QEMU closed")));
  EXPECT_FALSE(Connect().valid());
}

class AdminBridgeSmallLinkTest : public AdminBridgeTest {
 protected:
  AdminBridgeSmallLinkTest() { small_link_buffer_ = true; }
};

// A guest that reads late: a session whose client gave up before a byte of
// it reached the link is taken back whole, so the guest never runs its
// request; one that had begun is closed as usual.
TEST_F(AdminBridgeSmallLinkTest, ASessionTheGuestNeverSawIsTakenBack) {
  UniqueFd first = Connect();
  const std::string big(20000, 'a');  // more than the link's buffer
  ASSERT_EQ(::write(first.get(), big.data(), big.size()),
            static_cast<ssize_t>(big.size()));
  for (int i = 0; i < 500 && bridge_->sessions() < 1; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::SleepFor(absl::Milliseconds(100));  // its bytes queued
  first.Reset();
  UniqueFd second;
  for (int i = 0; i < 500 && bridge_->sessions() < 2; ++i) {
    if (!second.valid()) second = Connect();
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(bridge_->sessions(), 2u);
  ASSERT_EQ(::write(second.get(), "stop everything", 15), 15);
  absl::SleepFor(absl::Milliseconds(100));
  second.Reset();  // gave up: the guest has not read a byte of it
  UniqueFd third;
  for (int i = 0; i < 500 && bridge_->sessions() < 3; ++i) {
    if (!third.valid()) third = Connect();
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(bridge_->sessions(), 3u);
  ASSERT_EQ(::write(third.get(), "list", 4), 4);
  // Now the guest reads it all: session 1 whole, nothing of session 2.
  ExpectFrame(AdminFrameType::kOpen, 1);
  std::string data;
  std::optional<AdminFrame> f;
  while ((f = GuestReads()).has_value() && f->type == AdminFrameType::kData) {
    EXPECT_EQ(f->session, 1u);
    data += f->payload;
  }
  EXPECT_EQ(data, big);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->type, AdminFrameType::kClose);
  EXPECT_EQ(f->session, 1u);
  ExpectFrame(AdminFrameType::kOpen, 3);
  ExpectFrame(AdminFrameType::kData, 3, "list");
}

// accept() failing for want of descriptors leaves the client in the
// backlog and the socket readable: the bridge waits and tries again instead
// of spinning, and serves the client once descriptors are back.
TEST_F(AdminBridgeTest, AcceptOutOfDescriptorsWaitsInsteadOfSpinning) {
  // The bridge's loop has run once before descriptors run out: clang's
  // UBSan checks each dynamic type the first time it meets it by probing
  // memory through a pipe of its own, and reports the object as invalid
  // when no descriptor is left for that pipe.
  UniqueFd first = Connect();
  ASSERT_TRUE(first.valid());
  ExpectFrame(AdminFrameType::kOpen, 1);
  first.Reset();  // one client at a time
  ExpectFrame(AdminFrameType::kClose, 1);
  UniqueFd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  path_.copy(address.sun_path, path_.size());
  struct rlimit saved;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  // The lowest free descriptor number becomes the limit: no new one fits.
  const int lowest_free = ::dup(0);
  ASSERT_GE(lowest_free, 0);
  ::close(lowest_free);
  struct rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  const int connected =
      ::connect(client.get(), reinterpret_cast<struct sockaddr*>(&address),
                sizeof(address));
  timespec cpu_before, cpu_after;
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_before);
  absl::SleepFor(absl::Milliseconds(500));
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_after);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_EQ(connected, 0);
  const absl::Duration cpu = absl::DurationFromTimespec(cpu_after) -
                             absl::DurationFromTimespec(cpu_before);
  EXPECT_LT(cpu, absl::Milliseconds(100)) << "the bridge spun on accept";
  ExpectFrame(AdminFrameType::kOpen, 2);
  EXPECT_THAT(bridge_->status(), IsOk());
}

// A guest that never reads its port: the host queues a bounded amount,
// then stops reading the client (whose writes block), and stays stoppable.
TEST_F(AdminBridgeTest, AGuestThatNeverReadsCannotGrowTheHost) {
  UniqueFd client = Connect();
  ASSERT_EQ(::fcntl(client.get(), F_SETFL, O_NONBLOCK), 0);
  const std::string chunk(1 << 16, 'q');
  size_t sent = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    ssize_t n = ::write(client.get(), chunk.data(), chunk.size());
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    ASSERT_EQ(errno, EAGAIN);
    // Blocked: give the bridge a moment to take more, if it would.
    struct pollfd p = {client.get(), POLLOUT, 0};
    if (::poll(&p, 1, 300) == 0) break;
  }
  // The bridge's queue, plus what the kernel's socket buffers hold.
  EXPECT_LT(sent, limits_.link_out + (16u << 20));
  EXPECT_GT(sent, 0u);
  const absl::Time before = absl::Now();
  bridge_.reset();
  EXPECT_LT(absl::Now() - before, absl::Seconds(2));
}

// A client that never reads: the bridge stops reading the link, so the
// guest's writes block instead of the host's memory growing.
TEST_F(AdminBridgeTest, AClientThatNeverReadsBlocksTheGuestNotTheHost) {
  UniqueFd client = Connect();
  ExpectFrame(AdminFrameType::kOpen, 1);
  ASSERT_EQ(::fcntl(guest_.get(), F_SETFL, O_NONBLOCK), 0);
  std::string frame;
  AppendAdminData(1, std::string(kMaxAdminPayload, 'g'), &frame);
  size_t sent = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    // Whole frames: a partial write is finished before the next begins.
    const size_t at = sent % frame.size();
    ssize_t n = ::write(guest_.get(), frame.data() + at, frame.size() - at);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    ASSERT_EQ(errno, EAGAIN);
    struct pollfd p = {guest_.get(), POLLOUT, 0};
    if (::poll(&p, 1, 300) == 0) break;
  }
  EXPECT_LT(sent, limits_.client_out + kMaxAdminPayload + (16u << 20));
  EXPECT_THAT(bridge_->status(), IsOk());
  const absl::Time before = absl::Now();
  bridge_.reset();
  EXPECT_LT(absl::Now() - before, absl::Seconds(2));
}

}  // namespace
}  // namespace tao
