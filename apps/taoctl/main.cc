// taoctl: the administrator's command line for a running taohost, over the
// admin socket. Every call is authorized by the host's domain policy against
// the caller's OS identity; a denial prints the domain's reason.
#include <gflags/gflags.h>
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "admin/admin.grpc.pb.h"
#include "apps/common/cli.h"
#include "grpcpp/grpcpp.h"
#include "tao/name_presentation.h"

DEFINE_string(socket, "/run/tao/admin.sock", "The host's admin socket.");
DEFINE_bool(json, false,
            "Print results as JSON (one object per line) for scripts.");
DEFINE_bool(full, false,
            "Print whole names (their canonical text) in tables, events and "
            "messages, instead of the short form of docs/names.md (a denial "
            "reason comes from the domain with its names already short).");
DEFINE_int64(
    timeout_ms, 0,
    "Deadline for the call in milliseconds (0: none for wait, logs -f and "
    "events; 30000 for the others).");
DEFINE_string(env, "", "start: NAME=VALUE pairs, comma-separated.");
DEFINE_string(cwd, "", "start: working directory (default /).");
DEFINE_int64(uid, -1, "start: run the program as this uid.");
DEFINE_int64(gid, -1, "start: run the program as this gid.");
DEFINE_string(channel, "pipe", "start: pipe or socketpair.");
DEFINE_string(state_dir, "",
              "start: a state directory of the program's own (a name: "
              "<state root>/NAME, in TAO_STATE_DIRECTORY).");
DEFINE_string(restart, "never", "start: never, on-failure or always.");
DEFINE_uint32(max_restarts, 0, "start: most restarts in a row (0: no limit).");
DEFINE_uint32(backoff_ms, 500,
              "start: first restart delay, doubled each time.");
DEFINE_uint32(grace_ms, 10000, "stop, shutdown: time before SIGKILL.");
DEFINE_bool(follow, false,
            "logs: keep printing until the program exits (also -f).");
DEFINE_bool(wait, false,
            "start: wait for the program to exit and print its status.");

namespace tao {
namespace {

constexpr absl::string_view kUsage =
    R"usage(drive a running taohost over its admin socket.

Usage:
  taoctl [--socket=PATH] [--json] [--full] COMMAND [ARGS]

Names are shown short: the key as its fingerprint, key(ecdsa-p256:SHA256:..),
the last measurement whole and other digests cut (see docs/names.md). --full
and --json show whole names; `name` always prints the whole name.

Commands:
  start PATH [ARGS...]   measure, authorize and start a program; prints its id
                         (taoctl's flags go before PATH; all after it is the
                         program's)
        (--env=A=1,B=2 --cwd=DIR --uid=N --gid=N --state_dir=NAME
         --channel=pipe|socketpair
         --restart=never|on-failure|always --max_restarts=N --backoff_ms=N --wait)
  stop ID                SIGTERM, then SIGKILL after --grace_ms
  kill ID                SIGKILL now
  list                   every known program (running and recently exited)
  wait ID                block until the program exits; prints its exit status
  logs ID [-f]           the program's stdout and stderr (-f: follow)
  events                 stream started/exited/denied/restarted/policy-reloaded
  name                   the host's Tao name, whole (for scripts and policies)
  info                   version, uptime, factories and channel kinds, counts
  reload                 reload the domain policy (a bad one leaves the old)
  shutdown               stop every program and the host

Exit codes (stable, for scripts):
  0  success
  1  refused: the domain policy denied the call (its reason is printed), or
     the caller could not be identified
  2  usage error, or the host said the request was invalid
  3  no such program
  4  the host is not reachable on the socket
  5  timed out (--timeout_ms, or wait's deadline)
  6  any other failure (the message says what))usage";

int ExitCodeFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::OK:
      return 0;
    case grpc::PERMISSION_DENIED:
    case grpc::UNAUTHENTICATED:
      return 1;
    case grpc::INVALID_ARGUMENT:
      return 2;
    case grpc::NOT_FOUND:
      return 3;
    case grpc::UNAVAILABLE:
      return 4;
    case grpc::DEADLINE_EXCEEDED:
      return 5;
    default:
      return 6;
  }
}

// `text` (a name, or a message that holds names) as people read it: short,
// unless --full.
std::string Names(absl::string_view text) {
  return FLAGS_full ? std::string(text) : ShortenNamesIn(text);
}

int Fail(const grpc::Status& status) {
  std::cerr << "taoctl: "
            << absl::StatusCodeToString(
                   static_cast<absl::StatusCode>(status.error_code()))
            << ": " << Names(status.error_message()) << "\n";
  if (status.error_code() == grpc::UNAVAILABLE) {
    std::cerr << "taoctl: is taohost running, and is " << FLAGS_socket
              << " its admin socket?\n";
  }
  return ExitCodeFor(status.error_code());
}

void SetDeadline(grpc::ClientContext* context, bool long_running) {
  int64_t ms =
      FLAGS_timeout_ms > 0 ? FLAGS_timeout_ms : (long_running ? 0 : 30000);
  if (ms > 0) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(ms));
  }
}

void PrintJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  (void)status;
  std::cout << json << "\n";
}

void PrintProgram(const admin::HostedProgram& p) {
  if (FLAGS_json) return PrintJson(p);
  std::cout << "id:       " << p.id() << "\n"
            << "state:    " << p.state()
            << (p.exited() ? " (" + p.exit_status() + ")" : "") << "\n"
            << "pid:      " << p.pid() << "\n"
            << "path:     " << p.path() << "\n"
            << "name:     " << Names(p.name()) << "\n"
            << "started:  "
            << absl::FormatTime("%Y-%m-%d %H:%M:%S",
                                absl::FromUnixMillis(p.start_time_unix_ms()),
                                absl::LocalTimeZone())
            << "\n"
            << "restart:  " << p.restart()
            << " (restarts so far: " << p.restarts() << ")\n"
            << "calls:    " << p.calls() << " (" << p.denials() << " denied)\n"
            << "runs as:  uid " << p.uid() << " gid " << p.gid()
            << (p.dynamic_uid() ? " (dynamic)" : "") << "\n"
            << "cgroup:   " << (p.cgroup().empty() ? "none" : p.cgroup())
            << "\n";
  if (!p.state_directory().empty()) {
    std::cout << "state dir: " << p.state_directory() << "\n";
  }
}

bool ParseId(const std::vector<std::string>& args, uint64_t* id) {
  if (args.size() != 2 || !absl::SimpleAtoi(args[1], id)) {
    std::cerr << "taoctl: " << args[0] << " takes one program id\n";
    return false;
  }
  return true;
}

int Run(const std::vector<std::string>& args) {
  auto channel = grpc::CreateChannel(absl::StrCat("unix:", FLAGS_socket),
                                     grpc::InsecureChannelCredentials());
  auto stub = admin::AdminService::NewStub(channel);
  const std::string& command = args[0];
  grpc::ClientContext context;
  grpc::Status status;

  if (command == "start") {
    if (args.size() < 2) {
      std::cerr << "taoctl: start needs the program's path\n";
      return 2;
    }
    admin::StartHostedProgramRequest request;
    request.set_path(args[1]);
    for (size_t i = 2; i < args.size(); ++i) request.add_args(args[i]);
    for (absl::string_view pair :
         absl::StrSplit(FLAGS_env, ',', absl::SkipEmpty())) {
      std::vector<std::string> kv =
          absl::StrSplit(pair, absl::MaxSplits('=', 1));
      if (kv.size() != 2) {
        std::cerr << "taoctl: --env wants NAME=VALUE, got '" << pair << "'\n";
        return 2;
      }
      admin::EnvVar* var = request.add_env();
      var->set_name(kv[0]);
      var->set_value(kv[1]);
    }
    request.set_working_dir(FLAGS_cwd);
    if (FLAGS_uid >= 0) request.set_uid(static_cast<uint32_t>(FLAGS_uid));
    if (FLAGS_gid >= 0) request.set_gid(static_cast<uint32_t>(FLAGS_gid));
    request.set_state_directory(FLAGS_state_dir);
    request.set_channel(FLAGS_channel);
    if (FLAGS_restart == "on-failure") {
      request.set_restart(admin::RESTART_ON_FAILURE);
    } else if (FLAGS_restart == "always") {
      request.set_restart(admin::RESTART_ALWAYS);
    } else if (FLAGS_restart != "never") {
      std::cerr << "taoctl: --restart is never, on-failure or always\n";
      return 2;
    }
    request.set_max_restarts(FLAGS_max_restarts);
    request.set_initial_backoff_ms(FLAGS_backoff_ms);
    admin::HostedProgram response;
    SetDeadline(&context, false);
    status = stub->StartHostedProgram(&context, request, &response);
    if (!status.ok()) return Fail(status);
    if (!FLAGS_wait) {
      if (FLAGS_json) {
        PrintJson(response);
      } else {
        std::cout << response.id() << "\n";
        std::cerr << "started " << response.path() << " as program "
                  << response.id() << " (pid " << response.pid() << ")\n";
      }
      return 0;
    }
    grpc::ClientContext wait_context;
    SetDeadline(&wait_context, true);
    admin::WaitHostedProgramRequest wait;
    wait.set_id(response.id());
    status = stub->WaitHostedProgram(&wait_context, wait, &response);
    if (!status.ok()) return Fail(status);
    PrintProgram(response);
    return 0;
  }
  if (command == "stop" || command == "kill" || command == "wait") {
    uint64_t id = 0;
    if (!ParseId(args, &id)) return 2;
    admin::HostedProgram response;
    if (command == "stop") {
      admin::StopHostedProgramRequest request;
      request.set_id(id);
      request.set_grace_ms(FLAGS_grace_ms);
      SetDeadline(&context, false);
      status = stub->StopHostedProgram(&context, request, &response);
    } else if (command == "kill") {
      admin::KillHostedProgramRequest request;
      request.set_id(id);
      SetDeadline(&context, false);
      status = stub->KillHostedProgram(&context, request, &response);
    } else {
      admin::WaitHostedProgramRequest request;
      request.set_id(id);
      if (FLAGS_timeout_ms > 0)
        request.set_timeout_ms(static_cast<uint32_t>(FLAGS_timeout_ms));
      SetDeadline(&context, true);
      status = stub->WaitHostedProgram(&context, request, &response);
    }
    if (!status.ok()) return Fail(status);
    if (command == "wait" && !FLAGS_json) {
      std::cout << response.exit_status() << "\n";
    } else if (command != "wait" && !FLAGS_json) {
      std::cerr << (command == "stop" ? "stopping" : "killed") << " program "
                << id << "\n";
    } else {
      PrintJson(response);
    }
    return 0;
  }
  if (command == "list") {
    admin::ListHostedProgramsResponse response;
    SetDeadline(&context, false);
    status = stub->ListHostedPrograms(
        &context, admin::ListHostedProgramsRequest(), &response);
    if (!status.ok()) return Fail(status);
    if (FLAGS_json) {
      for (const admin::HostedProgram& p : response.programs()) PrintJson(p);
      return 0;
    }
    std::cout << absl::StrFormat("%-6s %-9s %-8s %-14s %-7s %-8s %s\n", "ID",
                                 "STATE", "PID", "EXIT", "CALLS", "RESTART",
                                 "PATH / NAME");
    for (const admin::HostedProgram& p : response.programs()) {
      std::cout << absl::StrFormat(
          "%-6d %-9s %-8d %-14s %-7d %-8s %s\n", p.id(), p.state(), p.pid(),
          p.exited() ? p.exit_status() : "-", p.calls(), p.restart(), p.path());
      std::cout << absl::StrFormat("%-6s %s\n", "", Names(p.name()));
    }
    return 0;
  }
  if (command == "logs") {
    uint64_t id = 0;
    if (!ParseId(args, &id)) return 2;
    admin::GetLogsRequest request;
    request.set_id(id);
    request.set_follow(FLAGS_follow);
    SetDeadline(&context, FLAGS_follow);
    auto reader = stub->GetLogs(&context, request);
    admin::LogChunk chunk;
    while (reader->Read(&chunk)) {
      std::fwrite(chunk.data().data(), 1, chunk.data().size(), stdout);
      std::fflush(stdout);
    }
    status = reader->Finish();
    return status.ok() ? 0 : Fail(status);
  }
  if (command == "events") {
    SetDeadline(&context, true);
    auto reader = stub->WatchEvents(&context, admin::WatchEventsRequest());
    admin::Event event;
    while (reader->Read(&event)) {
      if (FLAGS_json) {
        PrintJson(event);
      } else {
        std::cout << absl::FormatTime(
                         "%H:%M:%S", absl::FromUnixMillis(event.time_unix_ms()),
                         absl::LocalTimeZone())
                  << " " << event.kind() << " " << event.id()
                  << (event.previous_id()
                          ? absl::StrCat(" (after ", event.previous_id(), ")")
                          : "")
                  << " " << Names(event.detail()) << "\n";
      }
      std::cout.flush();
    }
    status = reader->Finish();
    return status.ok() ? 0 : Fail(status);
  }
  if (command == "name") {
    admin::GetTaoNameResponse response;
    SetDeadline(&context, false);
    status = stub->GetTaoName(&context, admin::GetTaoNameRequest(), &response);
    if (!status.ok()) return Fail(status);
    if (FLAGS_json) {
      PrintJson(response);
    } else {
      std::cout << response.name() << "\n";
    }
    return 0;
  }
  if (command == "info") {
    admin::HostInfo response;
    SetDeadline(&context, false);
    status =
        stub->GetHostInfo(&context, admin::GetHostInfoRequest(), &response);
    if (!status.ok()) return Fail(status);
    if (FLAGS_json) {
      PrintJson(response);
      return 0;
    }
    std::cout << "version:   " << response.version() << "\n"
              << "pid:       " << response.pid() << "\n"
              << "uptime:    "
              << absl::FormatDuration(absl::Milliseconds(response.uptime_ms()))
              << "\n"
              << "name:      " << Names(response.tao_name()) << "\n"
              << "domain:    " << response.domain_name() << "\n"
              << "programs:  " << response.running() << " running, "
              << response.known() << " known\n";
    for (const admin::FactoryInfo& f : response.factories()) {
      std::cout << "factory:   " << f.name() << " (channels:";
      for (const std::string& c : f.channels()) std::cout << " " << c;
      std::cout << ")\n";
    }
    return 0;
  }
  if (command == "reload") {
    admin::ReloadPolicyResponse response;
    SetDeadline(&context, false);
    status =
        stub->ReloadPolicy(&context, admin::ReloadPolicyRequest(), &response);
    if (!status.ok()) return Fail(status);
    if (FLAGS_json) {
      PrintJson(response);
    } else {
      std::cout << "reloaded the policy of domain '" << response.domain_name()
                << "' (" << response.rules() << " rules)\n";
    }
    return 0;
  }
  if (command == "shutdown") {
    admin::ShutdownRequest request;
    request.set_grace_ms(FLAGS_grace_ms);
    admin::ShutdownResponse response;
    SetDeadline(&context, true);
    status = stub->Shutdown(&context, request, &response);
    if (!status.ok()) return Fail(status);
    if (!FLAGS_json)
      std::cerr << "the host stopped every program and is exiting\n";
    return 0;
  }
  std::cerr << "taoctl: unknown command '" << command << "'; see --help\n";
  return 2;
}

}  // namespace
}  // namespace tao

int main(int argc, char** argv) {
  // taoctl's own flags come before the program's path in `start`; everything
  // after the path belongs to the program and is kept away from gflags.
  std::vector<char*> own(argv, argv + argc);
  std::vector<std::string> program_args;
  bool saw_start = false;
  for (size_t i = 1; i < own.size(); ++i) {
    std::string arg = own[i];
    if (arg == "--") {
      program_args.assign(own.begin() + static_cast<long>(i) + 1, own.end());
      own.resize(i);
      break;
    }
    if (!arg.empty() && arg[0] == '-') continue;
    if (!saw_start) {
      saw_start = arg == "start";
      if (!saw_start) break;
      continue;
    }
    // The path: it and what follows are the program's.
    program_args.assign(own.begin() + static_cast<long>(i), own.end());
    own.resize(i);
    break;
  }
  // "-f" is the familiar spelling of --follow.
  static char follow[] = "--follow";
  for (char*& arg : own) {
    if (std::string(arg) == "-f") arg = follow;
  }
  int new_argc = static_cast<int>(own.size());
  own.push_back(nullptr);
  char** new_argv = own.data();
  std::vector<std::string> args =
      tao::InitApp(tao::kUsage, "apps/taoctl/", &new_argc, &new_argv);
  args.insert(args.end(), program_args.begin(), program_args.end());
  if (args.empty()) {
    std::cerr << "taoctl: missing command; see --help\n";
    return 2;
  }
  return tao::Run(args);
}
