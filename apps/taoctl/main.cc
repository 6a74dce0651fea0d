// taoctl: the administrator's command line for a running taohost, over the
// admin socket. Every call is authorized by the host's domain policy against
// the caller's OS identity; a denial prints the domain's reason.
#include <gflags/gflags.h>
#include <google/protobuf/util/json_util.h>
#include <limits.h>
#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "admin/admin.grpc.pb.h"
#include "apps/common/cli.h"
#include "apps/taoctl/taoctl.h"
#include "grpcpp/grpcpp.h"
#include "tao/name_presentation.h"

DEFINE_string(socket, "/run/tao/admin.sock", "The host's admin socket.");
DEFINE_bool(json, false,
            "Print results as JSON (one object per line) for scripts.");
DEFINE_bool(wide, false,
            "list: more columns (denials, uid, channel), lines never cut to "
            "the terminal's width.");
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
DEFINE_string(channel, "pipe", "start: pipe, shm or socketpair.");
DEFINE_string(state_dir, "",
              "start: a state directory of the program's own (a name: "
              "<state root>/NAME, in TAO_STATE_DIRECTORY).");
DEFINE_string(restart, "never", "start: never, on-failure or always.");
DEFINE_string(vm_initrd, "",
              "start: boot a VM: PATH is its kernel, the words after it its "
              "command line, this its initrd (docs/vm.md).");
DEFINE_string(vm_disk, "",
              "start (VM): a raw state disk image, the host's alone (its uid, "
              "mode 0600).");
DEFINE_uint32(vm_memory_mib, 0, "start (VM): memory in MiB (default 256).");
DEFINE_uint32(vm_vcpus, 0, "start (VM): vCPUs (default 1).");
DEFINE_bool(vm_network, false, "start (VM): give the guest a user-mode NIC.");
DEFINE_uint32(max_restarts, 0, "start: most restarts in a row (0: no limit).");
DEFINE_uint32(backoff_ms, 500,
              "start: first restart delay, doubled each time.");
DEFINE_uint32(grace_ms, 10000, "stop, shutdown: time before SIGKILL.");
DEFINE_bool(follow, false,
            "logs: keep printing until the program exits (also -f).");
DEFINE_string(service, "",
              "start: a service name ([A-Za-z0-9._-], not all digits) that "
              "the program keeps across restarts; its runs are numbered.");
DEFINE_bool(previous, false,
            "logs, status: the run before the one named (with a service "
            "name: before its latest run).");
DEFINE_uint32(page_size, 0,
              "list, status, logs NAME: programs per call to the host (0: as "
              "many as fit in one message); every page is fetched.");
DEFINE_bool(enclave, false,
            "start: PATH is an enclave manifest (docs/enclave-manifest.md), "
            "run by the host's enclave factory over shm; its arguments are "
            "the manifest's ARG lines.");
DEFINE_bool(wait, false,
            "start: wait for the program to exit and print its status.");

namespace tao {
namespace taoctl {
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
                         (--vm_initrd=FILE: a VM, PATH its kernel, ARGS its
                         command line; --vm_disk --vm_memory_mib --vm_vcpus
                         --vm_network; the channel is virtio-serial)
                         (taoctl's flags go before PATH; all after it is the
                         program's)
  start --enclave MANIFEST  the same for an enclave (the host's enclave
                         factory; over shm unless --channel says otherwise)
        (--env=A=1,B=2 --cwd=DIR --uid=N --gid=N --state_dir=NAME --service=NAME
         --channel=pipe|shm|socketpair|virtio-serial
         --restart=never|on-failure|always --max_restarts=N --backoff_ms=N --wait)
  stop ID                SIGTERM, then SIGKILL after --grace_ms
  kill ID                SIGKILL now
  pause ID               freeze every process of the program (cgroup freezer)
  resume ID              thaw a paused program
  list [--wide]          every known program (running and recently exited),
                         one line each; --wide adds columns and never cuts
  tree [SOCKET...]       the host and its programs as a tree, with the hosts
                         behind more admin sockets (stacked hosts) drawn
                         under the programs they are, and each running VM's
                         guest host (through its admin port) under the VM
  status ID|NAME         everything about one program (NAME: a service
                         name, its latest run; --previous: the run before)
  wait ID                block until the program exits; prints its exit status
  logs ID|NAME [-f]      the program's stdout and stderr (-f: follow;
                         --previous: of the run before)
  events                 stream started/exited/denied/restarted/policy-reloaded
  name                   the host's Tao name, whole (for scripts and policies)
  info                   version, uptime, factories and channel kinds, counts
  reload                 reload the domain policy (a bad one leaves the old)
  shutdown               stop every program and the host

--json prints every result as JSON (one object a line; ids and counters as
numbers, every field present, times also in RFC 3339 UTC) and errors as JSON
on stderr; list prints a table (cut to the terminal unless --wide).)usage";

int Run(const std::vector<std::string>& args) {
  auto channel = grpc::CreateChannel(absl::StrCat("unix:", FLAGS_socket),
                                     grpc::InsecureChannelCredentials());
  auto stub = admin::AdminService::NewStub(channel);
  const std::string& command = args[0];
  grpc::ClientContext context;
  grpc::Status status;

  if (command == "start") {
    if (args.size() < 2) {
      return UsageError("start needs the program's path");
    }
    admin::StartHostedProgramRequest request;
    if (FLAGS_enclave) {
      if (args.size() > 2 || !FLAGS_env.empty() || !FLAGS_cwd.empty() ||
          FLAGS_uid >= 0 || FLAGS_gid >= 0 || !FLAGS_state_dir.empty()) {
        return UsageError(
            "start --enclave takes the manifest alone: its ARG, ENV and "
            "MOUNT lines say the rest");
      }
      char resolved[PATH_MAX];
      if (::realpath(args[1].c_str(), resolved) == nullptr) {
        return UsageError(
            absl::StrCat("manifest ", args[1], ": ", std::strerror(errno)));
      }
      request.mutable_enclave()->set_manifest(resolved);
      // Unless a channel was asked for, the host's default for enclaves
      // (shm, their one door).
      if (!gflags::GetCommandLineFlagInfoOrDie("channel").is_default) {
        request.set_channel(FLAGS_channel);
      }
    } else if (!FLAGS_vm_initrd.empty()) {
      // A VM's launch spec: kernel, initrd, command line (docs/vm.md).
      admin::VmLaunch& vm = *request.mutable_vm();
      vm.set_kernel(args[1]);
      vm.set_initrd(FLAGS_vm_initrd);
      std::vector<std::string> words(args.begin() + 2, args.end());
      vm.set_cmdline(absl::StrJoin(words, " "));
      vm.set_state_disk(FLAGS_vm_disk);
      vm.set_memory_mib(FLAGS_vm_memory_mib);
      vm.set_vcpus(FLAGS_vm_vcpus);
      vm.set_network(FLAGS_vm_network);
      request.set_channel(
          gflags::GetCommandLineFlagInfoOrDie("channel").is_default
              ? "virtio-serial"
              : FLAGS_channel);
    } else {
      // A process's launch spec; the flags are those of every taoctl before.
      admin::ProcessLaunch& process = *request.mutable_process();
      process.set_path(args[1]);
      for (size_t i = 2; i < args.size(); ++i) process.add_args(args[i]);
      for (absl::string_view pair :
           absl::StrSplit(FLAGS_env, ',', absl::SkipEmpty())) {
        std::vector<std::string> kv =
            absl::StrSplit(pair, absl::MaxSplits('=', 1));
        if (kv.size() != 2) {
          return UsageError(
              absl::StrCat("--env wants NAME=VALUE, got '", pair, "'"));
        }
        admin::EnvVar* var = process.add_env();
        var->set_name(kv[0]);
        var->set_value(kv[1]);
      }
      process.set_working_dir(FLAGS_cwd);
      if (FLAGS_uid >= 0) process.set_uid(static_cast<uint32_t>(FLAGS_uid));
      if (FLAGS_gid >= 0) process.set_gid(static_cast<uint32_t>(FLAGS_gid));
      process.set_state_directory(FLAGS_state_dir);
      request.set_channel(FLAGS_channel);
    }
    request.set_service(FLAGS_service);
    if (FLAGS_restart == "on-failure") {
      request.set_restart(admin::RESTART_ON_FAILURE);
    } else if (FLAGS_restart == "always") {
      request.set_restart(admin::RESTART_ALWAYS);
    } else if (FLAGS_restart != "never") {
      return UsageError("--restart is never, on-failure or always");
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
  return RunCommand(*stub, args);
}

}  // namespace
}  // namespace taoctl
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
      tao::InitApp(tao::taoctl::kUsage, "apps/taoctl/", &new_argc, &new_argv);
  args.insert(args.end(), program_args.begin(), program_args.end());
  if (args.empty()) {
    return tao::taoctl::UsageError("missing command; see --help");
  }
  return tao::taoctl::Run(args);
}
