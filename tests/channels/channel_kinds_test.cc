// The channel-kind registry: the built-in kinds, one parser for every name,
// made-up kinds registered by a test, and real channels made by name.
#include "channels/channel_kinds.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/strings/match.h"
#include "channels/shm_ring.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::IsOkAndHolds;
using ::tao::test::StatusIs;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

TEST(ChannelKindsTest, PipeShmAndSocketpairAreAlwaysThereAndPipeIsTheDefault) {
  EXPECT_THAT(ChannelKindNames(), IsSupersetOf({"pipe", "shm", "socketpair"}));
  EXPECT_THAT(ParseChannelKind("shm"), IsOkAndHolds("shm"));
  EXPECT_THAT(ParseChannelKind(""), IsOkAndHolds("pipe"));
  EXPECT_THAT(ParseChannelKind("pipe"), IsOkAndHolds("pipe"));
  EXPECT_THAT(ParseChannelKind("socketpair"), IsOkAndHolds("socketpair"));
}

TEST(ChannelKindsTest, AnUnknownKindIsRefusedWithTheKindsThatExist) {
  EXPECT_THAT(ParseChannelKind("carrier-pigeon"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown channel 'carrier-pigeon' (")));
  EXPECT_THAT(ParseChannelKind("Pipe"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("pipe, shm or socketpair")));
  // A hostile name is escaped and cut short in the message.
  auto hostile =
      ParseChannelKind(std::string("\n\x1b[31m", 6) + std::string(5000, 'x'));
  ASSERT_THAT(hostile, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_LT(hostile.status().message().size(), 400u);
  EXPECT_EQ(hostile.status().message().find('\n'), std::string::npos);
  EXPECT_THAT(MakeChannel("carrier-pigeon"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// Writes `data` on the child's end and reads it on the host's.
void ExpectCarries(TransportPair& pair, int child_write_fd) {
  ASSERT_EQ(::write(child_write_fd, "ping", 4), 4);
  char buf[16];
  absl::StatusOr<size_t> n = 0;
  for (int i = 0; i < 100 && n.ok() && *n == 0; ++i) {
    n = pair.host->Read(absl::MakeSpan(buf, sizeof(buf)));
    if (n.ok() && *n == 0) ::usleep(1000);
  }
  ASSERT_THAT(n, IsOkAndHolds(4u));
  EXPECT_EQ(std::string(buf, 4), "ping");
}

TEST(ChannelKindsTest, TheBuiltInKindsMakeRealChannelsByName) {
  auto pipe = MakeChannel("pipe");
  ASSERT_THAT(pipe, IsOk());
  EXPECT_EQ(pipe->child.channel_env, "pipe:3,4");
  ASSERT_EQ(pipe->child.fds.size(), 2u);
  for (const ChildEndpoint::Fd& fd : pipe->child.fds) {
    if (fd.child_number == 4) ExpectCarries(*pipe, fd.fd.get());  // its writes
  }

  auto socket = MakeChannel("socketpair");
  ASSERT_THAT(socket, IsOk());
  EXPECT_EQ(socket->child.channel_env, "socket:3");
  ASSERT_EQ(socket->child.fds.size(), 1u);
  ExpectCarries(*socket, socket->child.fds[0].fd.get());

  auto shm = MakeChannel("shm");
  ASSERT_THAT(shm, IsOk());
  EXPECT_EQ(shm->child.channel_env, "shm:3,4,5,6");
  ASSERT_EQ(shm->child.fds.size(), 4u);
  EXPECT_NE(shm->host, nullptr);
}

TEST(ChannelKindsTest, ATestRegistersAMadeUpKindOnce) {
  int made = 0;
  ASSERT_THAT(RegisterChannelKind(
                  "test-loopback",
                  [&made]() -> absl::StatusOr<TransportPair> {
                    ++made;
                    int fds[2];
                    if (::socketpair(AF_UNIX,
                                     SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                                     0, fds) != 0) {
                      return absl::ErrnoToStatus(errno, "socketpair");
                    }
                    TransportPair pair;
                    pair.host = NewFdTransport(UniqueFd(fds[0]), UniqueFd());
                    pair.child.channel_env = "test-loopback:5";
                    pair.child.fds.push_back({UniqueFd(fds[1]), 5});
                    return pair;
                  }),
              IsOk());
  EXPECT_THAT(ChannelKindNames(), Contains("test-loopback"));
  EXPECT_THAT(ParseChannelKind("test-loopback"), IsOkAndHolds("test-loopback"));
  auto pair = MakeChannel("test-loopback");
  ASSERT_THAT(pair, IsOk());
  EXPECT_EQ(made, 1);
  EXPECT_EQ(pair->child.channel_env, "test-loopback:5");
  ExpectCarries(*pair, pair->child.fds[0].fd.get());
  // Unknown kinds now list it among the kinds that exist.
  EXPECT_THAT(
      ParseChannelKind("nope"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("test-loopback")));

  // A name is registered once, and the built-in ones cannot be replaced.
  auto again = [] { return MakePipeTransport(); };
  EXPECT_THAT(RegisterChannelKind("test-loopback", again),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(RegisterChannelKind("pipe", again),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(RegisterChannelKind("", again),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RegisterChannelKind("Bad Name", again),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RegisterChannelKind(std::string(33, 'a'), again),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RegisterChannelKind("no-maker", nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ChannelKindsTest, PairingsAreCheckedAgainstWhatAFactoryAccepts) {
  EXPECT_THAT(CheckChannelPairing("process", {"pipe", "socketpair"},
                                  {"pipe", "socketpair"}),
              IsOk());
  EXPECT_THAT(CheckChannelPairing("process", {}, {"pipe"}), IsOk());
  EXPECT_THAT(CheckChannelPairing("enclave", {"pipe"}, {"shm"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("factory 'enclave' cannot serve channel "
                                 "kind pipe")));
  EXPECT_THAT(CheckChannelPairing("process", {"smoke-signal"}, {"pipe"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown channel 'smoke-signal'")));
}

// The ring sizes of the shm channel `pair`, read from its memfd (fd 3 of
// the child's end) as the program would.
ShmLayout LayoutOf(const TransportPair& pair) {
  int memfd = -1;
  for (const ChildEndpoint::Fd& fd : pair.child.fds) {
    if (fd.child_number == 3) memfd = fd.fd.get();
  }
  struct stat st;
  EXPECT_EQ(::fstat(memfd, &st), 0);
  void* base = ::mmap(nullptr, st.st_size, PROT_READ, MAP_SHARED, memfd, 0);
  EXPECT_NE(base, MAP_FAILED);
  auto layout = ParseShmHeader(static_cast<const char*>(base), st.st_size);
  ::munmap(base, st.st_size);
  EXPECT_THAT(layout, IsOk());
  return layout.ok() ? *layout : ShmLayout();
}

TEST(ChannelKindsTest, ConfiguredShmChannelsHaveTheConfiguredRings) {
  auto before = MakeChannel("shm");
  ASSERT_THAT(before, IsOk());
  EXPECT_EQ(LayoutOf(*before).ring_size[kShmDown], 256u * 1024);
  ShmTransportOptions small;
  small.ring_size = 4096;
  small.spin = 100;
  ASSERT_THAT(ConfigureShmChannels(small), IsOk());
  auto after = MakeChannel("shm");
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(LayoutOf(*after).ring_size[kShmDown], 4096u);
  EXPECT_EQ(LayoutOf(*after).ring_size[kShmUp], 4096u);
  // A channel made before keeps its rings.
  EXPECT_EQ(LayoutOf(*before).ring_size[kShmDown], 256u * 1024);
  ASSERT_THAT(ConfigureShmChannels(ShmTransportOptions()), IsOk());
}

TEST(ChannelKindsTest, BadShmOptionsAreRefusedAndChangeNothing) {
  ShmTransportOptions bad;
  bad.ring_size = 5000;
  EXPECT_THAT(ConfigureShmChannels(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("powers of two in [4096, 67108864]")));
  bad.ring_size = 4096;
  bad.spin = kShmMaxSpin + 1;
  EXPECT_THAT(ConfigureShmChannels(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spin count must be in [0, 100000]")));
  bad.spin = -1;
  EXPECT_THAT(ConfigureShmChannels(bad),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto made = MakeChannel("shm");
  ASSERT_THAT(made, IsOk());
  EXPECT_EQ(LayoutOf(*made).ring_size[kShmDown], 256u * 1024);
}

}  // namespace
}  // namespace tao
