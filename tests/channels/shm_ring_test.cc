// The shared-memory channel's parts with no child process: the ring reader
// and writer against impossible indices, the waiting words, and the host's
// transport against the client's stream over a real sealed memfd and real
// eventfds in this process.
#include "channels/shm_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "channels/shm_channel.h"
#include "channels/shm_transport.h"
#include "channels/tao_rpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::IsOkAndHolds;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

// One ring in private memory, its control words beside it.
struct Ring {
  explicit Ring(uint64_t size) : data(size, '\0') {}
  std::string data;
  uint64_t head = 0;
  uint64_t tail = 0;
  ShmRingReader Reader() {
    return ShmRingReader(data.data(), data.size(), &head, &tail);
  }
  ShmRingWriter Writer() {
    return ShmRingWriter(data.data(), data.size(), &head, &tail);
  }
};

TEST(ShmLayoutTest, SizesMustBePowersOfTwoInRange) {
  EXPECT_THAT(MakeShmLayout(4096, 1 << 20), IsOk());
  EXPECT_THAT(MakeShmLayout(4095, 4096),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MakeShmLayout(4096, 3 << 12),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MakeShmLayout(2048, 4096),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MakeShmLayout(4096, uint64_t{128} << 20),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ShmLayoutTest, HeaderRoundTripsAndBadHeadersAreRefused) {
  auto layout = MakeShmLayout(8192, 4096);
  ASSERT_THAT(layout, IsOk());
  EXPECT_EQ(layout->total(), kShmHeaderSize + 8192 + 4096);
  std::string mem(layout->total(), '\x55');
  WriteShmHeader(mem.data(), *layout);
  auto parsed = ParseShmHeader(mem.data(), mem.size());
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->ring_offset[kShmUp], kShmHeaderSize + 8192);
  EXPECT_EQ(parsed->ring_size[kShmUp], 4096u);
  // Control words start at zero.
  EXPECT_EQ(*ShmWord64(mem.data(), ShmControl(kShmUp, kShmCtlHead)), 0u);
  // A mapping too small for its rings, a wrong magic, overlapping rings.
  EXPECT_THAT(
      ParseShmHeader(mem.data(), mem.size() - 1),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outside")));
  std::string bad = mem;
  *ShmWord32(bad.data(), kShmOffMagic) ^= 1;
  EXPECT_THAT(ParseShmHeader(bad.data(), bad.size()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("magic")));
  bad = mem;
  *ShmWord64(bad.data(), kShmOffRingInfo + 16) = kShmHeaderSize + 4096;
  EXPECT_THAT(
      ParseShmHeader(bad.data(), bad.size()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("overlap")));
}

TEST(ShmRingTest, BytesWrapAroundInOrder) {
  Ring ring(4096);
  ShmRingWriter writer = ring.Writer();
  ShmRingReader reader = ring.Reader();
  std::string sent, got;
  for (int i = 0; i < 100; ++i) {
    std::string chunk(1000 + i, static_cast<char>('a' + i % 26));
    absl::string_view rest = chunk;
    while (!rest.empty()) {
      auto n = writer.Write(rest);
      ASSERT_THAT(n, IsOk());
      rest.remove_prefix(*n);
      char buf[700];
      auto r = reader.Read(absl::MakeSpan(buf));
      ASSERT_THAT(r, IsOk());
      got.append(buf, *r);
    }
    sent += chunk;
  }
  char buf[4096];
  auto r = reader.Read(absl::MakeSpan(buf));
  ASSERT_THAT(r, IsOk());
  got.append(buf, *r);
  EXPECT_EQ(got, sent);
  EXPECT_EQ(reader.consumed(), sent.size());
  EXPECT_EQ(ring.tail, sent.size());
  EXPECT_THAT(reader.Read(absl::MakeSpan(buf)), IsOkAndHolds(0u));
}

TEST(ShmRingTest, AFullRingTakesNothingMore) {
  Ring ring(4096);
  ShmRingWriter writer = ring.Writer();
  EXPECT_THAT(writer.Write(std::string(5000, 'x')), IsOkAndHolds(4096u));
  EXPECT_THAT(writer.Write("y"), IsOkAndHolds(0u));
  EXPECT_THAT(writer.Free(), IsOkAndHolds(0u));
}

TEST(ShmRingTest, AHeadBeyondTheRingIsRefused) {
  Ring ring(4096);
  ShmRingReader reader = ring.Reader();
  ring.head = 4097;
  char buf[16];
  EXPECT_THAT(
      reader.Read(absl::MakeSpan(buf)),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("beyond the ring")));
  ring.head = ~uint64_t{0};
  EXPECT_THAT(reader.Available(), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(ring.tail, 0u) << "nothing was consumed";
}

TEST(ShmRingTest, AHeadThatRunsBackwardsIsRefused) {
  Ring ring(4096);
  ShmRingReader reader = ring.Reader();
  ring.head = 100;
  char buf[50];
  EXPECT_THAT(reader.Read(absl::MakeSpan(buf)), IsOkAndHolds(50u));
  // Still ahead of the tail, but behind what the producer published.
  ring.head = 70;
  EXPECT_THAT(reader.Read(absl::MakeSpan(buf)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("backwards")));
  // Behind the tail too.
  ring.head = 10;
  EXPECT_THAT(reader.Available(), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(ShmRingTest, ATailAheadOfTheHeadOrRunningBackwardsIsRefused) {
  Ring ring(4096);
  ShmRingWriter writer = ring.Writer();
  ASSERT_THAT(writer.Write(std::string(100, 'x')), IsOkAndHolds(100u));
  ring.tail = 101;
  EXPECT_THAT(writer.Free(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("beyond")));
  ring.tail = 60;
  EXPECT_THAT(writer.Free(), IsOkAndHolds(4096u - 40));
  ring.tail = 50;
  EXPECT_THAT(writer.Write("y"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("backwards")));
}

// The reader copies while another thread rewrites the ring's bytes: every
// byte it returns is one of the values that byte had (one copy, no re-read),
// and the reader never fails or reads outside its ring.
TEST(ShmRingTest, BytesFlippedWhileCopiedGiveOneCopy) {
  Ring ring(4096);
  ring.head = 4096;
  std::atomic<bool> stop{false};
  std::thread flipper([&] {
    volatile char* p = ring.data.data();
    while (!stop.load(std::memory_order_relaxed)) {
      for (size_t i = 0; i < 4096; ++i) p[i] = static_cast<char>(p[i] ^ 0x5a);
    }
  });
  for (int round = 0; round < 2000; ++round) {
    ShmRingReader reader(ring.data.data(), 4096, &ring.head, &ring.tail);
    ring.tail = 0;
    char buf[4096];
    auto n = reader.Read(absl::MakeSpan(buf));
    ASSERT_THAT(n, IsOkAndHolds(4096u));
    for (char c : buf) ASSERT_TRUE(c == 0 || c == 0x5a);
  }
  stop = true;
  flipper.join();
}

TEST(ShmWaitTest, AWakerSignalsOncePerSleep) {
  uint32_t word = 0;
  ShmWaiter waiter(&word);
  ShmWaker waker(&word);
  EXPECT_FALSE(waker.ShouldWake()) << "nobody sleeps";
  waiter.Arm();
  EXPECT_TRUE(waiter.armed());
  EXPECT_TRUE(waker.ShouldWake());
  EXPECT_FALSE(waker.ShouldWake()) << "that sleep was signalled already";
  waiter.Arm();  // still the same sleep
  EXPECT_FALSE(waker.ShouldWake());
  waiter.Disarm();
  EXPECT_FALSE(waker.ShouldWake());
  waiter.Arm();
  EXPECT_TRUE(waker.ShouldWake()) << "a new sleep";
}

// ---- The transport and the stream over a real memfd ------------------------

class ShmTransportTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(4096); }

  void Make(uint64_t ring_size) {
    ShmTransportOptions options;
    options.ring_size = ring_size;
    auto pair = MakeShmTransport(options);
    ASSERT_THAT(pair, IsOk());
    pair_ = std::move(*pair);
    ASSERT_EQ(pair_.child.channel_env, "shm:3,4,5,6");
    ASSERT_EQ(pair_.child.fds.size(), 4u);
    memfd_ = Dup(3);
    host_fd_ = HostFd();
    auto stream = ShmStream::Open(Dup(3), Dup(4), Dup(5));
    ASSERT_THAT(stream, IsOk());
    stream_ = std::move(*stream);
  }

  UniqueFd Dup(int number) {
    for (const ChildEndpoint::Fd& fd : pair_.child.fds) {
      if (fd.child_number == number) {
        return UniqueFd(::fcntl(fd.fd.get(), F_DUPFD_CLOEXEC, 0));
      }
    }
    return UniqueFd();
  }

  // The host's eventfd, as the loop would wait on it (asking for it with
  // nothing wanted arms nothing).
  int HostFd() { return pair_.host->Waits(false, false)[0].fd; }
  bool HostReadable() {
    struct pollfd p = {host_fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }

  // Reads everything the program sent, like the loop: until a short read.
  std::string HostReadAll() {
    std::string got;
    while (true) {
      char buf[1024];
      auto n = pair_.host->Read(absl::MakeSpan(buf));
      EXPECT_THAT(n, IsOk());
      if (!n.ok() || *n == 0) break;
      got.append(buf, *n);
    }
    return got;
  }

  TransportPair pair_;
  UniqueFd memfd_;
  int host_fd_ = -1;
  std::unique_ptr<ShmStream> stream_;
};

TEST_F(ShmTransportTest, TheMemfdIsSealedAgainstResizing) {
  const int seals = ::fcntl(memfd_.get(), F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  EXPECT_NE(::ftruncate(memfd_.get(), 0), 0);
  EXPECT_EQ(errno, EPERM);
  EXPECT_NE(::ftruncate(memfd_.get(), 1 << 30), 0);
  EXPECT_EQ(errno, EPERM);
  EXPECT_NE(::fcntl(memfd_.get(), F_ADD_SEALS, F_SEAL_WRITE), 0);
  EXPECT_EQ(errno, EPERM);
}

TEST_F(ShmTransportTest, BytesGoBothWaysAndTheSleeperIsWoken) {
  // The loop arms the host's wake-up before it waits.
  pair_.host->Waits(true, false);
  EXPECT_FALSE(HostReadable());
  absl::string_view parts[] = {"hello ", "host"};
  ASSERT_THAT(stream_->WriteAll(parts), IsOk());
  EXPECT_TRUE(HostReadable()) << "the program signalled a sleeping host";
  EXPECT_EQ(HostReadAll(), "hello host");
  EXPECT_FALSE(HostReadable()) << "the host consumed its wake-up";

  // The host's answer wakes a program that sleeps on it.
  std::string answer;
  std::thread program([&] {
    char buf[64];
    auto n = stream_->ReadSome(absl::MakeSpan(buf));
    if (n.ok()) answer.assign(buf, *n);
  });
  absl::SleepFor(absl::Milliseconds(50));
  ASSERT_THAT(pair_.host->Write("hello program"), IsOkAndHolds(13u));
  pair_.host->EndOfTurn();
  program.join();
  EXPECT_EQ(answer, "hello program");
}

TEST_F(ShmTransportTest, AnAwakeHostIsNotSignalled) {
  // Not armed: the host is busy and will look anyway.
  absl::string_view parts[] = {"quiet"};
  ASSERT_THAT(stream_->WriteAll(parts), IsOk());
  EXPECT_FALSE(HostReadable());
  EXPECT_EQ(HostReadAll(), "quiet");
  // Arming with bytes already there makes the host's own eventfd readable.
  ASSERT_THAT(stream_->WriteAll(parts), IsOk());
  pair_.host->Waits(true, false);
  EXPECT_TRUE(HostReadable());
}

// A frame four times the ring streams through it: the program blocks while
// the ring is full and the host's reads wake it.
TEST_F(ShmTransportTest, LargerThanTheRingStreamsThrough) {
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  std::thread program([&] {
    absl::string_view parts[] = {big};
    EXPECT_THAT(stream_->WriteAll(parts), IsOk());
  });
  std::string got;
  int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {EPOLLIN, {}};
  ASSERT_EQ(::epoll_ctl(epfd, EPOLL_CTL_ADD, host_fd_, &ev), 0);
  while (got.size() < big.size()) {
    pair_.host->Waits(true, false);  // arms, as the loop does
    struct epoll_event out;
    ASSERT_EQ(::epoll_wait(epfd, &out, 1, 5000), 1)
        << "stalled at " << got.size();
    got += HostReadAll();
    pair_.host->EndOfTurn();
  }
  program.join();
  ::close(epfd);
  EXPECT_EQ(got, big);
}

TEST_F(ShmTransportTest, AnImpossibleHeadFailsTheHostsRead) {
  char* base =
      static_cast<char*>(::mmap(nullptr, kShmHeaderSize, PROT_READ | PROT_WRITE,
                                MAP_SHARED, memfd_.get(), 0));
  ASSERT_NE(base, MAP_FAILED);
  *ShmWord64(base, ShmControl(kShmUp, kShmCtlHead)) = 4096 + 1;
  char buf[16];
  EXPECT_THAT(pair_.host->Read(absl::MakeSpan(buf)),
              StatusIs(absl::StatusCode::kDataLoss));
  ::munmap(base, kShmHeaderSize);
}

TEST_F(ShmTransportTest, EachSideSeesTheOtherClose) {
  stream_->Close();
  char buf[16];
  EXPECT_THAT(pair_.host->Read(absl::MakeSpan(buf)),
              StatusIs(absl::StatusCode::kUnavailable));
  auto stream = ShmStream::Open(Dup(3), Dup(4), Dup(5));
  ASSERT_THAT(stream, IsOk());
  ASSERT_THAT(pair_.host->Write("last words"), IsOkAndHolds(10u));
  pair_.host.reset();
  // What the host wrote before it closed comes first, then the end.
  EXPECT_THAT((*stream)->ReadSome(absl::MakeSpan(buf)), IsOkAndHolds(10u));
  EXPECT_THAT((*stream)->ReadSome(absl::MakeSpan(buf)), IsOkAndHolds(0u));
  absl::string_view parts[] = {"x"};
  EXPECT_THAT((*stream)->WriteAll(parts),
              StatusIs(absl::StatusCode::kUnavailable));
}

// A host that dies sets no flag and signals nothing; the hang-up of the
// pipe only it held ends the program's wait all the same.
TEST_F(ShmTransportTest, AProgramWaitingForADeadHostGetsTheEnd) {
  int alive[2];
  ASSERT_EQ(::pipe2(alive, O_CLOEXEC), 0);
  UniqueFd alive_write(alive[1]);
  auto stream =
      ShmStream::Open(Dup(3), Dup(4), Dup(5), /*spin=*/0, UniqueFd(alive[0]));
  ASSERT_THAT(stream, IsOk());
  std::thread dies([&] {
    absl::SleepFor(absl::Milliseconds(100));
    alive_write.Reset();  // the host's "death": the mapping stays as it was
  });
  char buf[16];
  EXPECT_THAT((*stream)->ReadSome(absl::MakeSpan(buf)), IsOkAndHolds(0u));
  dies.join();
  EXPECT_TRUE((*stream)->host_closed());
  absl::string_view parts[] = {"x"};
  EXPECT_THAT((*stream)->WriteAll(parts),
              StatusIs(absl::StatusCode::kUnavailable));
  // The real endpoint's fd 6 is such a pipe, and the transport holds its
  // write end: while it lives, the pipe neither hangs up nor reads.
  UniqueFd child_end = Dup(6);
  ASSERT_TRUE(child_end.valid());
  struct pollfd p = {child_end.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  pair_.host.reset();
  EXPECT_EQ(::poll(&p, 1, 1000), 1);
  EXPECT_NE(p.revents & POLLHUP, 0);
}

TEST_F(ShmTransportTest, ShmChannelCarriesFrames) {
  ShmChannel channel(std::move(stream_));
  TaoRequest request;
  request.set_id(42);
  request.mutable_get_random_bytes()->set_size(32);
  ASSERT_THAT(channel.Send(request), IsOk());
  std::string frame = HostReadAll();
  std::string want;
  ASSERT_THAT(AppendFrame(request, kDefaultMaxFrameSize, &want), IsOk());
  EXPECT_EQ(frame, want);
  TaoResponse response;
  response.set_id(42);
  response.set_data("abc");
  std::string out;
  ASSERT_THAT(AppendFrame(response, kDefaultMaxFrameSize, &out), IsOk());
  ASSERT_THAT(pair_.host->Write(out), IsOkAndHolds(out.size()));
  pair_.host->EndOfTurn();
  TaoResponse got;
  ASSERT_THAT(channel.Receive(&got), IsOk());
  EXPECT_EQ(got.id(), 42u);
  EXPECT_EQ(got.data(), "abc");
  pair_.host.reset();
  EXPECT_THAT(channel.Receive(&got), StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(ShmStreamTest, ADescriptorThatIsNoChannelIsRefused) {
  UniqueFd unsealed(::memfd_create("x", MFD_CLOEXEC));
  ASSERT_EQ(::ftruncate(unsealed.get(), 1 << 16), 0);
  EXPECT_THAT(
      ShmStream::Open(std::move(unsealed), UniqueFd(), UniqueFd()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sealed")));
  UniqueFd garbage(::memfd_create("y", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  ASSERT_EQ(::ftruncate(garbage.get(), 1 << 16), 0);
  ASSERT_EQ(::fcntl(garbage.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW),
            0);
  EXPECT_THAT(ShmStream::Open(std::move(garbage), UniqueFd(), UniqueFd()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("magic")));
}

}  // namespace
}  // namespace tao
