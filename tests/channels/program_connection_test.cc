// One program's connection without a child process: a socketpair transport
// with the test as a scripted peer, and an answerer that echoes each frame.
// Frames split at every byte, backpressure, a frame over the cap (which
// closes that one channel), and the wiping of plaintext in both directions.
#include "channels/program_connection.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "channels/fd_transport.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A frame as the wire carries it: 4-byte big-endian length, then the body.
std::string Frame(absl::string_view body) {
  const uint32_t n = static_cast<uint32_t>(body.size());
  std::string out = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)};
  return out.append(body.data(), body.size());
}

// One end of a socketpair: the program's side, driven by the test.
struct Peer {
  UniqueFd fd;

  void Send(absl::string_view data) {
    ASSERT_EQ(::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
  }
  // What arrived so far (waits up to `wait` for the first byte).
  std::string Receive(absl::Duration wait = absl::ZeroDuration()) {
    std::string got;
    struct pollfd p = {fd.get(), POLLIN, 0};
    int timeout = static_cast<int>(absl::ToInt64Milliseconds(wait));
    while (::poll(&p, 1, got.empty() ? timeout : 0) == 1) {
      char buf[65536];
      ssize_t n = ::recv(fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
  // True once the host closed its end.
  bool SeesEof() {
    struct pollfd p = {fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 1000) != 1) return false;
    char byte;
    return ::recv(fd.get(), &byte, 1, MSG_DONTWAIT) == 0;
  }
};

class ProgramConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dispatcher = EventDispatcher::Create();
    ASSERT_OK(dispatcher.status());
    dispatcher_ = *std::move(dispatcher);
  }

  // A connection over a new socketpair; its peer in `*peer`. `host_buffer`
  // (if positive) shrinks the host end's send buffer.
  std::unique_ptr<ProgramConnection> Connect(Peer* peer,
                                             ConnectionOptions options = {},
                                             int host_buffer = 0) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    EXPECT_EQ(::fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    if (host_buffer > 0) {
      EXPECT_EQ(::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &host_buffer,
                             sizeof(host_buffer)),
                0);
      EXPECT_EQ(::setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &host_buffer,
                             sizeof(host_buffer)),
                0);
    }
    peer->fd.Reset(fds[1]);
    return std::make_unique<ProgramConnection>(
        NewFdTransport(UniqueFd(fds[0]), UniqueFd()),
        [this](absl::string_view frame, std::string* out) {
          return Answer(frame, out);
        },
        *dispatcher_, /*tag=*/4, options);
  }

  // The scripted answerer: "re:<frame>" (padded to `answer_size_`), with
  // the flags the real handler would give a Seal ("seal:...") or an Unseal
  // ("unseal:..."). Remembers where each frame and answer lay.
  absl::StatusOr<TaoRequestHandler::Answered> Answer(absl::string_view frame,
                                                     std::string* out) {
    frames_.emplace_back(frame);
    frame_bytes_.push_back(frame);
    TaoRequestHandler::Answered answered;
    answered.request_held_secret = absl::StartsWith(frame, "seal:");
    answered.response_holds_secret = absl::StartsWith(frame, "unseal:");
    if (absl::StartsWith(frame, "deny")) {
      answered.code = absl::StatusCode::kPermissionDenied;
    }
    std::string body = absl::StrCat("re:", frame);
    if (body.size() < answer_size_) body.resize(answer_size_, '.');
    const size_t start = out->size();
    out->append(Frame(body));
    answer_bytes_.push_back(
        absl::string_view(out->data() + start + 4, out->size() - start - 4));
    return answered;
  }

  std::unique_ptr<EventDispatcher> dispatcher_;
  std::vector<std::string> frames_;  // copies of what was answered
  // Where each frame and answer lay in the connection's buffers.
  std::vector<absl::string_view> frame_bytes_;
  std::vector<absl::string_view> answer_bytes_;
  size_t answer_size_ = 0;
};

TEST_F(ProgramConnectionTest, AnswersEachFrameInOrder) {
  Peer peer;
  auto connection = Connect(&peer);
  peer.Send(Frame("one") + Frame("two") + Frame("deny three"));
  connection->Serve();
  EXPECT_THAT(frames_, ElementsAre("one", "two", "deny three"));
  EXPECT_EQ(peer.Receive(absl::Seconds(5)),
            Frame("re:one") + Frame("re:two") + Frame("re:deny three"));
  EXPECT_EQ(connection->calls(), 3u);
  EXPECT_EQ(connection->denials(), 1u);
}

TEST_F(ProgramConnectionTest, FramesSplitAtEveryByteAreAnsweredWhole) {
  const std::string first = Frame("first");
  const std::string stream = first + Frame("the second request");
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    SCOPED_TRACE(absl::StrCat("cut at byte ", cut));
    frames_.clear();
    Peer peer;
    auto connection = Connect(&peer);
    peer.Send(stream.substr(0, cut));
    connection->Serve();
    EXPECT_EQ(frames_.size(), cut >= first.size() ? 1u : 0u);
    peer.Send(stream.substr(cut));
    connection->Serve();
    EXPECT_THAT(frames_, ElementsAre("first", "the second request"));
    EXPECT_TRUE(connection->open());
    EXPECT_EQ(peer.Receive(absl::Seconds(5)),
              Frame("re:first") + Frame("re:the second request"));
  }
}

TEST_F(ProgramConnectionTest, AFrameSentOneByteAtATimeIsAnsweredOnce) {
  Peer peer;
  auto connection = Connect(&peer);
  const std::string frame = Frame("byte by byte");
  for (size_t i = 0; i < frame.size(); ++i) {
    EXPECT_THAT(frames_, IsEmpty()) << "answered after " << i << " bytes";
    peer.Send(frame.substr(i, 1));
    connection->Serve();
  }
  EXPECT_THAT(frames_, ElementsAre("byte by byte"));
  EXPECT_EQ(peer.Receive(absl::Seconds(5)), Frame("re:byte by byte"));
}

TEST_F(ProgramConnectionTest, APeerThatDoesNotReadIsNotReadEither) {
  // Answers of 1 KiB, at most 8 KiB of them buffered, a small socket: a
  // program that sends 200 requests and reads nothing gets a few answered,
  // then none until it reads.
  answer_size_ = 1024;
  ConnectionOptions options;
  options.max_buffered_output = 8 * 1024;
  Peer peer;
  auto connection = Connect(&peer, options, /*host_buffer=*/4096);
  std::string requests;
  for (int i = 0; i < 200; ++i) requests += Frame(absl::StrCat("r", i));
  peer.Send(requests);
  for (int turn = 0; turn < 50; ++turn) connection->Serve();
  const uint64_t stalled = connection->calls();
  EXPECT_GT(stalled, 0u);
  EXPECT_LT(stalled, 200u);
  EXPECT_GE(connection->pending(), options.max_buffered_output);
  for (int turn = 0; turn < 50; ++turn) connection->Serve();
  EXPECT_EQ(connection->calls(), stalled) << "read past the backpressure";
  // The program reads: the rest is answered, in order, and nothing is lost.
  std::string answers;
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (connection->calls() < 200 || connection->pending() > 0) {
    ASSERT_LT(absl::Now(), give_up);
    answers += peer.Receive();
    connection->Serve();
  }
  answers += peer.Receive(absl::Seconds(1));
  std::string expected;
  for (int i = 0; i < 200; ++i) {
    std::string body = absl::StrCat("re:r", i);
    body.resize(1024, '.');
    expected += Frame(body);
  }
  EXPECT_EQ(answers.size(), expected.size());
  EXPECT_TRUE(answers == expected);
  EXPECT_TRUE(connection->open());
}

TEST_F(ProgramConnectionTest, AFrameOverTheCapClosesOnlyThatChannel) {
  ConnectionOptions options;
  options.max_frame_size = 1024;
  Peer bad_peer, good_peer;
  auto bad = Connect(&bad_peer, options);
  auto good = Connect(&good_peer, options);
  // 1,025 bytes announced: the rest of the stream cannot be trusted.
  bad_peer.Send(std::string("\0\0\x04\x01", 4) + "xxxx");
  bad->Serve();
  EXPECT_FALSE(bad->open());
  EXPECT_THAT(frames_, IsEmpty());
  EXPECT_TRUE(bad_peer.SeesEof());
  // Serving a closed connection does nothing.
  bad->Serve();
  // Its sibling is untouched, and so is a frame of exactly the cap.
  good_peer.Send(Frame(std::string(1024, 'a')));
  good->Serve();
  EXPECT_TRUE(good->open());
  ASSERT_EQ(frames_.size(), 1u);
  EXPECT_EQ(frames_[0].size(), 1024u);
}

TEST_F(ProgramConnectionTest, APeerThatHangsUpMidFrameLosesItsChannel) {
  Peer peer;
  auto connection = Connect(&peer);
  peer.Send(Frame("complete") + Frame("cut short").substr(0, 6));
  ::shutdown(peer.fd.get(), SHUT_WR);
  connection->Serve();
  connection->Serve();
  EXPECT_THAT(frames_, ElementsAre("complete"));
  EXPECT_FALSE(connection->open());
}

TEST_F(ProgramConnectionTest, ASealsPlaintextIsWipedFromTheRequestBuffer) {
  Peer peer;
  auto connection = Connect(&peer);
  // One request at a time: the reader's small buffer stays in place, so
  // the bytes where each frame lay can be looked at after the turn.
  peer.Send(Frame("name:PUBLIC-BYTES"));
  connection->Serve();
  ASSERT_EQ(frame_bytes_.size(), 1u);
  // A request without plaintext is left as it was.
  EXPECT_EQ(std::string(frame_bytes_[0]), "name:PUBLIC-BYTES");
  peer.Send(Frame("seal:SECRET-BYTES"));
  connection->Serve();
  ASSERT_EQ(frame_bytes_.size(), 2u);
  EXPECT_EQ(frames_[1], "seal:SECRET-BYTES");
  EXPECT_EQ(std::string(frame_bytes_[1]),
            std::string(frame_bytes_[1].size(), '\0'));
  EXPECT_EQ(peer.Receive(absl::Seconds(5)),
            Frame("re:name:PUBLIC-BYTES") + Frame("re:seal:SECRET-BYTES"));
}

TEST_F(ProgramConnectionTest, UnsealedPlaintextIsWipedOnceSent) {
  Peer peer;
  auto connection = Connect(&peer);
  peer.Send(Frame("name:PUBLIC"));
  connection->Serve();
  ASSERT_EQ(peer.Receive(absl::Seconds(5)), Frame("re:name:PUBLIC"));
  // Where a plain answer lay, its bytes are left (nothing to wipe).
  EXPECT_EQ(std::string(answer_bytes_[0]), "re:name:PUBLIC");
  peer.Send(Frame("unseal:TOP-SECRET"));
  connection->Serve();
  ASSERT_EQ(peer.Receive(absl::Seconds(5)), Frame("re:unseal:TOP-SECRET"));
  // The output buffer (kept for the next answers) no longer holds it.
  ASSERT_EQ(answer_bytes_.size(), 2u);
  EXPECT_EQ(std::string(answer_bytes_[1]),
            std::string(answer_bytes_[1].size(), '\0'));
}

}  // namespace
}  // namespace tao
