// taoctl's output for people (tables and "field: value" lines) and for
// scripts (--json: apps/common/json.h, one object a line).
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "apps/common/cli.h"
#include "apps/common/json.h"
#include "apps/taoctl/taoctl.h"
#include "tao/name_presentation.h"

namespace tao {
namespace taoctl {
namespace {

// The terminal's width if stdout is one, else 0 (no limit).
size_t TerminalWidth() {
  if (::isatty(STDOUT_FILENO) != 1) return 0;
  struct winsize ws = {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    return ws.ws_col;
  }
  size_t columns = 0;
  const char* env = std::getenv("COLUMNS");
  if (env != nullptr && absl::SimpleAtoi(env, &columns)) return columns;
  return 80;
}

std::string ExitText(const admin::HostedProgram& p) {
  return p.exited() ? p.exit_status() : "-";
}

// A paused program shows as "paused" in tables.
std::string StateText(const admin::HostedProgram& p) {
  return p.frozen() ? std::string("paused") : p.state();
}

}  // namespace

std::string Names(absl::string_view text) {
  return FLAGS_full ? std::string(text) : ShortenNamesIn(text);
}

void PrintJson(const google::protobuf::Message& message) {
  std::cout << ProtoToJson(message) << "\n";
}

std::string Age(absl::Time then, absl::Time now) {
  if (then == absl::UnixEpoch()) return "-";
  int64_t s = absl::ToInt64Seconds(now - then);
  if (s < 0) s = 0;
  if (s < 120) return absl::StrCat(s, "s");
  if (s < 2 * 3600) return absl::StrCat(s / 60, "m");
  if (s < 2 * 86400) return absl::StrCat(s / 3600, "h");
  return absl::StrCat(s / 86400, "d");
}

void PrintProgram(const admin::HostedProgram& p) {
  if (FLAGS_json) return PrintJson(p);
  absl::Time started = absl::FromUnixMillis(p.start_time_unix_ms());
  std::cout << "id:       " << p.id() << "\n"
            << "state:    " << p.state() << (p.frozen() ? " (paused)" : "")
            << (p.exited() ? " (" + p.exit_status() + ")" : "") << "\n";
  if (!p.exit_detail().empty()) {
    std::cout << "ended:    " << p.exit_detail() << "\n";
  }
  std::cout << "pid:      " << p.pid() << "\n"
            << "path:     " << p.path() << "\n"
            << "name:     " << Names(p.name()) << "\n"
            << "started:  "
            << absl::FormatTime("%Y-%m-%d %H:%M:%S", started,
                                absl::LocalTimeZone())
            << " (" << Age(started, absl::Now()) << " ago)\n"
            << "factory:  " << p.factory() << ", channel " << p.channel()
            << "\n"
            << "restart:  " << p.restart()
            << " (restarts so far: " << p.restarts() << ")\n"
            << "calls:    " << p.calls() << " (" << p.denials() << " denied)\n"
            << "runs as:  uid " << p.uid() << " gid " << p.gid()
            << (p.dynamic_uid() ? " (dynamic)" : "") << "\n"
            << "cgroup:   " << (p.cgroup().empty() ? "none" : p.cgroup())
            << "\n";
  if (!p.service().empty()) {
    std::cout << "service:  " << p.service() << " (run " << p.run() << ")\n";
  }
  if (p.previous_id() != 0) {
    std::cout << "previous: " << p.previous_id() << "\n";
  }
  if (!p.state_directory().empty()) {
    std::cout << "state dir: " << p.state_directory() << "\n";
  }
  if (!p.admin_socket().empty()) {
    std::cout << "admin:    " << p.admin_socket()
              << " (its own host's admin API; taoctl tree follows it)\n";
  }
}

void PrintProgramTable(
    const google::protobuf::RepeatedPtrField<admin::HostedProgram>& programs,
    absl::Time now) {
  if (FLAGS_json) {
    for (const admin::HostedProgram& p : programs) PrintJson(p);
    return;
  }
  const size_t width = FLAGS_wide ? 0 : TerminalWidth();
  auto emit = [width](std::string line) {
    if (width > 0 && line.size() > width) line.resize(width);
    std::cout << line << "\n";
  };
  if (FLAGS_wide) {
    emit(absl::StrFormat(
        "%-6s %-9s %-8s %-5s %-22s %-7s %-6s %-8s %-8s %-10s "
        "%-10s %-16s %s  %s",
        "ID", "STATE", "PID", "AGE", "EXIT", "CALLS", "DENIED", "RESTARTS",
        "RESTART", "UID", "CHANNEL", "SERVICE", "PATH", "NAME"));
  } else {
    emit(absl::StrFormat("%-6s %-9s %-8s %-5s %-14s %-7s %-10s %s  %s", "ID",
                         "STATE", "PID", "AGE", "EXIT", "CALLS", "RESTART",
                         "PATH", "NAME"));
  }
  for (const admin::HostedProgram& p : programs) {
    std::string age = Age(absl::FromUnixMillis(p.start_time_unix_ms()), now);
    if (FLAGS_wide) {
      std::string service =
          p.service().empty() ? "-" : absl::StrCat(p.service(), "#", p.run());
      emit(absl::StrFormat(
          "%-6d %-9s %-8d %-5s %-22s %-7d %-6d %-8d %-8s %-10d %-10s %-16s %s  "
          "%s",
          p.id(), StateText(p), p.pid(), age, ExitText(p), p.calls(),
          p.denials(), p.restarts(), p.restart(), p.uid(), p.channel(), service,
          p.path(), Names(p.name())));
    } else {
      emit(absl::StrFormat("%-6d %-9s %-8d %-5s %-14s %-7d %-10s %s  %s",
                           p.id(), StateText(p), p.pid(), age, ExitText(p),
                           p.calls(), p.restart(), p.path(), Names(p.name())));
    }
  }
}

void PrintHostInfo(const admin::HostInfo& info) {
  if (FLAGS_json) return PrintJson(info);
  std::cout << "version:   " << info.version() << "\n"
            << "pid:       " << info.pid() << "\n"
            << "uptime:    "
            << absl::FormatDuration(absl::Milliseconds(info.uptime_ms()))
            << "\n"
            << "name:      " << Names(info.tao_name()) << "\n"
            << "domain:    " << info.domain_name() << "\n"
            << "root:      " << (info.root().empty() ? "-" : info.root())
            << "\n";
  if (!info.platform_state().empty()) {
    std::cout << "state:     " << info.platform_state()
              << " (SameHostState(...) binds to it)\n";
  }
  std::cout << "programs:  " << info.running() << " running, " << info.known()
            << " known\n";
  for (const admin::FactoryInfo& f : info.factories()) {
    std::cout << "factory:   " << f.name() << " (channels:";
    for (const std::string& c : f.channels()) std::cout << " " << c;
    std::cout << ")";
    if (!f.detail().empty()) std::cout << " " << f.detail();
    std::cout << "\n";
  }
}

void PrintEvent(const admin::Event& event) {
  if (FLAGS_json) {
    PrintJson(event);
  } else {
    std::cout << absl::FormatTime("%H:%M:%S",
                                  absl::FromUnixMillis(event.time_unix_ms()),
                                  absl::LocalTimeZone())
              << " " << event.kind() << " " << event.id()
              << (event.previous_id()
                      ? absl::StrCat(" (after ", event.previous_id(), ")")
                      : "")
              << " " << Names(event.detail()) << "\n";
  }
  std::cout.flush();
}

int Fail(const grpc::Status& status) {
  absl::Status as_absl(static_cast<absl::StatusCode>(status.error_code()),
                       Names(status.error_message()));
  int code = ReportError("taoctl", as_absl, FLAGS_json);
  if (status.error_code() == grpc::UNAVAILABLE && !FLAGS_json) {
    std::cerr << "taoctl: is taohost running, and is " << FLAGS_socket
              << " its admin socket?\n";
  }
  return code;
}

int UsageError(absl::string_view message) {
  return ReportError("taoctl", absl::InvalidArgumentError(message), FLAGS_json,
                     kExitUsage);
}

void SetDeadline(grpc::ClientContext* context, bool long_running) {
  int64_t ms =
      FLAGS_timeout_ms > 0 ? FLAGS_timeout_ms : (long_running ? 0 : 30000);
  if (ms > 0) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(ms));
  }
}

}  // namespace taoctl
}  // namespace tao
