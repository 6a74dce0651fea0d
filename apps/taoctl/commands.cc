// taoctl's commands other than start: each one call to the admin service
// (status lists and picks one), its result printed by print.cc.
#include <cstdio>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "apps/common/cli.h"
#include "apps/common/json.h"
#include "apps/taoctl/taoctl.h"

namespace tao {
namespace taoctl {

grpc::Status ListAll(admin::AdminService::Stub& stub,
                     admin::ListHostedProgramsResponse* all,
                     absl::Time deadline, int max_programs) {
  admin::ListHostedProgramsRequest request;
  request.set_page_size(FLAGS_page_size);
  while (true) {
    grpc::ClientContext context;
    admin::ListHostedProgramsResponse page;
    if (deadline == absl::InfiniteFuture()) {
      SetDeadline(&context, false);
    } else {
      context.set_deadline(absl::ToChronoTime(deadline));
    }
    grpc::Status status = stub.ListHostedPrograms(&context, request, &page);
    if (!status.ok()) return status;
    if (page.programs_size() > max_programs - all->programs_size()) {
      return grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("more than ", max_programs, " programs in the list"));
    }
    for (admin::HostedProgram& p : *page.mutable_programs()) {
      *all->add_programs() = std::move(p);
    }
    if (!page.more() || page.next_after_id() <= request.after_id()) break;
    request.set_after_id(page.next_after_id());
  }
  return grpc::Status::OK;
}

namespace {

bool ParseId(const std::vector<std::string>& args, uint64_t* id) {
  return args.size() == 2 && absl::SimpleAtoi(args[1], id);
}

// The program `arg` names: an id, or a service name (its latest run); with
// `previous`, the run before that one. NOT_FOUND if there is none.
grpc::Status Resolve(admin::AdminService::Stub& stub, const std::string& arg,
                     bool previous, admin::HostedProgram* out) {
  admin::ListHostedProgramsResponse response;
  grpc::Status status = ListAll(stub, &response);
  if (!status.ok()) return status;
  uint64_t id = 0;
  if (absl::SimpleAtoi(arg, &id)) {
    for (const admin::HostedProgram& p : response.programs()) {
      if (p.id() == id) {
        if (!previous) {
          *out = p;
          return grpc::Status::OK;
        }
        id = p.previous_id();
        break;
      }
    }
    for (const admin::HostedProgram& p : response.programs()) {
      if (previous && id != 0 && p.id() == id) {
        *out = p;
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::NOT_FOUND,
                        previous
                            ? absl::StrCat("no previous run of program ", arg)
                            : absl::StrCat("no hosted program with id ", arg));
  }
  const admin::HostedProgram* latest = nullptr;
  const admin::HostedProgram* before = nullptr;
  for (const admin::HostedProgram& p : response.programs()) {
    if (p.service() != arg) continue;
    if (latest == nullptr || p.run() > latest->run()) {
      before = latest;
      latest = &p;
    } else if (before == nullptr || p.run() > before->run()) {
      before = &p;
    }
  }
  const admin::HostedProgram* found = previous ? before : latest;
  if (found == nullptr) {
    return grpc::Status(
        grpc::NOT_FOUND,
        absl::StrCat(previous ? "no previous run of service '"
                              : "no program under the service name '",
                     arg, "'"));
  }
  *out = *found;
  return grpc::Status::OK;
}

int StopKillWait(admin::AdminService::Stub& stub, const std::string& command,
                 uint64_t id) {
  grpc::ClientContext context;
  grpc::Status status;
  admin::HostedProgram response;
  if (command == "stop") {
    admin::StopHostedProgramRequest request;
    request.set_id(id);
    request.set_grace_ms(FLAGS_grace_ms);
    SetDeadline(&context, false);
    status = stub.StopHostedProgram(&context, request, &response);
  } else if (command == "kill") {
    admin::KillHostedProgramRequest request;
    request.set_id(id);
    SetDeadline(&context, false);
    status = stub.KillHostedProgram(&context, request, &response);
  } else if (command == "pause") {
    // Freeze every process of the program (Admin:Pause).
    admin::PauseHostedProgramRequest request;
    request.set_id(id);
    SetDeadline(&context, false);
    status = stub.PauseHostedProgram(&context, request, &response);
  } else if (command == "resume") {
    admin::ResumeHostedProgramRequest request;
    request.set_id(id);
    SetDeadline(&context, false);
    status = stub.ResumeHostedProgram(&context, request, &response);
  } else {
    admin::WaitHostedProgramRequest request;
    request.set_id(id);
    if (FLAGS_timeout_ms > 0)
      request.set_timeout_ms(static_cast<uint32_t>(FLAGS_timeout_ms));
    SetDeadline(&context, true);
    status = stub.WaitHostedProgram(&context, request, &response);
  }
  if (!status.ok()) return Fail(status);
  if (FLAGS_json) {
    PrintJson(response);
  } else if (command == "wait") {
    std::cout << response.exit_status() << "\n";
  } else {
    const char* done = command == "stop"    ? "stopping"
                       : command == "kill"  ? "killed"
                       : command == "pause" ? "paused"
                                            : "resumed";
    std::cerr << done << " program " << id << "\n";
  }
  return kExitOk;
}

int Status(admin::AdminService::Stub& stub, const std::string& arg) {
  admin::HostedProgram program;
  grpc::Status status = Resolve(stub, arg, FLAGS_previous, &program);
  if (!status.ok()) return Fail(status);
  PrintProgram(program);
  return kExitOk;
}

int List(admin::AdminService::Stub& stub) {
  admin::ListHostedProgramsResponse response;
  grpc::Status status = ListAll(stub, &response);
  if (!status.ok()) return Fail(status);
  PrintProgramTable(response.programs(), absl::Now());
  return kExitOk;
}

int Logs(admin::AdminService::Stub& stub, uint64_t id) {
  grpc::ClientContext context;
  admin::GetLogsRequest request;
  request.set_id(id);
  request.set_follow(FLAGS_follow);
  SetDeadline(&context, FLAGS_follow);
  auto reader = stub.GetLogs(&context, request);
  admin::LogChunk chunk;
  while (reader->Read(&chunk)) {
    std::fwrite(chunk.data().data(), 1, chunk.data().size(), stdout);
    std::fflush(stdout);
  }
  grpc::Status status = reader->Finish();
  return status.ok() ? kExitOk : Fail(status);
}

int Events(admin::AdminService::Stub& stub) {
  grpc::ClientContext context;
  SetDeadline(&context, true);
  auto reader = stub.WatchEvents(&context, admin::WatchEventsRequest());
  admin::Event event;
  while (reader->Read(&event)) PrintEvent(event);
  grpc::Status status = reader->Finish();
  return status.ok() ? kExitOk : Fail(status);
}

int Name(admin::AdminService::Stub& stub) {
  grpc::ClientContext context;
  admin::GetTaoNameResponse response;
  SetDeadline(&context, false);
  grpc::Status status =
      stub.GetTaoName(&context, admin::GetTaoNameRequest(), &response);
  if (!status.ok()) return Fail(status);
  if (FLAGS_json) {
    PrintJson(response);
  } else {
    std::cout << response.name() << "\n";
  }
  return kExitOk;
}

int Info(admin::AdminService::Stub& stub) {
  grpc::ClientContext context;
  admin::HostInfo response;
  SetDeadline(&context, false);
  grpc::Status status =
      stub.GetHostInfo(&context, admin::GetHostInfoRequest(), &response);
  if (!status.ok()) return Fail(status);
  PrintHostInfo(response);
  return kExitOk;
}

int Reload(admin::AdminService::Stub& stub) {
  grpc::ClientContext context;
  admin::ReloadPolicyResponse response;
  SetDeadline(&context, false);
  grpc::Status status =
      stub.ReloadPolicy(&context, admin::ReloadPolicyRequest(), &response);
  if (!status.ok()) return Fail(status);
  if (FLAGS_json) {
    PrintJson(response);
  } else {
    std::cout << "reloaded the policy of domain '" << response.domain_name()
              << "' (" << response.rules() << " rules)\n";
  }
  return kExitOk;
}

int Shutdown(admin::AdminService::Stub& stub) {
  grpc::ClientContext context;
  admin::ShutdownRequest request;
  request.set_grace_ms(FLAGS_grace_ms);
  admin::ShutdownResponse response;
  SetDeadline(&context, true);
  grpc::Status status = stub.Shutdown(&context, request, &response);
  if (!status.ok()) return Fail(status);
  if (FLAGS_json) {
    PrintJson(response);
  } else {
    std::cerr << "the host stopped every program and is exiting\n";
  }
  return kExitOk;
}

}  // namespace

int RunCommand(admin::AdminService::Stub& stub,
               const std::vector<std::string>& args) {
  const std::string& command = args[0];
  if (command == "status" || command == "logs") {
    if (args.size() != 2) {
      return UsageError(
          absl::StrCat(command, " takes one program id or service name"));
    }
    if (command == "status") return Status(stub, args[1]);
    uint64_t id = 0;
    if (FLAGS_previous || !absl::SimpleAtoi(args[1], &id)) {
      admin::HostedProgram program;
      grpc::Status status = Resolve(stub, args[1], FLAGS_previous, &program);
      if (!status.ok()) return Fail(status);
      id = program.id();
    }
    return Logs(stub, id);
  }
  if (command == "stop" || command == "kill" || command == "wait" ||
      command == "pause" || command == "resume") {
    uint64_t id = 0;
    if (!ParseId(args, &id)) {
      return UsageError(absl::StrCat(command, " takes one program id"));
    }
    return StopKillWait(stub, command, id);
  }
  if (command == "tree") {
    std::vector<std::string> sockets = {FLAGS_socket};
    sockets.insert(sockets.end(), args.begin() + 1, args.end());
    return Tree(sockets);
  }
  if (args.size() != 1) {
    return UsageError(absl::StrCat(command, " takes no arguments"));
  }
  if (command == "list") return List(stub);
  if (command == "events") return Events(stub);
  if (command == "name") return Name(stub);
  if (command == "info") return Info(stub);
  if (command == "reload") return Reload(stub);
  if (command == "shutdown") return Shutdown(stub);
  return UsageError(
      absl::StrCat("unknown command '", command, "'; see --help"));
}

}  // namespace taoctl
}  // namespace tao
