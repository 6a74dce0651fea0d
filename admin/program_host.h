// ProgramHost: what the admin service needs of the hosted programs, as a
// small interface, so that AdminServiceImpl runs over the real listen loop
// (LoopProgramHost, admin/loop_program_host.h) or over a fake in unit tests
// (tests/admin/fake_program_host.h) with no process at all. The methods
// mirror HostedProgramChannel's, name for name, so the handlers read the
// same over either; a part of the loop the admin API comes to use (a log
// follow API, an event bus) is added here and to the adapter.
#ifndef TAO_ADMIN_PROGRAM_HOST_H_
#define TAO_ADMIN_PROGRAM_HOST_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "channels/hosted_program_channel.h"
#include "channels/output_capture.h"
#include "tao_domain/tao_domain.h"

namespace tao {

// Implementations are thread-safe: gRPC calls them from its own threads.
class ProgramHost {
 public:
  virtual ~ProgramHost() = default;

  // Measures, authorizes (for `admin`, then Execute) and starts a program;
  // kPermissionDenied with the domain's reason, kInvalidArgument for a bad
  // request, kFailedPrecondition once shut down.
  virtual absl::StatusOr<ChildInfo> StartHostedProgram(
      const StartRequest& request, std::optional<Caller> admin) = 0;
  // Whether process `pid` belongs to the host's programs, and to which
  // running one (HostedProgramChannel::ProgramOfPid).
  virtual std::optional<HostedProcess> ProgramOfPid(pid_t pid) const = 0;
  // Stop: TERM, then KILL after `grace`; Kill: KILL now. kNotFound for an
  // unknown id, kFailedPrecondition if it already exited.
  virtual absl::Status StopHostedProgram(uint64_t id, absl::Duration grace) = 0;
  virtual absl::Status KillHostedProgram(uint64_t id) = 0;
  // Freeze / Thaw where the program's kind can (kUnimplemented where it
  // cannot, kFailedPrecondition without a cgroup); kNotFound for an unknown
  // id.
  virtual absl::Status FreezeHostedProgram(uint64_t id) = 0;
  virtual absl::Status ThawHostedProgram(uint64_t id) = 0;
  // Snapshots of every program the host remembers, or of one (kNotFound).
  virtual std::vector<ChildInfo> ListHostedPrograms() const = 0;
  virtual absl::StatusOr<ChildInfo> GetHostedProgram(uint64_t id) const = 0;
  // Blocks until program `id` exits or `timeout` passes (kDeadlineExceeded);
  // kNotFound for an unknown id.
  virtual absl::StatusOr<ChildInfo> WaitHostedProgram(
      uint64_t id, absl::Duration timeout) = 0;
  // Up to `max_bytes` of program `id`'s captured output from `offset`,
  // waiting until `deadline` for more (OutputCapture::Read). kNotFound,
  // kFailedPrecondition without a log directory.
  virtual absl::StatusOr<OutputCapture::Chunk> ReadOutput(
      uint64_t id, uint64_t offset, size_t max_bytes,
      absl::Time deadline) const = 0;
  // Stops every program (grace, then kill) and refuses later starts.
  virtual void Shutdown(absl::Duration grace) = 0;
  // Programs running now.
  virtual size_t running() const = 0;
  // The factories and the channel kinds each is paired with.
  virtual const std::vector<FactoryRegistration>& factories() const = 0;
};

}  // namespace tao

#endif  // TAO_ADMIN_PROGRAM_HOST_H_
