// QmpClient against a fake QMP peer on a socketpair: the real protocol, and
// a QEMU that writes garbage. Everything the peer says is hostile: each bad
// input breaks the client with kDataLoss and nothing else.
#include "program_factory/vm/qmp_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <ostream>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

constexpr char kGreeting[] =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, "
    "\"major\": 7}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n";

class QmpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);  // the peer writes to a client that closed
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    peer_ = UniqueFd(sv[1]);
    client_ = std::make_unique<QmpClient>(UniqueFd(sv[0]));
  }
  void Say(const std::string& text) {
    ASSERT_EQ(::write(peer_.get(), text.data(), text.size()),
              static_cast<ssize_t>(text.size()));
  }
  // What the client sent, one line.
  std::string Heard() {
    std::string line;
    char c;
    while (::read(peer_.get(), &c, 1) == 1 && c != '\n') line.push_back(c);
    return line;
  }
  // Runs `call` while the peer, as QEMU does, waits for the command and
  // then answers `answer`; returns the command the peer heard.
  template <typename Call>
  std::string Answering(const std::string& answer, Call call) {
    std::string heard;
    std::thread peer([&] {
      heard = Heard();
      Say(answer);
    });
    call();
    peer.join();
    return heard;
  }
  void Handshake() {
    Say(kGreeting);
    EXPECT_EQ(Answering("{\"return\": {}}\r\n",
                        [this] {
                          ASSERT_THAT(client_->Handshake(absl::Seconds(2)),
                                      IsOk());
                        }),
              "{\"execute\": \"qmp_capabilities\"}");
  }

  UniqueFd peer_;
  std::unique_ptr<QmpClient> client_;
};

TEST_F(QmpClientTest, HandshakeThenACommandWithEventsAroundItsReply) {
  Handshake();
  EXPECT_EQ(
      Answering(
          "{\"timestamp\": {\"seconds\": 1}, \"event\": "
          "\"POWERDOWN\"}\r\n{\"return\": {}}\r\n",
          [this] {
            EXPECT_THAT(
                client_->Execute("system_powerdown", absl::Seconds(2)).status(),
                IsOk());
          }),
      "{\"execute\": \"system_powerdown\"}");
  Say("{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": "
      "\"guest-shutdown\"}}\r\n");
  ASSERT_THAT(client_->Drain(), IsOk());
  ASSERT_EQ(client_->events().size(), 2u);
  EXPECT_EQ(client_->events()[0].name, "POWERDOWN");
  EXPECT_EQ(client_->events()[1].name, "SHUTDOWN");
  EXPECT_EQ(client_->events()[1].detail, "guest-shutdown");
  EXPECT_TRUE(client_->Saw("SHUTDOWN"));
  EXPECT_FALSE(client_->Saw("GUEST_PANICKED"));
}

TEST_F(QmpClientTest, AReplyInPiecesIsAssembled) {
  Handshake();
  std::thread slow([this] {
    Heard();
    Say("{\"ret");
    ::usleep(20000);
    Say("urn\": {\"status\": \"running\"}}");
    ::usleep(20000);
    Say("\r\n");
  });
  auto reply = client_->Execute("query-status", absl::Seconds(2));
  slow.join();
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_EQ(reply->struct_value().fields().at("status").string_value(),
            "running");
}

TEST_F(QmpClientTest, QemusErrorIsFailedPreconditionAndTheClientLives) {
  Handshake();
  Answering("{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}\r\n",
            [this] {
              EXPECT_THAT(client_->Execute("stop", absl::Seconds(2)).status(),
                          StatusIs(absl::StatusCode::kFailedPrecondition,
                                   HasSubstr("QEMU refused stop: no")));
            });
  Answering("{\"return\": {}}\r\n", [this] {
    EXPECT_THAT(client_->Execute("cont", absl::Seconds(2)).status(), IsOk());
  });
}

TEST_F(QmpClientTest, SilenceIsADeadline) {
  Say(kGreeting);
  EXPECT_THAT(client_->Handshake(absl::Milliseconds(50)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

// A reply that comes after its command timed out must not be taken for the
// next command's: the client stays broken with the deadline it missed.
TEST_F(QmpClientTest, ALateReplyIsNeverTheNextCommandsReply) {
  Handshake();
  EXPECT_THAT(client_->Execute("query-status", absl::Milliseconds(50)).status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(Heard(), "{\"execute\": \"query-status\"}");
  // QEMU answers late; the client has dropped the monitor, so it can't
  // read the reply, and every later call names the deadline it missed.
  const char late[] = "{\"return\": {}}\r\n";
  ssize_t sent = ::send(peer_.get(), late, sizeof(late) - 1, MSG_NOSIGNAL);
  (void)sent;  // fails with EPIPE once the client has closed its end
  EXPECT_TRUE(client_->closed());
  EXPECT_THAT(client_->Execute("cont", absl::Seconds(1)).status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(client_->Drain(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(client_->broken(), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(QmpClientTest, AClosedMonitorIsUnavailable) {
  Say(kGreeting);
  peer_.Reset();
  EXPECT_THAT(client_->Handshake(absl::Seconds(2)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(client_->closed());
}

// Each garbage input, said where the client expects the greeting or (after
// the handshake) a reply, breaks the client with kDataLoss.
struct Garbage {
  const char* label;
  std::string text;
  bool after_handshake;
};

// Test names show the label, not the bytes.
void PrintTo(const Garbage& g, std::ostream* os) { *os << g.label; }

class QmpGarbageTest : public QmpClientTest,
                       public ::testing::WithParamInterface<Garbage> {};

TEST_P(QmpGarbageTest, BreaksTheClientAndNothingElse) {
  const Garbage& g = GetParam();
  absl::Status status;
  if (g.after_handshake) {
    Handshake();
    Answering(g.text, [&] {
      status = client_->Execute("query-status", absl::Seconds(2)).status();
    });
  } else {
    Say(g.text);
    status = client_->Handshake(absl::Seconds(2));
  }
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDataLoss,
                               HasSubstr("broke the protocol")))
      << g.label;
  EXPECT_TRUE(client_->closed());
  // Later calls fail the same way, at once.
  EXPECT_THAT(client_->Execute("cont", absl::Seconds(2)).status(),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(client_->Drain(), StatusIs(absl::StatusCode::kDataLoss));
}

std::string Nested(int depth) {
  std::string s = "{\"return\": ";
  for (int i = 0; i < depth; ++i) s += "[";
  for (int i = 0; i < depth; ++i) s += "]";
  return s + "}\r\n";
}

INSTANTIATE_TEST_SUITE_P(
    Hostile, QmpGarbageTest,
    ::testing::Values(
        Garbage{"not JSON", "hello there\r\n", false},
        Garbage{"binary", std::string("\x00\xff\xfe{\r\n", 6), false},
        Garbage{"an array", "[1, 2, 3]\r\n", false},
        Garbage{"no greeting", "{\"return\": {}}\r\n", false},
        Garbage{"a line without end", std::string(70 << 10, 'x'), false},
        Garbage{"a line too long", std::string(70 << 10, ' ') + "\n", true},
        Garbage{"trailing junk", "{\"return\": {}} junk\r\n", true},
        Garbage{"neither event nor reply", "{\"hello\": 1}\r\n", true},
        Garbage{"a malformed event name", "{\"event\": \"bad name!\"}\r\n",
                true},
        Garbage{"an event name that is a number", "{\"event\": 7}\r\n", true},
        Garbage{"two replies", "{\"return\": {}}\r\n{\"return\": {}}\r\n",
                true},
        Garbage{"nesting past the parser's limit", Nested(200), true}),
    [](const ::testing::TestParamInfo<Garbage>& info) {
      std::string name;
      for (const char* c = info.param.label; *c != '\0'; ++c) {
        name.push_back(std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_');
      }
      return name;
    });

TEST_F(QmpClientTest, AFloodOfEventsKeepsOnlyTheLatest) {
  Handshake();
  std::thread flood([this] {
    Heard();
    std::string burst;
    for (int i = 0; i < 2000; ++i) burst += "{\"event\": \"RTC_CHANGE\"}\r\n";
    burst +=
        "{\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": "
        "\"exit-failure\"}}\r\n{\"return\": {}}\r\n";
    Say(burst);
  });
  EXPECT_THAT(client_->Execute("query-status", absl::Seconds(5)).status(),
              IsOk());
  flood.join();
  EXPECT_EQ(client_->events().size(), QmpClientOptions().max_events);
  EXPECT_EQ(client_->events().back().name, "GUEST_PANICKED");
  EXPECT_EQ(client_->events().back().detail, "exit-failure");
}

}  // namespace
}  // namespace tao
