#include "program_factory/vm/qmp_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

constexpr size_t kMaxName = 64;

bool IsEventName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxName) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// A printable, bounded copy of text QEMU sent.
std::string Printable(absl::string_view s) {
  return absl::CHexEscape(s.substr(0, kMaxName));
}

}  // namespace

QmpClient::QmpClient(UniqueFd socket, QmpClientOptions options)
    : socket_(std::move(socket)), options_(options) {
  int flags = ::fcntl(socket_.get(), F_GETFL);
  if (flags < 0 || ::fcntl(socket_.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    broken_ = absl::ErrnoToStatus(errno, "make the QMP socket non-blocking");
    closed_ = true;
  }
}

bool QmpClient::Saw(absl::string_view name) const {
  return std::any_of(events_.begin(), events_.end(),
                     [name](const QmpEvent& e) { return e.name == name; });
}

absl::Status QmpClient::Fail(absl::Status status) {
  if (broken_.ok()) {
    broken_ = absl::DataLossError(
        absl::StrCat("QEMU's monitor broke the protocol: ", status.message()));
  }
  closed_ = true;
  socket_.Reset();
  return broken_;
}

absl::Status QmpClient::HandleLine(absl::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
    line.remove_suffix(1);
  }
  if (line.empty()) return absl::OkStatus();
  google::protobuf::Struct message;
  google::protobuf::util::JsonParseOptions parse;
  parse.ignore_unknown_fields = false;
  auto parsed = google::protobuf::util::JsonStringToMessage(std::string(line),
                                                            &message, parse);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError("a line that is not a JSON object");
  }
  const auto& fields = message.fields();
  if (!have_greeting_) {
    auto qmp = fields.find("QMP");
    if (qmp == fields.end() || !qmp->second.has_struct_value()) {
      return absl::InvalidArgumentError("no greeting");
    }
    have_greeting_ = true;
    return absl::OkStatus();
  }
  auto event = fields.find("event");
  if (event != fields.end()) {
    if (!event->second.has_string_value() ||
        !IsEventName(event->second.string_value())) {
      return absl::InvalidArgumentError("an event with a malformed name");
    }
    QmpEvent out;
    out.name = event->second.string_value();
    auto data = fields.find("data");
    if (data != fields.end() && data->second.has_struct_value()) {
      const auto& d = data->second.struct_value().fields();
      for (const char* key : {"reason", "action"}) {
        auto it = d.find(key);
        if (it != d.end() && it->second.has_string_value()) {
          out.detail = it->second.string_value().substr(0, kMaxName);
          break;
        }
      }
    }
    events_.push_back(std::move(out));
    while (events_.size() > options_.max_events) events_.pop_front();
    return absl::OkStatus();
  }
  if (fields.count("return") == 0 && fields.count("error") == 0) {
    return absl::InvalidArgumentError("neither an event nor a reply");
  }
  if (!waiting_ || have_reply_) {
    return absl::InvalidArgumentError("a reply to no command");
  }
  reply_ = std::move(message);
  have_reply_ = true;
  return absl::OkStatus();
}

absl::StatusOr<bool> QmpClient::ReadSome() {
  if (closed_) {
    return broken_.ok() ? absl::UnavailableError("QEMU closed its monitor")
                        : broken_;
  }
  char buf[16 << 10];
  ssize_t n;
  do {
    n = ::read(socket_.get(), buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    closed_ = true;
    return absl::ErrnoToStatus(errno, "read QEMU's monitor");
  }
  if (n == 0) {
    closed_ = true;
    socket_.Reset();
    return absl::UnavailableError("QEMU closed its monitor");
  }
  pending_.append(buf, static_cast<size_t>(n));
  size_t start = 0;
  while (true) {
    size_t end = pending_.find('\n', start);
    if (end == std::string::npos) break;
    if (end - start > options_.max_line) {
      return Fail(absl::InvalidArgumentError("a line too long"));
    }
    absl::Status handled =
        HandleLine(absl::string_view(pending_).substr(start, end - start));
    if (!handled.ok()) return Fail(handled);
    start = end + 1;
  }
  pending_.erase(0, start);
  if (pending_.size() > options_.max_line) {
    return Fail(absl::InvalidArgumentError("a line too long"));
  }
  return true;
}

absl::Status QmpClient::WaitReadable(absl::Time deadline) {
  while (true) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError("QEMU's monitor did not answer");
    }
    struct pollfd p = {socket_.get(), POLLIN, 0};
    int timeout_ms =
        static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left)));
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return absl::ErrnoToStatus(errno, "poll QEMU's monitor");
    if (r > 0) return absl::OkStatus();
  }
}

absl::StatusOr<google::protobuf::Struct> QmpClient::AwaitReply(
    absl::Time deadline) {
  while (!have_reply_) {
    TAO_ASSIGN_OR_RETURN(bool got, ReadSome());
    if (!got) TAO_RETURN_IF_ERROR(WaitReadable(deadline));
  }
  waiting_ = false;
  have_reply_ = false;
  return std::move(reply_);
}

absl::Status QmpClient::SendLine(absl::string_view json) {
  if (closed_) {
    return broken_.ok() ? absl::UnavailableError("QEMU closed its monitor")
                        : broken_;
  }
  std::string line = absl::StrCat(json, "\n");
  absl::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::send(socket_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd p = {socket_.get(), POLLOUT, 0};
      if (::poll(&p, 1, 1000) <= 0) {
        return absl::DeadlineExceededError("QEMU's monitor takes no command");
      }
      continue;
    }
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      closed_ = true;
      return absl::UnavailableError("QEMU closed its monitor");
    }
    if (n < 0) {
      closed_ = true;
      return absl::ErrnoToStatus(errno, "write QEMU's monitor");
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status QmpClient::Handshake(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!have_greeting_) {
    TAO_ASSIGN_OR_RETURN(bool got, ReadSome());
    if (!got) TAO_RETURN_IF_ERROR(WaitReadable(deadline));
  }
  TAO_ASSIGN_OR_RETURN(google::protobuf::Value ignored,
                       Execute("qmp_capabilities", deadline - absl::Now()));
  (void)ignored;
  return absl::OkStatus();
}

absl::StatusOr<google::protobuf::Value> QmpClient::Execute(
    absl::string_view command, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  if (!broken_.ok()) return broken_;
  if (!have_greeting_) {
    return absl::FailedPreconditionError("QMP: no greeting yet");
  }
  if (waiting_) return absl::FailedPreconditionError("QMP: a command is out");
  // Only our own fixed command names are sent; nothing QEMU said is echoed.
  TAO_RETURN_IF_ERROR(
      SendLine(absl::StrCat("{\"execute\": \"", command, "\"}")));
  waiting_ = true;
  absl::StatusOr<google::protobuf::Struct> awaited = AwaitReply(deadline);
  if (!awaited.ok()) {
    // A monitor that did not answer in time is out of step with us for
    // good: its late reply could be taken for the next command's.
    if (broken_.ok()) broken_ = awaited.status();
    closed_ = true;
    socket_.Reset();
    return awaited.status();
  }
  google::protobuf::Struct reply = *std::move(awaited);
  const auto& fields = reply.fields();
  auto error = fields.find("error");
  if (error != fields.end()) {
    std::string desc = "no description";
    if (error->second.has_struct_value()) {
      const auto& e = error->second.struct_value().fields();
      auto it = e.find("desc");
      if (it != e.end() && it->second.has_string_value()) {
        desc = Printable(it->second.string_value());
      }
    }
    return absl::FailedPreconditionError(
        absl::StrCat("QEMU refused ", command, ": ", desc));
  }
  return fields.at("return");
}

absl::Status QmpClient::Drain() {
  for (size_t read = 0; read < options_.max_drain; read += 16 << 10) {
    if (closed_) return broken_;
    absl::StatusOr<bool> got = ReadSome();
    if (absl::IsUnavailable(got.status())) return absl::OkStatus();  // EOF
    if (!got.ok()) return got.status();
    if (!*got) break;
  }
  return absl::OkStatus();
}

}  // namespace tao
