// Framing and the blocking fd transport: frames cut at every byte boundary,
// oversized announcements refused before anything is buffered, round trips,
// and the transport's error codes.
#include "channels/framing.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "channels/fd_channel.h"
#include "channels/rpc_tao.h"
#include "channels/tao_rpc.pb.h"
#include "tao/encoding.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tao_printers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::IsOkAndHolds;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

TaoRequest Request(uint64_t id, size_t payload) {
  TaoRequest request;
  request.set_id(id);
  request.mutable_seal()->set_data(
      std::string(payload, static_cast<char>('a' + id % 26)));
  request.mutable_seal()->set_policy("SameProgram");
  return request;
}

std::string Frames(const std::vector<TaoRequest>& requests) {
  std::string out;
  for (const TaoRequest& r : requests) {
    EXPECT_THAT(AppendFrame(r, kDefaultMaxFrameSize, &out), IsOk());
  }
  return out;
}

// Every complete frame now in `reader`, parsed.
std::vector<TaoRequest> Drain(FrameReader& reader) {
  std::vector<TaoRequest> out;
  while (true) {
    absl::string_view frame;
    auto ready = reader.Next(&frame);
    EXPECT_THAT(ready, IsOk());
    if (!ready.ok() || !*ready) return out;
    TaoRequest r;
    EXPECT_TRUE(r.ParseFromArray(frame.data(), static_cast<int>(frame.size())));
    out.push_back(r);
  }
}

MATCHER_P(SameRequest, want, "") {
  return arg.SerializeAsString() == want.SerializeAsString();
}

TEST(AppendFrameTest, HeaderIsBigEndianLengthAndRoundTrips) {
  TaoRequest request = Request(7, 300);
  std::string out = "prefix";
  ASSERT_THAT(AppendFrame(request, kDefaultMaxFrameSize, &out), IsOk());
  std::string body = request.SerializeAsString();
  ASSERT_EQ(out.size(), 6 + 4 + body.size());
  EXPECT_EQ(out.substr(0, 6), "prefix");
  uint32_t n = body.size();
  EXPECT_EQ(static_cast<unsigned char>(out[6]), n >> 24);
  EXPECT_EQ(static_cast<unsigned char>(out[7]), (n >> 16) & 0xff);
  EXPECT_EQ(static_cast<unsigned char>(out[8]), (n >> 8) & 0xff);
  EXPECT_EQ(static_cast<unsigned char>(out[9]), n & 0xff);
  EXPECT_EQ(out.substr(10), body);
  FrameReader reader;
  reader.Append(absl::string_view(out).substr(6));
  std::vector<TaoRequest> got = Drain(reader);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_THAT(got[0], SameRequest(request));
  EXPECT_EQ(reader.buffered(), 0u);
  EXPECT_FALSE(reader.mid_frame());
}

TEST(AppendFrameTest, AnEmptyMessageIsAnEmptyFrame) {
  TaoRequest empty;
  std::string out;
  ASSERT_THAT(AppendFrame(empty, 100, &out), IsOk());
  EXPECT_EQ(out, std::string(4, '\0'));
  FrameReader reader(100);
  reader.Append(out);
  absl::string_view frame = "not empty";
  EXPECT_THAT(reader.Next(&frame), test::IsOkAndHolds(true));
  EXPECT_TRUE(frame.empty());
}

TEST(AppendFrameTest, RefusesAMessageOverTheCapAndLeavesTheOutputAlone) {
  TaoRequest request = Request(1, 1000);
  std::string out = "keep";
  EXPECT_THAT(AppendFrame(request, 500, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cap")));
  EXPECT_EQ(out, "keep");
  size_t exact = request.ByteSizeLong();
  EXPECT_THAT(AppendFrame(request, exact, &out), IsOk());
  EXPECT_THAT(AppendFrame(request, exact - 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(FrameReaderTest, FramesSplitAtEveryByteBoundary) {
  std::vector<TaoRequest> requests = {Request(1, 0), Request(2, 5),
                                      Request(3, 200), Request(4, 1)};
  const std::string stream = Frames(requests);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    FrameReader reader(1024);
    reader.Append(absl::string_view(stream).substr(0, cut));
    std::vector<TaoRequest> got = Drain(reader);
    reader.Append(absl::string_view(stream).substr(cut));
    for (TaoRequest& r : Drain(reader)) got.push_back(r);
    ASSERT_EQ(got.size(), requests.size()) << "cut at " << cut;
    for (size_t i = 0; i < requests.size(); ++i) {
      EXPECT_THAT(got[i], SameRequest(requests[i])) << "cut at " << cut;
    }
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(FrameReaderTest, OneByteAtATimeThroughWritableSpace) {
  std::vector<TaoRequest> requests = {Request(1, 70000), Request(2, 3),
                                      Request(3, 0)};
  const std::string stream = Frames(requests);
  FrameReader reader;
  std::vector<TaoRequest> got;
  for (char c : stream) {
    size_t room = 0;
    char* dst = reader.WritableSpace(1, &room);
    ASSERT_GE(room, 1u);
    *dst = c;
    reader.Commit(1);
    EXPECT_TRUE(reader.mid_frame());
    for (TaoRequest& r : Drain(reader)) got.push_back(r);
  }
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_THAT(got[i], SameRequest(requests[i]));
  EXPECT_FALSE(reader.mid_frame());
}

// A Seal's plaintext in the reader: Wipe zeroes exactly that frame, which
// the loop does once it is answered, and leaves the frames after it intact.
TEST(FrameReaderTest, WipeZeroesAnAnsweredFrameAndNothingElse) {
  std::vector<TaoRequest> requests = {Request(1, 5000), Request(2, 40)};
  FrameReader reader;
  reader.Append(Frames(requests));
  absl::string_view first;
  ASSERT_THAT(reader.Next(&first), test::IsOkAndHolds(true));
  TaoRequest parsed;
  ASSERT_TRUE(
      parsed.ParseFromArray(first.data(), static_cast<int>(first.size())));
  EXPECT_THAT(parsed, SameRequest(requests[0]));
  reader.Wipe(first);
  EXPECT_EQ(first, std::string(first.size(), '\0'))
      << "the answered frame's bytes are still in the buffer";
  // A view that is not in the buffer is ignored.
  const std::string elsewhere = "not the reader's";
  reader.Wipe(elsewhere);
  EXPECT_EQ(elsewhere, "not the reader's");
  std::vector<TaoRequest> rest = Drain(reader);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_THAT(rest[0], SameRequest(requests[1]));
}

// Growing, compacting and moving keep every byte that is still wanted.
TEST(FrameReaderTest, GrowthAndMovesKeepWhatIsBuffered) {
  std::vector<TaoRequest> requests = {Request(1, 100), Request(2, 300000),
                                      Request(3, 7)};
  const std::string stream = Frames(requests);
  FrameReader reader(1 << 20);
  std::vector<TaoRequest> got;
  for (size_t at = 0; at < stream.size(); at += 1000) {
    reader.Append(absl::string_view(stream).substr(at, 1000));
    if (at == 50000) {
      FrameReader moved(std::move(reader));
      reader = std::move(moved);
    }
    for (TaoRequest& r : Drain(reader)) got.push_back(r);
  }
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_THAT(got[i], SameRequest(requests[i]));
}

TEST(FrameReaderTest, ManyFramesInOneRead) {
  std::vector<TaoRequest> requests;
  for (int i = 0; i < 500; ++i) requests.push_back(Request(i, i % 17));
  FrameReader reader;
  reader.Append(Frames(requests));
  EXPECT_EQ(Drain(reader).size(), 500u);
}

TEST(FrameReaderTest, AFrameExactlyAtTheCapIsAccepted) {
  FrameReader reader(16);
  std::string frame = std::string("\x00\x00\x00\x10", 4) + std::string(16, 'x');
  reader.Append(frame);
  absl::string_view got;
  EXPECT_THAT(reader.Next(&got), test::IsOkAndHolds(true));
  EXPECT_EQ(got, std::string(16, 'x'));
}

TEST(FrameReaderTest, AnOversizedAnnouncementIsRefusedBeforeBuffering) {
  for (uint32_t announced : {17u, 0x01000001u, 0x7fffffffu, 0xffffffffu}) {
    FrameReader reader(16);
    std::string header = {
        static_cast<char>(announced >> 24), static_cast<char>(announced >> 16),
        static_cast<char>(announced >> 8), static_cast<char>(announced)};
    reader.Append(header);
    absl::string_view frame;
    EXPECT_THAT(reader.Next(&frame),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("exceeds the cap")))
        << announced;
    // Nothing was reserved for the announced body.
    EXPECT_EQ(reader.buffered(), 4u);
    size_t room = 0;
    reader.WritableSpace(1, &room);
    EXPECT_LT(room, size_t{1} << 20) << announced;
    // And it stays refused.
    EXPECT_THAT(reader.Next(&frame),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  // With the default cap, 16 MiB + 1 is refused after only the header.
  FrameReader reader;
  reader.Append(std::string("\x01\x00\x00\x01", 4));
  absl::string_view frame;
  EXPECT_THAT(reader.Next(&frame),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(FrameReaderTest, AShortHeaderWaits) {
  FrameReader reader;
  reader.Append(std::string("\x00\x00", 2));
  absl::string_view frame;
  EXPECT_THAT(reader.Next(&frame), test::IsOkAndHolds(false));
  EXPECT_TRUE(reader.mid_frame());
  EXPECT_EQ(reader.buffered(), 2u);
}

// ---- FdChannel --------------------------------------------------------------

struct SocketPair {
  SocketPair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    a.Reset(sv[0]);
    b.Reset(sv[1]);
  }
  FdChannel Channel(UniqueFd& fd, size_t cap = kDefaultMaxFrameSize) {
    return FdChannel(UniqueFd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0)),
                     UniqueFd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0)), cap);
  }
  UniqueFd a, b;
};

TEST(FdChannelTest, SendAndReceive) {
  SocketPair sp;
  FdChannel left = sp.Channel(sp.a);
  FdChannel right = sp.Channel(sp.b);
  for (size_t size : {0u, 10u, 100000u}) {
    TaoRequest sent = Request(size, size);
    ASSERT_THAT(left.Send(sent), IsOk());
    TaoRequest got;
    ASSERT_THAT(right.Receive(&got), IsOk());
    EXPECT_THAT(got, SameRequest(sent));
  }
}

TEST(FdChannelTest, EofBetweenFramesIsOutOfRangeAndInsideOneIsDataLoss) {
  {
    SocketPair sp;
    FdChannel right = sp.Channel(sp.b);
    sp.a.Reset();
    TaoRequest got;
    EXPECT_THAT(right.Receive(&got), StatusIs(absl::StatusCode::kOutOfRange));
  }
  {
    SocketPair sp;
    FdChannel right = sp.Channel(sp.b);
    ASSERT_EQ(::write(sp.a.get(), "\x00\x00\x00\x10xyz", 7), 7);
    sp.a.Reset();
    TaoRequest got;
    EXPECT_THAT(right.Receive(&got), StatusIs(absl::StatusCode::kDataLoss));
  }
}

TEST(FdChannelTest, OversizedAndUnparseableFramesAreInvalidArgument) {
  SocketPair sp;
  FdChannel right = sp.Channel(sp.b, 1024);
  ASSERT_EQ(::write(sp.a.get(), "\xff\xff\xff\xff", 4), 4);
  TaoRequest got;
  EXPECT_THAT(right.Receive(&got),
              StatusIs(absl::StatusCode::kInvalidArgument));
  SocketPair sp2;
  FdChannel right2 = sp2.Channel(sp2.b, 1024);
  ASSERT_EQ(::write(sp2.a.get(), "\x00\x00\x00\x04\xff\xff\xff\xff", 8), 8);
  EXPECT_THAT(right2.Receive(&got),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(FdChannelTest, SendToAGonePeerIsUnavailableAndDoesNotKillUs) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd read_end(p[0]);
  FdChannel channel(UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
                    UniqueFd(p[1]));
  read_end.Reset();
  EXPECT_THAT(channel.Send(Request(1, 10)),
              StatusIs(absl::StatusCode::kUnavailable));
  // No SIGPIPE left pending for this thread either.
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE));
}

TEST(FdChannelTest, SendToAGoneSocketPeerIsUnavailableAndRaisesNoSignal) {
  SocketPair sp;
  FdChannel left = sp.Channel(sp.a);
  sp.b.Reset();
  // MSG_NOSIGNAL: no SIGPIPE even with the signal unblocked and at its
  // default action (which would kill this test).
  EXPECT_THAT(left.Send(Request(1, 10)),
              StatusIs(absl::StatusCode::kUnavailable));
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE));
}

TEST(FdChannelTest, SendPartsWritesOneFrameFromPieces) {
  for (bool socket : {false, true}) {
    SocketPair sp;
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd pipe_read(p[0]);
    FdChannel left =
        socket ? sp.Channel(sp.a)
               : FdChannel(UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
                           UniqueFd(p[1]));
    FdChannel right = socket
                          ? sp.Channel(sp.b)
                          : FdChannel(std::move(pipe_read),
                                      UniqueFd(::open("/dev/null", O_WRONLY)));
    TaoRequest sent =
        Request(5, 300000);  // more than a pipe holds: short writes
    std::string frame;
    ASSERT_THAT(AppendFrame(sent, kDefaultMaxFrameSize, &frame), IsOk());
    absl::string_view whole = frame;
    absl::string_view parts[] = {whole.substr(0, 3), "", whole.substr(3, 1000),
                                 whole.substr(1003)};
    std::thread writer([&] { EXPECT_THAT(left.SendParts(parts), IsOk()); });
    TaoRequest got;
    ASSERT_THAT(right.Receive(&got), IsOk());
    writer.join();
    EXPECT_THAT(got, SameRequest(sent)) << (socket ? "socket" : "pipe");
  }
}

TEST(FdChannelTest, SendRefusesAMessageOverTheCap) {
  SocketPair sp;
  FdChannel left = sp.Channel(sp.a, 100);
  EXPECT_THAT(left.Send(Request(1, 1000)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RpcTaoTest, SealAndUnsealOverTheFrameCapAreRefusedBeforeSending) {
  SocketPair sp;
  RpcTao tao(std::make_unique<FdChannel>(sp.Channel(sp.a, 1000)));
  EXPECT_THAT(
      tao.Seal(std::string(2000, 'x'), ""),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("frame cap")));
  EXPECT_THAT(
      tao.Unseal(std::string(2000, 'x')),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("frame cap")));
  // Nothing reached the peer.
  char byte;
  EXPECT_EQ(::recv(sp.b.get(), &byte, 1, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
}

// The client parses its host's names with Principal::ParseFromOwnHost: the
// grammar and the key's encoding are checked, the key's point is not (the
// host is trusted, and the client links no OpenSSL). A fake host answers
// GetTaoName with each text in turn.
TEST(RpcTaoTest, TheHostsNameIsCheckedForItsGrammarAndEncoding) {
  ASSERT_OK_AND_ASSIGN(SigningKey key, SigningKey::Generate());
  const Principal real = Principal::ForKey(key.verifying_key());
  std::string off_curve = key.verifying_key().spki();
  off_curve[90] ^= 0x01;
  const std::string off_curve_name =
      absl::StrCat("key(ecdsa-p256:", Base64UrlEncode(off_curve), ")");
  const std::vector<std::string> answers = {
      real.text(), off_curve_name, "key(ecdsa-p256:AAAA)",
      real.text() + ".Program(sha256:00)"};
  SocketPair sp;
  std::thread host([&sp, &answers] {
    FdChannel channel = sp.Channel(sp.b);
    for (const std::string& name : answers) {
      TaoRequest request;
      if (!channel.Receive(&request).ok()) return;
      TaoResponse response;
      response.set_id(request.id());
      response.set_name(name);
      if (!channel.Send(response).ok()) return;
    }
  });
  RpcTao tao(std::make_unique<FdChannel>(sp.Channel(sp.a)));
  EXPECT_THAT(tao.GetTaoName(), IsOkAndHolds(real));
  auto off = tao.GetTaoName();
  ASSERT_THAT(off, IsOk());
  EXPECT_EQ(off->key_spki(), off_curve);
  EXPECT_THAT(tao.GetTaoName(), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("3 bytes, expected 91")));
  EXPECT_THAT(tao.GetTaoName(), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("digest has 2 hex digits")));
  host.join();
}

TEST(ChannelFromSpecTest, ParsesPipesAndSocketsAndRefusesTheRest) {
  SocketPair sp;
  std::string spec = absl::StrCat("socket:", sp.b.get());
  int raw = sp.b.Release();
  auto channel = ChannelFromSpec(spec);
  ASSERT_THAT(channel, IsOk());
  EXPECT_EQ(::fcntl(raw, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  FdChannel left = sp.Channel(sp.a);
  ASSERT_THAT(left.Send(Request(3, 3)), IsOk());
  TaoRequest got;
  ASSERT_THAT((*channel)->Receive(&got), IsOk());
  EXPECT_EQ(got.id(), 3u);

  for (const char* bad : {"", "pipe:", "pipe:3", "pipe:a,b", "pipe:1,2,3",
                          "socket:", "socket:-1", "tcp:1", "socket:999999"}) {
    EXPECT_THAT(ChannelFromSpec(bad),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

TEST(ChannelFromSpecTest, WithoutTheVariableThereIsNoHost) {
  ::unsetenv("TAO_CHANNEL");
  EXPECT_THAT(TaoFromEnvironment(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace tao
