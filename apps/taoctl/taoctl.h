// What taoctl's files share: its flags, how it reports a failed call, and
// how it prints programs, tables, host info and events (print.cc), and the
// commands other than start (commands.cc). Single-threaded.
#ifndef TAO_APPS_TAOCTL_TAOCTL_H_
#define TAO_APPS_TAOCTL_TAOCTL_H_

#include <gflags/gflags.h>

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "admin/admin.grpc.pb.h"
#include "grpcpp/grpcpp.h"

DECLARE_string(socket);
DECLARE_bool(json);
DECLARE_bool(full);
DECLARE_bool(wide);
DECLARE_int64(timeout_ms);
DECLARE_uint32(grace_ms);
DECLARE_bool(follow);
DECLARE_bool(previous);
DECLARE_uint32(page_size);

namespace tao {
namespace taoctl {

// `text` (a name, or a message that holds names) as people read it: short,
// unless --full.
std::string Names(absl::string_view text);

// Prints why the call failed (JSON on stderr with --json) and returns the
// exit code of the table for its status.
int Fail(const grpc::Status& status);

// Prints a usage problem (exit 2) as text or JSON and returns 2.
int UsageError(absl::string_view message);

// Sets the call's deadline: --timeout_ms, else none for long-running calls
// (wait, logs -f, events) and 30 s for the others.
void SetDeadline(grpc::ClientContext* context, bool long_running);

// Prints `message` as one JSON line (apps/common/json.h).
void PrintJson(const google::protobuf::Message& message);

// Prints one program: JSON with --json, else one "field: value" a line.
void PrintProgram(const admin::HostedProgram& p);

// Prints programs: one JSON line each with --json, else a table with a
// header and one line per program (cut to the terminal's width unless
// --wide; --wide also adds columns, --full whole names). `now` gives ages.
void PrintProgramTable(
    const google::protobuf::RepeatedPtrField<admin::HostedProgram>& programs,
    absl::Time now);

// Prints the host's info: JSON with --json, else "field: value" lines.
void PrintHostInfo(const admin::HostInfo& info);

// Prints one event: JSON with --json, else one line.
void PrintEvent(const admin::Event& event);

// "42s", "5m", "3h", "2d": how long ago `then` was, for tables.
std::string Age(absl::Time then, absl::Time now);

// Every program of the host behind `stub`, page by page (a list can be
// longer than one message). The first failed call's status. With a
// `deadline` (absl::InfiniteFuture: each call gets SetDeadline's), every
// call ends by it, and more than `max_programs` is RESOURCE_EXHAUSTED: the
// bounds for a host that is not trusted to end its list.
grpc::Status ListAll(admin::AdminService::Stub& stub,
                     admin::ListHostedProgramsResponse* all,
                     absl::Time deadline = absl::InfiniteFuture(),
                     int max_programs = 1 << 30);

// taoctl tree: the hosts behind `sockets` (the first is --socket) and their
// programs as one tree, a stacked host under the program it is; JSON with
// --json. A running program of those hosts that has an admin socket (a VM
// whose guest runs tao-guest-relay) is followed, one level only, and its
// host drawn under it; one that does not answer in 5 s is said on stderr
// and left out. Exit code of the table (a socket given that does not
// answer: 4).
int Tree(const std::vector<std::string>& sockets);

// Runs every command but start; kInvalidArgument-style usage problems exit
// 2, an unknown command too.
int RunCommand(admin::AdminService::Stub& stub,
               const std::vector<std::string>& args);

}  // namespace taoctl
}  // namespace tao

#endif  // TAO_APPS_TAOCTL_TAOCTL_H_
