// QEMU's side of a QMP conversation (docs/vm.md, "The monitor (QMP)"),
// against the host's real QmpClient over a real socketpair, in one thread.
// Everything QEMU says is hostile. The input is what QEMU says, in chunks,
// and what the host does after each chunk:
//
//   <bytes QEMU says>
//   === drain | handshake | execute <command> | hangup | close
//   <bytes QEMU says>
//   ...
//
// A directive is a line that starts with "=== " at the start of the input or
// after a newline; that newline is the directive's, not QEMU's (so a chunk
// of whole lines ends "\r\n" and then the directive's "\n"). A chunk is
// written to the socket before the host's next call, which runs with a zero
// timeout: the call reads what is there and never waits, so a run depends
// on the input only. <command> is one of the client's fixed commands
// (qmp_capabilities, query-status, stop, cont, system_powerdown); any other
// directive only ends a chunk. hangup is QEMU shutting its side for writing,
// close is QEMU gone. At the end QEMU is gone and the host drains the last
// events and classifies the VM's end, as VmProgram::Reap does.
//
// Each input runs twice: under QmpClientOptions's defaults and under tight
// limits, so every bound (line, events, drain) is reached by a short input.
// Checked after every call: the status is one the client documents, a
// kDataLoss one says "broke the protocol" and is what broken() holds; once
// broken, every call returns exactly that status; every message is
// printable ASCII and bounded (nothing QEMU says reaches a log verbatim);
// the events kept are within max_events, with names of [A-Z0-9_]{1,64} and
// details of at most 64 bytes; the client sends nothing but the one command
// line it was asked for; the exit's classification is printable and short.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "fuzz/fuzz_support.h"
#include "program_factory/vm/qmp_client.h"
#include "program_factory/vm/vm_program.h"
#include "tao/unique_fd.h"

namespace {

using tao::QmpClient;
using tao::QmpClientOptions;

constexpr absl::string_view kDirective = "=== ";
constexpr size_t kMaxMessage = 512;

bool Printable(absl::string_view text, size_t max) {
  if (text.size() > max) return false;
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

bool IsEventName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

// The one command a directive names, or "" for none.
absl::string_view CommandOf(absl::string_view action) {
  if (!absl::ConsumePrefix(&action, "execute ")) return "";
  for (absl::string_view command : {"qmp_capabilities", "query-status", "stop",
                                    "cont", "system_powerdown"}) {
    if (action == command) return command;
  }
  return "";
}

class Conversation {
 public:
  explicit Conversation(QmpClientOptions options) : options_(options) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      std::abort();
    }
    qemu_ = tao::UniqueFd(sv[1]);
    // Room for a whole input, so that saying a chunk never blocks.
    int room = 4 << 20;
    ::setsockopt(qemu_.get(), SOL_SOCKET, SO_SNDBUF, &room, sizeof(room));
    client_.emplace(tao::UniqueFd(sv[0]), options);
  }

  // QEMU says `bytes`; false when the socket is full (the conversation ends
  // there, the same way on every run of the input).
  bool Say(absl::string_view bytes) {
    while (!bytes.empty() && qemu_.get() >= 0) {
      ssize_t n = ::send(qemu_.get(), bytes.data(), bytes.size(),
                         MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
      if (n < 0) return true;  // the client has closed its end
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Runs one directive (any other line does nothing).
  void Act(absl::string_view action) {
    absl::string_view command = CommandOf(action);
    if (action == "drain") {
      Check(client_->Drain(), "");
    } else if (action == "handshake") {
      Check(client_->Handshake(absl::ZeroDuration()), "qmp_capabilities");
    } else if (!command.empty()) {
      absl::StatusOr<google::protobuf::Value> reply =
          client_->Execute(command, absl::ZeroDuration());
      Check(reply.status(), command);
      // An answer (a value or QEMU's refusal) means the command went out.
      if ((reply.ok() ||
           absl::StartsWith(reply.status().message(), "QEMU refused ")) &&
          !sent_) {
        std::abort();
      }
    } else if (action == "hangup") {
      if (qemu_.get() >= 0) ::shutdown(qemu_.get(), SHUT_WR);
    } else if (action == "close") {
      qemu_.Reset();
    }
  }

  // QEMU has exited: its end closes, the host drains the last events and
  // classifies the end.
  void End() {
    qemu_.Reset();
    Check(client_->Drain(), "");
    for (bool signaled : {false, true}) {
      for (int code : {0, 1, 9}) {
        for (bool killed : {false, true}) {
          tao::ExitStatus status;
          status.signaled = signaled;
          status.code = code;
          std::string end =
              tao::internal::ClassifyVmExit(status, &*client_, killed);
          if (end.empty() || !Printable(end, 64)) std::abort();
        }
      }
    }
  }

 private:
  // The properties every call keeps. `command` is what the call may send.
  void Check(const absl::Status& status, absl::string_view command) {
    if (was_broken_) {
      // Broken for good: every later call fails at once, the same way.
      if (status != broken_ || client_->broken() != broken_) std::abort();
    }
    switch (status.code()) {
      case absl::StatusCode::kOk:
      case absl::StatusCode::kDeadlineExceeded:
      case absl::StatusCode::kUnavailable:
      case absl::StatusCode::kFailedPrecondition:
        break;
      case absl::StatusCode::kDataLoss:
        if (!absl::StartsWith(status.message(),
                              "QEMU's monitor broke the protocol: ") ||
            client_->broken() != status) {
          std::abort();
        }
        break;
      default:
        std::abort();
    }
    if (!Printable(status.message(), kMaxMessage)) std::abort();
    if (!client_->broken().ok()) {
      if (!client_->closed()) std::abort();
      was_broken_ = true;
      broken_ = client_->broken();
    }
    if (client_->events().size() > options_.max_events) std::abort();
    for (const tao::QmpEvent& e : client_->events()) {
      if (!IsEventName(e.name) || e.detail.size() > 64) std::abort();
    }
    CheckSent(command);
  }

  // What the client wrote since the last call: nothing, or the one line of
  // `command` (never anything QEMU said).
  void CheckSent(absl::string_view command) {
    sent_ = false;
    if (qemu_.get() < 0) return;
    std::string heard;
    char buf[4096];
    while (true) {
      ssize_t n = ::recv(qemu_.get(), buf, sizeof(buf), MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      heard.append(buf, static_cast<size_t>(n));
    }
    if (heard.empty()) return;
    if (command.empty() ||
        heard != absl::StrCat("{\"execute\": \"", command, "\"}\n")) {
      std::abort();
    }
    sent_ = true;
  }

  QmpClientOptions options_;
  tao::UniqueFd qemu_;
  std::optional<QmpClient> client_;
  bool was_broken_ = false;
  absl::Status broken_;
  bool sent_ = false;
};

void Run(absl::string_view input, QmpClientOptions options) {
  Conversation talk(options);
  bool more = true;
  while (more && !input.empty()) {
    // The chunk runs to the next directive line.
    size_t at = absl::StartsWith(input, kDirective)
                    ? 0
                    : input.find(absl::StrCat("\n", kDirective));
    if (at == absl::string_view::npos) {
      more = talk.Say(input);
      break;
    }
    more = talk.Say(input.substr(0, at));
    input.remove_prefix(at == 0 ? kDirective.size()
                                : at + 1 + kDirective.size());
    size_t end = input.find('\n');
    absl::string_view action = input.substr(0, end);
    input.remove_prefix(end == absl::string_view::npos ? input.size()
                                                       : end + 1);
    if (more) talk.Act(action);
  }
  talk.End();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1 << 20)) return 0;
  tao::fuzz::QuietProtobufLogs();
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  Run(input, QmpClientOptions());
  QmpClientOptions tight;
  tight.max_line = 512;
  tight.max_events = 4;
  tight.max_drain = 32 << 10;
  Run(input, tight);
  return 0;
}
